"""Calibration on the example batch, and normalisers carrying the scale, with the toy neuron (no framework).

The toy neuron is memoryless (u = g x each call), so its first-step Var[u] is exactly what calibration
aims at, and a fresh batch from the same distribution must show it too: the tolerances below are the
sampling error of a variance over the neurons and samples measured (relative std sqrt(2 / N)).
"""

import math

import pytest
import torch
from torch import nn

from snninit_adapters import Calibration, SNNInitError, apply_snn_init, measure_activity
from tests._toy import FailingReset, ToyNeuron, registered

pytestmark = pytest.mark.usefixtures("toy_adapter")


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def first_step_variances(model, x):
    report = measure_activity(model, x)
    return {name: report.layer(name)[0].u_var for name in report.layers}


class Pooled(nn.Module):
    """Conv -> max-pool -> neuron twice: what the one-step rule cannot know, calibration measures."""

    def __init__(self):
        super().__init__()
        self.lif0 = ToyNeuron()
        self.conv1, self.lif1 = nn.Conv2d(1, 16, 3, padding=1), ToyNeuron()
        self.conv2, self.lif2 = nn.Conv2d(16, 16, 3, padding=1), ToyNeuron()

    def forward(self, x):
        s = self.lif1(nn.functional.max_pool2d(self.conv1(self.lif0(x)), 2))
        return self.lif2(nn.functional.max_pool2d(self.conv2(s), 2))


def test_calibration_hits_the_variance_target_on_a_fresh_batch_where_the_analytic_rule_misses():
    x, fresh = torch.randn(64, 1, 16, 16, generator=gen(0)), torch.randn(64, 1, 16, 16, generator=gen(1))
    analytic = Pooled()
    apply_snn_init(analytic, x, generator=gen(2))
    missed = first_step_variances(analytic, fresh)
    assert missed["lif1"] < 0.8  # max-pooling moves the membrane (independent values: mean 1.03, variance 0.49)
    model = Pooled()
    report = apply_snn_init(model, x, calibrate=True, generator=gen(2))
    assert [row.status for row in report.calibration] == ["converged", "converged"]
    variances = first_step_variances(model, fresh)
    # lif2 has 64 x 16 x 4 x 4 = 16384 values: rel. std of its variance about 1.1%; 4 sigma and the 2% tolerance
    for name in ("lif1", "lif2"):
        assert variances[name] == pytest.approx(1.0, abs=0.02 + 4 * math.sqrt(2 / 16384)), name
    for row in report.calibration:
        assert row.held_out == pytest.approx(1.0, abs=0.02 + 4 * math.sqrt(2 / 16384))
    assert report["conv1"].calibration_factor == pytest.approx(report["conv1"].new_std / report["conv1"].analytic_std)


def test_calibration_targets_the_rate_the_criterion_implies():
    x = torch.randn(256, 1, 16, 16, generator=gen(0))
    model = Pooled()
    report = apply_snn_init(model, x, calibrate=True, target="rate", generator=gen(2))
    p = 0.5 * math.erfc(1 / math.sqrt(2))
    for row in report.calibration:
        assert row.goal == pytest.approx(p)
        assert row.measured == pytest.approx(p, rel=0.05)
    report = apply_snn_init(Pooled(), x, calibrate=True, target="rate", target_rate={"lif2": 0.3})
    assert [row.goal for row in report.calibration] == [pytest.approx(p), 0.3]


class TwoBranches(nn.Module):
    """lif(fa(x) + fb(x) * 3): a residual sum whose branches the rule splits evenly, and the data is not even."""

    def __init__(self):
        super().__init__()
        self.enc = ToyNeuron()
        self.fa, self.fb, self.lif = nn.Linear(400, 400, bias=False), nn.Linear(400, 400, bias=False), ToyNeuron()

    def forward(self, x):
        s = self.enc(x)
        return self.lif(self.fa(s) + 3 * self.fb(s))


def test_a_residual_sum_is_rescaled_jointly():
    x = torch.randn(256, 400, generator=gen(0))
    model = TwoBranches()
    report = apply_snn_init(model, x, calibrate=True, generator=gen(1))
    (row,) = report.calibration
    assert row.layers == ("fa", "fb")
    assert report["fa"].calibration_factor == report["fb"].calibration_factor == pytest.approx(row.factor)
    assert first_step_variances(model, torch.randn(256, 400, generator=gen(5)))["lif"] == pytest.approx(1, abs=0.06)


class Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc, self.fc, self.lif = ToyNeuron(), nn.Linear(200, 200, bias=False), ToyNeuron()

    def forward(self, x):
        s = torch.zeros(x.shape[1:])
        for x_t in x:
            s = self.lif(self.fc(self.enc(x_t) + s))
        return s


def test_a_recurrent_layer_is_calibrated_on_its_first_step():
    x = torch.randn(4, 128, 200, generator=gen(0))  # [T, B, features]: one step per entry of dimension 0
    report = apply_snn_init(Recurrent(), x, calibrate=True)
    (row,) = report.calibration
    assert row.status == "converged"
    assert any("dimension 1" in note for note in report.notes)


class Silent(nn.Module):
    """A population whose input is zero: no scale of its layer reaches the target."""

    def __init__(self):
        super().__init__()
        self.enc, self.fc, self.lif = ToyNeuron(theta=7.0), nn.Linear(50, 50, bias=False), ToyNeuron()

    def forward(self, x):
        return self.lif(self.fc(self.enc(x)))


def test_a_population_that_cannot_reach_its_target_says_so():
    report = apply_snn_init(Silent(), torch.randn(16, 50), calibrate=Calibration(max_passes=3), dry_run=True)
    (row,) = report.calibration
    assert row.status.startswith(("capped", "unreachable"))
    assert row.measured == 0


