"""apply_snn_init on snnTorch models of every common style, and activity through 20 Leaky layers."""

import math

import pytest
import snntorch as snn
import torch
from torch import nn

from integration._activity import spike_counts
from snninit_adapters import apply_snn_init, kaiming_normal_, snn_normal_, snn_weight_variance
from snninit_adapters.theory import firing_probability
from tests._stats import assert_std_close

P1 = firing_probability(1.0)


def leaky(**kwargs):
    return snn.Leaky(beta=0.5, threshold=kwargs.pop("threshold", 1.0), init_hidden=True, **kwargs)


# --- tensor-level use -----------------------------------------------------------------------------


def test_paper_method_keeps_activity_through_ten_leaky_layers():
    counts = spike_counts(leaky, lambda w, g: snn_normal_(w, 1.0, generator=g))
    assert abs(counts[-1] - counts[0]) <= 0.3 * counts[0], counts


def test_learnable_threshold_parameter_is_read_by_the_tensor_initialiser():
    neuron = snn.Leaky(beta=0.5, threshold=0.5, learn_threshold=True)
    assert isinstance(neuron.threshold, torch.nn.Parameter)
    a, b = torch.empty(100, 100), torch.empty(100, 100)
    snn_normal_(a, neuron.threshold, generator=torch.Generator().manual_seed(0))
    snn_normal_(b, 0.5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)


# --- the activity check: 20 blocks, input N(0, 1) straight into the first Linear --------


def twenty_blocks(width=1000):
    layers = []
    for _ in range(20):
        layers += [nn.Linear(width, width, bias=False), leaky()]
    return nn.Sequential(*layers)


def block_spikes(net, x):
    for module in net.modules():
        if isinstance(module, snn.Leaky):
            module.reset_mem()
    counts = []
    with torch.no_grad():
        for module in net:
            x = module(x)
            if isinstance(module, snn.Leaky):
                counts.append(float(x.sum()))
    return counts


def mean_block_spikes(initialise, seeds=range(5)):
    totals = [0.0] * 20
    for seed in seeds:
        generator = torch.Generator().manual_seed(seed)
        net = twenty_blocks()
        x = torch.randn(1, 1000, generator=generator)
        initialise(net, x, generator)
        for i, count in enumerate(block_spikes(net, x)):
            totals[i] += count / len(seeds)
    return totals


def test_activity_reaches_block_twenty_and_dies_under_kaiming():
    ours = mean_block_spikes(lambda net, x, g: apply_snn_init(net, x, generator=g))
    assert abs(ours[-1] - ours[0]) <= 0.3 * ours[0], ours

    def kaiming(net, x, g):
        for module in net:
            if isinstance(module, nn.Linear):
                kaiming_normal_(module.weight, generator=g)

    theirs = mean_block_spikes(kaiming)
    assert theirs[-1] < 0.1 * ours[-1], theirs


# --- model styles ---------------------------------------------------------------------------------


def test_sequential_init_hidden_with_conv_pool_flatten():
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.MaxPool2d(2),
        leaky(),
        nn.Conv2d(8, 16, 3, padding=1),
        leaky(),
        nn.Flatten(),
        nn.Linear(16 * 4 * 4, 10),
        leaky(output=True),
    )
    x = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    report = apply_snn_init(net, x, generator=torch.Generator().manual_seed(2))
    assert [layer.name for layer in report.layers] == ["0", "3", "6"]
    assert report["0"].upstream[0].name == "<input>"
    assert report["0"].downstream[0].path == ("mod:MaxPool2d",)
    assert report["3"].fan_in == 8 * 9
    assert report["3"].new_std == pytest.approx(math.sqrt(snn_weight_variance(72, 1.0)), rel=1e-12)
    assert report["6"].upstream[0].path == ("mod:Flatten",)
    assert_std_close(net[3].weight, report["3"].new_std)


def test_tutorial_style_time_loop():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(20, 300)
            self.lif1 = snn.Leaky(beta=0.9, threshold=0.5)
            self.fc2 = nn.Linear(300, 10)
            self.lif2 = snn.Leaky(beta=0.9)

        def forward(self, x):
            mem1, mem2 = self.lif1.init_leaky(), self.lif2.init_leaky()
            spikes = []
            for step in range(x.shape[0]):
                spk1, mem1 = self.lif1(self.fc1(x[step]), mem1)
                spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
                spikes.append(spk2)
            return torch.stack(spikes)

    net = Net()
    report = apply_snn_init(net, torch.randn(5, 3, 20))
    assert report["fc2"].upstream[0].name == "lif1"
    assert report["fc2"].upstream[0].threshold == "0.5"
    assert report["fc2"].firing_probability == pytest.approx(firing_probability(0.5), rel=1e-12)
    assert [link.name for link in report["fc1"].downstream] == ["lif1"]


