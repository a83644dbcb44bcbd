import math

import pytest
import torch

from snninit_adapters import NeuronRecord, SNNInitError


def record(**kwargs):
    return NeuronRecord(**({"framework": "toy", "kind": "Toy", "threshold": 1.0} | kwargs))


def test_scalar_and_per_neuron_thresholds():
    assert record().theta == 1.0
    assert record(threshold=torch.tensor(0.5)).theta == 0.5
    per_neuron = record(threshold=torch.tensor([0.5, 1.0, 2.0]))
    assert per_neuron.theta.tolist() == [0.5, 1.0, 2.0]
    assert per_neuron.describe_threshold() == "0.5..2 (3 values)"


@pytest.mark.parametrize("threshold", [math.nan, math.inf, torch.tensor([1.0, math.nan])])
def test_non_finite_threshold_rejected(threshold):
    with pytest.raises(SNNInitError, match="threshold that is not finite"):
        record(threshold=threshold)


@pytest.mark.parametrize("gain", [0.0, -1.0, math.nan])
def test_gain_must_reach_the_membrane(gain):
    with pytest.raises(SNNInitError, match="same step"):
        record(input_gain=gain)
