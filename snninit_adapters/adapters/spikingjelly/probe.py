r"""The black-box probe for SpikingJelly neurons that no extractor knows.

User subclasses, and classes with no fixed threshold (``PSN`` and its masked and sliding variants,
``FewSpikeNode``, ``FlexSN``, ...), are measured instead of read: the smallest constant input that makes a
fresh copy spike within one step is :math:`\theta / g`, found by bisection
(:func:`snninit_adapters.probe.probed_record`). The copy has every SpikingJelly module inside it reset and
runs in eval mode; a neuron in multi-step mode gets the input as a sequence of length 1.
"""

from __future__ import annotations

import copy
import itertools

import torch
from torch import nn

from snninit_adapters.adapters.spikingjelly.modules import (
    FRAMEWORK,
    first_tensor,
    is_spikingjelly_module,
    reset_module,
    step_mode,
)
from snninit_adapters.adapters.spikingjelly.records import reset_kind
from snninit_adapters.neurons import NeuronRecord
from snninit_adapters.probe import probed_record

__all__ = ["probed_neuron_record"]


def _probe_step(neuron: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """One step of a SpikingJelly neuron: in 'm' mode as a sequence of length 1."""
    tensor = next(itertools.chain(neuron.parameters(), neuron.buffers()), None)
    if tensor is not None:
        x = x.to(tensor.device)
    if step_mode(neuron) == "m":
        return first_tensor(neuron(x.unsqueeze(0)))[0]
    return first_tensor(neuron(x))


def _hint(kind: type) -> str:
    if "PSN" in kind.__name__:
        return (
            f". {kind.__name__} fires on a learnt weighted sum of the whole input sequence (weight, with bias as "
            "minus the threshold), so it has no single-step threshold"
        )
    return ""


def probed_neuron_record(module: nn.Module) -> NeuronRecord:
    r"""Measure a neuron's :math:`\theta / g` on a fresh copy and describe it in input units.

    Args:
        module: The neuron (not modified).

    Returns:
        The probed record.

    Raises:
        SNNInitError: If probing fails, or no input makes the neuron spike within one step.
    """
    kind = type(module)
    fresh = copy.deepcopy(module)
    for sub in fresh.modules():
        if is_spikingjelly_module(sub):
            reset_module(sub)
    fresh.eval()
    return probed_record(fresh, _probe_step, framework=FRAMEWORK, hint=_hint(kind), reset=reset_kind(module))
