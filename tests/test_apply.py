import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from snninit_adapters import (
    FiringProbabilityUnderflowError,
    SNNInitError,
    apply_snn_init,
    snn_weight_variance,
)
from snninit_adapters.theory import firing_probability
from tests._stats import assert_std_close
from tests._toy import ToyLinearNeuron, ToyNeuron, UnreadableNeuron

pytestmark = pytest.mark.usefixtures("toy_adapter")


def deep_mlp(width=200, depth=3, theta=1.0, gain=1.0, amplitude=1.0):
    """The paper's setup: input -> encoding neuron -> [Linear -> neuron] x depth."""
    layers = [ToyNeuron(theta, gain, amplitude)]
    for _ in range(depth):
        layers += [nn.Linear(width, width), ToyNeuron(theta, gain, amplitude)]
    return nn.Sequential(*layers)


def state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def assert_unchanged(model, before):
    after = model.state_dict()
    assert before.keys() == after.keys()
    for key, value in before.items():
        assert torch.equal(value, after[key]), key


def test_reduces_exactly_to_eq10():
    # g = 1, a = 1, upstream membrane of unit variance: Var[w] = 1 / (n P(u > theta))
    model = deep_mlp(theta=1.0)
    report = apply_snn_init(model, torch.randn(16, 200))
    for name in ("3", "5"):
        assert report[name].new_std == pytest.approx(math.sqrt(snn_weight_variance(200, 1.0)), rel=1e-14)
        assert report[name].firing_probability == pytest.approx(firing_probability(1.0), rel=1e-14)


def test_rule_in_framework_units_with_gain_and_amplitude():
    g, a, target = 0.1, 2.0, 1.0
    model = deep_mlp(theta=1.0, gain=g, amplitude=a)
    report = apply_snn_init(model, torch.randn(16, 200) * 10)
    # layer "3" is fed by a neuron that a re-initialised layer drives: membrane std = sqrt(target)
    p = firing_probability(1.0)
    assert report["3"].new_std == pytest.approx(math.sqrt(target / (g**2 * 200 * a**2 * p)), rel=1e-12)
    assert report["3"].downstream[0].input_gain == g


def test_neuron_fed_by_data_uses_the_data_scale_and_its_gain():
    model = deep_mlp(theta=1.0, gain=0.5)
    x = 3.0 * torch.randn(64, 200, generator=torch.Generator().manual_seed(0))
    report = apply_snn_init(model, x)
    sigma = 0.5 * math.sqrt(float(x.double().square().mean()))  # encoding membrane = g * x
    p = firing_probability(1.0, std=sigma)
    assert report["1"].firing_probability == pytest.approx(p, rel=1e-12)
    assert report["1"].new_std == pytest.approx(math.sqrt(1 / (0.25 * 200 * p)), rel=1e-12)


def test_layer_reading_data_uses_its_measured_second_moment():
    model = nn.Sequential(nn.Linear(50, 80), ToyNeuron(), nn.Linear(80, 10))
    x = 2.0 * torch.randn(32, 50, generator=torch.Generator().manual_seed(1))
    report = apply_snn_init(model, x)
    moment = float(x.double().square().mean())
    assert report["0"].input_second_moment == pytest.approx(moment, rel=1e-12)
    assert report["0"].new_std == pytest.approx(1 / math.sqrt(50 * moment), rel=1e-12)
    assert report["0"].upstream[0].name == "<input>"
    assert report["0"].firing_probability is None
    # the readout has no downstream neuron: g = 1
    assert report["2"].downstream == ()
    assert report["2"].new_std == pytest.approx(math.sqrt(1 / (80 * firing_probability(1.0))), rel=1e-12)


def test_weights_are_drawn_from_the_reported_law():
    model = deep_mlp(width=400)
    report = apply_snn_init(model, torch.randn(8, 400), generator=torch.Generator().manual_seed(2))
    assert_std_close(model[3].weight, report["3"].new_std)
    assert torch.count_nonzero(model[3].bias) == 0


def test_per_neuron_thresholds():
    theta = torch.linspace(0.5, 1.5, 200)
    model = nn.Sequential(ToyNeuron(theta), nn.Linear(200, 200), ToyNeuron(theta), nn.Linear(200, 200))
    x = torch.randn(64, 200, generator=torch.Generator().manual_seed(5))
    report = apply_snn_init(model, x)
    assert report["1"].upstream[0].threshold == "0.5..1.5 (200 values)"
    # the encoding neurons read the data (std = its r.m.s.); the next ones a unit-variance membrane
    sigma = math.sqrt(float(x.double().square().mean()))
    p_enc = float(np.mean(firing_probability(theta.double().numpy(), std=sigma)))
    p_mid = float(np.mean(firing_probability(theta.double().numpy())))
    assert report["1"].firing_probability == pytest.approx(p_enc, rel=1e-12)
    assert report["3"].firing_probability == pytest.approx(p_mid, rel=1e-12)
    assert report["3"].new_std == pytest.approx(math.sqrt(1 / (200 * p_mid)), rel=1e-12)


