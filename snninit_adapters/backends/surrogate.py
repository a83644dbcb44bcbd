r"""The arctan surrogate gradient (Fang et al. 2021), for neurons whose framework ships none.

The same function as snnTorch's ``surrogate.atan()`` and SpikingJelly's ``surrogate.ATan()``: spikes
:math:`H(x)` forward, :math:`\frac{\alpha/2}{1 + (\pi \alpha x / 2)^2}` backward.
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["ATAN_ALPHA", "atan_spike"]

ATAN_ALPHA = 2.0
"""Width parameter of the arctan surrogate (snnTorch's and SpikingJelly's default)."""


class _ATanSpike(torch.autograd.Function):
    """Heaviside forward (spike where x > 0); arctan surrogate derivative backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, alpha: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (x,) = ctx.saved_tensors
        alpha = ctx.alpha
        return grad * (alpha / 2) / (1 + (math.pi / 2 * alpha * x) ** 2), None


def atan_spike(x: torch.Tensor, alpha: float = ATAN_ALPHA) -> torch.Tensor:
    r"""Spikes :math:`H(x)`, differentiated as :math:`\frac{\alpha/2}{1 + (\pi \alpha x / 2)^2}` (arctan surrogate).

    Args:
        x: Membrane minus threshold.
        alpha: Width parameter.

    Returns:
        The spikes, same shape and dtype.
    """
    result: torch.Tensor = _ATanSpike.apply(x, alpha)  # type: ignore[no-untyped-call]
    return result
