"""The data-flow graph that discovery traces, on small hand-built models with the toy neuron."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from snninit_adapters import SNNInitError, get_plugin_manager
from snninit_adapters.discovery import INPUT, Link, discover, discover_sequential
from tests._toy import ToyNeuron

pytestmark = pytest.mark.usefixtures("toy_adapter")


def graph_of(model, x):
    return discover(model, x, get_plugin_manager())


def names(links):
    return sorted(link.name for link in links)


class Residual(nn.Module):
    """lif_out(fc_b(lif_a(fc_a(x))) + fc_skip(x)): two layers summed into one neuron population."""

    def __init__(self):
        super().__init__()
        self.lif_in = ToyNeuron()
        self.fc_a = nn.Linear(8, 8)
        self.lif_a = ToyNeuron()
        self.fc_b = nn.Linear(8, 8)
        self.fc_skip = nn.Linear(8, 8)
        self.lif_out = ToyNeuron()

    def forward(self, x):
        s = self.lif_in(x)
        return self.lif_out(self.fc_b(self.lif_a(self.fc_a(s))) + self.fc_skip(s))


def test_a_residual_sum_gives_its_neuron_both_layers_and_marks_the_add():
    graph = graph_of(Residual(), torch.randn(4, 8))
    assert names(graph.walk("lif_out", forward=False)) == ["fc_b", "fc_skip"]
    assert names(graph.walk("fc_skip", forward=False)) == ["lif_in"]
    assert names(graph.walk("fc_a", forward=False)) == ["lif_in"]
    (to_out,) = graph.walk("fc_skip", forward=True)
    assert to_out.name == "lif_out"
    assert "add" in to_out.path


class PooledConv(nn.Module):
    """snnTorch's tutorial order: conv -> max-pool -> neuron, then a functional pool before the next conv."""

    def __init__(self):
        super().__init__()
        self.lif0 = ToyNeuron()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.lif1 = ToyNeuron()
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.lif2 = ToyNeuron()

    def forward(self, x):
        s = self.lif1(self.pool(self.conv1(self.lif0(x))))
        return self.lif2(self.conv2(F.avg_pool2d(s, 1)))


def test_pooling_on_the_path_is_named_and_passed_through():
    graph = graph_of(PooledConv(), torch.randn(2, 1, 8, 8))
    (down,) = graph.walk("conv1", forward=True)
    assert down == Link("lif1", ("mod:MaxPool2d",))
    (up,) = graph.walk("conv2", forward=False)
    assert up.name == "lif1"
    assert "avg_pool2d" in up.path
    assert names(graph.walk("conv1", forward=False)) == ["lif0"]


class TimeLoop(nn.Module):
    """A time loop inside forward, over the first dimension of the input."""

    def __init__(self):
        super().__init__()
        self.lif0 = ToyNeuron()
        self.fc = nn.Linear(6, 6)
        self.lif1 = ToyNeuron()

    def forward(self, x):
        return torch.stack([self.lif1(self.fc(self.lif0(x_t))) for x_t in x])


def test_a_time_loop_gives_the_same_edges_as_one_step():
    graph = graph_of(TimeLoop(), torch.randn(5, 3, 6))
    assert names(graph.walk("fc", forward=False)) == ["lif0"]
    assert names(graph.walk("fc", forward=True)) == ["lif1"]
    assert names(graph.walk("lif0", forward=False)) == [INPUT]
    assert graph.input_second_moment("lif0") == pytest.approx(1.0, rel=0.5)


class Shared(nn.Module):
    """One Linear called on two different neuron layers' spikes."""

    def __init__(self):
        super().__init__()
        self.lif_a = ToyNeuron()
        self.lif_b = ToyNeuron(theta=0.5)
        self.fc = nn.Linear(6, 6)
        self.lif_c = ToyNeuron()

    def forward(self, x):
        return self.lif_c(self.fc(self.lif_a(x)) + self.fc(self.lif_b(x)))


