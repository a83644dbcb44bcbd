r"""Adapter for SpikingJelly (``spikingjelly.activation_based``, 2.0).

A neuron is any module with a class in its MRO defined under ``spikingjelly.activation_based.neuron``
(user subclasses included). ``base.MemoryModule`` is deliberately not the test: it also matches
containers, ``Dropout`` and ``DropConnectLinear``. The ``NonSpiking*`` readouts are left out: they
emit their membrane, have no threshold, and pass through like any other non-neuron module.

Most neurons keep their threshold in the plain float attribute ``v_threshold`` (not in the
``state_dict``) and start from ``v_reset`` (hard reset) or 0 (soft reset, ``v_reset=None``). Each known
class has an extractor that reads the same-step input gain :math:`g` and the membrane :math:`h_0`
reached from the initial state with no input, and records the threshold measured from there,
:math:`\theta - h_0` (which is :math:`\theta` for the default ``v_reset=0``). ``LIFNode`` takes its input
with :math:`g = 1/\tau` (``decay_input=True``, the default) and ``ParametricLIFNode`` with
:math:`\sigma(w)`. Subclasses and classes with nothing to read are measured with the black-box probe.
SpikingJelly is imported only when a model contains one of its modules.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from snninit_adapters.errors import SNNInitError
from snninit_adapters.hookspecs import hookimpl
from snninit_adapters.neurons import NeuronRecord, Reset
from snninit_adapters.plugins import require_framework
from snninit_adapters.probe import probed_record
from snninit_adapters.weights import OwnedWeight

__all__ = [
    "FRAMEWORK",
    "snninit_is_neuron",
    "snninit_neuron_record",
    "snninit_owned_weights",
    "snninit_prepare_activity",
    "snninit_reset_state",
    "snninit_step_activity",
]

FRAMEWORK = "spikingjelly"
_NEURON_PACKAGE = "spikingjelly.activation_based.neuron"
_NON_SPIKING = ("NonSpikingBaseNode", "NoisyNonSpikingBaseNode")

Extractor = Callable[[Any], NeuronRecord]


# --------------------------------------------------------------------------------------------------
# classification (no import of spikingjelly needed: the class's module name says where it comes from)


def _modules_of(module: nn.Module) -> list[str]:
    return [cls.__module__ for cls in type(module).__mro__]


def _ours(module: nn.Module) -> bool:
    return any(name == FRAMEWORK or name.startswith(FRAMEWORK + ".") for name in _modules_of(module))


def _in_neuron_package(module: nn.Module) -> bool:
    return any(name == _NEURON_PACKAGE or name.startswith(_NEURON_PACKAGE + ".") for name in _modules_of(module))


def _non_spiking(module: nn.Module) -> bool:
    return any(
        cls.__name__ in _NON_SPIKING and cls.__module__.startswith(_NEURON_PACKAGE) for cls in type(module).__mro__
    )


def _is_neuron(module: nn.Module) -> bool:
    return _in_neuron_package(module) and not _non_spiking(module)


@hookimpl
def snninit_is_neuron(module: nn.Module) -> bool | None:
    """Claim SpikingJelly neurons: classes defined under ``spikingjelly.activation_based.neuron``.

    ``NonSpikingIFNode``/``NonSpikingLIFNode`` (and the noisy variant) are not claimed: they output
    their membrane potential rather than spikes and have no threshold, so they are readouts that
    the layer before them drives like any readout (``g = 1``).

    Args:
        module: Any module of the model.

    Returns:
        True for a SpikingJelly spiking neuron, None otherwise.
    """
    return True if _is_neuron(module) else None


# --------------------------------------------------------------------------------------------------
# helpers


def _neuron_module() -> Any:
    return require_framework(FRAMEWORK, _NEURON_PACKAGE)


def _float(value: Any) -> float:
    if isinstance(value, torch.Tensor):
        return float(value.detach().double().reshape(-1).mean())
    return float(value)


def _tensor(value: Any) -> torch.Tensor:
    return torch.as_tensor(value).detach().to(device="cpu", dtype=torch.float64).reshape(-1)


def _threshold_value(value: Any) -> float | torch.Tensor:
    """A threshold as a float (also when all values are equal), or a float64 tensor of per-neuron values."""
    if isinstance(value, torch.Tensor):
        flat = _tensor(value)
        return float(flat[0]) if flat.numel() > 0 and bool((flat == flat[0]).all()) else flat.clone()
    return float(value)


def _reset_kind(module: Any) -> Reset:
    return "soft" if getattr(module, "v_reset", None) is None else "hard"


def _reset_value(module: Any) -> float:
    """The value BaseNode neurons start from and leak to: ``v_reset``, or 0 with a soft reset."""
    value = getattr(module, "v_reset", None)
    return 0.0 if value is None else float(value)


def _record(
    module: Any,
    *,
    gain: float,
    rest: float | torch.Tensor = 0.0,
    threshold: Any = None,
    source: str = "v_threshold",
    notes: tuple[str, ...] = (),
    **fields: Any,
) -> NeuronRecord:
    """Build a record whose threshold is measured from the membrane ``rest`` reached with no input."""
    kind = type(module).__name__
    theta = _threshold_value(module.v_threshold if threshold is None else threshold)
    offset = _threshold_value(rest)
    if isinstance(offset, torch.Tensor) or offset != 0.0:
        theta = theta - offset
        source = f"{source} minus h0, the membrane after one input-free step from reset"
        notes = (
            *notes,
            f"{kind} sits at {_describe(offset)} after one input-free step from its reset state, so its "
            f"threshold counts from there: {_describe(theta)}",
        )
    if not (math.isfinite(gain) and gain > 0):
        raise SNNInitError(
            f"{FRAMEWORK} {kind} has input gain {gain!r}: an input does not raise its membrane, so the rule cannot "
            "scale the layer that feeds it; check its parameters"
        )
    defaults: dict[str, Any] = {
        "framework": FRAMEWORK,
        "kind": kind,
        "threshold": theta,
        "input_gain": float(gain),
        "threshold_source": source,
        "reset": _reset_kind(module),
        "notes": notes,
    }
    defaults.update(fields)
    return NeuronRecord(**defaults)


def _describe(value: float | torch.Tensor) -> str:
    if isinstance(value, torch.Tensor):
        return f"{float(value.min()):.4g}..{float(value.max()):.4g}"
    return f"{value:.4g}"


def _broadcast(*tensors: torch.Tensor) -> list[torch.Tensor]:
    zero = tensors[0] * 0
    for tensor in tensors[1:]:
        zero = zero + tensor * 0
    return [tensor.expand(zero.shape) for tensor in tensors]


def _per_feature(
    module: Any, threshold: torch.Tensor, gains: torch.Tensor, rest: torch.Tensor, **fields: Any
) -> NeuronRecord:
    """Per-feature threshold and gain: keep theta/g per feature exact and report the mean gain."""
    threshold, gains, rest = _broadcast(_tensor(threshold), _tensor(gains), _tensor(rest))
    if not bool((gains > 0).all()):
        raise SNNInitError(
            f"{FRAMEWORK} {type(module).__name__} has input gains <= 0 in some features "
            f"({float(gains.min()):.4g}): an input does not raise their membrane; check its parameters"
        )
    gain = float(gains.mean())
    notes = tuple(fields.pop("notes", ()))
    if gains.numel() > 1 and float(gains.max() - gains.min()) > 1e-12 * gain:
        notes = (
            *notes,
            f"{type(module).__name__} has per-feature gains {float(gains.min()):.4g}..{float(gains.max()):.4g}; "
            f"the record uses their mean g={gain:.4g} and rescales each threshold so theta/g stays exact",
        )
    scaled = (threshold - rest) * gain / gains
    return _record(module, gain=gain, threshold=scaled, notes=notes, **fields)


# --------------------------------------------------------------------------------------------------
# per-class extractors (exact types only; subclasses go to the probe)


def _if(module: Any) -> NeuronRecord:
    return _record(module, gain=1.0, rest=_reset_value(module))


def _lif_gain(module: Any) -> float:
    return 1.0 / float(module.tau) if module.decay_input else 1.0


def _lif(module: Any) -> NeuronRecord:
    return _record(module, gain=_lif_gain(module), rest=_reset_value(module), leak=1.0 - 1.0 / float(module.tau))


def _plif(module: Any) -> NeuronRecord:
    q = float(torch.sigmoid(module.w.detach().double()))
    return _record(module, gain=q if module.decay_input else 1.0, rest=_reset_value(module), leak=1.0 - q)


def _klif(module: Any) -> NeuronRecord:
    k = float(module.k.detach())
    tau = float(module.tau)
    return _record(
        module,
        gain=(k / tau) if module.decay_input else k,
        rest=k * _reset_value(module),
        leak=1.0 - 1.0 / tau,
        notes=(f"KLIFNode scales its membrane by the learnt k = {k:.4g} (then ReLU); the gain includes k",),
    )


def _cuba(module: Any) -> NeuronRecord:
    decay = float(module.v_decay)
    return _record(
        module,
        gain=1.0,
        rest=decay * _reset_value(module),
        leak=decay,
        notes=(f"CUBALIFNode's input passes a current with decay c_decay = {float(module.c_decay):.4g}",),
    )


def _clif(module: Any) -> NeuronRecord:
    return _record(
        module,
        gain=1.0,
        leak=1.0 - 1.0 / float(module.tau),
        reset="soft",
        notes=("ComplementaryLIFNode subtracts theta + sigmoid(m) on a spike (m: its complementary state)",),
    )


def _ilif(module: Any) -> NeuronRecord:
    theta = float(module.v_threshold)
    count = int(getattr(module.surrogate_function, "max_spike_count", 4))
    return _record(
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


def _liaf(module: Any) -> NeuronRecord:
    record = _lif(module)
    output = "act(u - theta)" if module.threshold_related else "act(u)"
    return _with_notes(
        record,
        f"LIAFNode outputs the analog {output}, not spikes; the layer it feeds is scaled as if it spiked",
    )


def _with_notes(record: NeuronRecord, *notes: str) -> NeuronRecord:
    fields = {name: getattr(record, name) for name in record.__dataclass_fields__}
    fields["notes"] = (*record.notes, *notes)
    return NeuronRecord(**fields)


def _qif(module: Any) -> NeuronRecord:
    tau, v0 = float(module.tau), _reset_value(module)
    rest = v0 + float(module.a0) * (v0 - float(module.v_rest)) * (v0 - float(module.v_c)) / tau
    return _record(
        module,
        gain=1.0 / tau,
        rest=rest,
        notes=("QIFNode's quadratic term depends on the previous membrane only, so one step is linear in x",),
    )


def _eif(module: Any) -> NeuronRecord:
    tau, v0, delta = float(module.tau), _reset_value(module), float(module.delta_T)
    rest = v0 + (float(module.v_rest) - v0 + delta * math.exp((v0 - float(module.theta_rh)) / delta)) / tau
    return _record(
        module,
        gain=1.0 / tau,
        rest=rest,
        notes=("EIFNode's exponential term depends on the previous membrane only, so one step is linear in x",),
    )


def _izhikevich(module: Any) -> NeuronRecord:
    tau, v0 = float(module.tau), _reset_value(module)
    quadratic = float(module.a0) * (v0 - float(module.v_rest)) * (v0 - float(module.v_c))
    rest = v0 + (quadratic - float(module.w_rest)) / tau
    return _record(
        module,
        gain=1.0 / tau,
        rest=rest,
        notes=("IzhikevichNode's first step is linear in x; its adaptation w acts from the second step",),
    )


def _raf(module: Any) -> NeuronRecord:
    decay = math.exp(float(module.b) * float(module.dt))
    angle = float(module.omega) * float(module.dt)
    gain = decay * math.sin(angle)
    if not gain > 0:
        raise SNNInitError(
            f"{FRAMEWORK} RAFNode with omega*dt = {angle:.4g} rad: its input enters the membrane one step late "
            f"with gain exp(b dt) sin(omega dt) = {gain:.4g} <= 0, so the rule cannot scale the layer that feeds it; "
            "use omega * dt in (0, pi)"
        )
    return _record(
        module,
        gain=gain,
        rest=decay**2 * _reset_value(module) * math.cos(2 * angle),
        input_delay=1,
        leak=decay,
        notes=(
            "RAFNode's input enters the current u at once and its voltage v one step later, with gain "
            f"exp(b dt) sin(omega dt) = {gain:.4g}; the rule uses that gain",
        ),
    )


def _ternary_if(module: Any) -> NeuronRecord:
    return _ternary(_if(module))


def _ternary_lif(module: Any) -> NeuronRecord:
    return _ternary(_lif(module))


def _ternary(record: NeuronRecord) -> NeuronRecord:
    fields = {name: getattr(record, name) for name in record.__dataclass_fields__}
    fields["spike_amplitude"] = math.sqrt(2.0)
    fields["notes"] = (
        *record.notes,
        f"{record.kind} fires +1 above theta and -1 below -theta; amplitude sqrt(2) gives E[x^2] = 2 P(u > theta)",
    )
    return NeuronRecord(**fields)


def _half_threshold_if(module: Any) -> NeuronRecord:
    return _record(module, gain=1.0, rest=float(module.v_threshold) / 2, reset="soft")


def _activation_aware_if(module: Any) -> NeuronRecord:
    threshold, offset = _tensor(module.v_threshold), _tensor(module.v_offset)
    threshold, offset = _broadcast(threshold, offset)
    rest = offset + _reset_value(module)
    per_channel = threshold.numel() > 1
    return _record(
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


def _gated_lif(module: Any) -> NeuronRecord:
    def sig(name: str) -> torch.Tensor:
        return torch.sigmoid(getattr(module, name).detach().double()).reshape(-1)

    gains = 1 - sig("beta") * (1 - torch.sigmoid(module.conduct.detach().double()[0]).reshape(-1))
    rest = -(1 - sig("alpha")) * sig("linear_decay")
    return _per_feature(
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


def _mpbn_lif(module: Any) -> NeuronRecord:
    gain, rest = _lif_gain(module), _reset_value(module)
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
    return _per_feature(
        module,
        _tensor(threshold),
        gains,
        rests,
        source=source,
        learnable_threshold=learnable,
        leak=1.0 - 1.0 / float(module.tau),
        notes=notes,
    )


def _simple_if(module: Any) -> NeuronRecord:
    return _record(module, gain=1.0)


def _simple_lif(module: Any) -> NeuronRecord:
    tau = float(module.tau)
    return _record(
        module,
        gain=(1.0 / tau) if module.decay_input else 1.0,
        rest=_reset_value(module) / tau,
        leak=1.0 - 1.0 / tau,
        notes=("SimpleLIFNode starts at 0 and leaks towards v_reset",),
    )


def _ilc(module: Any) -> NeuronRecord:
    decay = float(getattr(module, "v_decay", 1.0))
    recurrent = isinstance(getattr(module, "conn", None), nn.Module)
    return _record(
        module,
        gain=1.0,
        rest=decay * _reset_value(module),
        leak=decay if hasattr(module, "v_decay") else None,
        notes=(f"{type(module).__name__} feeds its spikes back into the next step's input through conn",)
        if recurrent
        else (),
    )


def _noisy(module: Any) -> NeuronRecord:
    record = _ilc(module)
    return _with_notes(
        record,
        f"{record.kind} adds colored noise to its input and spikes while is_training is set; the record ignores it",
    )


def _stbif(module: Any) -> NeuronRecord:
    q = _float(module.q_threshold)
    symmetric = _float(module.neg_min) < 0
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


def _dsr(module: Any) -> NeuronRecord:
    theta = max(_float(module.v_threshold), float(module.v_threshold_lower_bound))
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
    "IFNode": _if,
    "LIFNode": _lif,
    "OTTTLIFNode": _lif,
    "SLTTLIFNode": _lif,
    "ParametricLIFNode": _plif,
    "KLIFNode": _klif,
    "CUBALIFNode": _cuba,
    "ComplementaryLIFNode": _clif,
    "ILIFNode": _ilif,
    "LIAFNode": _liaf,
    "QIFNode": _qif,
    "EIFNode": _eif,
    "IzhikevichNode": _izhikevich,
    "RAFNode": _raf,
    "TernaryIFNode": _ternary_if,
    "TernaryLIFNode": _ternary_lif,
    "HalfThresholdIFNode": _half_threshold_if,
    "ActivationAwareIFNode": _activation_aware_if,
    "GatedLIFNode": _gated_lif,
    "MPBNLIFNode": _mpbn_lif,
    "SimpleIFNode": _simple_if,
    "SimpleLIFNode": _simple_lif,
    "ILCIFNode": _ilc,
    "ILCLIFNode": _ilc,
    "ILCCUBALIFNode": _ilc,
    "NoisyCUBALIFNode": _noisy,
    "NoisyILCCUBALIFNode": _noisy,
    "STBIFNode": _stbif,
    "DSRIFNode": _dsr,
    "DSRLIFNode": _dsr,
}
_extractors: dict[type, Extractor] | None = None


def _extractor_for(module: nn.Module) -> Extractor | None:
    global _extractors
    if _extractors is None:
        neuron = _neuron_module()
        _extractors = {}
        for name, extractor in _EXTRACTOR_NAMES.items():
            cls = getattr(neuron, name, None)
            if isinstance(cls, type):
                _extractors[cls] = extractor
    return _extractors.get(type(module))


# --------------------------------------------------------------------------------------------------
# black-box probe for subclasses and classes with nothing to read


def _first(out: Any) -> torch.Tensor:
    while isinstance(out, list | tuple):
        out = out[0]
    if not isinstance(out, torch.Tensor):
        raise SNNInitError(f"the neuron returned {type(out).__name__}, not a spike tensor")
    return out


def _step_mode(neuron: nn.Module) -> str:
    mode = getattr(neuron, "step_mode", None)
    if isinstance(mode, str):
        return mode
    return "m" if any(cls.__name__ == "MultiStepModule" for cls in type(neuron).__mro__) else "s"


def _probe_step(neuron: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """One step of a SpikingJelly neuron: in 'm' mode as a sequence of length 1."""
    tensor = next(itertools.chain(neuron.parameters(), neuron.buffers()), None)
    if tensor is not None:
        x = x.to(tensor.device)
    if _step_mode(neuron) == "m":
        return _first(neuron(x.unsqueeze(0)))[0]
    return _first(neuron(x))


def _reset_module(module: nn.Module) -> None:
    reset = getattr(module, "reset", None)
    if callable(reset):
        reset()


def _hint(kind: type) -> str:
    if "PSN" in kind.__name__:
        return (
            f". {kind.__name__} fires on a learnt weighted sum of the whole input sequence (weight, with bias as "
            "minus the threshold), so it has no single-step threshold"
        )
    return ""


def _probed(module: nn.Module) -> NeuronRecord:
    kind = type(module)
    fresh = copy.deepcopy(module)
    for sub in fresh.modules():
        if _ours(sub):
            _reset_module(sub)
    fresh.eval()
    return probed_record(fresh, _probe_step, framework=FRAMEWORK, hint=_hint(kind), reset=_reset_kind(module))


@hookimpl
def snninit_neuron_record(module: nn.Module) -> NeuronRecord | None:
    """Read a SpikingJelly neuron's threshold, input gain, leak and reset.

    Known classes are read by an exact-type extractor; user subclasses and classes with no fixed
    threshold (PSN, FewSpike, FlexSN, ...) are measured with the black-box probe.

    Args:
        module: A module that :func:`snninit_is_neuron` claimed.

    Returns:
        The record, or None if the module is not a SpikingJelly neuron.

    Raises:
        SNNInitError: If the threshold can neither be read nor probed, or the input gain is not positive.
    """
    if not _is_neuron(module):
        return None
    extractor = _extractor_for(module)
    if extractor is not None:
        return extractor(module)
    return _probed(module)


# --------------------------------------------------------------------------------------------------
# weights inside neurons, and state


@hookimpl
def snninit_owned_weights(module: nn.Module) -> list[OwnedWeight] | None:
    """Weights inside SpikingJelly neurons; none is feed-forward, so all are listed as skipped.

    Args:
        module: A module that :func:`snninit_is_neuron` claimed.

    Returns:
        The neuron's weights with their roles, or None if the module is not a SpikingJelly neuron.
    """
    if not _is_neuron(module):
        return None
    names = [name for name, _ in module.named_parameters() if name.endswith("weight")]
    kind = type(module).__name__
    owned = []
    for name in names:
        if name.startswith("conn."):
            owned.append(OwnedWeight(name, "recurrent", f"{kind} feeds its spikes into the next step through conn"))
        elif name.startswith("vbn."):
            owned.append(OwnedWeight(name, "internal", f"the scale of {kind}'s membrane BatchNorm"))
        elif name == "weight" and "PSN" in kind:
            owned.append(OwnedWeight(name, "internal", f"{kind}'s weights mix the input over time steps"))
        else:
            owned.append(OwnedWeight(name, "internal", f"internal weight of {kind}"))
    return owned


@hookimpl
def snninit_reset_state(model: nn.Module) -> None:
    """Reset the state of every SpikingJelly module in ``model`` (``functional.reset_net`` semantics).

    Only SpikingJelly's own modules are reset: ``reset_net`` would also call ``reset()`` on any other
    module that has one (which may mean something else there) and caches the module list per model.

    Args:
        model: The model.
    """
    for module in model.modules():
        if _ours(module):
            _reset_module(module)


# --------------------------------------------------------------------------------------------------
# activity monitor: spikes and the membrane compared with the threshold, per step
#
# SpikingJelly 2.0 neurons keep only the membrane after the reset (``v``; ``v_seq`` with
# ``store_v_seq=True``), and their fused kernels never call child modules. The membrane the threshold
# saw is recomputed instead: a forward pre-hook keeps the neuron's state from before each call, and for
# each step of the call the neuron's own pure ``single_step_functional_forward`` runs twice from the
# state before that step: once with an unreachable threshold (no spike, so no reset: the new ``v`` is the
# charged membrane h[t]) and once as is (the state the next step starts from). This works for every
# ``BaseNode`` with a functional step (IF, LIF, PLIF, KLIF, CUBA, CLIF, ILIF, QIF, EIF, Izhikevich, RAF,
# ternary, MPBN, ...), hard or soft reset. ``SimpleBaseNode`` neurons (pure Python) are read in their
# ``neuronal_fire``, where ``v`` is h[t]. Other neurons (GatedLIF, PSN, DSR, STBIF, ILC, Noisy,
# FewSpike, FlexSN, ActivationAwareIF) give their spikes without a membrane.

_STATES = "_snninit_states"
_FIRED = "_snninit_fired"
_UNREACHABLE = 1e30  # a threshold no membrane reaches; finite so that a soft reset's 0 * theta stays 0


def _snapshot(module: nn.Module, args: tuple[Any, ...]) -> None:
    memories = module.__dict__.get("_memories", {})
    module.__dict__[_STATES] = tuple(v.clone() if isinstance(v, torch.Tensor) else v for v in memories.values())


def _recording_fire(module: Any) -> Callable[[], Any]:
    original = module.neuronal_fire

    def fire() -> Any:
        module.__dict__[_FIRED].append(module.v)
        return original()

    return fire


def _functional(module: nn.Module) -> bool:
    memories = module.__dict__.get("_memories")
    return (
        isinstance(memories, dict)
        and "v" in memories
        and isinstance(getattr(module, "v_threshold", None), float)
        and callable(getattr(module, "single_step_functional_forward", None))
        and callable(getattr(module, "materialize_states", None))
    )


@hookimpl
def snninit_prepare_activity(module: nn.Module) -> None:
    """Keep each call's starting state (functional neurons) or the charged membrane (``SimpleBaseNode``)."""
    if not _is_neuron(module):
        return
    if any(cls.__name__ == "SimpleBaseNode" for cls in type(module).__mro__):
        module.__dict__[_FIRED] = []
        module.__dict__["neuronal_fire"] = _recording_fire(module)
    elif _functional(module):
        module.register_forward_pre_hook(_snapshot)


