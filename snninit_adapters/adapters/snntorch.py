"""Adapter for snnTorch (1.0): neurons derive from ``snntorch.SpikingNeuron`` (plus ``LeakyParallel``).

The threshold is the ``threshold`` buffer, or a Parameter with ``learn_threshold=True``; spikes are
``graded_spikes_factor`` high. ``Leaky``, ``Synaptic``, ``RLeaky`` and ``RSynaptic`` take their input
with gain 1; ``Alpha`` receives it one step late; ``Lapicque`` scales it by ``time_step / C``.
snnTorch is imported only when a model contains one of its modules.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from snninit_adapters.adapters.common import comes_from, compact_values, neuron_hook
from snninit_adapters.hookspecs import hookimpl
from snninit_adapters.layers import OwnedWeight
from snninit_adapters.neurons import NeuronRecord, Reset
from snninit_adapters.plugins import require_framework
from snninit_adapters.probe import probed_record

__all__ = [
    "FRAMEWORK",
    "snninit_is_neuron",
    "snninit_neuron_record",
    "snninit_owned_weights",
    "snninit_prepare_activity",
    "snninit_reset_state",
    "snninit_step_activity",
]

FRAMEWORK = "snntorch"
_RESETS: dict[int, Reset] = {0: "soft", 1: "hard", 2: "none"}


def _is_snntorch_module(module: nn.Module) -> bool:
    return comes_from(module, FRAMEWORK)


def _import_snntorch() -> Any:
    return require_framework(FRAMEWORK)


def _is_neuron(module: nn.Module) -> bool:
    """An snnTorch neuron (snnTorch is imported only for modules that come from it)."""
    if not _is_snntorch_module(module):
        return False
    snn = _import_snntorch()
    return isinstance(module, snn.SpikingNeuron | snn.LeakyParallel)


def _is_snntorch_class(module: nn.Module, *names: str) -> bool:
    """Whether ``module`` is an instance of one of the snnTorch classes named (those this version has)."""
    snn = _import_snntorch()
    return isinstance(module, tuple(kind for name in names if isinstance(kind := getattr(snn, name, None), type)))


@hookimpl
def snninit_is_neuron(module: nn.Module) -> bool | None:
    """Claim snnTorch neurons."""
    return _is_neuron(module) or None


# --------------------------------------------------------------------------------------------------
# reading a neuron


def _scalar(value: Any) -> float:
    return float(torch.as_tensor(value).detach().reshape(-1)[0]) if value is not None else math.nan


def _reset(module: nn.Module) -> Reset:
    value = getattr(module, "reset_mechanism_val", None)
    return _RESETS.get(int(value), "soft") if value is not None else "none"


_RESET_DELAY_NOTE = (
    "reset_delay=False: recorded as a soft reset before the leak, u[t] = beta (u[t-1] - theta s[t-1]) + x[t]; "
    "snnTorch also subtracts theta once more at the next step while the reset membrane is still above it, "
    "so a few percent of spikes differ from that (2-3% for a current of std 1.5 at beta 0.7)"
)


def _probe_step(neuron: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = neuron(x)
    spikes: torch.Tensor = out[0] if isinstance(out, tuple) else out
    return spikes


def _record_from_attributes(module: nn.Module, **fields: Any) -> NeuronRecord:
    """The record read from the attributes every snnTorch neuron has, with ``fields`` overriding them."""
    learnable = isinstance(module.threshold, nn.Parameter)
    defaults: dict[str, Any] = {
        "framework": FRAMEWORK,
        "kind": type(module).__name__,
        "threshold": compact_values(module.threshold, merge_equal=False),
        "threshold_source": "Parameter threshold" if learnable else "buffer threshold",
        "leak": _scalar(getattr(module, "beta", None)) if hasattr(module, "beta") else None,
        "reset": _reset(module),
        "reset_timing": "after_leak" if getattr(module, "reset_delay", True) else "before_leak",
        "spike_amplitude": _scalar(getattr(module, "graded_spikes_factor", 1.0)),
        "learnable_threshold": learnable,
    }
    defaults.update(fields)
    if defaults["reset"] == "soft" and not getattr(module, "reset_delay", True):
        defaults["notes"] = (*defaults.get("notes", ()), _RESET_DELAY_NOTE)
    return NeuronRecord(**defaults)


def _alpha_gain(module: nn.Module) -> float:
    alpha, beta = _scalar(module.alpha), _scalar(module.beta)
    tau_alpha = math.log(alpha) / (math.log(beta) - math.log(alpha)) + 1
    return tau_alpha * (alpha - beta)


def _read_neuron(module: nn.Module) -> NeuronRecord:
    """The record of a known class, or the black-box probe's for an unknown subclass."""
    snn = _import_snntorch()
    kind = type(module)
    if kind in (snn.Leaky, snn.Synaptic, snn.RLeaky, snn.RSynaptic, snn.LinearLeaky, snn.StateLeaky):
        fields: dict[str, Any] = {"leak": math.exp(-(1 - _scalar(module.beta)))} if kind is snn.StateLeaky else {}
        if kind in (snn.Synaptic, snn.RSynaptic):
            fields["current_decay"] = _scalar(module.alpha)
        return _record_from_attributes(module, **fields)
    if kind is snn.Alpha:
        return _record_from_attributes(
            module,
            input_gain=_alpha_gain(module),
            input_delay=1,
            notes=("Alpha receives its input one step late, with gain tau_alpha * (alpha - beta)",),
        )
    if kind is snn.Lapicque:
        gain = _scalar(module.time_step) / _scalar(module.C)
        leak = 1 - _scalar(module.time_step) / (_scalar(module.R) * _scalar(module.C))
        return _record_from_attributes(module, input_gain=gain, leak=leak)
    if kind is snn.DeltaLeaky:
        return _record_from_attributes(
            module,
            threshold=_scalar(module.delta_threshold),
            threshold_source="delta_threshold",
            notes=("DeltaLeaky fires on |u[t] - u[t-1]| > delta_threshold; the rule treats it as a threshold on u",),
        )
    if kind in (snn.SLSTM, snn.SConv2dLSTM):
        return _record_from_attributes(
            module,
            notes=(
                f"{kind.__name__}'s membrane is an LSTM output in (-1, 1): the single-step rule does not describe "
                "it, and with a threshold >= 1 it never spikes",
            ),
        )
    if kind in (snn.LeakyParallel, snn.AssociativeLeaky):
        return _record_from_attributes(module, notes=(f"{kind.__name__} computes its membrane with internal weights",))
    # an unknown subclass: measure theta / g with one fresh step of a constant input
    return probed_record(module, _probe_step, framework=FRAMEWORK)


