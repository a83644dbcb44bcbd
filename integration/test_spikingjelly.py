"""The tensor initialisers inside SpikingJelly networks.

SpikingJelly's LIFNode (decay_input=True) charges H = V + (X - V) / tau, so one step from rest gives
u = X / tau: an input gain g = 1 / tau, which target_variance = 1 / g^2 compensates. IFNode has g = 1.
"""

import math

import torch
from spikingjelly.activation_based import layer, neuron

from integration._activity import spike_counts
from snninit_adapters import fan_in, kaiming_normal_, snn_normal_
from snninit_adapters.theory import firing_probability


def test_layer_wrappers_are_plain_torch_layers():
    conv = layer.Conv2d(3, 16, 3, step_mode="m")
    assert fan_in(conv.weight.shape) == 27
    snn_normal_(conv.weight, 1.0, generator=torch.Generator().manual_seed(0))
    std = 1 / math.sqrt(27 * firing_probability(1.0))
    assert abs(conv.weight.std().item() - std) < 5 * std / math.sqrt(2 * conv.weight.numel())


def test_if_node_keeps_activity_and_kaiming_loses_it():
    paper = spike_counts(neuron.IFNode, lambda w, g: snn_normal_(w, 1.0, generator=g))
    kaiming = spike_counts(neuron.IFNode, lambda w, g: kaiming_normal_(w, generator=g))
    assert abs(paper[-1] - paper[0]) <= 0.3 * paper[0], paper
    assert kaiming[-1] < 0.1 * paper[-1], kaiming


def test_lif_node_needs_its_input_gain_compensated():
    tau = 2.0  # LIFNode's default

    def compensated(w, g):
        return snn_normal_(w, 1.0, target_variance=tau**2, generator=g)

    with_gain = spike_counts(neuron.LIFNode, compensated, input_gain=1 / tau)
    without = spike_counts(neuron.LIFNode, lambda w, g: snn_normal_(w, 1.0, generator=g), input_gain=1 / tau)
    assert abs(with_gain[-1] - with_gain[0]) <= 0.3 * with_gain[0], with_gain
    assert without[-1] < 0.1 * with_gain[-1], without
