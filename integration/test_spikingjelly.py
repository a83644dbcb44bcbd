"""SpikingJelly: the tensor initialisers, the adapter's neuron records and apply_snn_init on SJ models.

SpikingJelly's LIFNode (decay_input=True) charges H = V + (X - V) / tau, so one step from rest gives
u = X / tau: an input gain g = 1 / tau, which target_variance = 1 / g^2 compensates. IFNode has g = 1.

The expected weight std of every layer is computed here from the rule Var[w] = 1 / (g^2 n E[x^2]),
E[x^2] = P(u > theta) = erfc(theta / sqrt 2) / 2 for spikes from a unit-variance membrane, and the
measured mean square of the example input for a layer that reads it.
"""

import copy
import math
import subprocess
import sys
import types

import pytest
import torch
from spikingjelly.activation_based import functional, layer, neuron, surrogate
from torch import nn

from integration._activity import disjoint_binary_input, reset_in_the_spike_step, spike_counts
from snninit_adapters import SNNInitError, apply_snn_init, fan_in, kaiming_normal_, snn_normal_
from snninit_adapters.adapters import spikingjelly as adapter
from snninit_adapters.neurons import threshold_array
from snninit_adapters.probe import probe_input_threshold
from snninit_adapters.theory import firing_probability
from tests._stats import assert_std_close


def test_layer_wrappers_are_plain_torch_layers():
    conv = layer.Conv2d(3, 16, 3, step_mode="m")
    assert fan_in(conv.weight.shape) == 27
    snn_normal_(conv.weight, 1.0, generator=torch.Generator().manual_seed(0))
    std = 1 / math.sqrt(27 * firing_probability(1.0))
    assert abs(conv.weight.std().item() - std) < 5 * std / math.sqrt(2 * conv.weight.numel())


def test_if_node_keeps_activity_and_kaiming_loses_it():
    paper = spike_counts(neuron.IFNode, lambda w, g: snn_normal_(w, 1.0, generator=g))
    kaiming = spike_counts(neuron.IFNode, lambda w, g: kaiming_normal_(w, generator=g))
    assert abs(paper[-1] - paper[0]) <= 0.3 * paper[0], paper
    assert kaiming[-1] < 0.1 * paper[-1], kaiming


def test_lif_node_needs_its_input_gain_compensated():
    tau = 2.0  # LIFNode's default

    def compensated(w, g):
        return snn_normal_(w, 1.0, target_variance=tau**2, generator=g)

    with_gain = spike_counts(neuron.LIFNode, compensated, input_gain=1 / tau)
    without = spike_counts(neuron.LIFNode, lambda w, g: snn_normal_(w, 1.0, generator=g), input_gain=1 / tau)
    assert abs(with_gain[-1] - with_gain[0]) <= 0.3 * with_gain[0], with_gain
    assert without[-1] < 0.1 * with_gain[-1], without


# ------------------------------------------------------------------------------------------------
# helpers


def p_fire(theta):
    """P(u > theta) for a unit-variance membrane (computed here, independently of the library)."""
    return 0.5 * math.erfc(theta / math.sqrt(2))


def rule_std(n, second_moment, gain=1.0):
    return 1 / math.sqrt(gain**2 * n * second_moment)


def check_layer(report, name, weight, std):
    """The report's planned std is the rule's, and the weights drawn have that std."""
    assert report[name].new_std == pytest.approx(std, rel=1e-9)
    assert_std_close(weight, std)


def names(links):
    return {link.name for link in links}


def record(module):
    result = adapter.snninit_neuron_record(module)
    assert result is not None
    return result


def own_step(n, x):
    """One step of an SJ neuron, written here independently of the adapter's probe step."""
    if getattr(n, "step_mode", "s") == "m":
        return n(x.unsqueeze(0))[0]
    return n(x)


def fresh(n):
    n = copy.deepcopy(n)
    functional.reset_net(n)
    return n.eval()


def membrane(n, inputs, shape):
    """The membrane v of a fresh copy after the given constant inputs (one per step), per element."""
    n = fresh(n)
    with torch.no_grad():
        for value in inputs:
            own_step(n, torch.full(shape, value))
    return torch.as_tensor(n.v).double().reshape(-1)


# ------------------------------------------------------------------------------------------------
# neuron records, checked against the neurons themselves


def _klif():
    n = neuron.KLIFNode(tau=3.0)
    n.k.data.fill_(1.7)
    return n


def _mpbn_with_statistics():
    n = neuron.MPBNLIFNode(out_features=4, decay_input=True)
    n.vbn.running_mean.copy_(torch.tensor([0.1, -0.2, 0.3, 0.0]))
    n.vbn.running_var.copy_(torch.tensor([0.5, 2.0, 1.0, 1.5]))
    n.vbn.weight.data.copy_(torch.tensor([1.0, 0.5, 2.0, 1.0]))
    n.vbn.bias.data.copy_(torch.tensor([0.0, 0.1, -0.1, 0.2]))
    return n


def _gated(inplane):
    torch.manual_seed(0)  # GatedLIFNode draws its gates with numpy/torch at construction
    return neuron.GatedLIFNode(T=1, inplane=inplane)


def _sigmoid(n, name):
    return torch.sigmoid(getattr(n, name).detach().double()).reshape(-1)


