"""Checks shared by the model-zoo tests: the report tells the truth, and every population hits its target or says why.

For a model built the way a framework's tutorials and model zoos build it, after ``apply_snn_init``:

- every reported std is the std of the weight the module uses in its forward;
- the first-step membrane variance of every neuron population that a planned layer drives is within
  25% of the target, or a layer that drives it carries a warning (the cause, named).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn

from snninit_adapters import InitReport, get_plugin_manager, measure_activity

TOLERANCE = 0.25


def effective_weight(model: nn.Module, name: str) -> torch.Tensor:
    """The weight the layer ``name`` of the report uses in its forward (a neuron's ``name.param`` too)."""
    try:
        module = model.get_submodule(name)
    except AttributeError:  # a weight a neuron owns: "<neuron>.<param>"
        owner, _, weight = name.rpartition(".")
        return model.get_submodule(owner).get_parameter(weight)
    spec = get_plugin_manager().hook.snninit_weight_layer(module=module)
    if spec.effective:  # SpikingJelly's weight-standardised layers
        return getattr(module, spec.effective)()
    return getattr(module, spec.weight)


def assert_report_tells_the_truth(model: nn.Module, report: InitReport) -> None:
    assert report.applied
    assert report.layers
    for layer in report.layers:
        std = float(effective_weight(model, layer.name).detach().std())
        assert layer.realised_std == pytest.approx(std, rel=1e-5), layer.name


@dataclass(frozen=True)
class Population:
    name: str
    variance: float
    drivers: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def on_target(self) -> bool:
        return abs(self.variance - 1.0) <= TOLERANCE


def populations(model: nn.Module, x, report: InitReport, *, steps: int | None = None) -> list[Population]:
    """The first-step membrane variance of every neuron population a planned layer drives."""
    activity = measure_activity(model, x, steps=steps)
    found = []
    for name in activity.layers:
        first = activity.layer(name)[0]
        drivers = [layer for layer in report.layers if any(link.name == name for link in layer.downstream)]
        if not drivers or first.u_var is None:
            continue
        found.append(Population(name, first.u_var, tuple(d.name for d in drivers),
                                tuple(w for d in drivers for w in d.warnings)))  # fmt: skip
    return found


def assert_on_target_or_warned(model: nn.Module, x, report: InitReport, *, steps: int | None = None) -> list:
    """Every population within 25% of its target, or driven by a layer with a warning; returns them all."""
    found = populations(model, x, report, steps=steps)
    assert found
    unexplained = [p for p in found if not p.on_target and not p.warnings]
    assert unexplained == [], unexplained
    return found


def assert_temporal_rule_tells_the_truth_or_changes_nothing(model: nn.Module, x, **options) -> InitReport:
    """The temporal rule on a zoo model: its report's stds are the weights'; a failing hook changes nothing.

    First a run whose reset hook fails after the writes (the rollback must leave every tensor of the
    state dict bit-identical), then a run that succeeds, whose report is checked against the weights.
    """
    from snninit_adapters import SNNInitError, apply_snn_init
    from tests._toy import FailingReset, registered

    before = {name: value.clone() for name, value in model.state_dict().items()}
    with registered(FailingReset(model), "failing-reset"), pytest.raises(SNNInitError, match="snninit_reset_state"):
        apply_snn_init(model, x, method="micheli2024_temporal", **options)
    after = model.state_dict()
    assert all(torch.equal(value, after[name]) for name, value in before.items())
    report = apply_snn_init(model, x, method="micheli2024_temporal", generator=torch.Generator().manual_seed(1),
                            **options)  # fmt: skip
    assert report.steps is not None
    assert_report_tells_the_truth(model, report)
    return report
