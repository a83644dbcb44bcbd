"""apply_snn_init on the patterns real models have: each is handled exactly or named in a warning.

Every test is named after its pattern. Statistical checks fix their seeds and take their tolerance
from the sample size: the std of a sample variance of N Gaussian values is sqrt(2/N) of the variance.
"""

import math
import warnings

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrizations, parametrize

from snninit_adapters import SNNInitError, apply_snn_init, hookimpl, snn_weight_variance
from snninit_adapters.theory import firing_probability
from tests._toy import FailingReset, ToyNeuron, registered

pytestmark = pytest.mark.usefixtures("toy_adapter")


def effective_std(module: nn.Module) -> float:
    return float(module.weight.detach().std())


def assert_report_tells_the_truth(model: nn.Module, report) -> None:
    """The invariant: every reported std is the std of the weight the module uses in its forward."""
    modules = dict(model.named_modules())
    for layer in report.layers:
        module = modules[layer.name]
        weight = module.get_weight() if hasattr(module, "get_weight") else module.weight
        assert layer.realised_std == pytest.approx(float(weight.detach().std()), rel=1e-6), layer.name


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def theta_in_stds(theta: float, x: torch.Tensor) -> float:
    """A threshold in units of the std of an encoding membrane fed by ``x`` (gain 1): theta / rms(x)."""
    return theta / math.sqrt(float(x.double().square().mean()))


# --- 1. modules before the first weight layer ----------------------------------------------------------


@pytest.mark.parametrize("prefix", [nn.Flatten(), nn.Sequential(nn.Flatten(), nn.Dropout(0.5))])
def test_pattern_flatten_or_dropout_before_the_first_layer_uses_the_datas_second_moment(prefix):
    model = nn.Sequential(prefix, nn.Linear(784, 300), ToyNeuron())
    x = 3 * torch.randn(32, 1, 28, 28, generator=gen())
    report = apply_snn_init(model, x, generator=gen(1))
    layer = next(iter(report.layers))
    moment = float(x.double().square().mean())
    assert layer.input_second_moment == pytest.approx(moment, rel=1e-12)
    assert layer.new_std == pytest.approx(1 / math.sqrt(784 * moment), rel=1e-12)  # 0.0119 for E[x^2] = 9
    assert not any("assumed E[x^2] = 1" in w for w in layer.warnings)
    assert_report_tells_the_truth(model, report)


class Standardise(nn.Module):
    """A normalising transform before the first layer: x -> (x - 0.5) * 4."""

    def forward(self, x):
        return (x - 0.5) * 4


def test_pattern_normalising_transform_before_an_encoding_neuron_gives_it_the_measured_scale():
    model = nn.Sequential(Standardise(), nn.Flatten(), ToyNeuron(theta=1.0, gain=0.5), nn.Linear(64, 64), ToyNeuron())
    x = torch.rand(128, 1, 8, 8, generator=gen())
    report = apply_snn_init(model, x, generator=gen(1))
    measured = float(((x.double() - 0.5) * 4).square().mean())
    p = firing_probability(1.0, std=0.5 * math.sqrt(measured))  # the encoding membrane is g * x
    assert report["3"].firing_probability == pytest.approx(p, rel=1e-9)
    assert report["3"].new_std == pytest.approx(math.sqrt(1 / (64 * p)), rel=1e-9)
    assert not any("assumed" in note for note in report.notes)


# --- 2. parametrized weights -----------------------------------------------------------------------------


def chain(first: nn.Module) -> nn.Sequential:
    return nn.Sequential(ToyNeuron(), first, ToyNeuron())