# (id, factory, steps, probe/membrane shape, the raw value of the stored membrane v at which it fires)
NEURONS = [
    ("IFNode", neuron.IFNode, 1, (1, 4), lambda n: n.v_threshold),
    ("IFNode-v_reset", lambda: neuron.IFNode(v_threshold=0.8, v_reset=0.3), 1, (1, 4), lambda n: 0.8),
    ("IFNode-soft-m", lambda: neuron.IFNode(v_reset=None, step_mode="m"), 1, (1, 4), lambda n: 1.0),
    ("LIFNode", neuron.LIFNode, 1, (1, 4), lambda n: 1.0),
    ("LIFNode-tau3", lambda: neuron.LIFNode(tau=3.0, v_threshold=0.7), 1, (1, 4), lambda n: 0.7),
    ("LIFNode-no-decay-input", lambda: neuron.LIFNode(decay_input=False), 1, (1, 4), lambda n: 1.0),
    ("LIFNode-v_reset-m", lambda: neuron.LIFNode(v_reset=-0.2, step_mode="m"), 1, (1, 4), lambda n: 1.0),
    ("ParametricLIFNode", lambda: neuron.ParametricLIFNode(init_tau=5.0), 1, (1, 4), lambda n: 1.0),
    ("PLIF-no-decay-input", lambda: neuron.ParametricLIFNode(decay_input=False), 1, (1, 4), lambda n: 1.0),
    ("KLIFNode", _klif, 1, (1, 4), lambda n: 1.0),
    ("CUBALIFNode", lambda: neuron.CUBALIFNode(v_reset=0.1), 1, (1, 4), lambda n: 0.5),
    ("ComplementaryLIFNode", neuron.ComplementaryLIFNode, 1, (1, 4), lambda n: 1.0),
    ("ILIFNode", neuron.ILIFNode, 1, (1, 4), lambda n: 0.5),  # round(h / theta) >= 1
    ("LIAFNode", lambda: neuron.LIAFNode(nn.ReLU(), True), 1, (1, 4), lambda n: 1.0),
    ("QIFNode", neuron.QIFNode, 1, (1, 4), lambda n: 1.0),
    ("EIFNode", neuron.EIFNode, 1, (1, 4), lambda n: 1.0),
    ("IzhikevichNode", lambda: neuron.IzhikevichNode(v_reset=-0.05, w_rest=0.1), 1, (1, 4), lambda n: 1.0),
    ("RAFNode", lambda: neuron.RAFNode(v_reset=0.2), 2, (1, 4), lambda n: 1.0),
    ("TernaryIFNode", neuron.TernaryIFNode, 1, (1, 4), lambda n: 1.0),
    ("TernaryLIFNode", neuron.TernaryLIFNode, 1, (1, 4), lambda n: 1.0),
    ("HalfThresholdIFNode", lambda: neuron.HalfThresholdIFNode(v_threshold=1.5), 1, (1, 4), lambda n: 1.5),
    (
        "ActivationAwareIFNode",
        lambda: neuron.ActivationAwareIFNode(torch.tensor([0.5, 1.0, 1.5, 2.0]), torch.tensor([0.0, 0.1, 0.2, 0.3])),
        1,
        (1, 4),
        lambda n: n.v_threshold.double() - n.v_offset.double(),
    ),
    ("GatedLIFNode", lambda: _gated(None), 1, (1, 1, 1, 1), lambda n: _sigmoid(n, "v_threshold")),
    ("GatedLIFNode-inplane", lambda: _gated(3), 1, (1, 3, 1, 1), lambda n: _sigmoid(n, "v_threshold")),
    ("MPBNLIFNode", _mpbn_with_statistics, 1, (1, 4), lambda n: 1.0),  # v is stored after the BatchNorm
    ("SimpleIFNode", neuron.SimpleIFNode, 1, (1, 4), lambda n: 1.0),
    ("SimpleLIFNode", lambda: neuron.SimpleLIFNode(3.0, False, v_reset=0.3), 1, (1, 4), lambda n: 1.0),
    ("SLTTLIFNode", neuron.SLTTLIFNode, 1, (1, 4), lambda n: 1.0),
]


@pytest.mark.parametrize(
    ("factory", "steps", "shape", "fires_at"), [case[1:] for case in NEURONS], ids=[case[0] for case in NEURONS]
)
def test_record_matches_the_neuron(factory, steps, shape, fires_at):
    """theta/g read from the record equals the probed input threshold; g and the rest match the membrane."""
    n = factory()
    rec = record(n)
    assert not rec.probed
    theta_in = torch.as_tensor(threshold_array(rec.threshold)) / rec.input_gain  # per feature, input units
    # 1. black-box: the smallest constant input that fires within `steps` steps
    probed = probe_input_threshold(fresh(n), own_step, steps=steps, shape=shape)
    assert float(theta_in.min()) == pytest.approx(probed, rel=1e-5)
    # 2. white-box: v after no input is the rest h0; v after a small input x is h0 + g x
    x = 0.3 * probed
    padding = [0.0] * (steps - 1)
    rest = membrane(n, [0.0, *padding], shape)
    gains = (membrane(n, [x, *padding], shape) - rest) / x
    assert float(gains.mean()) == pytest.approx(rec.input_gain, rel=1e-5)
    measured = (torch.as_tensor(fires_at(n), dtype=torch.float64) - rest) / gains
    assert torch.allclose(theta_in.expand_as(measured), measured, rtol=1e-5, atol=0.0), (theta_in, measured)


