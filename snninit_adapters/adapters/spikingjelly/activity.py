r"""Activity monitor for SpikingJelly: the spikes and the membrane compared with the threshold, per step.

SpikingJelly 2.0 neurons keep only the membrane after the reset (``v``; ``v_seq`` with
``store_v_seq=True``), and their fused kernels never call child modules. The monitor reads the membrane
the threshold saw, :math:`h[t]`, in one of three ways:

- ``IFNode``, ``LIFNode``, ``ParametricLIFNode`` (and subclasses that keep their step): the neuron on the
  monitor's copy runs its time steps itself, each once. Its own pure ``single_step_functional_forward``
  charges the membrane with an unreachable threshold (no spike, so no reset: the new ``v`` is
  :math:`h[t]`), then the step fires and resets as SpikingJelly does (spike = surrogate forward of
  :math:`h - \theta`, then ``v - s theta`` or ``(1 - s) h + s v_reset``), which gives the same spikes and
  state as the fused kernel, bit for bit.
- Every other ``BaseNode`` with a functional step (KLIF, CUBA, CLIF, ILIF, QIF, EIF, Izhikevich, RAF,
  ternary, MPBN, ...), hard or soft reset: a forward pre-hook keeps the neuron's state from before each
  call, and for each step of the call the functional step runs twice from the state before that step,
  once with an unreachable threshold (:math:`h[t]`) and once as is (the state the next step starts from).
- ``SimpleBaseNode`` neurons (pure Python) are read in their ``neuronal_fire``, where ``v`` is :math:`h[t]`.

Other neurons (GatedLIF, PSN, DSR, STBIF, ILC, Noisy, FewSpike, FlexSN, ActivationAwareIF) give their
spikes without a membrane.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from snninit_adapters.adapters.spikingjelly.modules import first_tensor, import_neuron_package, step_mode

__all__ = ["prepare_activity", "steps_of_call"]

_STATES = "_snninit_states"
_FIRED = "_snninit_fired"
_CHARGED = "_snninit_charged"
_STANDARD = ("IFNode", "LIFNode", "ParametricLIFNode")  # charge, then fire and reset as BaseNode does
# SpikingJelly's surrogates whose spiking forward is heaviside(x) = (x >= 0): their spikes are h >= theta
_HEAVISIDE = ("Sigmoid", "ATan", "PiecewiseQuadratic", "PiecewiseExp", "SoftSign", "SuperSpike", "Erf")
_STEP_METHODS = (
    "forward",
    "single_step_forward",
    "multi_step_forward",
    "single_step_functional_forward",
    "multi_step_functional_forward",
    "materialize_states",
)
_UNREACHABLE = 1e30  # a threshold no membrane reaches; finite so that a soft reset's 0 * theta stays 0


def _snapshot(module: nn.Module, args: tuple[Any, ...]) -> None:
    """Forward pre-hook: keep a copy of the neuron's state from before the call."""
    memories = module.__dict__.get("_memories", {})
    module.__dict__[_STATES] = tuple(v.clone() if isinstance(v, torch.Tensor) else v for v in memories.values())


def _recording_fire(module: Any) -> Callable[[], Any]:
    """The neuron's ``neuronal_fire``, wrapped to keep the membrane ``v`` it fires on."""
    original = module.neuronal_fire

    def fire() -> Any:
        module.__dict__[_FIRED].append(module.v)
        return original()

    return fire


def _functional(module: nn.Module) -> bool:
    """Whether the neuron has a pure ``single_step_functional_forward`` over a float threshold and a ``v``."""
    memories = module.__dict__.get("_memories")
    return (
        isinstance(memories, dict)
        and "v" in memories
        and isinstance(getattr(module, "v_threshold", None), float)
        and callable(getattr(module, "single_step_functional_forward", None))
        and callable(getattr(module, "materialize_states", None))
    )


def _standard(module: nn.Module) -> type | None:
    """The IF/LIF/PLIF class whose step ``module`` runs unchanged, or None."""
    memories = module.__dict__.get("_memories")
    if not (isinstance(memories, dict) and list(memories) == ["v"] and _functional(module)):
        return None
    if getattr(module, "_neuron_precision", None) is not None:
        return None
    package = import_neuron_package()
    for name in _STANDARD:
        cls = getattr(package, name, None)
        if isinstance(cls, type) and isinstance(module, cls):
            same = all(getattr(type(module), m, None) is getattr(cls, m, None) for m in _STEP_METHODS)
            return cls if same else None
    return None


def _direct_charge(module: Any, cls: type) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor | None]:
    """The charge :math:`h[t]` as SpikingJelly computes it, where that is known to the bit (else None).

    IF charges with one add, which every kernel rounds alike; LIF on a CPU charges with the public
    ``functional.lif_charge`` that its Torch kernel calls. Elsewhere the caller runs the neuron's own step.
    """
    if cls.__name__ == "IFNode":
        return lambda x, v: v + x if v.dtype == torch.float32 else None
    if cls.__name__ == "LIFNode":
        from spikingjelly.activation_based import functional

        lif_charge = getattr(functional, "lif_charge", None)
        if callable(lif_charge):
            return lambda x, v: (
                lif_charge(x, v, module.tau, module.decay_input, module.v_reset) if x.device.type == "cpu" else None
            )
    return lambda x, v: None


def _heaviside(surrogate: Any) -> bool:
    """Whether ``surrogate`` is one of SpikingJelly's own, spiking with ``heaviside`` in its forward."""
    cls = type(surrogate)
    return (
        cls.__name__ in _HEAVISIDE
        and cls.__module__ == "spikingjelly.activation_based.surrogate"
        and getattr(surrogate, "spiking", False) is True
    )


