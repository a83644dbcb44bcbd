r"""The paper's LIF in snnTorch: ``snn.Leaky(beta, threshold, reset_mechanism="subtract", init_hidden=True)``.

This is Eq. 2/13 exactly: input gain :math:`g = 1`, the reset of a spike subtracted one step later
(snnTorch's default ``reset_delay=True``), firing at :math:`u > \theta`. The layers are plain torch
modules in an ``nn.Sequential``, and the time loop runs outside the model, one call per step.
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
    "Neuron: snn.Leaky(beta, threshold=theta, reset_mechanism='subtract', init_hidden=True) in an "
    "nn.Sequential, the time loop outside. Input gain g = 1, as in the paper.",
    f"Reset kind and timing: subtract theta, one step after the spike: {REFERENCE_TIMING}, "
    "exactly the paper's model and the reference backend (its spikes equal the reference dynamics on "
    "the same weights). It fires at u > theta, as the paper.",
    "Precision: the network runs in float32 (the reference in float64), so a membrane within float32 "
    "rounding of theta may fire differently.",
)


_MECHANISMS = {"soft": "subtract", "hard": "zero", "none": "none"}


class Backend(FrameworkBackend):
    """snnTorch ``Leaky`` with subtract reset: the paper's Eq. 2/13, in the reference backend's timing."""

    name = "snntorch"
    notes: ClassVar[tuple[str, ...]] = NOTES

    def input_gain(self, beta: float) -> float:
        """:math:`g = 1`."""
        return 1.0

    orderings: ClassVar[tuple[tuple[str, str], ...]] = (
        ("soft", "after_leak"),
        ("hard", "before_leak"),
        ("none", "before_leak"),
    )

    def neuron(
        self,
        beta: float,
        theta: float,
        *,
        surrogate: bool = False,
        device: str | torch.device = "cpu",
        reset: str = "soft",
    ) -> nn.Module:
        """A ``Leaky`` layer with hidden state: subtract reset (or ``zero``/``none``), the arctan surrogate if asked."""
        self.timing(reset)  # refuses a reset it does not have
        snn: Any = require_framework("snntorch")
        options: dict[str, Any] = {}
        if surrogate:
            options["spike_grad"] = require_framework("snntorch", "snntorch.surrogate").atan(alpha=ATAN_ALPHA)  # type: ignore[attr-defined]
        neuron: nn.Module = snn.Leaky(
            beta=beta, threshold=theta, reset_mechanism=_MECHANISMS[reset], init_hidden=True, **options
        ).to(device)
        # every snnTorch neuron registers itself in a class-level list, kept for the class's
        # reset_hidden/detach_hidden helpers; the adapter resets our neurons, so drop this one there and
        # let a finished model be freed
        instances = snn.SpikingNeuron.instances
        instances[:] = [other for other in instances if other is not neuron]
        return neuron