def test_documented_gains():
    assert record(neuron.IFNode()).input_gain == 1.0
    assert record(neuron.LIFNode()).input_gain == 0.5
    assert record(neuron.LIFNode(tau=4.0, decay_input=False)).input_gain == 1.0
    plif = neuron.ParametricLIFNode(init_tau=3.0)
    assert record(plif).input_gain == pytest.approx(float(torch.sigmoid(plif.w.detach().double())), rel=1e-12)
    assert record(neuron.RAFNode()).input_delay == 1
    assert record(neuron.LIFNode(v_reset=None)).reset == "soft"
    assert record(neuron.LIFNode()).reset == "hard"


def test_threshold_is_read_as_the_float_v_threshold():
    n = neuron.LIFNode(v_threshold=0.7)
    rec = record(n)
    assert isinstance(rec.threshold, float)
    assert rec.threshold == 0.7
    assert rec.threshold_source == "v_threshold"
    net = nn.Sequential(layer.Linear(30, 40), n, layer.Linear(40, 5))
    report = apply_snn_init(net, torch.randn(8, 30, generator=torch.Generator().manual_seed(0)), dry_run=True)
    assert report["0"].downstream[0].threshold == "0.7"
    assert report["2"].upstream[0].threshold == "0.7"
    assert report["2"].firing_probability == pytest.approx(p_fire(0.7), rel=1e-9)


def test_per_channel_threshold_buffer():
    n = neuron.ActivationAwareIFNode(v_threshold=torch.tensor([0.5, 1.0, 2.0]), v_offset=0.25)
    rec = record(n)
    assert isinstance(rec.threshold, torch.Tensor)
    assert torch.equal(rec.threshold, torch.tensor([0.25, 0.75, 1.75], dtype=torch.float64))


def test_unusable_neurons_raise_clear_errors():
    with pytest.raises(SNNInitError, match="one step late"):
        record(neuron.RAFNode(omega=4.0))  # sin(omega dt) < 0
    with pytest.raises(SNNInitError, match="no single-step threshold"):
        record(neuron.PSN(T=4))


def test_non_spiking_readout_is_not_a_neuron():
    assert adapter.snninit_is_neuron(neuron.NonSpikingLIFNode()) is None
    assert adapter.snninit_is_neuron(neuron.LIFNode()) is True
    assert adapter.snninit_is_neuron(layer.SeqToANNContainer(nn.Linear(2, 2))) is None  # a MemoryModule
    assert adapter.snninit_is_neuron(layer.Dropout(0.5)) is None
    net = nn.Sequential(layer.Linear(50, 600), neuron.LIFNode(), layer.Linear(600, 40), neuron.NonSpikingLIFNode())
    functional.set_step_mode(net, "m")
    report = apply_snn_init(net, torch.randn(3, 8, 50), generator=torch.Generator().manual_seed(0))
    assert report["2"].downstream == ()  # a readout: g = 1
    check_layer(report, "2", net[2].weight, rule_std(600, p_fire(1.0)))