@pytest.mark.parametrize("kind", ["parametrizations.weight_norm", "nn.utils.weight_norm"])
def test_pattern_weight_norm_is_written_through_its_magnitude_and_direction(kind):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the old weight_norm is deprecated
        wrap = parametrizations.weight_norm if kind.startswith("param") else nn.utils.weight_norm
        layer = wrap(nn.Linear(800, 600))
    model = chain(layer)
    x = torch.randn(16, 800, generator=gen(5))
    report = apply_snn_init(model, x, generator=gen())
    expected = math.sqrt(snn_weight_variance(800, theta_in_stds(1.0, x)))
    assert report["1"].new_std == pytest.approx(expected, rel=1e-12)
    model(torch.randn(2, 800))  # the old hook recomputes weight in its pre-hook, as in training
    assert effective_std(layer) == pytest.approx(expected, rel=4 * math.sqrt(1 / (2 * 480_000)))
    assert float(layer.bias.detach().abs().max()) == 0.0
    assert any("written through" in note for note in report.notes)
    assert_report_tells_the_truth(model, report)


@pytest.mark.parametrize("kind", ["parametrizations.spectral_norm", "nn.utils.spectral_norm", "orthogonal"])
def test_pattern_parametrizations_that_normalise_the_scale_away_are_refused_unchanged(kind):
    layer = nn.Linear(40, 40)
    if kind == "orthogonal":
        parametrizations.orthogonal(layer)
    elif kind.startswith("param"):
        parametrizations.spectral_norm(layer)
    else:
        nn.utils.spectral_norm(layer)
    model = chain(layer)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = apply_snn_init(model, torch.randn(8, 40))
    assert [layer.name for layer in report.layers] == []
    (skipped,) = report.skipped
    assert skipped.name == "1"
    assert "normalis" in skipped.reason
    after = model.state_dict()
    assert all(torch.equal(before[key], after[key]) for key in before)  # the bias too


class Doubled(nn.Module):
    """A parametrization that doubles its original; right_inverse halves a value, so it gives it back."""

    def forward(self, original):
        return 2 * original

    def right_inverse(self, value):
        return value / 2


def test_pattern_a_parametrization_that_gives_back_its_value_is_written_through():
    layer = nn.Linear(500, 400)
    parametrize.register_parametrization(layer, "weight", Doubled())
    model = chain(layer)
    report = apply_snn_init(model, torch.randn(8, 500), generator=gen())
    assert effective_std(layer) == pytest.approx(report["1"].new_std, rel=4 * math.sqrt(1 / (2 * 200_000)))
    assert_report_tells_the_truth(model, report)


# --- 3. tied and shared weights ------------------------------------------------------------------------


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.lif0, self.fc1, self.lif1 = ToyNeuron(theta=1.0), nn.Linear(300, 300), ToyNeuron(theta=0.5)
        self.fc2, self.lif2 = nn.Linear(300, 300), ToyNeuron()
        self.fc2.weight = self.fc1.weight  # one Parameter, two layers

    def forward(self, x):
        return self.lif2(self.fc2(self.lif1(self.fc1(self.lif0(x)))))


def test_pattern_a_parameter_tied_between_layers_gets_one_law_from_both_uses():
    model = Tied()
    x = torch.randn(16, 300, generator=gen(5))
    report = apply_snn_init(model, x, generator=gen())
    first, second = math.sqrt(snn_weight_variance(300, theta_in_stds(1.0, x))), math.sqrt(snn_weight_variance(300, 0.5))
    harmonic = math.sqrt(2 / (1 / first**2 + 1 / second**2))
    assert report["fc1"].new_std == report["fc2"].new_std == pytest.approx(harmonic, rel=1e-12)
    assert any("tied to fc2" in w for w in report["fc1"].warnings)
    assert any("tied to fc1" in w for w in report["fc2"].warnings)
    assert_report_tells_the_truth(model, report)


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.lif_a, self.lif_b = ToyNeuron(theta=1.0), ToyNeuron(theta=0.0)
        self.fc, self.lif_c, self.lif_d = nn.Linear(400, 400), ToyNeuron(), ToyNeuron()

    def forward(self, x):
        return self.lif_c(self.fc(self.lif_a(x))), self.lif_d(self.fc(self.lif_b(x)))


