r"""The ``exact`` backend: single-step figures (2, 3 and 4) computed from the finite-width law, not sampled.

For each method with a zero-mean normal law, the spike-count Markov chain of
:mod:`snninit_adapters.theory.finite_width` gives every layer's expected spike count and its spread,
the expected :math:`\operatorname{Var}[u_l]` and its spread over networks, and the probability that
activity survives to the layer. Methods with another law (Lee 2016's uniform weights) are left out.
The plots overlay the reference backend's simulated curves on the exact ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from snninit_adapters.experiments.figures import FigureSpec
from snninit_adapters.init import get_method
from snninit_adapters.theory import LayerContext, membrane_variance_moments, propagate_spike_counts

__all__ = ["ExactStats", "exact_methods", "simulate_exact"]


@dataclass(frozen=True)
class ExactStats:
    r"""Exact per-layer expectations (arrays of shape (L + 1, 1)) and their spreads over networks.

    Attributes:
        var_u: :math:`E[\operatorname{Var}[u_l]]`.
        mean_u: :math:`E[\bar u_l] = 0`.
        skew_u: 0: given the input, a layer's membranes are Gaussian.
        kurt_u: 0, likewise.
        spikes: :math:`E[k_l]`.
        var_u_std: Standard deviation of :math:`\operatorname{Var}[u_l]` over networks.
        spikes_std: Standard deviation of :math:`k_l` over networks.
        survival: :math:`P(k_l > 0)`.
    """

    var_u: npt.NDArray[np.float64]
    mean_u: npt.NDArray[np.float64]
    skew_u: npt.NDArray[np.float64]
    kurt_u: npt.NDArray[np.float64]
    spikes: npt.NDArray[np.float64]
    var_u_std: npt.NDArray[np.float64]
    spikes_std: npt.NDArray[np.float64]
    survival: npt.NDArray[np.float64]


def exact_methods(spec: FigureSpec) -> tuple[str, ...]:
    """The figure's methods whose weight law is a zero-mean normal (the ones the exact law covers)."""
    context = LayerContext(fan_in=100, fan_out=100, theta_pre=1.0, theta_post=1.0)
    return tuple(
        name
        for name in spec.methods
        if (law := get_method(name).weight_law(context)).distribution == "normal" and law.mean == 0.0
    )


def simulate_exact(cell: Mapping[str, Any], spec: FigureSpec) -> dict[str, ExactStats]:
    """The exact law for one (threshold, width) cell, for each of its methods."""
    if spec.steps != 1:
        raise ValueError(f"the exact backend covers single-step figures (2, 3, 4); figure {spec.number} has steps")
    theta, width, depth = float(cell["threshold"]), int(cell["width"]), spec.depth
    context = LayerContext(fan_in=width, fan_out=width, theta_pre=theta, theta_post=theta)
    results = {}
    for name in str(cell["methods"]).split("+"):
        law = get_method(name).weight_law(context)
        chain = propagate_spike_counts([width] * (depth + 1), [theta] * (depth + 1), [law.std] * depth)
        var_mean, var_std = membrane_variance_moments(chain)
        # layer 0 reads N(0, 1) input: the population variance of n draws, mean (n-1)/n, var 2(n-1)/n^2
        var_u = np.concatenate([[(width - 1) / width], var_mean])
        var_u_std = np.concatenate([[math.sqrt(2 * (width - 1)) / width], var_std])
        zeros = np.zeros((depth + 1, 1))
        results[name] = ExactStats(
            var_u=var_u[:, None],
            mean_u=zeros,
            skew_u=zeros,
            kurt_u=zeros,
            spikes=chain.spike_count_mean()[:, None],
            var_u_std=var_u_std[:, None],
            spikes_std=chain.spike_count_std()[:, None],
            survival=chain.survival[:, None],
        )
    return results
