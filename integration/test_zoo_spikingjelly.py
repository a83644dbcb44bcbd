"""SpikingJelly's model zoo, single- and multi-step: apply_snn_init is right, or says why not.

Every zoo network puts a BatchNorm between each convolution and its neurons, so the rule's scale is
normalised away in training: each such layer must say so, and the report must still tell the truth.
"""

import pytest
import torch

pytest.importorskip("spikingjelly")
pytest.importorskip("torchvision")  # the model zoo imports it

from spikingjelly.activation_based import functional, neuron
from spikingjelly.activation_based.model import (
    sew_resnet,
    spikformer,
    spiking_resnet,
    spiking_vgg,
    spiking_vggws_ottt,
)

from integration._zoo import (
    assert_on_target_or_warned,
    assert_report_tells_the_truth,
    assert_temporal_rule_tells_the_truth_or_changes_nothing,
)
from snninit_adapters import apply_snn_init

ZOO = {
    "spiking_resnet18": lambda: spiking_resnet.spiking_resnet18(spiking_neuron=neuron.LIFNode),
    "sew_resnet18": lambda: sew_resnet.sew_resnet18(spiking_neuron=neuron.IFNode, cnf="ADD"),
    "spiking_vgg11_bn": lambda: spiking_vgg.spiking_vgg11_bn(spiking_neuron=neuron.LIFNode, num_classes=10),
    "spikformer_cifar10": lambda: spikformer.spikformer_cifar10(),
}


def build(name: str, mode: str):
    torch.manual_seed(0)
    net = ZOO[name]()
    functional.set_step_mode(net, mode)
    shape = (2, 3, 32, 32) if mode == "s" else (2, 2, 3, 32, 32)
    return net, torch.randn(*shape, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("mode", ["s", "m"])
@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_model_tells_the_truth_and_names_every_missed_target(name, mode):
    net, x = build(name, mode)
    report = apply_snn_init(net, x, generator=torch.Generator().manual_seed(1))
    assert_report_tells_the_truth(net, report)
    carried = {normaliser.layer for normaliser in report.normalisers}  # their BatchNorm carries the scale
    assert len(carried) >= len(report.layers) - 3, carried  # all but the classifier's linear layers
    assert_on_target_or_warned(net, x, report)


def test_spiking_resnet_downsample_and_conv2_share_the_target_of_their_sum():
    net, x = build("spiking_resnet18", "m")
    report = apply_snn_init(net, x)
    for name in ("layer2.0.conv2", "layer2.0.downsample.0"):
        assert any("layer2.0.sn2 sums layer2.0.conv2, layer2.0.downsample.0" in w and "0.5 of the target" in w
                   for w in report[name].warnings), report[name].warnings  # fmt: skip
    # without a downsample the identity's spikes are summed in: the conv gets what they leave of the target
    assert any("after the" in w for w in report["layer1.0.conv2"].warnings)
    both = apply_snn_init(net, x, branches="each", dry_run=True)

    def gamma(result):
        return next(n.new_weight for n in result.normalisers if n.layer == "layer2.0.conv2")

    assert gamma(both) == pytest.approx(gamma(report) * 2**0.5)  # the BatchNorm carries the share: 1/g vs sqrt(1/2)/g


def test_ottt_vgg_weight_standardisation_and_scale_are_named():
    torch.manual_seed(0)
    net = spiking_vggws_ottt.ottt_spiking_vgg11_ws(num_classes=10)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    report = apply_snn_init(net, x)
    standardised = [layer for layer in report.layers if layer.kind.startswith("WS")]
    assert standardised
    for layer in standardised:
        assert any("weight standardisation" in w for w in layer.warnings), layer.name
    assert any("mod:Scale" in w for layer in report.layers for w in layer.warnings)
    assert_report_tells_the_truth(net, report)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_the_temporal_rule_on_the_zoo_tells_the_truth_or_changes_nothing(name):
    net, x = build(name, "m")
    report = assert_temporal_rule_tells_the_truth_or_changes_nothing(net, x)
    assert report.steps == 2
