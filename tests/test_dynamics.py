"""The temporal rule in apply_snn_init: dynamics read from the records, steps counted, Eq. 10 where memoryless."""

import math

import pytest
import torch
from scipy import special
from torch import nn

from snninit_adapters import NeuronRecord, SNNInitError, apply_snn_init
from snninit_adapters.dynamics import neuron_dynamics
from tests._toy import ToyNeuron

pytestmark = pytest.mark.usefixtures("toy_adapter")


def record(**fields):
    return NeuronRecord(**{"framework": "fw", "kind": "LIF", "threshold": 1.0, **fields})


def test_a_record_becomes_dynamics():
    dyn, notes = neuron_dynamics(
        record(leak=0.9, reset="soft", reset_timing="after_leak", input_gain=0.1, threshold=2.0), 7
    )
    assert (dyn.beta, dyn.theta, dyn.reset, dyn.timing, dyn.gain, dyn.steps) == (0.9, 2.0, "soft", "after_leak", 0.1, 7)
    assert notes == ()


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"leak": None}, "does not say its leak"),
        ({"leak": 1.5}, "outside [0, 1]"),
        ({"leak": 0.5, "threshold": -1.0}, "<= 0"),
    ],
)
def test_records_the_rule_cannot_model_fall_back_with_a_reason(fields, says):
    dyn, notes = neuron_dynamics(record(**fields), 5)
    assert dyn is None
    assert says in notes[0]
    assert "Eq. 10" in notes[0]


def test_an_input_delay_is_named():
    _, notes = neuron_dynamics(record(leak=0.5, input_delay=1), 5)
    assert "1 step(s) late" in notes[0]


def test_per_neuron_thresholds_are_averaged_and_said():
    dyn, notes = neuron_dynamics(record(leak=0.5, threshold=torch.tensor([0.5, 1.5])), 5)
    assert dyn.theta == pytest.approx(1.0)
    assert "per-neuron thresholds (0.5..1.5 (2 values)); the temporal rule uses their mean" in notes[0]


def test_a_synaptic_current_is_named():
    _, notes = neuron_dynamics(record(leak=0.5, current_decay=0.8), 5)
    assert "synaptic current (decay 0.8 per step)" in notes[0]


def deep_mlp(width=400, depth=3, theta=1.0):
    layers = [ToyNeuron(theta)]
    for _ in range(depth):
        layers += [nn.Linear(width, width), ToyNeuron(theta)]
    return nn.Sequential(*layers)


@pytest.mark.parametrize("theta", [0.5, 1.0])
def test_memoryless_neurons_get_eq10_to_two_percent(theta):
    """The toy neuron has no state (beta = 0, no reset): over any number of steps the rule is Eq. 10."""
    torch.manual_seed(0)
    model, x = deep_mlp(theta=theta), torch.randn(64, 400)
    report = apply_snn_init(model, x, method="micheli2024_temporal", steps=8, dry_run=True)
    eq10 = 1.0 / math.sqrt(400 * special.ndtr(-theta))
    for layer in report.layers:
        assert layer.new_std == pytest.approx(eq10, rel=0.01)  # std: 2% in variance
    assert report.steps == 8
    assert "T = 8 steps" in str(report)


def test_steps_are_counted_on_the_example_input_and_said():
    torch.manual_seed(0)
    model, x = deep_mlp(), torch.randn(16, 400)
    report = apply_snn_init(model, x, method="micheli2024_temporal", dry_run=True)
    assert report.steps == 1
    assert any("T = 1 step(s), counted on the example input" in note for note in report.notes)


@pytest.mark.parametrize("steps", [0, -2, 2.5, True, "10"])
def test_bad_steps_are_refused_before_any_work(steps):
    model = deep_mlp()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(SNNInitError, match="steps must be a positive int"):
        apply_snn_init(model, torch.randn(4, 400), method="micheli2024_temporal", steps=steps)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_without_an_example_input_the_steps_must_be_given():
    with pytest.raises(SNNInitError, match="pass steps=T or an example input"):
        apply_snn_init(deep_mlp(), method="micheli2024_temporal")
    report = apply_snn_init(deep_mlp(), method="micheli2024_temporal", steps=4, dry_run=True)
    assert len(report.layers) == 3


def test_a_readout_gets_eq10():
    torch.manual_seed(0)
    model = nn.Sequential(ToyNeuron(), nn.Linear(400, 400), ToyNeuron(), nn.Linear(400, 10))
    x = torch.randn(8, 400)
    temporal = apply_snn_init(model, x, method="micheli2024_temporal", steps=4, dry_run=True).layers[-1]
    paper = apply_snn_init(model, x, dry_run=True).layers[-1]
    assert temporal.new_std == paper.new_std
    assert temporal.warnings == paper.warnings


def test_a_layer_reading_the_data_says_how_it_took_the_data_over_time():
    torch.manual_seed(0)
    model, x = nn.Sequential(nn.Linear(400, 400), ToyNeuron()), torch.rand(16, 400)
    assumed = apply_snn_init(model, x, method="micheli2024_temporal", steps=6, dry_run=True).layers[0]
    assert any("data='repeated'" in warning for warning in assumed.warnings)
    fresh = apply_snn_init(model, x, method="micheli2024_temporal", steps=6, data="independent", dry_run=True)
    assert not any("data='repeated'" in warning for warning in fresh.layers[0].warnings)
    # memoryless neurons see each step alone: how the input is correlated over the steps cannot matter
    assert fresh.layers[0].new_std == pytest.approx(assumed.new_std, rel=0.01)
