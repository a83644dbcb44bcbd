"""The tensor initialisers inside Norse networks.

Norse's LIFBoxCell integrates v <- v + dt * tau_mem_inv * (v_leak - v + i): one step from rest gives
u = g * i with g = dt * tau_mem_inv = 0.1 with its defaults, compensated by target_variance = 1 / g^2.
"""

import torch
from norse.torch import LIFBoxCell, LIFRecurrentCell

from integration._activity import spike_counts
from snninit_adapters import fan_in, kaiming_normal_, snn_normal_

GAIN = 1e-3 * 100.0  # dt * tau_mem_inv, Norse's defaults


def box_step(cell, x):
    spikes, _ = cell(x)
    return spikes


def test_lif_box_cell_keeps_activity_with_gain_compensated():
    compensated = spike_counts(
        LIFBoxCell,
        lambda w, g: snn_normal_(w, 1.0, target_variance=1 / GAIN**2, generator=g),
        step=box_step,
        input_gain=GAIN,
    )
    kaiming = spike_counts(LIFBoxCell, lambda w, g: kaiming_normal_(w, generator=g), step=box_step, input_gain=GAIN)
    assert abs(compensated[-1] - compensated[0]) <= 0.3 * compensated[0], compensated
    assert kaiming[-1] < 0.1 * compensated[-1], kaiming


def test_recurrent_cell_input_weights_have_the_linear_layout():
    cell = LIFRecurrentCell(30, 20)
    assert tuple(cell.input_weights.shape) == (20, 30)
    assert fan_in(cell.input_weights.shape) == 30
    snn_normal_(cell.input_weights.data, 1.0, generator=torch.Generator().manual_seed(0))
    assert cell.input_weights.std().item() > 0