def test_pattern_a_layer_called_on_two_inputs_is_not_a_residual_sum():
    x = torch.randn(16, 400, generator=gen(5))
    report = apply_snn_init(Shared(), x, generator=gen())
    layer = report["fc"]
    per_use = [snn_weight_variance(400, theta_in_stds(theta, x)) for theta in (1.0, 0.0)]
    assert layer.new_std == pytest.approx(math.sqrt(2 / sum(1 / v for v in per_use)), rel=1e-12)
    assert any("called on 2 different inputs (lif_a, lif_b)" in w for w in layer.warnings)
    assert not any("summed (residual)" in w for w in layer.warnings)


class Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.lif = nn.Linear(50, 50), ToyNeuron()

    def forward(self, x):
        s = torch.zeros(x.shape[1:])
        for x_t in x:
            s = self.lif(self.fc(x_t + s))
        return s


def test_pattern_a_recurrence_through_a_neuron_is_named():
    report = apply_snn_init(Recurrent(), torch.randn(3, 4, 50))
    assert any(w.startswith("recurrent: lif's output comes back") for w in report["fc"].warnings)


# --- 4. several layers summed into one neuron population ------------------------------------------------


class TwoBranches(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc_a, self.enc_b = ToyNeuron(), ToyNeuron()
        self.fa, self.fb, self.lif = nn.Linear(1000, 1000, bias=False), nn.Linear(1000, 1000, bias=False), ToyNeuron()

    def membrane(self, x, y):
        return self.fa(self.enc_a(x)) + self.fb(self.enc_b(y))

    def forward(self, x, y):
        return self.lif(self.membrane(x, y))


@pytest.mark.parametrize(("branches", "expected"), [("split", 1.0), ("each", 2.0)])
def test_pattern_two_layers_summed_into_one_population_share_the_target(branches, expected):
    model = TwoBranches()
    x, y = torch.randn(200, 1000, generator=gen(0)), torch.randn(200, 1000, generator=gen(1))
    report = apply_snn_init(model, (x, y), branches=branches, generator=gen(2))
    with torch.no_grad():
        variance = float(model.membrane(x, y).double().var())
    # 200 x 1000 membrane values, but the 1000 rows of W are the independent unit: rel. std of Var about
    # sqrt(2 / 1000) = 4.5% from the weights; 4 sigma
    assert variance == pytest.approx(expected, rel=4 * math.sqrt(2 / 1000))
    assert any("sums fa, fb" in w or "2 inputs are summed" in w for w in report["fa"].warnings)


# --- 5 and 6. pooling, and what scales a path -----------------------------------------------------------


class PooledConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.lif0, self.conv, self.lif1 = ToyNeuron(), nn.Conv2d(1, 8, 3, padding=1), ToyNeuron()
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        return self.lif1(self.pool(self.conv(self.lif0(x))))


def test_pattern_max_pooling_between_a_layer_and_its_neuron_is_quantified():
    report = apply_snn_init(PooledConv(), torch.randn(4, 1, 8, 8))
    (warning,) = [w for w in report["conv"].warnings if w.startswith("max-pooling")]
    assert "largest of 4 values" in warning
    assert "fires at 0.499 instead of 0.159" in warning


class Scale(nn.Module):
    def forward(self, x):
        return 3 * x


def test_pattern_a_scaling_module_after_a_neuron_is_measured_and_named():
    model = nn.Sequential(ToyNeuron(theta=0.0), Scale(), nn.Linear(100, 100), ToyNeuron())
    report = apply_snn_init(model, torch.randn(64, 100))
    assert any("scales E[x^2] by 9" in w for w in report["2"].warnings)


# --- 7. torch.compile on a submodule --------------------------------------------------------------------


def test_pattern_a_compiled_submodule_is_traced_and_written_through():
    model = nn.Sequential(ToyNeuron(), nn.Linear(200, 200), ToyNeuron())
    model[1] = torch.compile(model[1])
    report = apply_snn_init(model, torch.randn(8, 200), generator=gen())
    assert [layer.name for layer in report.layers] == ["1"]
    assert any("torch.compile" in note for note in report.notes)
    assert effective_std(model[1]._orig_mod) == pytest.approx(report["1"].realised_std, rel=1e-6)


# --- 8. arguments ---------------------------------------------------------------------------------------


def mlp():
    return nn.Sequential(ToyNeuron(), nn.Linear(8, 8), ToyNeuron(), nn.Linear(8, 8), ToyNeuron())


def test_pattern_include_and_exclude_as_one_string():
    assert [layer.name for layer in apply_snn_init(mlp(), torch.randn(4, 8), include="1").layers] == ["1"]
    assert [layer.name for layer in apply_snn_init(mlp(), torch.randn(4, 8), exclude="3").layers] == ["1"]


def test_pattern_a_pattern_that_matches_no_layer_lists_the_layers():
    with pytest.raises(SNNInitError, match=r"exclude pattern 'fc2' matches no weight layer.*: 1, 3"):
        apply_snn_init(mlp(), torch.randn(4, 8), exclude=["fc2"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"generator": 42}, r"generator must be a torch\.Generator.*manual_seed"),
        ({"branches": "both"}, "branches must be one of split, each"),
        ({"frozen": "no"}, "frozen must be one of reinit, skip"),
        ({"include": 3}, "include must be a glob pattern"),
        ({"backup_device": "gpu0"}, "backup_device must be None, a torch.device or a device name"),
        ({"method": "micheli2O24"}, "unknown initialisation method 'micheli2O24'; did you mean 'micheli2024'?"),
        ({"methd": "kaiming"}, "no option 'methd': did you mean apply_snn_init's argument 'method'"),
        ({"method": "rossbroich2022", "Nu": 0.1}, "no option 'Nu': did you mean 'nu'\\? it takes nu, epsilon_bar"),
        ({"method": "temporal", "step": 4}, "no option 'step': did you mean 'steps'"),
        ({"method": "lee2016", "gain": 2.0}, "method 'lee2016' has no option 'gain': it takes none"),
    ],
)
def test_pattern_bad_arguments_fail_before_any_forward_pass(kwargs, message):
    calls = []
    model = mlp()
    model[0].register_forward_hook(lambda *args: calls.append(1))
    with pytest.raises(SNNInitError, match=message):
        apply_snn_init(model, torch.randn(4, 8), **kwargs)
    assert calls == []


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (torch.tensor([[1.0, float("nan")] * 4]), "holds 4 NaN or infinite value"),
        (torch.full((2, 8), float("inf")), "holds 16 NaN or infinite value"),
        (torch.empty(2, 8, device="meta"), "meta device"),
    ],
)
def test_pattern_an_input_without_real_values_is_named_as_such(x, message):
    with pytest.raises(SNNInitError, match=message):
        apply_snn_init(mlp(), x)


