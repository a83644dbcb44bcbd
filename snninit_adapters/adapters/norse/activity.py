r"""Activity monitor for Norse: the spikes and the membrane compared with the threshold, per step.

A Norse neuron returns its state after the reset (``state.v`` is ``v_reset`` where it spiked). As its
modules are pure functions of (input, state), the membrane the threshold saw is recomputed: the same
step again, from the same state, with every threshold field (``v_th``, ``v_thresh``, nested ones such as
``p.lif.v_th``) raised out of reach, so that nothing spikes or resets and the new ``v`` is the charged
membrane. Cells (``LIFCell``, ``LIFRecurrentCell``, ...) are re-run once per call; sequence modules
(``LIF``, ``LSNN``, ... on ``[T, ...]``) step through their ``activation`` from the state given to the call
(or their fresh state), one free step and one real step per time step. For ``LSNN`` the membrane is
compared with the adaptive threshold ``b`` of its state, not with ``p.v_th``. A class whose parameters
hold no threshold field gives its spikes without a membrane.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from snninit_adapters.adapters.norse.modules import import_norse, membrane_of, norse_classes

__all__ = ["steps_of_call"]

_THRESHOLD_FIELDS = ("v_th", "v_thresh")
_UNREACHABLE = 1e30  # finite, so that 0 * theta stays 0


def _unreachable(p: Any) -> Any:
    """``p`` with every threshold field (also in nested NamedTuples) set out of reach; None if it has none."""
    names = getattr(p, "_fields", None)
    replace = getattr(p, "_replace", None)
    if names is None or not callable(replace):
        return None
    changes: dict[str, Any] = {}
    for name in names:
        value = getattr(p, name)
        if name in _THRESHOLD_FIELDS:
            changes[name] = torch.full_like(value, _UNREACHABLE) if isinstance(value, torch.Tensor) else _UNREACHABLE
        else:
            nested = _unreachable(value)
            if nested is not None:
                changes[name] = nested
    return replace(**changes) if changes else None


def _state_argument(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The state a call was given: ``state=...``, or its second positional argument (None if neither)."""
    return kwargs["state"] if "state" in kwargs else (args[1] if len(args) > 1 else None)


def _free_cell_membrane(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor | None:
    """The charged membrane of one cell call: the call again with every threshold out of reach."""
    free = _unreachable(module.p)
    if free is None:
        return None
    original = module.p
    module.p = free
    try:
        out = module.forward(*args, **kwargs)  # forward, not __call__: the monitor's hooks do not see it
    finally:
        module.p = original
    state = out[1] if isinstance(out, tuple) and len(out) == 2 else None
    return membrane_of(state)


def _free_sequence_membranes(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[torch.Tensor] | None:
    """The charged membrane of each step of a sequence call: one free and one real step per time step."""
    free = _unreachable(module.p)
    x = args[0] if args else kwargs.get("input_tensor")
    if free is None or not isinstance(x, torch.Tensor) or x.is_sparse:
        return None
    state = _state_argument(args, kwargs)
    state = state if state is not None else module.state_fallback(x)
    weights = (module.input_weights, module.recurrent_weights) if _recurrent_sequence(module) else ()
    membranes = []
    for x_t in x:
        _, charged = module.activation(x_t, state, *weights, free, module.dt)
        membrane = membrane_of(charged)
        if membrane is None:
            return None
        membranes.append(membrane)
        _, state = module.activation(x_t, state, *weights, module.p, module.dt)
    return membranes


def _recurrent_sequence(module: nn.Module) -> bool:
    """Whether a sequence module's ``activation`` also takes input and recurrent weights."""
    return isinstance(module, import_norse("module.snn").SNNRecurrent)


def steps_of_call(
    module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any, wanted: int | None = None
) -> list[tuple[torch.Tensor, torch.Tensor | None]] | None:
    """The spikes of one call of a Norse neuron, per step, each with its charged membrane (or None).

    Args:
        module: A Norse neuron.
        args: The positional arguments of the call.
        kwargs: The keyword arguments of the call.
        output: What the call returned.
        wanted: How many first steps' membranes to recompute (None: all; 0: none).

    Returns:
        One ``(spikes, membrane)`` pair per step, or None if the call returned no spike tensor.
    """
    spikes = output[0] if isinstance(output, tuple) else output
    if not isinstance(spikes, torch.Tensor):
        return None
    if wanted == 0:
        steps = list(spikes.unbind(0)) if isinstance(module, norse_classes().sequences) else [spikes]
        return [(step, None) for step in steps]
    if isinstance(module, norse_classes().sequences):
        steps = list(spikes.unbind(0))
        membranes = _free_sequence_membranes(module, args, kwargs)
        if membranes is None or len(membranes) != len(steps):
            return [(step, None) for step in steps]
        return list(zip(steps, membranes, strict=True))
    membrane = _free_cell_membrane(module, args, kwargs)
    return [(spikes, membrane if membrane is not None and membrane.shape == spikes.shape else None)]
