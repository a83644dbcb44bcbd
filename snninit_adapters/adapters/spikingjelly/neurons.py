r"""The catalogue: one extractor per known SpikingJelly neuron class, for exact types only.

Each extractor reads the same-step input gain :math:`g` and the membrane :math:`h_0` reached from the
initial state with no input, and records the threshold measured from there (see
:mod:`~snninit_adapters.adapters.spikingjelly.records`). ``LIFNode`` takes its input with
:math:`g = 1/\tau` (``decay_input=True``, the default), ``ParametricLIFNode`` with :math:`\sigma(w)`,
``KLIFNode`` with its learnt :math:`k` on top; ``RAFNode``'s input reaches its voltage one step late with
gain :math:`e^{b\,dt} \sin(\omega\,dt)`. Neurons whose first step is nonlinear in the membrane only
(``QIFNode``, ``EIFNode``, ``IzhikevichNode``) are still linear in the input for one step, so their
:math:`h_0` absorbs the nonlinear term. Graded outputs get a spike amplitude: ``ILIFNode`` emits spike
counts, the ternary nodes :math:`\pm 1`, ``STBIFNode`` :math:`\pm q`. Subclasses and classes with nothing
to read are measured with the black-box probe (:mod:`~snninit_adapters.adapters.spikingjelly.probe`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from snninit_adapters.adapters.spikingjelly.modules import FRAMEWORK, import_neuron_package
from snninit_adapters.adapters.spikingjelly.probe import probed_neuron_record
from snninit_adapters.adapters.spikingjelly.records import (
    broadcast,
    flat_float64,
    per_feature_record,
    record_from_rest,
    reset_value,
)
from snninit_adapters.errors import SNNInitError
from snninit_adapters.neurons import NeuronRecord

__all__ = ["Extractor", "read_neuron"]

Extractor = Callable[[Any], NeuronRecord]
"""Reads one neuron class into a record."""


def _mean_value(value: Any) -> float:
    """A number, or the mean of a tensor, as a float."""
    if isinstance(value, torch.Tensor):
        return float(value.detach().double().reshape(-1).mean())
    return float(value)


def _read_if(module: Any) -> NeuronRecord:
    return record_from_rest(module, gain=1.0, rest=reset_value(module), leak=1.0)


def _lif_gain(module: Any) -> float:
    return 1.0 / float(module.tau) if module.decay_input else 1.0


def _read_lif(module: Any) -> NeuronRecord:
    return record_from_rest(
        module, gain=_lif_gain(module), rest=reset_value(module), leak=1.0 - 1.0 / float(module.tau)
    )


def _read_plif(module: Any) -> NeuronRecord:
    q = float(torch.sigmoid(module.w.detach().double()))
    return record_from_rest(module, gain=q if module.decay_input else 1.0, rest=reset_value(module), leak=1.0 - q)


def _read_klif(module: Any) -> NeuronRecord:
    k = float(module.k.detach())
    tau = float(module.tau)
    return record_from_rest(
        module,
        gain=(k / tau) if module.decay_input else k,
        rest=k * reset_value(module),
        leak=1.0 - 1.0 / tau,
        notes=(f"KLIFNode scales its membrane by the learnt k = {k:.4g} (then ReLU); the gain includes k",),
    )


def _read_cuba(module: Any) -> NeuronRecord:
    decay = float(module.v_decay)
    return record_from_rest(
        module,
        gain=1.0,
        rest=decay * reset_value(module),
        leak=decay,
        notes=(f"CUBALIFNode's input passes a current with decay c_decay = {float(module.c_decay):.4g}",),
    )


def _read_clif(module: Any) -> NeuronRecord:
    return record_from_rest(
        module,
        gain=1.0,
        leak=1.0 - 1.0 / float(module.tau),
        reset="soft",
        notes=("ComplementaryLIFNode subtracts theta + sigmoid(m) on a spike (m: its complementary state)",),
    )


def _read_ilif(module: Any) -> NeuronRecord:
    theta = float(module.v_threshold)
    count = int(getattr(module.surrogate_function, "max_spike_count", 4))
    return record_from_rest(
        module,
        gain=1.0,
        threshold=theta / 2,
        source="v_threshold / 2 (spike counts are round(u / v_threshold))",
        leak=1.0 - 1.0 / float(module.tau),
        reset="soft",
        spike_amplitude=_count_amplitude(theta, count),
        notes=(
            f"ILIFNode emits spike counts round(clamp(u / theta, 0, {count})): a first spike at u > theta / 2, "
            "and the spike amplitude is the r.m.s. count of a firing neuron for a unit-variance membrane",
        ),
    )


def _count_amplitude(theta: float, count: int) -> float:
    """sqrt(E[S^2] / P(S >= 1)) for S = round(clamp(u / theta, 0, count)), u ~ N(0, 1)."""

    def tail(level: float) -> float:
        return 0.5 * math.erfc(level * theta / math.sqrt(2))

    fired = tail(0.5)
    if fired <= 0.0:
        return 1.0
    second = sum(k * k * (tail(k - 0.5) - (tail(k + 0.5) if k < count else 0.0)) for k in range(1, count + 1))
    return math.sqrt(second / fired)


def _read_liaf(module: Any) -> NeuronRecord:
    record = _read_lif(module)
    output = "act(u - theta)" if module.threshold_related else "act(u)"
    note = f"LIAFNode outputs the analog {output}, not spikes; the layer it feeds is scaled as if it spiked"
    return dataclasses.replace(record, notes=(*record.notes, note))


def _read_qif(module: Any) -> NeuronRecord:
    tau, v0 = float(module.tau), reset_value(module)
    rest = v0 + float(module.a0) * (v0 - float(module.v_rest)) * (v0 - float(module.v_c)) / tau
    return record_from_rest(
        module,
        gain=1.0 / tau,
        rest=rest,
        notes=("QIFNode's quadratic term depends on the previous membrane only, so one step is linear in x",),
    )


def _read_eif(module: Any) -> NeuronRecord:
    tau, v0, delta = float(module.tau), reset_value(module), float(module.delta_T)
    rest = v0 + (float(module.v_rest) - v0 + delta * math.exp((v0 - float(module.theta_rh)) / delta)) / tau
    return record_from_rest(
        module,
        gain=1.0 / tau,
        rest=rest,
        notes=("EIFNode's exponential term depends on the previous membrane only, so one step is linear in x",),
    )


def _read_izhikevich(module: Any) -> NeuronRecord:
    tau, v0 = float(module.tau), reset_value(module)
    quadratic = float(module.a0) * (v0 - float(module.v_rest)) * (v0 - float(module.v_c))
    rest = v0 + (quadratic - float(module.w_rest)) / tau
    return record_from_rest(
        module,
        gain=1.0 / tau,
        rest=rest,
        notes=("IzhikevichNode's first step is linear in x; its adaptation w acts from the second step",),
    )


def _read_raf(module: Any) -> NeuronRecord:
    decay = math.exp(float(module.b) * float(module.dt))
    angle = float(module.omega) * float(module.dt)
    gain = decay * math.sin(angle)
    if not gain > 0:
        raise SNNInitError(
            f"{FRAMEWORK} RAFNode with omega*dt = {angle:.4g} rad: its input enters the membrane one step late "
            f"with gain exp(b dt) sin(omega dt) = {gain:.4g} <= 0, so the rule cannot scale the layer that feeds it; "
            "use omega * dt in (0, pi)"
        )
    return record_from_rest(
        module,
        gain=gain,
        rest=decay**2 * reset_value(module) * math.cos(2 * angle),
        input_delay=1,
        leak=decay,
        notes=(
            "RAFNode's input enters the current u at once and its voltage v one step later, with gain "
            f"exp(b dt) sin(omega dt) = {gain:.4g}; the rule uses that gain",
        ),
    )


def _read_ternary_if(module: Any) -> NeuronRecord:
    return _ternary(_read_if(module))


def _read_ternary_lif(module: Any) -> NeuronRecord:
    return _ternary(_read_lif(module))


def _ternary(record: NeuronRecord) -> NeuronRecord:
    """A record of an IF/LIF neuron turned into that of its ternary variant, which also fires -1."""
    note = f"{record.kind} fires +1 above theta and -1 below -theta; amplitude sqrt(2) gives E[x^2] = 2 P(u > theta)"
    return dataclasses.replace(record, spike_amplitude=math.sqrt(2.0), notes=(*record.notes, note))


def _read_half_threshold_if(module: Any) -> NeuronRecord:
    return record_from_rest(module, gain=1.0, rest=float(module.v_threshold) / 2, reset="soft")


def _read_activation_aware_if(module: Any) -> NeuronRecord:
    threshold, offset = flat_float64(module.v_threshold), flat_float64(module.v_offset)
    threshold, offset = broadcast(threshold, offset)
    rest = offset + reset_value(module)
    per_channel = threshold.numel() > 1
    return record_from_rest(
        module,
        gain=1.0,
        threshold=threshold,
        rest=rest if per_channel else float(rest[0]),
        source=(
            f"buffer v_threshold per channel (channel_dim={module.channel_dim}) minus v_offset"
            if per_channel
            else "buffer v_threshold minus v_offset"
        ),
    )


def _read_gated_lif(module: Any) -> NeuronRecord:
    def sig(name: str) -> torch.Tensor:
        return torch.sigmoid(getattr(module, name).detach().double()).reshape(-1)

    gains = 1 - sig("beta") * (1 - torch.sigmoid(module.conduct.detach().double()[0]).reshape(-1))
    rest = -(1 - sig("alpha")) * sig("linear_decay")
    return per_feature_record(
        module,
        sig("v_threshold"),
        gains,
        rest,
        source="sigmoid of the Parameter v_threshold",
        learnable_threshold=True,
        reset="soft",
        notes=(
            "GatedLIFNode's gain 1 - sigmoid(beta) (1 - sigmoid(conduct[t])) changes with t; the rule uses t = 0, "
            "and its reset is a learnt mix of hard and soft",
        ),
    )


def _read_mpbn_lif(module: Any) -> NeuronRecord:
    gain, rest = _lif_gain(module), reset_value(module)
    vbn = module.vbn
    learnable = bool(getattr(module, "learnable_vth", False)) and hasattr(module, "a")
    if learnable:
        threshold: Any = torch.exp(module.a.detach().double())
        source = "exp of the Parameter a (learnable_vth)"
    elif getattr(module, "fold_bn", False) and isinstance(vbn, nn.Identity):
        threshold = (module.v_threshold - module.beta) * torch.sqrt(module.sigma2 + module.eps) / module.gamma
        threshold = threshold + module.mu
        source = "v_threshold folded through the membrane BatchNorm"
    else:
        threshold = module.v_threshold
        source = "v_threshold"
    notes: tuple[str, ...] = ()
    stats = isinstance(vbn, nn.modules.batchnorm._BatchNorm) and vbn.running_var is not None
    if stats and vbn.running_mean is not None:
        scale = 1 / torch.sqrt(vbn.running_var.detach().double() + vbn.eps)
        shift = -vbn.running_mean.detach().double() * scale
        if vbn.affine:
            scale = scale * vbn.weight.detach().double()
            shift = shift * vbn.weight.detach().double() + vbn.bias.detach().double()
        gains, rests = gain * scale, rest * scale + shift
        notes = (
            "MPBNLIFNode batch-normalises its membrane (vbn): the record uses the running statistics (eval mode); "
            "in training mode the batch statistics normalise the feeding layer's weight scale away",
        )
    else:
        gains, rests = torch.tensor([gain], dtype=torch.float64), torch.tensor([rest], dtype=torch.float64)
        if isinstance(vbn, nn.modules.batchnorm._BatchNorm):
            notes = (
                "MPBNLIFNode's membrane BatchNorm keeps no running statistics: batch statistics always normalise the "
                "feeding layer's weight scale away, and the record ignores the BatchNorm",
            )
    return per_feature_record(
        module,
        flat_float64(threshold),
        gains,
        rests,
        source=source,
        learnable_threshold=learnable,
        leak=1.0 - 1.0 / float(module.tau),
        notes=notes,
    )


def _read_simple_if(module: Any) -> NeuronRecord:
    return record_from_rest(module, gain=1.0)


def _read_simple_lif(module: Any) -> NeuronRecord:
    tau = float(module.tau)
    return record_from_rest(
        module,
        gain=(1.0 / tau) if module.decay_input else 1.0,
        rest=reset_value(module) / tau,
        leak=1.0 - 1.0 / tau,
        notes=("SimpleLIFNode starts at 0 and leaks towards v_reset",),
    )


def _read_ilc(module: Any) -> NeuronRecord:
    decay = float(getattr(module, "v_decay", 1.0))
    recurrent = isinstance(getattr(module, "conn", None), nn.Module)
    return record_from_rest(
        module,
        gain=1.0,
        rest=decay * reset_value(module),
        leak=decay if hasattr(module, "v_decay") else None,
        notes=(f"{type(module).__name__} feeds its spikes back into the next step's input through conn",)
        if recurrent
        else (),
    )


def _read_noisy(module: Any) -> NeuronRecord:
    record = _read_ilc(module)
    note = f"{record.kind} adds colored noise to its input and spikes while is_training is set; the record ignores it"
    return dataclasses.replace(record, notes=(*record.notes, note))


def _read_stbif(module: Any) -> NeuronRecord:
    q = _mean_value(module.q_threshold)
    symmetric = _mean_value(module.neg_min) < 0
    return NeuronRecord(
        framework=FRAMEWORK,
        kind=type(module).__name__,
        threshold=q / 2,
        threshold_source="buffer q_threshold / 2 (q starts at 0.5 and fires at 1)",
        reset="soft",
        spike_amplitude=q * (math.sqrt(2.0) if symmetric else 1.0),
        notes=(
            "STBIFNode outputs +-q_threshold and fires once its input reaches q_threshold / 2"
            + ("; amplitude sqrt(2) q covers its negative spikes" if symmetric else ""),
        ),
    )


def _read_dsr(module: Any) -> NeuronRecord:
    theta = max(_mean_value(module.v_threshold), float(module.v_threshold_lower_bound))
    alpha = float(module.alpha)
    if hasattr(module, "tau"):  # DSRLIFNode: m = beta m + (1 - beta) x, spikes of height theta / dt
        beta = math.exp(-float(module.delta_t) / float(module.tau))
        gain, amplitude = 1.0 - beta, theta / float(module.delta_t)
    else:
        gain, amplitude = 1.0, theta
    return NeuronRecord(
        framework=FRAMEWORK,
        kind=type(module).__name__,
        threshold=alpha * theta,
        input_gain=gain,
        threshold_source="alpha * v_threshold (clamped to its lower bound)",
        reset="soft",
        spike_amplitude=amplitude,
        learnable_threshold=isinstance(module.v_threshold, nn.Parameter),
        notes=(f"{type(module).__name__} is rate-coded over T steps; the record describes its first step",),
    )


_EXTRACTOR_NAMES: dict[str, Extractor] = {
    "IFNode": _read_if,
    "LIFNode": _read_lif,
    "OTTTLIFNode": _read_lif,
    "SLTTLIFNode": _read_lif,
    "ParametricLIFNode": _read_plif,
    "KLIFNode": _read_klif,
    "CUBALIFNode": _read_cuba,
    "ComplementaryLIFNode": _read_clif,
    "ILIFNode": _read_ilif,
    "LIAFNode": _read_liaf,
    "QIFNode": _read_qif,
    "EIFNode": _read_eif,
    "IzhikevichNode": _read_izhikevich,
    "RAFNode": _read_raf,
    "TernaryIFNode": _read_ternary_if,
    "TernaryLIFNode": _read_ternary_lif,
    "HalfThresholdIFNode": _read_half_threshold_if,
    "ActivationAwareIFNode": _read_activation_aware_if,
    "GatedLIFNode": _read_gated_lif,
    "MPBNLIFNode": _read_mpbn_lif,
    "SimpleIFNode": _read_simple_if,
    "SimpleLIFNode": _read_simple_lif,
    "ILCIFNode": _read_ilc,
    "ILCLIFNode": _read_ilc,
    "ILCCUBALIFNode": _read_ilc,
    "NoisyCUBALIFNode": _read_noisy,
    "NoisyILCCUBALIFNode": _read_noisy,
    "STBIFNode": _read_stbif,
    "DSRIFNode": _read_dsr,
    "DSRLIFNode": _read_dsr,
}


@functools.cache
def _extractor_table() -> dict[type, Extractor]:
    """The extractors by class, for the classes this version of SpikingJelly has (imports it)."""
    neuron = import_neuron_package()
    table: dict[type, Extractor] = {}
    for name, extractor in _EXTRACTOR_NAMES.items():
        cls = getattr(neuron, name, None)
        if isinstance(cls, type):
            table[cls] = extractor
    return table


def read_neuron(module: nn.Module) -> NeuronRecord:
    """Read a neuron with the extractor of its exact class, or measure it with the black-box probe.

    Args:
        module: A SpikingJelly neuron.

    Returns:
        The record.

    Raises:
        SNNInitError: If the threshold can neither be read nor probed, or the input gain is not positive.
    """
    extractor = _extractor_table().get(type(module))
    if extractor is not None:
        return extractor(module)
    return probed_neuron_record(module)