def test_per_neuron_learnable_threshold_and_graded_spikes():
    theta = torch.linspace(0.5, 1.5, 300)
    net = nn.Sequential(
        nn.Linear(20, 300),
        snn.Leaky(beta=0.5, threshold=theta, learn_threshold=True, init_hidden=True, graded_spikes_factor=2.0),
        nn.Linear(300, 10),
        leaky(),
    )
    report = apply_snn_init(net, torch.randn(8, 20))
    upstream = report["2"].upstream[0]
    assert upstream.threshold == "0.5..1.5 (300 values)"
    p = float(firing_probability(theta.double().numpy()).mean())
    assert report["2"].input_second_moment == pytest.approx(4.0 * p, rel=1e-6)


def test_synaptic_and_recurrent_leaky():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(8, 16)
            self.syn = snn.Synaptic(alpha=0.8, beta=0.9)
            self.fc2 = nn.Linear(16, 16)
            self.rlif = snn.RLeaky(beta=0.9, linear_features=16)

        def forward(self, x):
            syn, mem = self.syn.init_synaptic()
            spk, mem2 = self.rlif.init_rleaky()
            s1, syn, mem = self.syn(self.fc1(x), syn, mem)
            s2, mem2 = self.rlif(self.fc2(s1), spk, mem2)
            return s2

    net = Net()
    recurrent_before = net.rlif.recurrent.weight.clone()
    report = apply_snn_init(net, torch.randn(4, 8))
    assert report["fc2"].upstream[0].kind == "Synaptic"
    assert report["fc2"].downstream[0].kind == "RLeaky"
    skipped = {item.name: item.reason for item in report.skipped}
    assert "rlif.recurrent.weight" in skipped
    assert "recurrent" in skipped["rlif.recurrent.weight"]
    assert torch.equal(net.rlif.recurrent.weight, recurrent_before)


def test_alpha_receives_its_input_late_with_its_own_gain():
    alpha, beta = 0.9, 0.8
    net = nn.Sequential(nn.Linear(10, 10), snn.Alpha(alpha=alpha, beta=beta, init_hidden=True))
    report = apply_snn_init(net, torch.randn(2, 10))
    tau_alpha = math.log(alpha) / (math.log(beta) - math.log(alpha)) + 1
    assert report["0"].downstream[0].input_gain == pytest.approx(tau_alpha * (alpha - beta), rel=1e-6)
    assert any("after 1 step" in w for w in report["0"].warnings)


def test_lapicque_gain_matches_its_first_step():
    neuron = snn.Lapicque(beta=0.9, init_hidden=True, threshold=100.0)
    report = apply_snn_init(nn.Sequential(nn.Linear(4, 4), neuron), torch.randn(1, 4), dry_run=True)
    gain = report["0"].downstream[0].input_gain
    neuron.reset_mem()
    with torch.no_grad():
        neuron(torch.ones(1, 4))
    assert float(neuron.mem[0, 0]) == pytest.approx(gain, rel=1e-6)
    assert gain == pytest.approx(math.log(1 / 0.9), rel=1e-6)


def test_linear_leaky_owns_its_feedforward_weights():
    net = nn.Sequential(leaky(), snn.LinearLeaky(beta=0.5, in_features=50, out_features=60))
    report = apply_snn_init(net, torch.randn(4, 3, 50), generator=torch.Generator().manual_seed(3))  # [T, B, C]
    layer = report["1.linear.weight"]
    assert layer.fan_in == 50
    assert layer.upstream[0].name == "0"


def test_unknown_subclass_is_probed():
    class ScaledLeaky(snn.Leaky):
        """A user neuron whose input is halved: theta / g = 2 in input units."""

        def forward(self, input_, mem=None):
            return super().forward(0.5 * input_, mem)

    net = nn.Sequential(leaky(), nn.Linear(30, 30), ScaledLeaky(beta=0.5, init_hidden=True))
    report = apply_snn_init(net, torch.randn(4, 30))
    link = report["1"].downstream[0]
    assert link.probed
    assert float(link.threshold) == pytest.approx(2.0, rel=1e-6)
    assert any("probed" in note for note in report.notes)


def test_state_is_reset_after_the_call():
    net = nn.Sequential(nn.Linear(10, 10), leaky())
    with torch.no_grad():
        net(5 * torch.randn(3, 10))
    assert torch.count_nonzero(net[1].mem) > 0
    apply_snn_init(net, torch.randn(3, 10))
    assert torch.count_nonzero(net[1].mem) == 0