def _charging_step(module: Any, cls: type) -> Callable[..., Any]:
    """One step of ``cls``, computed once: its charge, then its fire and reset.

    The charge is computed directly where :func:`_direct_charge` knows it, else by the neuron's own
    functional step with the threshold out of reach. The charged membrane :math:`h[t]` of each step is
    kept in the neuron's ``_snninit_charged`` list.
    """
    step = cls.single_step_functional_forward  # type: ignore[attr-defined]
    charged: list[torch.Tensor] = module.__dict__[_CHARGED]
    direct = _direct_charge(module, cls)

    def single_step_functional_forward(
        inputs: tuple[torch.Tensor, ...], states: tuple[object, ...], **kwargs: object
    ) -> tuple[tuple[torch.Tensor, ...], tuple[object, ...]]:
        threshold, reset = module.v_threshold, module.v_reset
        v = states[0]
        h = direct(inputs[0], v) if isinstance(v, torch.Tensor) and not kwargs else None
        if h is None:
            module.v_threshold = _UNREACHABLE
            try:
                _, free = step(module, inputs, states, **kwargs)
            finally:
                module.v_threshold = threshold
            h = free[0]
        surrogate = module.surrogate_function  # SpikingJelly fires with surrogate(h - theta); for a
        # heaviside one that is (h - theta >= 0), which is (h >= theta) for a finite theta
        spike = (h >= threshold).to(h.dtype) if _heaviside(surrogate) else surrogate(h - threshold)
        v = h - spike * threshold if reset is None else spike * reset + (1.0 - spike) * h
        charged.append(h)
        return (spike.to(inputs[0].dtype),), (v, *states[1:])

    return single_step_functional_forward


def _stepping_forward(module: Any) -> Callable[..., Any]:
    """``multi_step_forward`` that runs the sequence through the neuron's (instance) functional step."""
    original = module.multi_step_forward

    def multi_step_forward(x_seq: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or module._neuron_precision is not None:
            return original(x_seq, *args, **kwargs)  # not the plain step: no membrane for this call
        states = module.materialize_states((x_seq,), tuple(module._memories.values()), "m")
        spikes, voltages = [], []
        for x_t in x_seq:
            (spike,), states = module.single_step_functional_forward((x_t,), states)
            spikes.append(spike)
            voltages.append(states[0])
        module._memories["v"] = states[0]
        if module.store_v_seq:
            module.v_seq = torch.stack(voltages)
        return torch.stack(spikes)

    return multi_step_forward


def prepare_activity(module: nn.Module) -> None:
    """Make the neuron give its charged membranes: computed in its steps, kept from its fire, or replayed.

    Args:
        module: A SpikingJelly neuron on the monitor's copy of the model.
    """
    if any(cls.__name__ == "SimpleBaseNode" for cls in type(module).__mro__):
        module.__dict__[_FIRED] = []
        module.__dict__["neuronal_fire"] = _recording_fire(module)
        return
    cls = _standard(module)
    if cls is not None:
        module.__dict__[_CHARGED] = []
        module.__dict__["single_step_functional_forward"] = _charging_step(module, cls)
        module.__dict__["multi_step_forward"] = _stepping_forward(module)
    elif _functional(module):
        module.register_forward_pre_hook(_snapshot)


def _charged(module: Any, x: torch.Tensor, multi: bool, wanted: int | None) -> list[torch.Tensor | None] | None:
    """h[t] for the call's first ``wanted`` steps (all for None), recomputed from the state before them.

    The later steps' entries are None; None altogether if the neuron cannot be replayed.
    """
    states = module.__dict__.pop(_STATES, None)
    if states is None:
        return None
    index = list(module._memories).index("v")
    states = module.materialize_states((x,), states, "m" if multi else "s")
    threshold = module.v_threshold
    sequence = x if multi else x.unsqueeze(0)
    count = len(sequence) if wanted is None else min(wanted, len(sequence))
    membranes: list[torch.Tensor | None] = []
    try:
        for x_t in sequence[:count]:
            module.v_threshold = _UNREACHABLE
            try:
                _, free = module.single_step_functional_forward((x_t,), states)
            finally:
                module.v_threshold = threshold
            membranes.append(free[index])
            _, states = module.single_step_functional_forward((x_t,), states)
    except NotImplementedError:
        return None
    return membranes + [None] * (len(sequence) - count)


def steps_of_call(
    module: nn.Module, args: tuple[Any, ...], output: Any, wanted: int | None = None
) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """The spikes of one call of a neuron, per step, each with the membrane before the reset (or None).

    Args:
        module: A SpikingJelly neuron that :func:`prepare_activity` has seen.
        args: The positional arguments of the call.
        output: What the call returned.
        wanted: How many first steps' membranes to give (None: all); the others are None.

    Returns:
        One ``(spikes, membrane)`` pair per step; every membrane is None when they cannot be recovered.
    """
    spikes = first_tensor(output)
    multi = step_mode(module) == "m"
    steps = list(spikes.unbind(0)) if multi else [spikes]
    membranes: list[torch.Tensor | None] | None = None
    fired = module.__dict__.get(_FIRED, module.__dict__.get(_CHARGED))
    if isinstance(fired, list):
        membranes = list(fired[-len(steps) :]) if len(fired) >= len(steps) else None
        fired.clear()
        if membranes is not None and wanted is not None and wanted < len(membranes):
            membranes[wanted:] = [None] * (len(membranes) - wanted)
    elif len(args) == 1 and isinstance(args[0], torch.Tensor):
        membranes = _charged(module, args[0], multi, wanted)
    if membranes is None or len(membranes) != len(steps):
        return [(step, None) for step in steps]
    return list(zip(steps, membranes, strict=True))
