"""Writing a plan: every planned tensor or none."""

import pytest
import torch
from torch import nn

from snninit_adapters import SNNInitError, WeightLaw
from snninit_adapters.plan import PlannedLayer
from snninit_adapters.report import LayerReport
from snninit_adapters.targets import weight_target
from snninit_adapters.write import write_plan


def planned(layer: nn.Linear, std: float = 0.5) -> PlannedLayer:
    report = LayerReport(layer.__class__.__name__, "Linear", layer.in_features, (), (), None, 1.0, 0.0, std, 0.0,
                         "normal", "zeroed")  # fmt: skip
    return PlannedLayer(report, weight_target(layer, "weight"), layer.bias, WeightLaw("normal", std))


def test_every_weight_is_drawn_from_its_law_and_every_bias_zeroed():
    layers = [nn.Linear(400, 300), nn.Linear(300, 200)]
    write_plan([planned(layers[0], 0.5), planned(layers[1], 0.1)], torch.Generator().manual_seed(0))
    assert float(layers[0].weight.detach().std()) == pytest.approx(0.5, rel=0.01)  # 120000 draws: rel. std error 0.2%
    assert float(layers[1].weight.detach().std()) == pytest.approx(0.1, rel=0.015)  # 60000 draws: 0.3%
    assert all(float(layer.bias.detach().abs().max()) == 0.0 for layer in layers)


def test_a_failure_while_copying_restores_the_tensors_already_written():
    layers = [nn.Linear(4, 4), nn.Linear(4, 4)]
    before = [(layer.weight.detach().clone(), layer.bias.detach().clone()) for layer in layers]
    broken = planned(layers[1])
    holder = nn.Module()
    holder.weight = torch.zeros(1).expand(4, 4)  # copying into it fails: its elements share one memory location
    broken = PlannedLayer(broken.report, weight_target(holder, "weight"), broken.bias, broken.law)
    with pytest.raises(RuntimeError):
        write_plan([planned(layers[0]), broken], None)
    for layer, (weight, bias) in zip(layers, before, strict=True):
        assert torch.equal(layer.weight, weight)
        assert torch.equal(layer.bias, bias)


def test_a_law_that_does_not_fit_the_dtype_fails_before_anything_is_written():
    layers = [nn.Linear(4, 4), nn.Linear(4, 4).half()]
    before = [layer.weight.detach().clone() for layer in layers]
    with pytest.raises(SNNInitError, match="does not fit dtype"):
        write_plan([planned(layers[0]), planned(layers[1], 1e6)], None)
    assert all(torch.equal(layer.weight, weight) for layer, weight in zip(layers, before, strict=True))
