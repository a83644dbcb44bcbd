import math

import pytest
import torch
from torch import nn

from snninit_adapters.probe import probe_input_threshold
from tests._toy import ToyNeuron


def step(neuron, x):
    return neuron(x)


@pytest.mark.parametrize(("theta", "gain"), [(1.0, 1.0), (1.5, 0.5), (0.3, 10.0)])
def test_probe_finds_theta_over_gain(theta, gain):
    # bisection on [0, 1e4] for 60 steps resolves 1e4 / 2^60; the float32 probe input rounds to 2^-23 relative
    assert probe_input_threshold(ToyNeuron(theta, gain), step) == pytest.approx(theta / gain, rel=2**-22)


def test_never_spiking_neuron_gives_infinity():
    assert probe_input_threshold(ToyNeuron(1.0, 1e-9), step) == math.inf


def test_stateful_neuron_over_several_steps():
    class Integrator(nn.Module):
        def __init__(self):
            super().__init__()
            self.v = None

        def forward(self, x):
            self.v = x if self.v is None else self.v + x
            return (self.v > 1.0).float()

    neuron = Integrator()
    assert probe_input_threshold(neuron, step, steps=1) == pytest.approx(1.0, rel=2**-22)
    assert probe_input_threshold(neuron, step, steps=4) == pytest.approx(0.25, rel=2**-22)
    assert neuron.v is None  # the neuron itself was never run


def test_probe_input_shape_and_no_grad():
    seen = []

    def recording_step(neuron, x):
        seen.append((tuple(x.shape), torch.is_grad_enabled()))
        return neuron(x)

    probe_input_threshold(ToyNeuron(), recording_step, iterations=2, shape=(2, 3))
    assert set(seen) == {((2, 3), False)}