def test_adapter_imports_spikingjelly_only_for_its_modules():
    code = (
        "import sys; from torch import nn; import snninit_adapters.adapters.spikingjelly as a; "
        "assert a.snninit_is_neuron(nn.Linear(2, 2)) is None; "
        "assert a.snninit_neuron_record(nn.Linear(2, 2)) is None; "
        "a.snninit_reset_state(nn.Sequential(nn.Linear(2, 2))); "
        "assert 'spikingjelly' not in sys.modules, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# ------------------------------------------------------------------------------------------------
# apply_snn_init on SpikingJelly models


def mlp():
    return nn.Sequential(
        layer.Linear(200, 300),
        neuron.LIFNode(),
        layer.Linear(300, 400),
        neuron.LIFNode(tau=4.0, v_threshold=0.5),
        layer.Linear(400, 10),
    )


def check_mlp(net, x):
    report = apply_snn_init(net, x, generator=torch.Generator().manual_seed(1))
    assert [entry.name for entry in report.layers] == ["0", "2", "4"]
    check_layer(report, "0", net[0].weight, rule_std(200, float(x.double().square().mean()), gain=0.5))
    check_layer(report, "2", net[2].weight, rule_std(300, p_fire(1.0), gain=0.25))
    check_layer(report, "4", net[4].weight, rule_std(400, p_fire(0.5)))
    assert names(report["0"].upstream) == {"<input>"}
    assert names(report["0"].downstream) == {"1"}
    assert names(report["2"].upstream) == {"1"}
    assert names(report["2"].downstream) == {"3"}
    assert names(report["4"].upstream) == {"3"}
    assert report["4"].downstream == ()
    assert report["2"].downstream[0].input_gain == 0.25
    assert report["2"].downstream[0].threshold == "0.5"
    assert report["2"].firing_probability == pytest.approx(p_fire(1.0), rel=1e-9)
    for index in (0, 2, 4):
        assert not net[index].bias.any()
    return report


def test_sequential_single_step():
    net = mlp()
    x = 2 * torch.randn(32, 200, generator=torch.Generator().manual_seed(0))
    check_mlp(net, x)


def test_sequential_multi_step():
    net = mlp()
    functional.set_step_mode(net, "m")
    x = torch.randn(3, 16, 200, generator=torch.Generator().manual_seed(0))
    check_mlp(net, x)
    assert net[1].step_mode == "m"


def conv_net():
    net = nn.Sequential(
        layer.Conv2d(1, 32, 3, padding=1, bias=False),
        layer.BatchNorm2d(32),
        neuron.ParametricLIFNode(),
        layer.MaxPool2d(2),
        layer.Flatten(),
        layer.Linear(32 * 4 * 4, 64),
        neuron.LIFNode(),
    )
    functional.set_step_mode(net, "m")
    return net


def test_conv_net_multi_step():
    net = conv_net()
    x = torch.rand(2, 8, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    report = apply_snn_init(net, x, generator=torch.Generator().manual_seed(1), normalisers="keep")
    assert [entry.name for entry in report.layers] == ["0", "5"]
    check_layer(report, "0", net[0].weight, rule_std(9, float(x.double().square().mean()), gain=0.5))
    check_layer(report, "5", net[5].weight, rule_std(512, p_fire(1.0), gain=0.5))
    assert names(report["0"].downstream) == {"2"}
    assert "mod:BatchNorm2d" in report["0"].downstream[0].path
    assert any("normalisation" in warning for warning in report["0"].warnings)
    assert names(report["5"].upstream) == {"2"}
    assert "mod:MaxPool2d" in report["5"].upstream[0].path
    assert any("pooling" in warning for warning in report["5"].warnings)
    assert names(report["5"].downstream) == {"6"}
    assert report["0"].bias == "none"


def test_seq_to_ann_containers():
    net = nn.Sequential(
        layer.SeqToANNContainer(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32)),
        neuron.LIFNode(step_mode="m"),
        layer.SeqToANNContainer(nn.AvgPool2d(2), nn.Flatten(), nn.Linear(32 * 4 * 4, 64)),
        neuron.LIFNode(step_mode="m", tau=3.0),
    )
    x = torch.randn(2, 8, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    report = apply_snn_init(net, x, generator=torch.Generator().manual_seed(1), normalisers="keep")
    assert [entry.name for entry in report.layers] == ["0.0", "2.2"]
    check_layer(report, "0.0", net[0][0].weight, rule_std(9, float(x.double().square().mean()), gain=0.5))
    check_layer(report, "2.2", net[2][2].weight, rule_std(512, p_fire(1.0), gain=1 / 3))
    assert names(report["0.0"].downstream) == {"1"}
    assert names(report["2.2"].upstream) == {"1"}
    assert {"mod:AvgPool2d", "mod:Flatten"} <= set(report["2.2"].upstream[0].path)
    assert names(report["2.2"].downstream) == {"3"}
    assert not net[0][0].bias.any()
    # with the normaliser setting the scale: the conv's output gets unit variance, gamma = 1 / g = 2
    report = apply_snn_init(net, x, generator=torch.Generator().manual_seed(1))
    check_layer(report, "0.0", net[0][0].weight, rule_std(9, float(x.double().square().mean())))
    (normaliser,) = report.normalisers
    assert normaliser.name == "0.1"
    assert float(net[0][1].weight.detach().mean()) == pytest.approx(2.0)


@pytest.fixture
def sew_resnet(monkeypatch):
    """SpikingJelly's model zoo imports torchvision only to download pretrained weights; stub it if absent."""
    try:
        import torchvision  # noqa: F401
    except ImportError:
        stub = types.ModuleType("torchvision.models.utils")

        def no_download(*args, **kwargs):
            raise RuntimeError("torchvision is not installed")

        stub.load_state_dict_from_url = no_download
        monkeypatch.setitem(sys.modules, "torchvision", types.ModuleType("torchvision"))
        monkeypatch.setitem(sys.modules, "torchvision.models", types.ModuleType("torchvision.models"))
        monkeypatch.setitem(sys.modules, "torchvision.models.utils", stub)
    from spikingjelly.activation_based.model import sew_resnet

    return sew_resnet


def test_sew_resnet18_residual_sums(sew_resnet):
    torch.manual_seed(0)
    net = sew_resnet.sew_resnet18(spiking_neuron=neuron.IFNode, cnf="ADD", surrogate_function=surrogate.ATan())
    functional.set_step_mode(net, "m")
    x = torch.randn(2, 1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    report = apply_snn_init(net, x, generator=torch.Generator().manual_seed(1))
    convs = [name for name, module in net.named_modules() if isinstance(module, nn.Conv2d)]
    assert [entry.name for entry in report.layers] == [*convs, "fc"]
    p = p_fire(1.0)
    # SEW ADD blocks sum the block's spikes and its identity input: the residual stream carries
    # every earlier block's spikes, so a block's conv1 reads several neurons
    assert names(report["layer1.0.conv1"].upstream) == {"sn1"}
    assert names(report["layer1.1.conv1"].upstream) == {"layer1.0.sn2", "sn1"}
    upstream = {"layer1.0.sn2", "layer1.1.sn2", "sn1"}
    assert names(report["layer2.0.conv1"].upstream) == upstream
    assert names(report["layer2.0.downsample.0"].upstream) == upstream
    assert names(report["layer2.1.conv1"].upstream) == {"layer2.0.downsample_sn", "layer2.0.sn2"}
    assert names(report["layer2.0.downsample.0"].downstream) == {"layer2.0.downsample_sn"}
    text = str(report)
    assert "layer1.0.sn2 (θ=1), layer1.1.sn2 (θ=1), sn1 (θ=1)" in text
    assert any("3 sources summed" in warning for warning in report["layer2.0.conv1"].warnings)
    # E[(s1 + ... + sk)^2] = k P + k (k - 1) P^2 for independent spikes
    for name, k in (("layer1.1.conv1", 2), ("layer2.0.conv1", 3), ("layer4.1.conv1", 2)):
        module = net.get_submodule(name)
        n = fan_in(module.weight.shape)
        check_layer(report, name, module.weight, rule_std(n, k * p + k * (k - 1) * p * p))
    check_layer(report, "layer4.1.conv2", net.layer4[1].conv2.weight, rule_std(4608, p))
    conv1 = net.conv1
    check_layer(report, "conv1", conv1.weight, rule_std(147, float(x.double().square().mean())))


# The activity test: 20 blocks Linear(1000, 1000) -> neuron, N(0, 1) input straight into the first
# Linear, one time step, 5 seeds.
DEPTH, WIDTH, BATCH, SEEDS = 20, 1000, 4, range(5)


def block_spikes(net, x):
    counts = []
    functional.reset_net(net)
    with torch.no_grad():
        for module in net:
            x = module(x)
            if not isinstance(module, nn.Linear):
                counts.append(float(x.sum()))
    functional.reset_net(net)
    return counts


@pytest.mark.parametrize("make_neuron", [neuron.LIFNode, neuron.IFNode], ids=["LIFNode", "IFNode"])
def test_activity_reaches_block_20(make_neuron):
    ours, kaiming = [0.0] * DEPTH, [0.0] * DEPTH
    for seed in SEEDS:
        torch.manual_seed(seed)
        net = nn.Sequential(*[m for _ in range(DEPTH) for m in (layer.Linear(WIDTH, WIDTH), make_neuron())])
        generator = torch.Generator().manual_seed(seed)
        x = torch.randn(BATCH, WIDTH, generator=generator)
        apply_snn_init(net, x, generator=generator)
        ours = [a + b / len(SEEDS) for a, b in zip(ours, block_spikes(net, x), strict=True)]
        for module in net:
            if isinstance(module, nn.Linear):
                nn.init.kaiming_normal_(module.weight, generator=generator)
        kaiming = [a + b / len(SEEDS) for a, b in zip(kaiming, block_spikes(net, x), strict=True)]
    assert ours[0] > 0.05 * BATCH * WIDTH, ours  # P(u > 1) = 0.16 expected
    assert abs(ours[-1] - ours[0]) <= 0.3 * ours[0], ours
    assert kaiming[-1] < 0.1 * ours[-1], (kaiming, ours)


# ------------------------------------------------------------------------------------------------
# failures and probing


def state(net):
    return {key: value.clone() for key, value in net.state_dict().items()}


def assert_same_state(before, net):
    after = net.state_dict()
    assert before.keys() == after.keys()
    for key, value in before.items():
        assert torch.equal(value, after[key]), key


def test_wrong_time_layout_raises_and_changes_nothing():
    net = conv_net()
    before = state(net)
    with pytest.raises(SNNInitError, match=r"\[T, B, \.\.\.\]"):
        apply_snn_init(net, torch.randn(8, 1, 8, 8))
    assert_same_state(before, net)


def test_failure_while_planning_changes_nothing():
    net = nn.Sequential(
        layer.Linear(20, 30),
        neuron.LIFNode(),
        layer.Linear(30, 30),
        neuron.IFNode(v_threshold=50.0),
        layer.Linear(30, 5),
    )
    before = state(net)
    # layers 0 and 2 can be planned; layer 4 reads a neuron that can never fire
    with pytest.raises(SNNInitError, match="underflows"):
        apply_snn_init(net, torch.randn(8, 20))
    assert_same_state(before, net)
    assert net[3].v_threshold == 50.0


class DoubledInputLIF(neuron.LIFNode):
    """A user subclass that doubles its input: only the probe can know its threshold is tau * theta / 2."""

    def single_step_forward(self, x, *args, **kwargs):
        return super().single_step_forward(2 * x, *args, **kwargs)


def test_user_subclass_is_probed():
    net = nn.Sequential(layer.Linear(100, 500), DoubledInputLIF(), layer.Linear(500, 10))
    assert adapter.snninit_is_neuron(net[1]) is True
    rec = record(net[1])
    assert rec.probed
    assert rec.threshold == pytest.approx(1.0, rel=1e-6)  # tau * theta / 2 in input units (g = 1), float32 neuron
    x = torch.randn(16, 100, generator=torch.Generator().manual_seed(0))
    report = apply_snn_init(net, x, generator=torch.Generator().manual_seed(1))
    link = report["2"].upstream[0]
    assert link.name == "1"
    assert link.probed
    assert "probed" in link.describe()
    assert report["0"].downstream[0].probed
    assert any("probed" in note for note in report.notes)
    check_layer(report, "2", net[2].weight, rule_std(500, p_fire(rec.threshold)))


def test_weights_inside_neurons_are_listed_as_skipped():
    net = nn.Sequential(layer.Linear(40, 300), neuron.MPBNLIFNode(out_features=300), layer.Linear(300, 10))
    report = apply_snn_init(net, torch.randn(8, 40), generator=torch.Generator().manual_seed(0))
    skipped = {item.name: item.reason for item in report.skipped}
    assert "1.vbn.weight" in skipped
    assert "internal" in skipped["1.vbn.weight"]
    assert [entry.name for entry in report.layers] == ["0", "2"]
    owned = adapter.snninit_owned_weights(neuron.ILCIFNode(2, 2))
    assert [(w.weight, w.role) for w in owned] == [("conn.weight", "recurrent")]
    assert adapter.snninit_owned_weights(nn.Linear(2, 2)) is None


# --- the spikingjelly backend of the propagation experiments (Figs. 2-7) ---------------------------

import numpy as np  # noqa: E402

from snninit_adapters.experiments import claims, run_propagation  # noqa: E402
from snninit_adapters.experiments import frameworks as backends  # noqa: E402
from snninit_adapters.experiments.simulate import simulate_dense  # noqa: E402

QUICK_WIDTH, QUICK_DEPTH, QUICK_STEPS = 300, 20, 5  # depth and steps of the quick Fig. 5; 300 neurons keep it fast


@pytest.mark.parametrize("beta", [0.5, 0.9])
def test_spikingjelly_backend_follows_its_documented_dynamics(beta):
    network = backends.build("spikingjelly", width=QUICK_WIDTH, depth=QUICK_DEPTH, beta=beta, theta=1.0)
    assert network.input_gain == 1.0
    drive = torch.randn(QUICK_WIDTH, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    apply_snn_init(network.model, network.encode(drive), generator=torch.Generator().manual_seed(1))
    stats = network.run(drive, QUICK_STEPS)
    weights = [linear.weight.detach() for linear in network.linears]
    documented = reset_in_the_spike_step(
        weights, drive, steps=QUICK_STEPS, beta=beta, theta=1.0, fires_at_threshold=True
    )
    np.testing.assert_array_equal(stats.spikes, documented.spikes)
    np.testing.assert_allclose(stats.var_u, documented.var_u, rtol=1e-5)
    assert stats.spikes[-1].sum() > 0, stats.spikes[-1]
    # against the paper's Eq. 13 on the same weights: identical at step 0 (gain 1), then more spikes
    paper, _ = simulate_dense(weights, drive, steps=QUICK_STEPS, beta=beta, theta=1.0)
    np.testing.assert_array_equal(stats.spikes[:, 0], paper.spikes[:, 0])
    np.testing.assert_allclose(stats.var_u[:, 0], paper.var_u[:, 0], rtol=1e-5)
    assert stats.spikes[0, 1:].sum() > paper.spikes[0, 1:].sum(), (stats.spikes[0], paper.spikes[0])


def test_spikingjelly_backend_reproduces_figure_3_quick(tmp_path):
    result = run_propagation(3, backend="spikingjelly", quick=True, runs=1, out=tmp_path, plot=False, progress=False)
    assert len(result.rows) == 8 * (QUICK_DEPTH + 1)
    checks = {claim.text: claim for claim in claims(result.spec, result.rows)}
    assert checks["the proposed method's spikes reach the last layer at theta = 1"].holds, checks
    assert checks["kaiming fails to sustain the activity beyond about 5 layers"].holds, checks
    for note in backends.backend_notes("spikingjelly"):
        assert note in result.summary
    # one step with gain 1: the encoding layer equals the reference backend's (same cell, same input)
    reference = run_propagation(3, quick=True, runs=1, out=tmp_path, plot=False, progress=False)
    for method in result.spec.methods:
        ours = next(r for r in result.rows if r["method"] == method and r["layer"] == 0)
        theirs = next(r for r in reference.rows if r["method"] == method and r["layer"] == 0)
        assert ours["spikes"] == theirs["spikes"]
        assert ours["var_u"] == pytest.approx(theirs["var_u"], rel=1e-5)


def test_spikingjelly_backend_needs_a_leak_strictly_between_0_and_1():
    with pytest.raises(ValueError, match="0 < beta < 1"):
        backends.build("spikingjelly", width=4, depth=1, beta=0.0, theta=1.0)


# --- activity monitor -----------------------------------------------------------------------------

from snninit_adapters import measure_activity, snn_weight_variance  # noqa: E402


@pytest.mark.parametrize(
    ("v_reset", "membranes"),
    [
        (0.0, [0.75, 1.125, 0.75, 1.125]),  # hard reset: after the reset the membrane would read 0 at steps 1, 3
        (None, [0.75, 1.125, 0.8125, 1.15625]),  # soft reset: h - theta = 0.125 carries over
    ],
)
@pytest.mark.parametrize("step_mode", ["m", "s"])
def test_monitor_lif_constant_input_gives_per_step_rows_before_reset(v_reset, membranes, step_mode):
    # LIFNode, tau = 2, decay_input: h = v + (x - v) / 2 with x = 1.5 (v_reset taken as 0)
    node = neuron.LIFNode(tau=2.0, v_reset=v_reset, step_mode=step_mode)
    if step_mode == "m":
        report = measure_activity(node, torch.full((4, 3, 5), 1.5))  # one call on [T, B, N]
    else:
        report = measure_activity(node, torch.full((3, 5), 1.5), steps=4)  # the time loop outside
    assert [row.step for row in report.rows] == [0, 1, 2, 3]
    assert [row.neurons for row in report.rows] == [15] * 4
    assert [row.spikes for row in report.rows] == [0, 15, 0, 15]
    assert [row.u_mean for row in report.rows] == pytest.approx(membranes, rel=1e-6)
    assert isinstance(node.v, float)  # the user's neuron never ran


def test_monitor_membrane_variance_is_g2_k_var_w_on_a_known_binary_input():
    n, k, tau = 1000, 159, 2.0
    net = nn.Sequential(layer.Linear(n, n, bias=False, step_mode="m"), neuron.LIFNode(tau=tau, step_mode="m"))
    snn_normal_(net[0].weight, 1.0, generator=torch.Generator().manual_seed(1))
    x = disjoint_binary_input(n, k)[None]  # [T = 1, B, N]
    (row,) = measure_activity(net, x).rows
    with torch.no_grad():
        u = net[0](x).double() / tau  # one step from rest: h = x / tau
    assert row.u_var == pytest.approx(float(u.var(unbiased=False)), rel=1e-9)
    assert row.spikes == int((u >= 1.0).sum())
    count = x.shape[1] * n  # i.i.d. N(0, k Var[w] / tau^2) draws; 5 standard errors
    expected = k * snn_weight_variance(n, 1.0) / tau**2
    assert abs(row.u_var - expected) <= 5 * expected * math.sqrt(2 / (count - 1))
    assert abs(row.u_mean) <= 5 * math.sqrt(expected / count)
    p = float(firing_probability(1.0, std=math.sqrt(expected)))
    assert abs(row.rate - p) <= 5 * math.sqrt(p * (1 - p) / count)


def test_monitor_multi_step_conv_model_counts_every_step_of_every_layer():
    torch.manual_seed(0)
    net = nn.Sequential(
        layer.Conv2d(1, 4, 3, padding=1, bias=False),
        layer.BatchNorm2d(4),
        neuron.ParametricLIFNode(),
        layer.MaxPool2d(2),
        layer.Flatten(),
        layer.Linear(4 * 4 * 4, 10),
        neuron.LIFNode(),
    )
    functional.set_step_mode(net, "m")
    x = 4 * torch.rand(5, 2, 1, 8, 8)
    report = measure_activity(net, x)
    assert report.layers == ["2", "6"]
    assert [row.step for row in report.layer("2")] == list(range(5))
    assert all(row.neurons == 2 * 4 * 8 * 8 for row in report.layer("2"))
    functional.reset_net(net)
    with torch.no_grad():
        out = net(x)
    assert [row.spikes for row in report.layer("6")] == [int(s.count_nonzero()) for s in out]
    assert all(row.u_var is not None and row.u_var > 0 for row in report.rows)


# --- over time: the temporal rule ----------------------------------------------------------------

from integration._activity import (  # noqa: E402
    TimeLoop,
    check_temporal_grid,
    recorded_dynamics_mismatch,
    temporal_rule_rates,
)


def _stepped(make):
    def run(current):
        node = make()
        out = torch.stack([node(x_t) for x_t in current])
        node.reset()
        return out

    return run


@pytest.mark.parametrize(
    ("make", "reset"),
    [
        (lambda: neuron.LIFNode(tau=2.0, v_reset=None, v_threshold=0.8), "soft"),
        (lambda: neuron.LIFNode(tau=4.0, decay_input=False, v_reset=0.0), "hard"),
        (lambda: neuron.IFNode(v_reset=None), "soft"),
        (lambda: neuron.IFNode(), "hard"),
    ],
)
def test_the_record_s_dynamics_are_the_neuron_s(make, reset):
    """The soft reset acts before the next leak: the record says so, and reproduces the neuron's spikes."""
    rec = record(make())
    assert (rec.reset, rec.reset_timing) == (reset, "before_leak")
    assert rec.leak is not None
    assert recorded_dynamics_mismatch(rec, _stepped(make)) <= 1e-3  # float32 rounding near the threshold


@pytest.mark.parametrize("v_reset", [None, 0.0])
def test_the_temporal_rule_keeps_the_time_averaged_rate_over_depth(v_reset):
    temporal_rule_rates(TimeLoop(lambda: neuron.LIFNode(tau=2.0, decay_input=False, v_reset=v_reset)))


def test_figure_t1_on_the_spikingjelly_backend(tmp_path):
    check_temporal_grid("spikingjelly", tmp_path)


# --- the monitor computes each step once, bit for bit as the neuron does ------------------------------

from snninit_adapters.adapters.spikingjelly.activity import prepare_activity  # noqa: E402
from snninit_adapters.moments import RunningMoments  # noqa: E402

UNREACHABLE = 1e30


class ReplayedLIF(neuron.LIFNode):
    """A subclass with its own functional step: the monitor replays it (each step twice) instead."""

    def single_step_functional_forward(self, inputs, states, **kwargs):
        return super().single_step_functional_forward(inputs, states, **kwargs)


STEPPED = {
    "IF": lambda **kw: neuron.IFNode(**kw),
    "LIF": lambda **kw: neuron.LIFNode(tau=1.7, **kw),
    "LIF no decay_input": lambda **kw: neuron.LIFNode(tau=3.0, decay_input=False, **kw),
    "PLIF": lambda **kw: neuron.ParametricLIFNode(init_tau=1.7, **kw),
    "replayed LIF": lambda **kw: ReplayedLIF(tau=1.7, **kw),
    "IF, ATan": lambda **kw: neuron.IFNode(surrogate_function=surrogate.ATan(), **kw),
    "IF, graded": lambda **kw: neuron.IFNode(surrogate_function=surrogate.Sigmoid(spiking=False), **kw),
}


def _reference_charges(make, x, step_mode):
    """h[t] of a fresh neuron, computed independently: its functional step with the threshold out of reach."""
    node = make()
    states = node.materialize_states((x,), tuple(node._memories.values()), "m")
    charges = []
    for x_t in x:
        theta, node.v_threshold = node.v_threshold, UNREACHABLE
        _, free = type(node).single_step_functional_forward(node, (x_t,), states)
        node.v_threshold = theta
        charges.append(free[0])
        _, states = type(node).single_step_functional_forward(node, (x_t,), states)
    return charges


@pytest.mark.parametrize("kind", list(STEPPED))
@pytest.mark.parametrize("v_reset", [0.0, None, -0.25])
@pytest.mark.parametrize("step_mode", ["m", "s"])
@pytest.mark.parametrize("store_v_seq", [False, True])
def test_the_monitored_neuron_fires_resets_and_charges_as_the_neuron(kind, v_reset, step_mode, store_v_seq):
    def make():
        return STEPPED[kind](v_threshold=0.7, v_reset=v_reset, step_mode=step_mode, store_v_seq=store_v_seq)

    plain, monitored = make(), make()
    prepare_activity(monitored)
    x = 1.3 * torch.randn(6, 3, 40, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        if step_mode == "m":
            expected, got = plain(x), monitored(x)
        else:
            expected = torch.stack([plain(x_t) for x_t in x])
            got = torch.stack([monitored(x_t) for x_t in x])
    assert torch.equal(got, expected)  # spikes, bit for bit
    assert torch.equal(monitored.v, plain.v)  # the state the next call starts from
    if store_v_seq:
        assert torch.equal(monitored.v_seq, plain.v_seq)
    assert 0 < float(expected.mean()) < 1
    with torch.no_grad():
        charges = _reference_charges(make, x, step_mode)
        report = measure_activity(make(), x if step_mode == "m" else x[0], steps=None if step_mode == "m" else 1)
    if step_mode == "m":
        for row, h in zip(report.rows, charges, strict=True):
            reference = RunningMoments()
            reference.update(h)
            # the membrane is h exactly; a call's steps are reduced together in float64 (last-bit rounding)
            expected_moments = (reference.mean, reference.variance, reference.skewness)
            assert (row.u_mean, row.u_var, row.u_skew) == pytest.approx(expected_moments, rel=1e-12, abs=1e-15)
            assert row.spikes == int((h >= 0.7).sum()) or kind == "IF, graded"


def _counting(monkeypatch, owner, name):
    calls = []
    original = getattr(owner, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def _deep_net(make):
    net = nn.Sequential(
        layer.Linear(20, 30), make(), layer.Linear(30, 30), make(), layer.Linear(30, 10), make()
    )  # fmt: skip
    functional.set_step_mode(net, "m")
    return net


@pytest.mark.parametrize("kind", ["IF", "LIF", "PLIF", "replayed LIF"])
def test_the_monitor_computes_each_neuron_step_once(kind, monkeypatch):
    """One charge per neuron step (T steps x 3 layers); only a neuron with its own step is replayed (3 per step)."""
    cls = {"IF": neuron.IFNode, "LIF": neuron.LIFNode, "PLIF": neuron.ParametricLIFNode, "replayed LIF": ReplayedLIF}
    steps = _counting(monkeypatch, cls[kind], "single_step_functional_forward")
    charges = _counting(monkeypatch, functional, "lif_charge")
    kernels = [_counting(monkeypatch, functional, name) for name in ("if_multi_step", "lif_multi_step")]
    torch.manual_seed(0)
    net = _deep_net(lambda: STEPPED[kind]())
    x = 3 * torch.rand(4, 2, 20, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = net(x)
    functional.reset_net(net)
    for calls in (steps, charges, *kernels):
        calls.clear()
    report = measure_activity(net, x)
    assert len(report.rows) == 12
    assert all(row.u_var is not None for row in report.rows)
    computed = {"IF": 0, "LIF": 12, "PLIF": 12, "replayed LIF": 24}[kind]  # charges outside the model's own calls
    assert len(steps) + len(charges) == computed
    assert sum(map(len, kernels)) == (3 if kind == "replayed LIF" else 0)  # the model's own fused calls
    assert [row.spikes for row in report.layer("5")] == [int(s.count_nonzero()) for s in expected]