def test_pattern_the_apply_arguments_the_misspelling_hint_knows_are_the_real_ones():
    import inspect

    from snninit_adapters.apply import _ARGUMENTS

    assert tuple(inspect.signature(apply_snn_init).parameters)[:-1] == _ARGUMENTS


def test_pattern_an_inputs_and_labels_batch_is_recognised():
    x, labels = torch.randn(4, 8), torch.tensor([0, 1, 2, 3])
    with pytest.raises(SNNInitError, match=r"\(inputs, labels\) batch: pass the inputs only"):
        apply_snn_init(mlp(), (x, labels))
    with pytest.raises(SNNInitError) as info:
        apply_snn_init(mlp(), torch.randn(4, 7))
    assert "labels" not in str(info.value)


def test_pattern_a_model_without_weight_layers_says_so():
    with pytest.raises(SNNInitError, match="no weight layer to initialise"):
        apply_snn_init(nn.Sequential(ToyNeuron(), nn.ReLU(), ToyNeuron()), torch.randn(2, 4))


def test_pattern_lazy_layers_ask_for_one_forward_pass_first():
    model = nn.Sequential(ToyNeuron(), nn.LazyLinear(8), ToyNeuron())
    with pytest.raises(SNNInitError, match=r"lazy\) parameters \(1.weight, 1.bias\).*Run the model once"):
        apply_snn_init(model, torch.randn(2, 8))


