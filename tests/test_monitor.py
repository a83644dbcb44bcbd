"""The activity monitor without any SNN framework: the toy neuron and the report."""

import csv
import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

import snninit_adapters
from snninit_adapters import ActivityReport, SNNInitError, measure_activity
from snninit_adapters.monitor import ActivityRow
from tests._toy import ToyNeuron, UnreadableNeuron, registered

# --- measure_activity on toy neurons ---------------------------------------------------------------


def _moments(tensor):
    values = tensor.detach().double().reshape(-1).numpy()
    return values.mean(), values.var(), stats.skew(values), stats.kurtosis(values)


def _assert_row_moments(row, membrane):
    mean, var, skew, kurt = _moments(membrane)
    assert math.isclose(row.u_mean, mean, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(row.u_var, var, rel_tol=1e-9)
    assert math.isclose(row.u_skew, skew, rel_tol=1e-7, abs_tol=1e-9)
    assert math.isclose(row.u_kurt, kurt, rel_tol=1e-7, abs_tol=1e-9)


def two_blocks(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(50, 80), ToyNeuron(theta=1.0, gain=2.0), nn.Linear(80, 60), ToyNeuron(theta=0.5))


def test_counts_and_membrane_moments_are_those_of_the_layers_inputs(toy_adapter):
    net = two_blocks()
    x = torch.randn(32, 50, generator=torch.Generator().manual_seed(1))
    report = measure_activity(net, x)
    with torch.no_grad():
        u1 = 2.0 * net[0](x)
        s1 = (u1 > 1.0).float()
        u2 = net[2](s1)
    first, second = report.rows
    assert (first.layer, first.kind, first.step, first.neurons) == ("1", "ToyNeuron", 0, 32 * 80)
    assert first.spikes == int((u1 > 1.0).sum()) > 0
    assert first.rate == first.spikes / (32 * 80)
    _assert_row_moments(first, u1)
    assert (second.layer, second.neurons, second.spikes) == ("3", 32 * 60, int((u2 > 0.5).sum()))
    _assert_row_moments(second, u2)
    assert report.layers == ["1", "3"]


def test_the_copy_shares_the_parameters_and_names_a_forward_that_changes_one_in_place(toy_adapter):
    class Clipping(nn.Linear):
        def forward(self, x):
            with torch.no_grad():
                self.weight.clamp_(-0.1, 0.1)  # a forward that changes its weight in place
            return super().forward(x)

    seen = []
    net = nn.Sequential(nn.Linear(50, 80), ToyNeuron())
    net[0].register_forward_hook(lambda module, args, out: seen.append(module.weight))
    report = measure_activity(net, torch.randn(4, 50))
    assert seen[-1] is net[0].weight  # the copy ran on the model's own parameter: no copy of the weights
    assert not any("in place" in note for note in report.notes)
    clipping = nn.Sequential(Clipping(50, 80), ToyNeuron())
    nn.init.normal_(clipping[0].weight)
    report = measure_activity(clipping, torch.randn(4, 50))
    assert any("changed parameters in place (0.weight)" in note for note in report.notes)
    assert float(clipping[0].weight.abs().max()) == pytest.approx(0.1)  # the model holds the clipped weight


def test_the_model_and_its_hooks_are_untouched(toy_adapter):
    net = two_blocks()
    net.train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    measure_activity(net, torch.randn(4, 50))
    assert net.training
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in net.modules())


def test_steps_calls_the_model_again_and_numbers_the_steps(toy_adapter):
    net = two_blocks()
    x = torch.randn(8, 50)
    once = measure_activity(net, x)
    thrice = measure_activity(net, x, steps=3)
    assert [(r.layer, r.step) for r in thrice.rows] == [(n, s) for n in ("1", "3") for s in range(3)]
    for row in thrice.rows:  # the toy neuron is stateless: every step equals the single call
        ref = once.layer(row.layer)[0]
        assert (row.spikes, row.u_mean, row.u_var) == (ref.spikes, ref.u_mean, ref.u_var)


