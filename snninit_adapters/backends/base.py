r"""What a framework backend builds: the paper's LIF neuron, the layers around it, and how they run.

A backend is one object per framework (:class:`FrameworkBackend`); the generic networks of the
experiments and of the training ask it for every module, so that a new framework needs exactly two
files: its adapter (``adapters/<framework>.py``) and its backend (``backends/<framework>.py``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from snninit_adapters.plugins import get_plugin_manager

__all__ = ["REFERENCE_TIMING", "FrameworkBackend"]

REFERENCE_TIMING = "u[t] = beta u[t-1] + W x[t] - theta S[t-1] (Eq. 13)"
"""The paper's reset timing, as the backends' notes quote it."""


class FrameworkBackend(ABC):
    r"""The paper's LIF (leak :math:`\beta`, threshold :math:`\theta`, subtract reset) in one framework.

    Attributes:
        name: The framework (``"snntorch"``, ...).
        notes: How the framework's neuron differs from the paper's model, one line per point, with numbers.
        multi_step: True when the layers take a whole ``[T, B, ...]`` sequence per call.
    """

    name: ClassVar[str]
    notes: ClassVar[tuple[str, ...]]

    def __init__(self, *, multi_step: bool = False) -> None:
        self.multi_step = multi_step and self.has_multi_step

    has_multi_step: ClassVar[bool] = False
    """Whether the framework has layers that run a whole sequence per call."""

    orderings: ClassVar[tuple[tuple[str, str], ...]] = (("soft", "after_leak"),)
    """The (reset kind, timing) pairs its neuron has (timing ``"before_leak"`` for hard and no reset)."""

    def timing(self, reset: str) -> str:
        """When the framework's neuron applies a reset of this kind; ValueError for one it does not have."""
        for kind, when in self.orderings:
            if kind == reset:
                return when
        have = ", ".join(f"{kind} ({when})" for kind, when in self.orderings)
        raise ValueError(f"{self.name}'s neuron has no {reset!r} reset; it has: {have}")

    def check_leak(self, beta: float) -> None:
        r"""Raise ValueError for a leak :math:`\beta` the framework's neuron cannot take.

        Args:
            beta: The leak.

        Raises:
            ValueError: Outside :math:`[0, 1]` (and wherever the framework's neuron is narrower).
        """
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"beta must lie in [0, 1], got {beta!r}")

    @abstractmethod
    def input_gain(self, beta: float) -> float:
        r"""The neuron's same-step input gain :math:`g` as it computes it: a zero membrane becomes :math:`g x`."""

    @abstractmethod
    def neuron(
        self,
        beta: float,
        theta: float,
        *,
        surrogate: bool = False,
        device: str | torch.device = "cpu",
        reset: str = "soft",
    ) -> nn.Module:
        r"""A new layer of the paper's LIF neurons.

        Args:
            beta: Leak :math:`\beta`.
            theta: Threshold :math:`\theta`.
            surrogate: Give it the arctan surrogate gradient (:math:`\alpha = 2`) for training; otherwise
                the framework's default (the forward pass is the same).
            device: Where its parameters live.
            reset: ``"soft"`` (the paper's subtract reset, in the framework's timing), ``"hard"`` (to 0)
                or ``"none"``, where the framework has it (:attr:`orderings`).
        """

    def linear(self, n_in: int, n_out: int) -> nn.Module:
        """A fully-connected layer (with bias) that fits this backend's containers."""
        return nn.Linear(n_in, n_out)

    def conv(self, c_in: int, c_out: int) -> nn.Module:
        """A 3 x 3 convolution with padding 1 (the spatial size is kept)."""
        return nn.Conv2d(c_in, c_out, 3, padding=1)

    def flatten(self) -> nn.Module:
        """Flattens each sample of a batch."""
        return nn.Flatten()

    def container(self, layers: Sequence[nn.Module]) -> nn.Module:
        """The framework's container of the layers (called on one step, or one sequence when multi-step)."""
        return nn.Sequential(*layers)

    def run(self, body: nn.Module, sequence: torch.Tensor) -> torch.Tensor:
        """Run ``body`` from a fresh state over ``sequence`` (``[T, B, ...]``); its outputs at every step.

        The state is reset through the adapters' own ``snninit_reset_state`` hook.

        Args:
            body: A container this backend built.
            sequence: The input at every step.

        Returns:
            The outputs, ``[T, B, ...]``.
        """
        get_plugin_manager().hook.snninit_reset_state(model=body)
        if self.multi_step:
            out: torch.Tensor = body(sequence)
            return out
        return self.step_through(body, sequence)

    def step_through(self, body: nn.Module, sequence: torch.Tensor) -> torch.Tensor:
        """Call a single-step ``body`` once per step (its neurons keep their state between calls)."""
        return torch.stack([body(x_t) for x_t in sequence])
