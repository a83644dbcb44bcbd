r"""Activity monitor for Norse: the spikes and the membrane compared with the threshold, per step.

A Norse neuron returns its state after the reset (``state.v`` is ``v_reset`` where it spiked). As its
modules are pure functions of (input, state), the membrane the threshold saw is recomputed: the same
step again, from the same state, with every threshold field (``v_th``, ``v_thresh``, nested ones such as
``p.lif.v_th``) raised out of reach, so that nothing spikes or resets and the new ``v`` is the charged
membrane. On the monitor's copy the neuron's ``activation`` (the step function that cells and sequence
modules call once per time step) is wrapped to do that inside each step: for ``LIFCell``'s
``lif_feed_forward_step`` the step is computed once, its charge (Norse's own operations, checked against
Norse's step once per process) then its fire and reset as Norse does, bit for bit; for other neurons the
free step is followed by the real one. For ``LSNN`` the
membrane is compared with the adaptive threshold ``b`` of its state, not with ``p.v_th``. A neuron
without such an ``activation`` is re-run after its call instead (cells once per call; sequence modules
one free and one real step per time step). A class whose parameters hold no threshold field gives its
spikes without a membrane.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import nn

from snninit_adapters.adapters.norse.modules import import_norse, membrane_of, norse_classes

__all__ = ["prepare_activity", "steps_of_call"]

_THRESHOLD_FIELDS = ("v_th", "v_thresh")
_UNREACHABLE = 1e30  # finite, so that 0 * theta stays 0
_CHARGED = "_snninit_charged"


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


def _lif_step(activation: Any) -> Any:
    """``threshold`` if ``activation`` is Norse's ``lif_feed_forward_step`` (one free step is all it needs)."""
    lif = import_norse("functional.lif")
    if activation is getattr(lif, "lif_feed_forward_step", None):
        return getattr(import_norse("functional.threshold"), "threshold", None)
    return None


def _lif_charge(x: torch.Tensor, state: Any, p: Any, dt: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``lif_feed_forward_step``'s charge, the same torch operations in the same order: ``(h, i)``.

    Norse computes the new current and the charged membrane before it fires; this is that part alone,
    so the monitor's step fires and resets once (the free step would also fire and reset on the
    unreachable threshold). :func:`_charge_matches` checks it against Norse's own step before it is used.
    """
    i_new = state.i + x
    dv = dt * p.tau_mem_inv * ((p.v_leak - state.v) + i_new)
    v_decayed = state.v + dv
    di = -dt * p.tau_syn_inv * i_new
    return v_decayed, i_new + di


@functools.cache
def _charge_matches(activation: Any) -> bool:
    """Whether :func:`_lif_charge` gives ``activation``'s free step to the bit (checked once per function).

    The check runs both on random inputs with Norse's default parameters, float32 and float64; a Norse
    whose step computes its charge otherwise gets the free step instead.
    """
    lif = import_norse("functional.lif")
    generator = torch.Generator().manual_seed(0)
    for dtype in (torch.float32, torch.float64):
        x, v, i = (3 * torch.randn(5, 37, generator=generator, dtype=dtype) for _ in range(3))
        p = lif.LIFParameters()
        state = lif.LIFFeedForwardState(v=v, i=i)
        free = p._replace(v_th=torch.as_tensor(_UNREACHABLE))
        try:
            with torch.no_grad():
                _, expected = activation(x, state, free, 1e-3)
                h, current = _lif_charge(x, state, p, 1e-3)
        except Exception:  # a Norse whose step or parameters differ in form: the free step, always right
            return False
        if not (torch.equal(h, expected.v) and torch.equal(current, expected.i)):
            return False
    return True


def _charging_activation(module: Any, activation: Any) -> Any:
    """``activation`` that also keeps each step's charged membrane in the module's ``_snninit_charged``."""
    charged: list[torch.Tensor | None] = module.__dict__[_CHARGED]
    threshold = _lif_step(activation)
    direct = threshold is not None and _charge_matches(activation)
    cache: dict[str, Any] = {}

    def step(x: torch.Tensor, state: Any, *rest: Any) -> Any:
        *weights, p, dt = rest
        if cache.get("p") is not p:  # parameters out of reach, made once per parameter object
            cache["p"], cache["free"] = p, _unreachable(p)
        free = cache["free"]
        if free is None:
            charged.append(None)
            return activation(x, state, *rest)
        h: torch.Tensor | None
        if direct and not weights:
            h, current = _lif_charge(x, state, p, dt)
            free_state = state._replace(v=h, i=current)
        else:
            _, free_state = activation(x, state, *weights, free, dt)
            h = membrane_of(free_state)
        charged.append(h)
        if threshold is None or h is None:
            return activation(x, state, *rest)
        z = threshold(h - p.v_th, p.method, p.alpha)  # the step's own fire and reset, on the same h
        return z, free_state._replace(v=(1 - z) * h + z * p.v_reset)

    return step


def prepare_activity(module: nn.Module) -> None:
    """Wrap the neuron's ``activation`` (its step function) to keep each step's charged membrane.

    Args:
        module: A Norse neuron on the monitor's copy of the model.
    """
    activation = module.__dict__.get("activation")
    if callable(activation) and _unreachable(getattr(module, "p", None)) is not None:
        module.__dict__[_CHARGED] = []
        module.__dict__["activation"] = _charging_activation(module, activation)


def _recorded(module: nn.Module, count: int) -> list[torch.Tensor | None] | None:
    """The charged membranes the wrapped ``activation`` kept during the call (None if not ``count`` of them)."""
    charged = module.__dict__.get(_CHARGED)
    if not isinstance(charged, list):
        return None
    membranes = list(charged[-count:]) if len(charged) >= count else None
    charged.clear()
    return membranes


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
    sequence = isinstance(module, norse_classes().sequences)
    steps = list(spikes.unbind(0)) if sequence else [spikes]
    recorded = _recorded(module, len(steps))
    if recorded is not None:
        kept = [m if m is not None and m.shape == s.shape else None for m, s in zip(recorded, steps, strict=True)]
        if wanted is not None:
            kept[wanted:] = [None] * max(0, len(kept) - wanted)
        return list(zip(steps, kept, strict=True))
    if wanted == 0:
        return [(step, None) for step in steps]
    if sequence:
        membranes = _free_sequence_membranes(module, args, kwargs)
        if membranes is None or len(membranes) != len(steps):
            return [(step, None) for step in steps]
        return list(zip(steps, membranes, strict=True))
    membrane = _free_cell_membrane(module, args, kwargs)
    return [(spikes, membrane if membrane is not None and membrane.shape == spikes.shape else None)]
