"""Shared plumbing of the tensor initialisers: validation, fans, and the one in-place fill.

Every public initialiser computes a :class:`~snninit_adapters.theory.WeightLaw` from pure theory first,
then mutates the tensor once, under ``torch.no_grad()``, as ``torch.nn.init`` does.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch

from snninit_adapters.errors import SNNInitError
from snninit_adapters.theory import LayerContext, WeightLaw, fan_in, fan_out

__all__ = ["MODES", "Mode", "Threshold", "check_tensor", "fill_", "initialize_", "threshold_value"]

Mode = Literal["fan_in", "fan_out"]
MODES: tuple[Mode, ...] = ("fan_in", "fan_out")
Threshold = float | torch.Tensor | Sequence[float] | npt.NDArray[np.floating[Any]]
"""A threshold: a number, or the per-neuron thresholds of a layer as a tensor, array or sequence."""


def threshold_value(threshold: Threshold, argument: str = "threshold") -> float | npt.NDArray[np.float64]:
    """Read a threshold as a float (scalar) or a float64 array (per neuron), refusing NaN and infinities.

    Args:
        threshold: The threshold(s).
        argument: The argument's name, for error messages.

    Returns:
        A float for a one-element threshold, a flat array otherwise.
    """
    if isinstance(threshold, torch.Tensor):
        values = threshold.detach().to(device="cpu", dtype=torch.float64).numpy()
    else:
        try:
            values = np.asarray(threshold, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise SNNInitError(f"{argument} must be a number or an array of numbers, got {threshold!r}") from error
    if values.size == 0:
        raise SNNInitError(f"{argument} must hold at least one value, got an empty {type(threshold).__name__}")
    if not np.isfinite(values).all():
        bad = values[~np.isfinite(values)].ravel()[0]
        raise SNNInitError(f"{argument} must be finite, got {bad} (NaN or infinite thresholds have no firing rate)")
    return float(values.ravel()[0]) if values.size == 1 else values.ravel()


def check_tensor(tensor: torch.Tensor, function: str) -> bool:
    """Check that a tensor can be initialised; False (with a warning) if it has no elements.

    Raises:
        SNNInitError: If it has fewer than 2 dimensions or is not floating point.
    """
    if not isinstance(tensor, torch.Tensor):
        raise SNNInitError(f"{function} expects a torch.Tensor, got {type(tensor).__name__}")
    if tensor.dim() < 2:
        raise SNNInitError(
            f"Fan in and fan out can not be computed for tensor with fewer than 2 dimensions "
            f"({function} got shape {tuple(tensor.shape)}); pass a layer's weight, not its bias"
        )
    if not tensor.is_floating_point():
        raise SNNInitError(f"{function} needs a floating-point tensor, got dtype {tensor.dtype}")
    if tensor.numel() == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return False
    return True


def _checked_mode(mode: str) -> Mode:
    lowered = mode.lower() if isinstance(mode, str) else mode
    if lowered not in MODES:
        raise SNNInitError(f"Mode {mode!r} not supported, please use one of {', '.join(MODES)}")
    return lowered


def fill_(tensor: torch.Tensor, law: WeightLaw, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill ``tensor`` in place from ``law`` under ``torch.no_grad()`` and return it.

    Raises:
        SNNInitError: If the law's values do not fit the tensor's dtype.
    """
    largest = abs(law.mean) + (law.bound if law.distribution == "uniform" else law.std)
    if largest > torch.finfo(tensor.dtype).max:
        raise SNNInitError(
            f"the weight std {law.std:.3g} does not fit dtype {tensor.dtype}; use a wider dtype or a lower threshold"
        )
    with torch.no_grad():
        if law.distribution == "normal":
            return tensor.normal_(law.mean, law.std, generator=generator)
        return tensor.uniform_(law.mean - law.bound, law.mean + law.bound, generator=generator)


def initialize_(
    tensor: torch.Tensor,
    law_function: Callable[..., WeightLaw],
    *,
    function: str,
    threshold: Threshold,
    mode: str,
    target_variance: float,
    generator: torch.Generator | None,
    options: dict[str, Any],
    input_second_moment: float | None = None,
) -> torch.Tensor:
    """Validate, build the :class:`LayerContext` of a bare weight tensor, compute the law and fill.

    At the tensor level one threshold stands for both the presynaptic and the driven neurons.
    """
    checked_mode = _checked_mode(mode)
    theta = threshold_value(threshold)
    if not (isinstance(target_variance, int | float) and math.isfinite(target_variance) and target_variance > 0):
        raise SNNInitError(f"target_variance must be a positive finite number, got {target_variance!r}")
    if not check_tensor(tensor, function):
        return tensor
    shape = tuple(tensor.shape)
    n_in, n_out = fan_in(shape), fan_out(shape)
    context = LayerContext(
        fan_in=n_in if checked_mode == "fan_in" else n_out,
        fan_out=n_out,
        theta_pre=theta,
        theta_post=theta,
        target_variance=float(target_variance),
        input_second_moment=input_second_moment,
    )
    return fill_(tensor, law_function(context, **options), generator)