def test_a_shared_layer_collects_the_sources_of_every_call():
    graph = graph_of(Shared(), torch.randn(4, 6))
    assert names(graph.walk("fc", forward=False)) == ["lif_a", "lif_b"]
    assert names(graph.walk("fc", forward=True)) == ["lif_c"]


class Recurrent(nn.Module):
    """The neuron's spikes feed back into the layer that drives it at the next step."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)
        self.lif = ToyNeuron()

    def forward(self, x):
        s = torch.zeros(x.shape[1:])
        for x_t in x:
            s = self.lif(self.fc(x_t + s))
        return s


def test_a_recurrence_reaches_the_layer_from_its_own_neuron():
    graph = graph_of(Recurrent(), torch.randn(3, 2, 6))
    assert names(graph.walk("fc", forward=False)) == [INPUT, "lif"]
    assert names(graph.walk("lif", forward=True)) == ["fc"]


def test_discovery_leaves_the_model_untouched_and_runs_a_copy():
    model = TimeLoop()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    graph = graph_of(model, torch.randn(2, 3, 6))
    assert graph.atoms["fc"].module is not model.fc  # the graph's atoms are the copy's modules
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not model.fc._forward_hooks
    assert not model.fc._forward_pre_hooks


def test_the_copy_shares_the_parameters_and_copies_the_buffers():
    model = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8), ToyNeuron())
    graph = graph_of(model, torch.randn(4, 8))
    copied = graph.atoms["0"].module
    assert copied is not model[0]
    assert copied.weight is model[0].weight  # no copy of the weights is made
    assert graph.atoms["1"].module.running_mean is not model[1].running_mean


class Keeper(nn.Module):
    """A layer whose forward hook remembers, weakly, every tensor the model's layers put out."""

    def __init__(self):
        super().__init__()
        self.fc1, self.lif1, self.fc2, self.lif2 = nn.Linear(64, 64), ToyNeuron(), nn.Linear(64, 64), ToyNeuron()

    def forward(self, x):
        return self.lif2(self.fc2(torch.relu(self.lif1(self.fc1(x)) * 2.0)))


def test_the_trace_keeps_no_activation_alive():
    import weakref

    seen = []
    model = Keeper()
    for module in model.children():
        module.register_forward_hook(lambda m, i, o: seen.append(weakref.ref(o)))
    graph = graph_of(model, torch.randn(16, 64))
    assert len(seen) == 4
    assert graph.outputs["fc2"].count == 16 * 64
    assert [ref() for ref in seen] == [None] * 4  # every output was freed once the pass was over


class InPlace(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.lif = nn.Linear(4, 4), ToyNeuron()

    def forward(self, x):
        self.fc.weight.mul_(1.0)  # a forward that changes its own weight in place
        return self.lif(self.fc(x))


def test_a_forward_that_changes_a_parameter_in_place_is_named():
    graph = graph_of(InPlace(), torch.randn(2, 4))
    assert any("changed 1 parameter(s) in place (fc.weight)" in note for note in graph.notes)
    assert not graph_of(TimeLoop(), torch.randn(2, 3, 6)).notes


def test_a_model_that_cannot_take_the_input_names_the_shapes_and_layouts():
    with pytest.raises(SNNInitError, match=r"shape\(s\) \[\(3, 5\)\].*\[T, B, \.\.\.\]") as info:
        graph_of(TimeLoop(), torch.randn(3, 5))
    assert isinstance(info.value.__cause__, RuntimeError)


def test_module_order_reads_a_sequential_without_running_it():
    model = nn.Sequential(ToyNeuron(), nn.Linear(4, 4), ToyNeuron())
    graph = discover_sequential(model, get_plugin_manager())
    assert graph.method == "module order"
    assert names(graph.walk("1", forward=False)) == ["0"]
    assert names(graph.walk("1", forward=True)) == ["2"]
    with pytest.raises(SNNInitError, match=r"only an nn\.Sequential"):
        discover_sequential(TimeLoop(), get_plugin_manager())