class Loop(nn.Module):
    """A model with its own time loop over [T, B, N]: each call of the neuron is one more step."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 10, bias=False)
        self.lif = ToyNeuron(theta=0.0)

    def forward(self, x):
        return torch.stack([self.lif(self.fc(x_t)) for x_t in x])


def test_a_time_loop_inside_forward_gives_one_row_per_step(toy_adapter):
    model = Loop()
    x = torch.randn(5, 3, 10)
    report = measure_activity(model, x)
    assert [row.step for row in report.rows] == [0, 1, 2, 3, 4]
    with torch.no_grad():
        for row, x_t in zip(report.rows, x, strict=True):
            u = model.fc(x_t)
            assert row.spikes == int((u > 0).sum())
            _assert_row_moments(row, u)


class Accumulator(nn.Module):
    """forward(x, state) -> (spikes, state): the membrane carries over between calls (like Norse)."""

    def __init__(self):
        super().__init__()
        self.neuron = ToyNeuron(theta=2.5)

    def forward(self, x, state=None):
        u = x if state is None else state + x
        return self.neuron(u), u


def test_steps_thread_the_state_a_model_returns(toy_adapter):
    x = torch.ones(2, 3)
    report = measure_activity(Accumulator(), x, steps=4)
    assert [row.u_mean for row in report.rows] == [1.0, 2.0, 3.0, 4.0]
    assert [row.spikes for row in report.rows] == [0, 0, 6, 6]
    assert any("threaded the state" in note for note in report.notes)
    positional = measure_activity(Accumulator(), (x, None), steps=2)  # state given positionally
    assert [row.u_mean for row in positional.rows] == [1.0, 2.0]


class MultiStepToy(nn.Module):
    """A stateless multi-step neuron on [T, ...]: spikes where 2 x > 1."""

    def forward(self, x):
        return (2 * x > 1).float()


class MultiStepAdapter:
    @snninit_adapters.hookimpl
    def snninit_is_neuron(self, module):
        return True if isinstance(module, MultiStepToy) else None

    @snninit_adapters.hookimpl
    def snninit_step_activity(self, module, args, output):
        if not isinstance(module, MultiStepToy):
            return None
        return list(zip(output.unbind(0), (2 * args[0]).unbind(0), strict=True))


@pytest.fixture
def multi_step_adapter():
    with registered(MultiStepAdapter(), "multi-step-toy") as adapter:
        yield adapter


def test_a_multi_step_call_counts_as_its_steps(multi_step_adapter):
    x = torch.stack([torch.full((2, 4), value) for value in (0.0, 0.4, 0.6, 1.0)])
    report = measure_activity(nn.Sequential(MultiStepToy()), x, steps=2)
    assert [row.step for row in report.rows] == list(range(8))
    assert [row.spikes for row in report.rows] == [0, 0, 8, 8] * 2
    assert [row.u_mean for row in report.rows] == pytest.approx([0.0, 0.8, 1.2, 2.0] * 2)
    assert all(row.neurons == 8 for row in report.rows)


def test_a_neuron_no_adapter_reads_counts_its_output_as_spikes(toy_adapter):
    net = nn.Sequential(nn.Identity(), UnreadableNeuron())
    x = torch.tensor([[0.5, 1.5, 2.0, -3.0]])
    report = measure_activity(net, x)
    (row,) = report.rows
    assert (row.neurons, row.spikes, row.rate) == (4, 2, 0.5)
    assert row.u_mean is row.u_var is row.u_skew is row.u_kurt is None
    assert any("no adapter reads the activity of 1" in note for note in report.notes)


class RaisingAdapter:
    @snninit_adapters.hookimpl(tryfirst=True)
    def snninit_step_activity(self, module):
        raise RuntimeError("boom")


def test_an_adapter_that_fails_falls_back_to_the_output_with_a_note(toy_adapter):
    with registered(RaisingAdapter(), "raising"):
        report = measure_activity(nn.Sequential(ToyNeuron()), torch.tensor([[2.0, 0.0]]))
    (row,) = report.rows
    assert (row.spikes, row.u_mean) == (1, None)
    assert any("RuntimeError: boom" in note for note in report.notes)


def test_a_neuron_that_never_runs_is_noted_not_tabulated(toy_adapter):
    class Unused(nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.unused = ToyNeuron(), ToyNeuron()

        def forward(self, x):
            return self.used(x)

    report = measure_activity(Unused(), torch.ones(1, 3))
    assert report.layers == ["used"]
    assert "never called, so not in the table: unused" in report.notes
    empty = ActivityReport(rows=())
    assert str(empty).splitlines()[0] == "ActivityReport: 0 neuron layers, 0 steps"
    assert empty.layers == []
    assert empty.to_rows() == []


def test_inputs_as_tuple_or_dict(toy_adapter):
    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.neuron = ToyNeuron()

        def forward(self, a, b=0.0):
            return self.neuron(a + b)

    a, b = torch.tensor([[0.5, 0.7]]), torch.tensor([[0.6, 0.1]])
    for example in ((a, b), {"a": a, "b": b}):
        (row,) = measure_activity(TwoInputs(), example).rows
        assert row.spikes == 1
        assert row.u_mean == pytest.approx(0.95)


def test_errors(toy_adapter):
    with pytest.raises(SNNInitError, match="no spiking neuron"):
        measure_activity(nn.Linear(3, 3), torch.randn(2, 3))
    with pytest.raises(SNNInitError, match="could not run on the example input"):
        measure_activity(two_blocks(), torch.randn(2, 7))
    for steps in (0, -1, 1.5, True):
        with pytest.raises(SNNInitError, match="steps"):
            measure_activity(two_blocks(), torch.randn(2, 50), steps=steps)


# --- the report ------------------------------------------------------------------------------------


def silent_report(toy_adapter):
    net = nn.Sequential(nn.Linear(20, 20), ToyNeuron(theta=0.0), nn.Linear(20, 20), ToyNeuron(theta=1e9))
    return measure_activity(net, torch.randn(16, 20, generator=torch.Generator().manual_seed(0)), steps=2)


def test_print_shows_one_line_per_layer_and_flags_silent_layers(toy_adapter):
    report = silent_report(toy_adapter)
    text = str(report)
    lines = text.splitlines()
    assert lines[0] == "ActivityReport: 2 neuron layers, 2 steps"
    assert lines[1].split() == ["layer", "kind", "steps", "spikes", "rate", "Var[u]", "rate[0]", "rate[-1]"]
    first, second = lines[2].split(), lines[3].split()
    assert first[:3] == ["1", "ToyNeuron", "2"]
    assert first[-1] != "silent"
    assert second[:4] == ["3", "ToyNeuron", "2", "0"]
    assert second[-1] == "silent"
    assert report.silent == ["3"]
    summary = report.summary()
    assert summary[0]["spikes"] == sum(row.spikes for row in report.layer("1"))
    assert summary[0]["u_var"] == pytest.approx(np.mean([row.u_var for row in report.layer("1")]))
    assert (summary[1]["silent"], summary[1]["rate"], summary[1]["last_rate"]) == (True, 0.0, 0.0)


def test_tidy_rows_and_csv(toy_adapter, tmp_path):
    report = silent_report(toy_adapter)
    rows = report.to_rows()
    assert len(rows) == 4
    assert list(rows[0]) == [f.name for f in ActivityRow.__dataclass_fields__.values()]
    assert all(isinstance(value, int | float | str) for row in rows for value in row.values())
    path = tmp_path / "activity.csv"
    report.to_csv(path)
    with open(path, newline="", encoding="utf-8") as handle:
        read = list(csv.DictReader(handle))
    assert [(r["layer"], int(r["step"]), int(r["spikes"])) for r in read] == [
        (row["layer"], row["step"], row["spikes"]) for row in rows
    ]
    assert float(read[0]["u_var"]) == rows[0]["u_var"]
    with pytest.raises(KeyError, match="no neuron layer"):
        report.layer("nope")


def test_csv_leaves_a_missing_membrane_empty(toy_adapter, tmp_path):
    report = measure_activity(nn.Sequential(UnreadableNeuron()), torch.tensor([[2.0]]))
    report.to_csv(tmp_path / "a.csv")
    with open(tmp_path / "a.csv", newline="", encoding="utf-8") as handle:
        (row,) = list(csv.DictReader(handle))
    assert (row["spikes"], row["u_mean"], row["u_kurt"]) == ("1", "", "")
    assert "-" in str(report).splitlines()[2].split()  # Var[u] shown as '-'


def test_report_is_exported():
    assert snninit_adapters.ActivityReport is ActivityReport
    assert snninit_adapters.measure_activity is measure_activity


def test_the_monitors_copy_is_freed_when_measure_activity_returns(toy_adapter, monkeypatch):
    import gc
    import weakref

    from snninit_adapters import monitor

    made = []

    def copying(model, **kwargs):
        replica = copy_model(model, **kwargs)
        made.extend(weakref.ref(module) for module in replica.modules())
        return replica

    copy_model = monitor.copy_model
    monkeypatch.setattr(monitor, "copy_model", copying)
    net = two_blocks()
    net[1].step = net[1].forward  # a neuron holding its own bound method, as snnTorch's do: a cycle
    enabled = gc.isenabled()
    gc.disable()  # freed by reference counting alone, cycles and all
    try:
        report = measure_activity(net, torch.randn(4, 50))
        assert made
        assert all(probe() is None for probe in made)
    finally:
        if enabled:
            gc.enable()
    assert report.layers == ["1", "3"]


# --- short rows kept and reduced together --------------------------------------------------------------


class Zeroing(nn.Module):
    """A layer that overwrites the tensor it is given (the neuron's spikes) in place."""

    def forward(self, x):
        return x.zero_()


def test_kept_rows_are_copies_that_a_later_in_place_change_does_not_reach(toy_adapter):
    net = nn.Sequential(ToyNeuron(theta=0.0), Zeroing())
    (row,) = measure_activity(net, torch.tensor([[1.0, -1.0, 2.0]])).rows
    assert (row.neurons, row.spikes) == (3, 2)  # counted from the spikes as the neuron emitted them


def _spied_reductions(monkeypatch):
    from snninit_adapters import monitor

    seen = []  # the number of kept values at each reduction
    reduce = monitor._Pending.reduce
    monkeypatch.setattr(monitor._Pending, "reduce", lambda self: seen.append(self.values) or reduce(self))
    return seen


def test_kept_rows_are_reduced_whenever_they_would_pass_the_cap(toy_adapter, monkeypatch):
    from snninit_adapters import monitor

    net = two_blocks()
    x = torch.randn(32, 50, generator=torch.Generator().manual_seed(3))
    whole = measure_activity(net, x, steps=6)
    seen = _spied_reductions(monkeypatch)
    cap = 10_000  # a step keeps 2 x (32 x 80 + 32 x 60) = 8960 values
    monkeypatch.setattr(monitor, "_DEFERRED_VALUES", cap)
    capped = measure_activity(net, x, steps=6)
    assert seen == [8960] * 6  # before each of steps 2-6 and at the end: never more than the cap kept
    assert [(r.layer, r.step, r.neurons, r.spikes) for r in capped.rows] == [
        (r.layer, r.step, r.neurons, r.spikes) for r in whole.rows
    ]
    for ours, theirs in zip(capped.rows, whole.rows, strict=True):
        assert (ours.u_mean, ours.u_var, ours.u_skew, ours.u_kurt) == pytest.approx(
            (theirs.u_mean, theirs.u_var, theirs.u_skew, theirs.u_kurt), rel=1e-12, abs=1e-14
        )


def test_a_call_with_more_values_than_the_cap_is_reduced_at_once(multi_step_adapter, monkeypatch):
    from snninit_adapters import monitor

    seen = _spied_reductions(monkeypatch)
    monkeypatch.setattr(monitor, "_DEFERRED_VALUES", 60)  # a call keeps 4 steps x 8 values x 2 = 64
    x = torch.stack([torch.full((2, 4), value) for value in (0.0, 0.4, 0.6, 1.0)])
    report = measure_activity(nn.Sequential(MultiStepToy()), x, steps=2)
    assert seen == [0]
    assert [row.spikes for row in report.rows] == [0, 0, 8, 8] * 2


def test_long_rows_are_reduced_at_once_not_kept(toy_adapter, monkeypatch):
    seen = _spied_reductions(monkeypatch)
    net = nn.Sequential(nn.Linear(50, 700), ToyNeuron(theta=0.5))  # 32 x 700 = 22400 values a step
    x = torch.randn(32, 50, generator=torch.Generator().manual_seed(4))
    report = measure_activity(net, x, steps=3)
    assert seen == [0]
    with torch.no_grad():
        u = net[0](x)
    bound = (math.log2(u.numel()) + 8) * 2.0**-24  # a float32 reduction
    for row in report.rows:
        assert row.spikes == int((u > 0.5).sum())
        assert row.u_var == pytest.approx(float(u.double().var(unbiased=False)), rel=bound)
