"""The tensor initialisers inside snnTorch networks: activity through 10 blocks of Leaky neurons."""

import snntorch as snn
import torch

from integration._activity import spike_counts
from snninit_adapters import kaiming_normal_, snn_normal_


def leaky():
    return snn.Leaky(beta=0.5, threshold=1.0, init_hidden=True)


def test_paper_method_keeps_activity_through_ten_leaky_layers():
    counts = spike_counts(leaky, lambda w, g: snn_normal_(w, 1.0, generator=g))
    assert abs(counts[-1] - counts[0]) <= 0.3 * counts[0], counts


def test_kaiming_loses_activity():
    paper = spike_counts(leaky, lambda w, g: snn_normal_(w, 1.0, generator=g))
    kaiming = spike_counts(leaky, lambda w, g: kaiming_normal_(w, generator=g))
    assert kaiming[-1] < 0.1 * paper[-1], (kaiming, paper)


def test_learnable_threshold_parameter_is_read():
    neuron = snn.Leaky(beta=0.5, threshold=0.5, learn_threshold=True)
    assert isinstance(neuron.threshold, torch.nn.Parameter)
    a, b = torch.empty(100, 100), torch.empty(100, 100)
    snn_normal_(a, neuron.threshold, generator=torch.Generator().manual_seed(0))
    snn_normal_(b, 0.5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