def test_dry_run_changes_nothing():
    model = deep_mlp()
    before = state(model)
    report = apply_snn_init(model, torch.randn(4, 200), dry_run=True)
    assert not report.applied
    assert "dry run" in str(report)
    assert_unchanged(model, before)


def test_in_place_keeps_parameter_identity_dtype_and_mode():
    model = deep_mlp().double().train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    weight = model[3].weight
    apply_snn_init(model, torch.randn(4, 200, dtype=torch.float64))
    assert model[3].weight is weight
    assert optimizer.param_groups[0]["params"][2] is weight
    assert weight.dtype == torch.float64
    assert model.training
    model.eval()
    apply_snn_init(model, torch.randn(4, 200, dtype=torch.float64))
    assert not model.training


def test_same_generator_seed_gives_identical_models():
    a, b = deep_mlp(), deep_mlp()
    x = torch.randn(4, 200)
    apply_snn_init(a, x, generator=torch.Generator().manual_seed(3))
    apply_snn_init(b, x, generator=torch.Generator().manual_seed(3))
    for (key, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), key


def test_bias_policy():
    model = deep_mlp()
    biases = [model[i].bias.clone() for i in (1, 3, 5)]
    report = apply_snn_init(model, torch.randn(4, 200), bias="keep")
    assert all(torch.equal(model[i].bias, b) for i, b in zip((1, 3, 5), biases, strict=True))
    assert {layer.bias for layer in report.layers} == {"kept"}
    report = apply_snn_init(model, torch.randn(4, 200))
    assert {layer.bias for layer in report.layers} == {"zeroed"}
    no_bias = nn.Sequential(ToyNeuron(), nn.Linear(10, 10, bias=False), ToyNeuron())
    assert apply_snn_init(no_bias, torch.randn(2, 10))["1"].bias == "none"


def test_include_and_exclude():
    model = deep_mlp()
    before = state(model)
    report = apply_snn_init(model, torch.randn(4, 200), exclude=["5"])
    assert [layer.name for layer in report.layers] == ["1", "3"]
    assert torch.equal(model[5].weight, before["5.weight"])
    assert [item.name for item in report.skipped] == ["5"]
    report = apply_snn_init(model, torch.randn(4, 200), include=["[13]"], dry_run=True)
    assert [layer.name for layer in report.layers] == ["1", "3"]


def test_other_methods_through_the_registry():
    model = deep_mlp()
    report = apply_snn_init(model, torch.randn(4, 200), method="kaiming")
    assert report.method == "kaiming"
    assert report["3"].new_std == pytest.approx(math.sqrt(2 / 200))
    report = apply_snn_init(model, torch.randn(4, 200), method="rossbroich2022", nu=0.05, dry_run=True)
    assert report["3"].new_std == pytest.approx(1 / math.sqrt(200 * 0.05))
    with pytest.raises(SNNInitError, match="method 'kaiming' has no option 'nu': it takes distribution"):
        apply_snn_init(model, torch.randn(4, 200), method="kaiming", nu=0.1)


def test_residual_sum_of_two_spike_trains():
    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = ToyNeuron(1.0)
            self.fc1 = nn.Linear(100, 100)
            self.lif1 = ToyNeuron(0.5)
            self.fc2 = nn.Linear(100, 100)
            self.lif2 = ToyNeuron(1.0)

        def forward(self, x):
            s0 = self.enc(x)
            s1 = self.lif1(self.fc1(s0))
            return self.lif2(self.fc2(s1 + s0))

    model = Residual()
    x = torch.randn(64, 100, generator=torch.Generator().manual_seed(4))
    report = apply_snn_init(model, x)
    assert {link.name for link in report["fc2"].upstream} == {"enc", "lif1"}
    p_enc = firing_probability(1.0, std=math.sqrt(float(x.double().square().mean())))
    p_lif1 = firing_probability(0.5)
    expected = p_enc + p_lif1 + 2 * p_enc * p_lif1
    assert report["fc2"].input_second_moment == pytest.approx(expected, rel=1e-12)
    assert any("residual" in w for w in report["fc2"].warnings)


