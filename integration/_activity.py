"""Shared setup of the integration tests: a deep one-step network and its spike counts per layer."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

DEPTH, WIDTH, SEEDS = 10, 1000, (0, 1, 2, 3, 4)


def spike_counts(
    make_neuron: Callable[[], nn.Module],
    initialise: Callable[[torch.Tensor, torch.Generator], object],
    *,
    step: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
    input_gain: float = 1.0,
    depth: int = DEPTH,
    width: int = WIDTH,
    seeds: tuple[int, ...] = SEEDS,
) -> list[float]:
    """Mean spike count per block of ``depth`` x (Linear(width, width) -> neuron) after one step.

    As in the paper's Sec. IV-A, the N(0, 1) input goes straight into the membranes of a first neuron
    layer, which encodes it into spikes; every ``Linear`` then reads spikes. The input is divided by the
    neurons' ``input_gain`` g so that the encoding layer's membrane is N(0, 1), as the paper assumes.
    """
    step = step or (lambda neuron, x: neuron(x))
    totals = [0.0] * depth
    for seed in seeds:
        generator = torch.Generator().manual_seed(seed)
        x = torch.randn(1, width, generator=generator)
        with torch.no_grad():
            x = step(make_neuron(), x / input_gain)
            for block in range(depth):
                linear = nn.Linear(width, width, bias=False)
                initialise(linear.weight, generator)
                x = step(make_neuron(), linear(x))
                totals[block] += float(x.sum()) / len(seeds)
    return totals
