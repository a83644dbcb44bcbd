r"""Black-box threshold probe for neuron classes no adapter knows.

The smallest constant input that makes a fresh neuron spike within one step is :math:`\\theta / g`:
the threshold in input units. Bisection on ``[0, upper]`` finds it; no spike even at ``upper``
means the input does not reach the membrane in the same step (``inf``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
from torch import nn

__all__ = ["probe_input_threshold"]

Step = Callable[[nn.Module, torch.Tensor], torch.Tensor]
"""Runs one fresh step of a neuron on an input and returns its spikes."""


def _spikes(neuron: nn.Module, step: Step, value: float, steps: int, shape: tuple[int, ...]) -> bool:
    replica = copy.deepcopy(neuron)
    replica.eval()
    x = torch.full(shape, value)
    with torch.no_grad():
        return any(bool((step(replica, x) > 0).any()) for _ in range(steps))


def probe_input_threshold(
    neuron: nn.Module,
    step: Step,
    *,
    steps: int = 1,
    upper: float = 1e4,
    iterations: int = 60,
    shape: tuple[int, ...] = (1, 4),
) -> float:
    r"""Smallest constant input that makes ``neuron`` spike within ``steps`` steps, by bisection.

    The neuron itself is not touched: every trial runs on a fresh deep copy.

    Args:
        neuron: The neuron module.
        step: Calls the (copied) neuron once on an input and returns its output spikes. It is called
            ``steps`` times on the same copy, so it must thread any state itself.
        steps: Steps within which a spike counts; 1 gives :math:`\\theta / g`.
        upper: Largest input tried.
        iterations: Bisection steps.
        shape: Shape of the probe input.

    Returns:
        The input threshold (to the float32 resolution of the probe input), or ``math.inf`` if no
        input up to ``upper`` makes it spike.
    """
    if not _spikes(neuron, step, upper, steps, shape):
        return math.inf
    low, high = 0.0, upper
    for _ in range(iterations):
        middle = (low + high) / 2
        if _spikes(neuron, step, middle, steps, shape):
            high = middle
        else:
            low = middle
    return high
