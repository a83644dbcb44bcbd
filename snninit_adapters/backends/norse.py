r"""The paper's LIF in Norse: ``LIFBoxCell`` (no synaptic current) with ``reset_subtract``.

With :math:`dt\,\tau_\text{mem}^{-1} = 1 - \beta` (``dt = 1e-3``), ``v_leak = v_reset = 0``,
``v_th = theta``: :math:`v = \beta v + (1 - \beta) x`, so the input gain is :math:`g = 1 - \beta`, and
the reset is subtracted in the step of the spike. The layers are plain torch modules in a
``SequentialState``, which threads the cells' states; the time loop runs outside, one call per step.
Norse ships no arctan surrogate, so for training each cell's step function is swapped for the same
step with the arctan surrogate (:func:`lif_box_atan_step`); its class stays ``LIFBoxCell``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from snninit_adapters.backends.base import REFERENCE_TIMING, FrameworkBackend
from snninit_adapters.backends.surrogate import atan_spike
from snninit_adapters.plugins import require_framework

__all__ = ["NORSE_DT", "NOTES", "Backend", "lif_box_atan_step"]

NORSE_DT = 1e-3
"""Norse's step size (its default), in seconds; ``tau_mem_inv = (1 - beta) / dt``."""

NOTES = (
    f"Neuron: LIFBoxCell (no synaptic current) in a SequentialState, dt = {NORSE_DT:g}, "
    "tau_mem_inv = (1 - beta)/dt (500/s at beta = 0.5, 100/s at beta = 0.9), v_leak = v_reset = 0, "
    "v_th = theta, reset_subtract: v[t] = beta v[t-1] + (1 - beta) x[t].",
    "Input gain g = dt tau_mem_inv = 1 - beta (0.5 at beta = 0.5, 0.1 at beta = 0.9), not 1: the "
    "input is divided by g so the encoding membrane starts at I_0. apply_snn_init's micheli2024 rule "
    "divides the weights by g, so g W follows Eq. 10, ding2022 reads the driven neurons' threshold "
    "in input units (theta/g), so it scales by 1/g too, and rossbroich2022's kernel integrals are the "
    "driven neuron's (epsilon_hat carries g^2); the baselines that ignore the neuron (kaiming, "
    "glorot, lee2016, bellec2018, zenke2021) are applied as their authors define them "
    "and give membranes g times smaller than in the paper (variance g^2 = 0.25 at beta = 0.5, 0.01 at "
    "beta = 0.9). A held input x charges the membrane towards g x/(1 - beta) = x, not x/(1 - beta).",
    "Reset timing: reset_subtract subtracts theta in the step of the spike, before the next leak: "
    "v[t] = beta (v[t-1] - theta z[t-1]) + g x[t], so a spike lowers the next membrane by beta theta "
    "(0.5 at beta = 0.5, 0.9 at beta = 0.9, theta = 1) instead of theta as in "
    f"{REFERENCE_TIMING}. Neurons fire more over several steps; one-step figures (2-4) are unaffected. "
    "It fires at v > theta, as the paper.",
    "Recorded membrane: the decayed membrane compared with v_th, before the reset; LIFBoxCell returns "
    "the post-reset state, so the activity monitor recomputes it through the neuron's own step.",
)


def _module(name: str) -> Any:
    return require_framework("norse", f"norse.torch.{name}")


def lif_box_atan_step(input_tensor: torch.Tensor, state: Any, p: Any, dt: float = NORSE_DT) -> tuple[torch.Tensor, Any]:
    """Norse's ``lif_box_feed_forward_step`` with the arctan surrogate instead of ``p.method``.

    Args:
        input_tensor: Input current at this step.
        state: ``LIFBoxFeedForwardState``.
        p: ``LIFBoxParameters``.
        dt: Integration step.

    Returns:
        The spikes and the new state.
    """
    v_decayed = state.v + dt * p.tau_mem_inv * (input_tensor + p.v_leak - state.v)
    z = atan_spike(v_decayed - p.v_th)
    v = p.reset_method(z, v_decayed, p.v_reset, p.v_th)
    return z, type(state)(v=v)


def _tau_mem_inv(beta: float, device: str | torch.device = "cpu") -> torch.Tensor:
    r""":math:`\tau_\text{mem}^{-1} = (1 - \beta) / dt` as the cell stores it (a float32 tensor)."""
    return torch.tensor((1.0 - beta) / NORSE_DT, device=device)


class Backend(FrameworkBackend):
    r"""Norse ``LIFBoxCell`` with ``reset_subtract`` and :math:`dt\,\tau_\text{mem}^{-1} = 1 - \beta`."""

    name = "norse"
    notes: ClassVar[tuple[str, ...]] = NOTES

    def check_leak(self, beta: float) -> None:
        r"""The input gain :math:`1 - \beta` must be positive: :math:`\beta < 1`."""
        super().check_leak(beta)
        if not beta < 1.0:
            raise ValueError(f"Norse's LIFBoxCell needs beta < 1 (input gain 1 - beta > 0); got {beta!r}")

    def input_gain(self, beta: float) -> float:
        r""":math:`g = dt\,\tau_\text{mem}^{-1} = 1 - \beta`, as the cell computes it (in float32)."""
        return float(NORSE_DT * _tau_mem_inv(beta))

    orderings: ClassVar[tuple[tuple[str, str], ...]] = (("soft", "before_leak"), ("hard", "before_leak"))

    def neuron(
        self,
        beta: float,
        theta: float,
        *,
        surrogate: bool = False,
        device: str | torch.device = "cpu",
        reset: str = "soft",
    ) -> nn.Module:
        """A ``LIFBoxCell``: ``reset_subtract``, or ``reset_value`` for ``reset="hard"`` (arctan surrogate if asked)."""
        self.timing(reset)  # refuses a reset it does not have

        def value(number: float) -> torch.Tensor:
            return torch.tensor(number, device=device)

        parameters = _module("functional.lif_box").LIFBoxParameters(
            tau_mem_inv=_tau_mem_inv(beta, device),
            v_leak=value(0.0),
            v_th=value(float(theta)),
            v_reset=value(0.0),
            reset_method=_module("functional.reset").reset_subtract
            if reset == "soft"
            else _module("functional.reset").reset_value,
        )
        cell: Any = _module("module.lif_box").LIFBoxCell(p=parameters, dt=NORSE_DT)
        if surrogate:
            cell.activation = lif_box_atan_step
        neuron: nn.Module = cell
        return neuron

    def container(self, layers: Sequence[nn.Module]) -> nn.Module:
        """A ``SequentialState``: ``out, state = body(x, state)`` threads every cell's state."""
        container: nn.Module = _module("module.sequential").SequentialState(*layers)
        return container

    def step_through(self, body: nn.Module, sequence: torch.Tensor) -> torch.Tensor:
        """Call the ``SequentialState`` once per step, passing back the state it returns (None at first)."""
        state: Any = None
        outputs = []
        for x_t in sequence:
            out, state = body(x_t, state)
            outputs.append(out)
        return torch.stack(outputs)