def test_functional_ops_and_modules_on_the_path_are_reported():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = ToyNeuron()
            self.conv = nn.Conv2d(2, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.lif = ToyNeuron()
            self.fc = nn.Linear(4 * 4 * 4, 10)

        def forward(self, x):
            s = self.lif(self.bn(self.conv(self.enc(x))))
            return self.fc(torch.nn.functional.max_pool2d(s, 2).flatten(1))

    report = apply_snn_init(Net(), torch.randn(3, 2, 8, 8), normalisers="keep")
    assert report["conv"].downstream[0].path == ("mod:BatchNorm2d",)
    assert any("normalis" in w for w in report["conv"].warnings)
    assert report["fc"].upstream[0].name == "lif"
    assert "max_pool2d" in report["fc"].upstream[0].path
    assert any("pooling" in w for w in report["fc"].warnings)


def test_multiplication_on_the_path_is_warned_about():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc, self.fc, self.lif = ToyNeuron(), nn.Linear(10, 10), ToyNeuron()

        def forward(self, x):
            return self.lif(10 * self.fc(self.enc(x)))

    report = apply_snn_init(Net(), torch.randn(2, 10))
    assert any("multiplication" in w for w in report["fc"].warnings)


def test_time_loop_and_shared_neuron():
    class Loop(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc, self.fc1, self.fc2, self.lif = ToyNeuron(), nn.Linear(10, 10), nn.Linear(10, 10), ToyNeuron()

        def forward(self, x):
            out = []
            for t in range(x.shape[0]):
                s = self.enc(x[t])
                out.append(self.lif(self.fc2(self.lif(self.fc1(s)))))
            return torch.stack(out)

    report = apply_snn_init(Loop(), torch.randn(3, 2, 10))
    assert [link.name for link in report["fc1"].upstream] == ["enc"]
    assert [link.name for link in report["fc2"].upstream] == ["lif"]
    assert [link.name for link in report["fc2"].downstream] == ["lif"]


def test_owned_weights_feedforward_initialised_recurrent_skipped():
    model = nn.Sequential(ToyNeuron(), ToyLinearNeuron(30, 40))
    report = apply_snn_init(model, torch.randn(5, 30))
    assert report["1.inner.weight"].fan_in == 30
    assert report["1.inner.weight"].upstream[0].name == "0"
    assert [(s.name, "recurrent" in s.reason) for s in report.skipped] == [("1.recurrent", True)]
    assert torch.count_nonzero(model[1].recurrent) == 0


def test_sequential_without_example_input_reads_module_order():
    report = apply_snn_init(deep_mlp())
    assert report.discovery == "module order"
    assert report["3"].upstream[0].name == "2"
    assert report["3"].new_std == pytest.approx(math.sqrt(snn_weight_variance(200, 1.0)))
    assert any("module order" in note for note in report.notes)


def test_non_sequential_without_example_input_is_rejected():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.lif = nn.Linear(3, 3), ToyNeuron()

        def forward(self, x):
            return self.lif(self.fc(x))

    with pytest.raises(SNNInitError, match="example_input"):
        apply_snn_init(Net())


def test_unwraps_compile_and_data_parallel():
    model = deep_mlp()
    report = apply_snn_init(torch.compile(model), torch.randn(2, 200), dry_run=True)
    assert any("torch.compile" in note for note in report.notes)
    report = apply_snn_init(nn.DataParallel(model), torch.randn(2, 200))
    assert any("DataParallel" in note for note in report.notes)
    assert report["3"].new_std == pytest.approx(model[3].weight.std().item(), rel=0.1)


def test_report_prints_and_serialises():
    report = apply_snn_init(deep_mlp(), torch.randn(4, 200))
    text = str(report)
    for header in ("layer", "fan_in", "upstream", "downstream", "P(u>θ)", "old std", "new std", "bias"):
        assert header in text
    rows = report.to_dicts()
    assert len(rows) == 3
    json.dumps(rows)
    assert rows[1]["upstream"][0]["name"] == "2"
    assert rows[1]["method"] == "micheli2024"
    with pytest.raises(KeyError, match="no weight layer named"):
        report["missing"]


# --- errors: each one clear, each one leaves the model untouched -------------------------------


def test_no_spiking_neuron_names_the_active_adapters():
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3))
    with pytest.raises(SNNInitError, match="no spiking neuron") as info:
        apply_snn_init(model, torch.randn(2, 3))
    assert "snninit_adapters.adapters.snntorch" in str(info.value)
    assert "toy" in str(info.value)


