"""A toy spiking neuron and the in-test adapter plugin that teaches the library about it.

This is also the smallest complete example of an adapter: two hooks recognise the neuron and read it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

import snninit_adapters
from snninit_adapters import NeuronRecord, OwnedWeight, get_plugin_manager


class ToyNeuron(nn.Module):
    """u = gain * x in one step; spikes of height `amplitude` where u > theta."""

    def __init__(self, theta: float | torch.Tensor = 1.0, gain: float = 1.0, amplitude: float = 1.0) -> None:
        super().__init__()
        self.theta = theta
        self.gain = gain
        self.amplitude = amplitude

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.gain * x > self.theta).to(x.dtype) * self.amplitude


class ToyLinearNeuron(ToyNeuron):
    """A neuron that owns its feed-forward weights and a recurrent weight."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.inner = nn.Linear(n_in, n_out)
        self.recurrent = nn.Parameter(torch.zeros(n_out, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(self.inner(x))


class UnreadableNeuron(nn.Module):
    """Claimed as a neuron, but no adapter can read it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x > 1).float()


class ToyAdapter:
    """The adapter plugin for ToyNeuron."""

    @snninit_adapters.hookimpl
    def snninit_is_neuron(self, module: nn.Module) -> bool | None:
        return True if isinstance(module, ToyNeuron | UnreadableNeuron) else None

    @snninit_adapters.hookimpl
    def snninit_neuron_record(self, module: nn.Module) -> NeuronRecord | None:
        if not isinstance(module, ToyNeuron):
            return None
        return NeuronRecord(
            framework="toy",
            kind=type(module).__name__,
            threshold=module.theta,
            input_gain=module.gain,
            spike_amplitude=module.amplitude,
            threshold_source="attribute theta",
            leak=0.0,  # no state: every step starts from rest
            reset="none",
        )

    @snninit_adapters.hookimpl
    def snninit_owned_weights(self, module: nn.Module) -> list[OwnedWeight] | None:
        if not isinstance(module, ToyLinearNeuron):
            return None
        return [
            OwnedWeight("inner.weight", "feedforward", bias="inner.bias"),
            OwnedWeight("recurrent", "recurrent", "toy recurrent weight"),
        ]

    @snninit_adapters.hookimpl
    def snninit_step_activity(self, module: nn.Module, args: tuple[object, ...], output: object) -> list | None:
        """One step per call: the spikes it returned and its membrane gain * x (no reset, no state)."""
        if not isinstance(module, ToyNeuron):
            return None
        x = args[0]
        if isinstance(module, ToyLinearNeuron):
            x = module.inner(x)
        return [(output, module.gain * x)]


class FailingReset:
    """An adapter whose reset hook fails on one model only: the user's (discovery resets a private copy first)."""

    def __init__(self, target: nn.Module) -> None:
        self.target = target

    @snninit_adapters.hookimpl
    def snninit_reset_state(self, model: nn.Module) -> None:
        if model is self.target:
            raise RuntimeError("reset failed")


@contextmanager
def registered(adapter: object, name: str) -> Iterator[object]:
    """Register an adapter plugin for the duration of a block."""
    manager = get_plugin_manager()
    manager.register(adapter, name=name)
    try:
        yield adapter
    finally:
        manager.unregister(adapter)
