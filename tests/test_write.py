"""Writing a plan: every planned tensor or none."""

import pytest
import torch
from torch import nn

from snninit_adapters import SNNInitError, WeightLaw
from snninit_adapters.plan import PlannedLayer
from snninit_adapters.report import LayerReport
from snninit_adapters.targets import weight_target
from snninit_adapters.write import draw_values, write_plan


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


def test_a_law_that_does_not_fit_the_dtype_raises_and_leaves_every_weight_as_it_was():
    layers = [nn.Linear(4, 4), nn.Linear(4, 4).half()]
    before = [layer.weight.detach().clone() for layer in layers]
    with pytest.raises(SNNInitError, match="does not fit dtype"):
        write_plan([planned(layers[0]), planned(layers[1], 1e6)], None)
    assert all(torch.equal(layer.weight, weight) for layer, weight in zip(layers, before, strict=True))


def test_the_weights_drawn_in_place_are_those_drawn_beforehand():
    """One seed, one set of weights: drawn into the weights, or into new tensors first (as calibration does)."""
    torch.manual_seed(3)
    first = [nn.Linear(50, 40), nn.Linear(40, 30), nn.Linear(30, 20)]
    second = [nn.Linear(50, 40), nn.Linear(40, 30), nn.Linear(30, 20)]
    second[1] = nn.utils.parametrizations.weight_norm(second[1])  # written through a temporary, in plan order
    write_plan([planned(layer, 0.1 * (i + 1)) for i, layer in enumerate(first)], torch.Generator().manual_seed(7))
    normed = PlannedLayer(planned(first[1]).report, weight_target(second[1], "weight"), second[1].bias,
                          WeightLaw("normal", 0.2))  # fmt: skip
    plan = [planned(second[0], 0.1), normed, planned(second[2], 0.3)]
    values = draw_values(plan, torch.Generator().manual_seed(7))
    for layer, value in zip(first, values, strict=True):
        assert torch.equal(layer.weight.detach(), value)
    write_plan(plan, torch.Generator().manual_seed(7))
    for mine, theirs in zip(first, second, strict=True):
        assert torch.allclose(mine.weight.detach(), theirs.weight.detach(), rtol=1e-6, atol=1e-7)


def test_backups_kept_in_host_memory_restore_the_weights():
    layers = [nn.Linear(4, 4), nn.Linear(4, 4)]
    before = [layer.weight.detach().clone() for layer in layers]

    def fail():
        raise RuntimeError("the reset failed")

    with pytest.raises(RuntimeError, match="the reset failed"):
        write_plan([planned(layers[0]), planned(layers[1])], None, after=fail, backup_device=torch.device("cpu"))
    assert all(torch.equal(layer.weight, weight) for layer, weight in zip(layers, before, strict=True))
