r"""Black-box threshold probe for neuron classes no adapter knows.

The smallest constant input that makes a fresh neuron spike within one step is :math:`\theta / g`:
the threshold in input units. Bisection on ``[0, upper]`` finds it; no spike even at ``upper``
means the input does not reach the membrane in the same step (``inf``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from snninit_adapters.errors import SNNInitError
from snninit_adapters.neurons import NeuronRecord

__all__ = ["probe_input_threshold", "probed_record"]

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
        steps: Steps within which a spike counts; 1 gives :math:`\theta / g`.
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


def probed_record(neuron: nn.Module, step: Step, *, framework: str, hint: str = "", **fields: Any) -> NeuronRecord:
    r"""Probe a neuron no extractor knows and describe it as a :class:`NeuronRecord` in input units.

    The record carries the probed :math:`\theta / g` as its threshold with gain 1, ``probed=True``
    and a note for the report.

    Args:
        neuron: The neuron module (not modified).
        step: One fresh step of (a copy of) the neuron, as for :func:`probe_input_threshold`.
        framework: The framework's name, for the record and the messages.
        hint: Extra text for the error message when probing fails.
        **fields: Further :class:`NeuronRecord` fields (``reset=...``).

    Returns:
        The record.

    Raises:
        SNNInitError: If probing fails, or no input up to the probe's bound makes the neuron spike.
    """
    kind = type(neuron)
    name = f"{kind.__module__}.{kind.__name__}"
    try:
        theta_in = probe_input_threshold(neuron, step)
    except SNNInitError:
        raise
    except Exception as error:
        raise SNNInitError(
            f"cannot read the threshold of {name}, and probing it with one step of a constant input failed "
            f"({type(error).__name__}: {error}){hint}; write an adapter for this neuron"
        ) from error
    if not math.isfinite(theta_in):
        raise SNNInitError(
            f"cannot read the threshold of {name} and the probe found no input up to 1e4 that makes it spike "
            f"within one step{hint}; write an adapter for this neuron"
        )
    return NeuronRecord(
        framework=framework,
        kind=kind.__name__,
        threshold=theta_in,
        threshold_source="black-box probe (theta / g in input units)",
        probed=True,
        notes=(f"{kind.__name__} is not a known {framework} neuron; its threshold theta / g was probed",),
        **fields,
    )