def _charged(module: Any, x: torch.Tensor, multi: bool) -> list[torch.Tensor] | None:
    """h[t] for every step of the call, recomputed from the state before it (None if not possible)."""
    states = module.__dict__.pop(_STATES, None)
    if states is None:
        return None
    index = list(module._memories).index("v")
    states = module.materialize_states((x,), states, "m" if multi else "s")
    threshold = module.v_threshold
    membranes = []
    try:
        for x_t in x if multi else x.unsqueeze(0):
            module.v_threshold = _UNREACHABLE
            try:
                _, free = module.single_step_functional_forward((x_t,), states)
            finally:
                module.v_threshold = threshold
            membranes.append(free[index])
            _, states = module.single_step_functional_forward((x_t,), states)
    except NotImplementedError:
        return None
    return membranes


@hookimpl
def snninit_step_activity(
    module: nn.Module, args: tuple[Any, ...], output: Any
) -> list[tuple[torch.Tensor, torch.Tensor | None]] | None:
    """The spikes of a SpikingJelly neuron's call, per step, and the membrane before the reset."""
    if not _is_neuron(module):
        return None
    spikes = _first(output)
    multi = _step_mode(module) == "m"
    steps = list(spikes.unbind(0)) if multi else [spikes]
    membranes: list[torch.Tensor] | None = None
    fired = module.__dict__.get(_FIRED)
    if isinstance(fired, list):
        membranes = list(fired)
        fired.clear()
    elif len(args) == 1 and isinstance(args[0], torch.Tensor):
        membranes = _charged(module, args[0], multi)
    if membranes is None or len(membranes) != len(steps):
        return [(step, None) for step in steps]
    return list(zip(steps, membranes, strict=True))