@hookimpl
@neuron_hook(_is_neuron)
def snninit_neuron_record(module: nn.Module) -> NeuronRecord | None:
    """Read an snnTorch neuron."""
    return _read_neuron(module)


@hookimpl
@neuron_hook(_is_neuron)
def snninit_owned_weights(module: nn.Module) -> list[OwnedWeight] | None:
    """Weights inside snnTorch neurons: feed-forward in LinearLeaky/LeakyParallel, the rest skipped."""
    snn = _import_snntorch()
    kind = type(module)
    if kind is snn.LinearLeaky:
        return [OwnedWeight("linear.weight", "feedforward", bias="linear.bias")]
    if kind is snn.LeakyParallel:
        return [
            OwnedWeight("rnn.weight_ih_l0", "feedforward", bias="rnn.bias_ih_l0"),
            OwnedWeight("rnn.weight_hh_l0", "internal", "the recurrent diagonal holds the leak beta"),
        ]
    if kind in (snn.RLeaky, snn.RSynaptic):
        names = [name for name, _ in module.named_parameters() if name.startswith(("recurrent.", "V"))]
        return [OwnedWeight(name, "recurrent", "recurrent weights are not covered by the rule") for name in names]
    return [
        OwnedWeight(name, "internal", f"internal weight of {kind.__name__}")
        for name, _ in module.named_parameters()
        if name.endswith("weight")
    ]


