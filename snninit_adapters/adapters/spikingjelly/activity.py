r"""Activity monitor for SpikingJelly: the spikes and the membrane compared with the threshold, per step.

SpikingJelly 2.0 neurons keep only the membrane after the reset (``v``; ``v_seq`` with
``store_v_seq=True``), and their fused kernels never call child modules. The membrane the threshold
saw is recomputed instead: a forward pre-hook keeps the neuron's state from before each call, and for
each step of the call the neuron's own pure ``single_step_functional_forward`` runs twice from the
state before that step: once with an unreachable threshold (no spike, so no reset: the new ``v`` is the
charged membrane :math:`h[t]`) and once as is (the state the next step starts from). This works for every
``BaseNode`` with a functional step (IF, LIF, PLIF, KLIF, CUBA, CLIF, ILIF, QIF, EIF, Izhikevich, RAF,
ternary, MPBN, ...), hard or soft reset. ``SimpleBaseNode`` neurons (pure Python) are read in their
``neuronal_fire``, where ``v`` is :math:`h[t]`. Other neurons (GatedLIF, PSN, DSR, STBIF, ILC, Noisy,
FewSpike, FlexSN, ActivationAwareIF) give their spikes without a membrane.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from snninit_adapters.adapters.spikingjelly.modules import first_tensor, step_mode

__all__ = ["prepare_activity", "steps_of_call"]

_STATES = "_snninit_states"
_FIRED = "_snninit_fired"
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


def prepare_activity(module: nn.Module) -> None:
    """Keep each call's starting state (functional neurons) or the charged membrane (``SimpleBaseNode``).

    Args:
        module: A SpikingJelly neuron on the monitor's copy of the model.
    """
    if any(cls.__name__ == "SimpleBaseNode" for cls in type(module).__mro__):
        module.__dict__[_FIRED] = []
        module.__dict__["neuronal_fire"] = _recording_fire(module)
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
        wanted: How many first steps' membranes to recompute (None: all).

    Returns:
        One ``(spikes, membrane)`` pair per step; every membrane is None when they cannot be recovered.
    """
    spikes = first_tensor(output)
    multi = step_mode(module) == "m"
    steps = list(spikes.unbind(0)) if multi else [spikes]
    membranes: list[torch.Tensor | None] | None = None
    fired = module.__dict__.get(_FIRED)
    if isinstance(fired, list):
        membranes = list(fired)
        fired.clear()
    elif len(args) == 1 and isinstance(args[0], torch.Tensor):
        membranes = _charged(module, args[0], multi, wanted)
    if membranes is None or len(membranes) != len(steps):
        return [(step, None) for step in steps]
    return list(zip(steps, membranes, strict=True))