class Crashing:
    """A third-party adapter whose record hook has a bug."""

    @hookimpl(tryfirst=True)
    def snninit_neuron_record(self, module):
        if isinstance(module, ToyNeuron) and module.theta == 0.25:
            raise ZeroDivisionError("bug in the plugin")


def test_pattern_an_error_inside_a_plugins_hook_names_the_plugin_the_hook_and_the_module():
    model = nn.Sequential(ToyNeuron(theta=0.25), nn.Linear(8, 8), ToyNeuron())
    with registered(Crashing(), "crashing"), pytest.raises(SNNInitError) as info:
        apply_snn_init(model, torch.randn(2, 8))
    message = str(info.value)
    assert "'crashing'" in message
    assert "snninit_neuron_record" in message
    assert "'0'" in message
    causes = []
    error = info.value
    while error is not None:
        causes.append(type(error))
        error = error.__cause__
    assert ZeroDivisionError in causes


def test_pattern_frozen_layers_are_reinitialised_with_a_note_or_skipped_on_request():
    model = mlp()
    model[1].weight.requires_grad_(False)
    report = apply_snn_init(model, torch.randn(4, 8))
    assert [layer.name for layer in report.layers] == ["1", "3"]
    assert any("1 is frozen" in note for note in report.notes)
    report = apply_snn_init(model, torch.randn(4, 8), frozen="skip")
    assert [layer.name for layer in report.layers] == ["3"]
    assert [s.name for s in report.skipped] == ["1"]


# --- 9. the atomic promise --------------------------------------------------------------------------------


def state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def unchanged(model, before):
    return all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_pattern_ctrl_c_during_the_writes_restores_every_tensor(monkeypatch):
    model = mlp()
    before = state(model)
    original, calls = torch.Tensor.zero_, []

    def interrupted(self):
        calls.append(1)
        if len(calls) == 2:  # the second bias: the first layer and the second weight are written
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(torch.Tensor, "zero_", interrupted)
    with pytest.raises(KeyboardInterrupt):
        apply_snn_init(model, torch.randn(4, 8))
    monkeypatch.undo()
    assert unchanged(model, before)


def test_pattern_a_failing_reset_hook_after_the_writes_restores_every_tensor():
    model = mlp()
    before = state(model)
    with registered(FailingReset(model), "failing-reset"), pytest.raises(SNNInitError, match="snninit_reset_state"):
        apply_snn_init(model, torch.randn(4, 8))
    assert unchanged(model, before)


# --- 10. the report tells the truth ------------------------------------------------------------------------


@pytest.mark.parametrize("build", [mlp, Tied, Shared, TwoBranches, PooledConv])
def test_pattern_the_reported_std_is_the_std_of_the_weight_the_module_uses(build):
    model = build()
    inputs = {
        mlp: torch.randn(4, 8),
        Tied: torch.randn(4, 300),
        Shared: torch.randn(4, 400),
        TwoBranches: (torch.randn(4, 1000), torch.randn(4, 1000)),
        PooledConv: torch.randn(2, 1, 8, 8),
    }[build]
    report = apply_snn_init(model, inputs, generator=gen())
    assert report.layers
    assert_report_tells_the_truth(model, report)
    assert all(f"{layer.realised_std:.4g}" in str(report) for layer in report.layers)