class Normalised(nn.Module):
    def __init__(self, affine=True):
        super().__init__()
        self.enc, self.conv = ToyNeuron(), nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn, self.lif = nn.BatchNorm2d(8, affine=affine), ToyNeuron(gain=0.5)

    def forward(self, x):
        return self.lif(self.bn(self.conv(self.enc(x))))


@pytest.mark.parametrize("training", [True, False])
def test_a_batchnorm_carries_the_scale_in_training_and_eval_mode(training):
    model = Normalised().train(training)
    x = torch.randn(64, 1, 12, 12, generator=gen(0))
    stats = {k: v.clone() for k, v in model.bn.state_dict().items()}
    report = apply_snn_init(model, x, generator=gen(1))
    (normaliser,) = report.normalisers
    assert normaliser.name == "bn"
    assert normaliser.new_weight == pytest.approx(2.0 * (1.0 if training else math.sqrt(1 + 1e-5)))  # 1 / g
    assert float(model.bn.weight.detach().mean()) == pytest.approx(normaliser.new_weight)
    assert not any("normalis" in w for w in report["conv"].warnings)
    assert ("training mode" if training else "eval mode") in normaliser.how
    assert model.training is training
    fresh = torch.randn(64, 1, 12, 12, generator=gen(2))
    if training:  # batch statistics: exact whatever the weights (9216 values: rel. std of Var 1.5%)
        assert first_step_variances(model, fresh)["lif"] == pytest.approx(1.0, rel=4 * math.sqrt(2 / 9216))
    report = apply_snn_init(model, x, calibrate=True)
    assert first_step_variances(model, fresh)["lif"] == pytest.approx(1.0, abs=0.02 + 4 * math.sqrt(2 / 9216))
    assert all(torch.equal(stats[k], v) for k, v in model.bn.state_dict().items() if "running" in k or "batches" in k)
    assert model.training is training


def test_normalisers_keep_and_a_normaliser_without_affine_weight_keep_the_warning():
    report = apply_snn_init(Normalised(), torch.randn(8, 1, 6, 6), normalisers="keep")
    assert report.normalisers == ()
    assert any("normalis" in w for w in report["conv"].warnings)
    report = apply_snn_init(Normalised(affine=False), torch.randn(8, 1, 6, 6))
    assert report.normalisers == ()
    assert any("no affine weight" in note for note in report.notes)


def test_calibration_keeps_every_promise_of_the_analytic_mode():
    model = Pooled()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(16, 1, 8, 8, generator=gen(0))
    report = apply_snn_init(model, x, calibrate=True, dry_run=True)
    assert not report.applied
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert report.calibration
    report = apply_snn_init(model, x, calibrate=True, include="conv2")
    assert [layer.name for layer in report.layers] == ["conv2"]
    assert torch.equal(model.conv1.weight, before["conv1.weight"])
    for module in model.modules():
        assert not module._forward_hooks
        assert not module._forward_pre_hooks
    assert report["conv2"].realised_std == pytest.approx(float(model.conv2.weight.detach().std()), rel=1e-6)


def test_a_failure_after_a_calibrated_write_restores_every_tensor():
    model = Normalised()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with registered(FailingReset(model), "failing-reset"), pytest.raises(SNNInitError, match="snninit_reset_state"):
        apply_snn_init(model, torch.randn(8, 1, 6, 6), calibrate=True)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # the normaliser's too


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": "rate"}, "pass calibrate=True"),
        ({"calibrate": True, "target": "mean"}, "target must be one of variance, rate"),
        ({"calibrate": True, "target": "rate", "target_rate": 1.5}, r"rate in \(0, 1\)"),
        ({"calibrate": "yes"}, "calibrate must be True, False or a Calibration"),
        ({"calibrate": Calibration(tolerance=0)}, "0 < tolerance < 1"),
        ({"normalisers": "drop"}, "normalisers must be one of set, keep"),
    ],
)
def test_bad_calibration_arguments_fail_first(kwargs, message):
    with pytest.raises(SNNInitError, match=message):
        apply_snn_init(Pooled(), torch.randn(4, 1, 8, 8), **kwargs)


def test_ctrl_c_during_calibration_leaves_the_model_untouched(monkeypatch):
    from snninit_adapters.monitor import ActivityRecorder

    model = Normalised()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    original, calls = ActivityRecorder.run, []

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # during the calibration passes, on the copy
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ActivityRecorder, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        apply_snn_init(model, torch.randn(8, 1, 6, 6), calibrate=True)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    for module in model.modules():
        assert not module._forward_hooks


def test_the_calibration_copy_is_freed_when_calibration_returns(monkeypatch):
    import gc
    import weakref

    from snninit_adapters import calibrate

    made = []
    copy_model = calibrate.copy_model

    def copying(model, **kwargs):
        replica = copy_model(model, **kwargs)
        made.extend(weakref.ref(module) for module in replica.modules())
        return replica

    monkeypatch.setattr(calibrate, "copy_model", copying)
    model = Pooled()
    model.lif1.step = model.lif1.forward  # a neuron holding its own bound method, as snnTorch's do: a cycle
    enabled = gc.isenabled()
    gc.disable()  # the copy (with its own weights) freed by reference counting, not at a later collection
    try:
        report = apply_snn_init(model, torch.randn(16, 1, 16, 16, generator=gen(0)), calibrate=True, generator=gen(2))
        assert made
        assert all(probe() is None for probe in made)
    finally:
        if enabled:
            gc.enable()
    assert [row.status.split(";")[0] for row in report.calibration] == ["converged", "converged"]
