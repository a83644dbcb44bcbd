"""Shared helpers for the statistical tests: tolerances derived from the sample size."""

from __future__ import annotations

import math

import torch

# Kurtosis mu_4 / sigma^4 of the laws the initialisers draw from.
KURTOSIS = {"normal": 3.0, "uniform": 1.8}


def std_tolerance(std: float, n: int, distribution: str = "normal", sigmas: float = 5.0) -> float:
    """Allowed |sample std - std| for n i.i.d. draws: `sigmas` standard errors of the sample std.

    For large n the sample std has standard error std * sqrt((kurtosis - 1) / (4 n)).
    """
    return sigmas * std * math.sqrt((KURTOSIS[distribution] - 1.0) / (4.0 * n))


def assert_std_close(tensor: torch.Tensor, std: float, distribution: str = "normal") -> None:
    sample = tensor.detach().double()
    measured = float(sample.std())
    tol = std_tolerance(std, sample.numel(), distribution)
    assert abs(measured - std) <= tol, f"sample std {measured:.6g} vs expected {std:.6g} (tolerance {tol:.3g})"
    # the mean of n draws has standard error std / sqrt(n)
    mean_tol = 5.0 * std / math.sqrt(sample.numel())
    assert abs(float(sample.mean())) <= mean_tol, f"sample mean {float(sample.mean()):.3g} exceeds {mean_tol:.3g}"
