r"""The black-box probe for Norse neurons that no extractor can read.

A user subclass, or a known class whose parameters lack the usual fields, is measured: the smallest
constant input that makes a fresh copy spike within one step is :math:`\theta / g` (by bisection, with
:func:`snninit_adapters.probe.probe_input_threshold`); a neuron that does not spike in the step of its
input gets two steps and an input delay of one. The gain :math:`g` is then read from the membrane ``v`` in
the state the neuron returns, :math:`(v(c) - v(0)) / c` at half the input threshold, so that the record's
threshold is in membrane units; without a ``v`` the record stays in input units (:math:`g = 1`).
"""

from __future__ import annotations

import copy
import itertools
import math
import weakref
from typing import Any

import torch
from torch import nn

from snninit_adapters.adapters.common import cpu_float64
from snninit_adapters.adapters.norse.modules import FRAMEWORK, membrane_of, norse_classes
from snninit_adapters.errors import SNNInitError
from snninit_adapters.neurons import NeuronRecord
from snninit_adapters.probe import probe_input_threshold

__all__ = ["probed_neuron_record"]


_FRESH = object()


class _Stepper:
    """Runs copies of a Norse neuron one step at a time on a constant input, threading their state.

    Cells are called as ``neuron(x, state)`` (``state=None`` at first) and sequence modules on ``x[None]``
    (one time step). A neuron that owns ``input_weights`` gets them replaced, on its copy, by a matrix that
    hands input 0 to every neuron (and its recurrent weights zeroed), so the constant reaches each neuron as is.
    """

    def __init__(self, module: nn.Module) -> None:
        self.sequence = isinstance(module, norse_classes().sequences)
        weights = getattr(module, "input_weights", None)
        self.weighted = isinstance(weights, torch.Tensor) and weights.dim() == 2
        self.states: weakref.WeakKeyDictionary[nn.Module, Any] = weakref.WeakKeyDictionary()
        self.device = _device(module)

    def _prepare(self, neuron: Any) -> None:
        if not self.weighted:
            return
        with torch.no_grad():
            neuron.input_weights.zero_()
            neuron.input_weights[:, 0] = 1.0
            recurrent = getattr(neuron, "recurrent_weights", None)
            if isinstance(recurrent, torch.Tensor):
                recurrent.zero_()

    def step(self, neuron: Any, x: torch.Tensor) -> torch.Tensor:
        """One step of ``neuron`` (a copy) on ``x``; returns its spikes and keeps its state."""
        state = self.states.get(neuron, _FRESH)
        if state is _FRESH:
            self._prepare(neuron)
            state = None
        x = x.to(self.device)
        if self.weighted:
            value = torch.zeros(*x.shape[:-1], neuron.input_weights.shape[1], dtype=x.dtype, device=x.device)
            value[..., 0] = x[..., 0]
            x = value
        out = neuron(x.unsqueeze(0) if self.sequence else x, state)
        spikes, new_state = (out[0], out[1]) if isinstance(out, tuple) and len(out) == 2 else (out, None)
        self.states[neuron] = new_state
        result: torch.Tensor = spikes[0] if self.sequence else spikes
        return result

    def membrane(self, module: nn.Module, value: float, steps: int) -> torch.Tensor | None:
        """The membrane ``v`` of a fresh copy after ``steps`` steps of a constant input, or None if it spiked."""
        replica = copy.deepcopy(module)
        replica.eval()
        x = torch.full((1, 4), value)
        with torch.no_grad():
            spiked = any(bool((self.step(replica, x) > 0).any()) for _ in range(steps))
        found = membrane_of(self.states.get(replica))
        return None if spiked or found is None else cpu_float64(found)


def _device(module: nn.Module) -> torch.device:
    """Where the neuron computes: its first parameter, buffer or tensor in ``p`` (CPU if none)."""
    first = next(itertools.chain(module.parameters(), module.buffers()), None)
    if first is not None:
        return first.device
    stack = [getattr(module, "p", None)]
    while stack:
        value = stack.pop()
        if isinstance(value, torch.Tensor):
            return value.device
        if isinstance(value, tuple):
            stack.extend(value)
    return torch.device("cpu")


def _measured_gain(stepper: _Stepper, module: nn.Module, theta_in: float, delay: int) -> float | None:
    """Input gain from the state's membrane: (v(c) - v(0)) / c at half the input threshold."""
    if not theta_in > 0:
        return None
    value = theta_in / 2
    try:
        driven = stepper.membrane(module, value, delay + 1)
        rest = stepper.membrane(module, 0.0, delay + 1)
    except Exception:  # the probe already ran it; anything odd here means "not measurable"
        return None
    if driven is None or rest is None:
        return None
    gain = float(((driven - rest) / value).mean())
    return gain if math.isfinite(gain) and gain > 0 else None


def probed_neuron_record(module: nn.Module, reason: str) -> NeuronRecord:
    r"""Probe a neuron no extractor can read: :math:`\theta / g` by bisection, :math:`g` from its state's ``v``.

    Args:
        module: The neuron (not modified).
        reason: Why it is probed (starts the note and the error messages).

    Returns:
        The probed record, with the threshold in membrane units when the gain could be measured.

    Raises:
        SNNInitError: If probing fails, or no input makes the neuron spike within two steps.
    """
    kind = type(module)
    stepper = _Stepper(module)
    delay = 0
    try:
        theta_in = probe_input_threshold(module, stepper.step)
        if not math.isfinite(theta_in):
            delay = 1
            theta_in = probe_input_threshold(module, stepper.step, steps=2)
    except SNNInitError:
        raise
    except Exception as error:
        raise SNNInitError(
            f"cannot read the threshold of {kind.__module__}.{kind.__name__} ({reason}), and probing it failed: "
            f"{type(error).__name__}: {error}. Write an adapter for this neuron"
        ) from error
    if not math.isfinite(theta_in):
        raise SNNInitError(
            f"cannot read the threshold of {kind.__module__}.{kind.__name__} ({reason}), and the probe found no "
            "input up to 1e4 that makes it spike within two steps; write an adapter for this neuron"
        )
    notes = [f"{reason}; its threshold theta / g = {theta_in:.4g} (input units) was probed"]
    if delay:
        notes.append("it did not spike in the step of its input: its input reaches the membrane one step late")
    gain = _measured_gain(stepper, module, theta_in, delay)
    if gain is None:
        gain = 1.0
        source = "black-box probe (theta / g in input units; no membrane v in its state to measure g)"
        notes.append("its gain could not be measured, so threshold and membrane are in input units (g = 1)")
    else:
        source = "black-box probe (theta / g by bisection, g from the membrane v in its state)"
    return NeuronRecord(
        framework=FRAMEWORK,
        kind=kind.__name__,
        threshold=gain * theta_in,
        input_gain=gain,
        threshold_source=source,
        input_delay=delay,
        probed=True,
        notes=tuple(notes),
    )
