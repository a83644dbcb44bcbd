r"""The paper's LIF in SpikingJelly: ``LIFNode(tau=1/(1-beta), decay_input=False, v_reset=None)``.

``decay_input=False`` charges :math:`h = v - v/\tau + x = \beta v + x`, so the input gain is
:math:`g = 1` as in Eq. 2 (the default ``decay_input=True`` would scale the input by
:math:`1/\tau = 1 - \beta`); ``v_reset=None`` is the soft (subtract) reset, applied in the step of the
spike. In single-step mode the layers are plain torch modules and the time loop runs outside; in
multi-step mode (``step_mode="m"``) they are SpikingJelly's ``layer.Linear``/``layer.Conv2d``/
``layer.Flatten`` and one call runs the whole ``[T, B, ...]`` sequence. Needs :math:`0 < \beta < 1`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from snninit_adapters.backends.base import REFERENCE_TIMING, FrameworkBackend
from snninit_adapters.backends.surrogate import ATAN_ALPHA
from snninit_adapters.plugins import require_framework

__all__ = ["NOTES", "Backend"]

NOTES = (
    "Neuron: LIFNode(tau = 1/(1 - beta) (2 at beta = 0.5, 10 at beta = 0.9), decay_input=False, "
    "v_threshold=theta, v_reset=None) in single-step mode, the time loop outside. decay_input=False "
    "charges h[t] = v[t-1] - v[t-1]/tau + x[t] = beta v[t-1] + x[t]: input gain g = 1, as in the paper "
    "(the default decay_input=True would give g = 1/tau = 1 - beta: 0.5 at beta = 0.5, 0.1 at beta = 0.9).",
    "Reset timing: the soft reset (subtract theta) is applied in the step of the spike, before the "
    "next leak: h[t] = beta (h[t-1] - theta S[t-1]) + W x[t], so a spike lowers the next membrane by "
    "beta theta (0.5 at beta = 0.5, 0.9 at beta = 0.9, theta = 1) instead of theta as in "
    f"{REFERENCE_TIMING}. Neurons fire more over several steps; one-step figures (2-4) are unaffected.",
    "Firing condition: S = H(h - theta) with h >= theta, not h > theta: it differs only for a membrane "
    "exactly at theta (e.g. a neuron with no input at theta = 0). The CPU kernel computes in float32.",
    "Recorded membrane: h, the charged membrane compared with the threshold, before the reset; LIFNode "
    "keeps only the post-reset v, so the activity monitor recomputes h through the neuron's own step.",
)


def _module(name: str) -> Any:
    return require_framework("spikingjelly", f"spikingjelly.activation_based.{name}")


class Backend(FrameworkBackend):
    """SpikingJelly ``LIFNode`` with ``decay_input=False`` (input gain 1) and soft reset."""

    name = "spikingjelly"
    notes: ClassVar[tuple[str, ...]] = NOTES
    has_multi_step = True

    def check_leak(self, beta: float) -> None:
        r"""``tau = 1 / (1 - beta)`` must exceed 1: :math:`0 < \beta < 1`."""
        super().check_leak(beta)
        if not 0.0 < beta < 1.0:
            raise ValueError(f"SpikingJelly's LIFNode needs tau = 1 / (1 - beta) > 1, so 0 < beta < 1; got {beta!r}")

    def input_gain(self, beta: float) -> float:
        """:math:`g = 1` (``decay_input=False``)."""
        return 1.0

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
        """A ``LIFNode`` layer in this backend's step mode: soft reset, or ``v_reset=0`` for ``reset="hard"``."""
        self.timing(reset)  # refuses a reset it does not have
        options: dict[str, Any] = {}
        if surrogate:
            options["surrogate_function"] = _module("surrogate").ATan(alpha=ATAN_ALPHA)
        neuron: nn.Module = _module("neuron").LIFNode(
            tau=1.0 / (1.0 - beta),
            decay_input=False,
            v_threshold=float(theta),
            v_reset=None if reset == "soft" else 0.0,
            step_mode="m" if self.multi_step else "s",
            **options,
        )
        return neuron.to(device)

    def linear(self, n_in: int, n_out: int) -> nn.Module:
        """``layer.Linear`` in multi-step mode, else ``nn.Linear``."""
        if not self.multi_step:
            return super().linear(n_in, n_out)
        module: nn.Module = _module("layer").Linear(n_in, n_out, step_mode="m")
        return module

    def conv(self, c_in: int, c_out: int) -> nn.Module:
        """``layer.Conv2d`` (3 x 3, padding 1) in multi-step mode, else ``nn.Conv2d``."""
        if not self.multi_step:
            return super().conv(c_in, c_out)
        module: nn.Module = _module("layer").Conv2d(c_in, c_out, 3, padding=1, step_mode="m")
        return module

    def flatten(self) -> nn.Module:
        """``layer.Flatten`` in multi-step mode (it keeps ``[T, B]``), else ``nn.Flatten``."""
        if not self.multi_step:
            return super().flatten()
        module: nn.Module = _module("layer").Flatten(step_mode="m")
        return module