@hookimpl
def snninit_reset_state(model: nn.Module) -> None:
    """Zero the hidden state of every snnTorch neuron in the model."""
    for module in model.modules():
        reset_mem = getattr(module, "reset_mem", None)
        if callable(reset_mem) and _is_neuron(module):
            reset_mem()


# --------------------------------------------------------------------------------------------------
# activity monitor: spikes and the membrane compared with the threshold, per step
#
# Every snnTorch neuron decides its spikes in ``fire(mem)`` (``fire_inhibition(batch, mem)`` with
# ``inhibition=True``), so the monitor wraps both on its copy of the neuron and keeps the membrane they
# were given: the one compared with the threshold, before the reset of that step's spikes, whatever
# ``reset_mechanism`` and ``reset_delay`` say. (With the default ``reset_delay=True`` the subtraction for a
# spike lands in the next step: beta = 1, theta = 1 and x = 0.7 give 0.7, 1.4, 1.1.) ``StateLeaky``,
# ``LinearLeaky`` and ``LeakyParallel`` run a whole sequence ``[T, B, ...]`` per call: one step per entry of
# the first dimension. ``LeakyParallel`` never calls ``fire``: its membrane is re-read from its ``rnn``;
# ``StateLeaky``/``LinearLeaky`` with ``output=False`` return their membrane and never spike: the monitor
# counts the spikes ``fire`` would emit.

_FIRED = "_snninit_fired"


def _recording(module: nn.Module, name: str, position: int) -> Any:
    """The method ``name`` of ``module``, wrapped to keep its argument at ``position`` (the membrane)."""
    original = getattr(module, name)

    def record(*args: Any) -> Any:
        module.__dict__[_FIRED].append(args[position])
        return original(*args)

    return record


@hookimpl
@neuron_hook(_is_neuron)
def snninit_prepare_activity(module: nn.Module) -> None:
    """Record the membrane each call of ``fire``/``fire_inhibition`` receives (on the monitor's copy)."""
    module.__dict__[_FIRED] = []
    for name, position in (("fire", 0), ("fire_inhibition", 1)):
        if callable(getattr(module, name, None)):
            module.__dict__[name] = _recording(module, name, position)


@hookimpl
@neuron_hook(_is_neuron)
def snninit_step_activity(
    module: nn.Module, args: tuple[Any, ...], output: Any
) -> list[tuple[torch.Tensor, torch.Tensor | None]] | None:
    """The spikes of an snnTorch neuron's call and the membrane it compared with the threshold."""
    neuron: Any = module
    fired: list[torch.Tensor] = neuron.__dict__.get(_FIRED, [])
    membrane = fired[-1] if fired else None
    fired.clear()
    if _is_snntorch_class(module, "LeakyParallel") and args and isinstance(args[0], torch.Tensor):
        membrane = neuron.rnn(args[0])[0]
    first = output[0] if isinstance(output, tuple) else output
    spikes = first if isinstance(first, torch.Tensor) else None
    returns_membrane = _is_snntorch_class(module, "StateLeaky", "LinearLeaky") and not neuron.output
    if returns_membrane and isinstance(output, torch.Tensor):
        # output=False: the module returns its membrane and never spikes; count what fire() would emit
        membrane = output
        spikes = type(neuron).fire(neuron, membrane)
    if spikes is None:
        return None
    if membrane is not None and membrane.shape != spikes.shape:
        membrane = None
    if not _is_snntorch_class(module, "StateLeaky", "LinearLeaky", "LeakyParallel"):
        return [(spikes, membrane)]
    membranes = list(membrane.unbind(0)) if membrane is not None else [None] * spikes.shape[0]
    return list(zip(spikes.unbind(0), membranes, strict=True))