def test_input_the_model_cannot_take_hints_at_layouts():
    model = deep_mlp()
    before = state(model)
    with pytest.raises(SNNInitError, match=r"\[T, B, \.\.\.\]") as info:
        apply_snn_init(model, torch.randn(4, 7))
    assert "RuntimeError" in str(info.value)
    assert_unchanged(model, before)


@pytest.mark.parametrize("theta", [float("nan"), float("inf")])
def test_non_finite_threshold(theta):
    model = deep_mlp(theta=1.0)
    model[2].theta = theta
    before = state(model)
    with pytest.raises(SNNInitError, match="not finite"):
        apply_snn_init(model, torch.randn(4, 200))
    assert_unchanged(model, before)


def test_underflowing_threshold_names_layer_and_neuron():
    model = deep_mlp(theta=1.0)
    model[4].theta = 60.0
    before = state(model)
    with pytest.raises(FiringProbabilityUnderflowError, match="neuron '4'") as info:
        apply_snn_init(model, torch.randn(4, 200))
    assert "layer '5'" in str(info.value)
    assert_unchanged(model, before)


def test_unreadable_neuron():
    model = nn.Sequential(nn.Linear(3, 3), UnreadableNeuron())
    with pytest.raises(SNNInitError, match="no adapter could read its threshold"):
        apply_snn_init(model, torch.randn(2, 3))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bias": "random"}, "bias must be one of zero, keep"),
        ({"target_variance": 0.0}, "target_variance"),
        ({"method": "lecun"}, "unknown initialisation method"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(SNNInitError, match=message):
        apply_snn_init(deep_mlp(), torch.randn(2, 200), **kwargs)


def test_not_a_module():
    with pytest.raises(SNNInitError, match=r"torch\.nn\.Module"):
        apply_snn_init(lambda x: x)


def test_failure_while_writing_restores_everything(monkeypatch):
    model = deep_mlp()
    before = state(model)
    calls = []
    original_zero = torch.Tensor.zero_

    def failing_zero(self):
        calls.append(1)
        if len(calls) == 2:  # the second bias: layer 1's weight and bias and layer 3's weight are written
            raise RuntimeError("disk on fire")
        return original_zero(self)

    monkeypatch.setattr(torch.Tensor, "zero_", failing_zero)
    with pytest.raises(RuntimeError, match="disk on fire"):
        apply_snn_init(model, torch.randn(4, 200))
    monkeypatch.undo()
    assert_unchanged(model, before)


def test_unreadable_neuron_only_matters_for_the_layers_next_to_it():
    model = nn.Sequential(ToyNeuron(), nn.Linear(8, 8), ToyNeuron(), nn.Linear(8, 8), UnreadableNeuron())
    with pytest.raises(SNNInitError, match="neuron '4'"):
        apply_snn_init(model, torch.randn(2, 8))
    report = apply_snn_init(model, torch.randn(2, 8), exclude=["3"])
    assert [layer.name for layer in report.layers] == ["1"]


def test_backups_in_host_memory_write_the_same_weights():
    models = [deep_mlp(width=50), deep_mlp(width=50)]
    x = torch.randn(8, 50)
    apply_snn_init(models[0], x, generator=torch.Generator().manual_seed(5))
    apply_snn_init(models[1], x, generator=torch.Generator().manual_seed(5), backup_device="cpu")
    assert_unchanged(models[1], state(models[0]))


def test_a_backup_device_that_is_not_one_is_refused_before_any_work():
    model = deep_mlp(width=20)
    before = state(model)
    with pytest.raises(SNNInitError, match=r"backup_device must be None, a torch\.device or a device name"):
        apply_snn_init(model, torch.randn(4, 20), backup_device="gpu0")
    assert_unchanged(model, before)


def test_the_old_std_is_that_of_the_weight_before_the_write_in_a_dry_run_and_a_real_one():
    torch.manual_seed(0)
    model = deep_mlp(width=300, depth=3)  # 90000 values per weight: the write reads the std from its backup
    model[3] = nn.utils.parametrizations.weight_norm(model[3])  # read before the write instead
    model[5].weight = model[1].weight  # tied: one write, two rows
    x = torch.randn(8, 300)
    before = {name: float(module.weight.detach().double().std()) for name, module in model.named_children()
              if isinstance(module, nn.Linear)}  # fmt: skip
    planned = apply_snn_init(model, x, dry_run=True)
    applied = apply_snn_init(model, x)
    for name, std in before.items():
        assert planned[name].old_std == pytest.approx(std, rel=1e-6)
        assert applied[name].old_std == pytest.approx(std, rel=1e-6)
