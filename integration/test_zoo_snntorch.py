"""snnTorch models built as its tutorials build them: apply_snn_init is right, or says why not."""

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

snn = pytest.importorskip("snntorch")

from integration._zoo import (  # noqa: E402
    assert_on_target_or_warned,
    assert_report_tells_the_truth,
    assert_temporal_rule_tells_the_truth_or_changes_nothing,
)
from snninit_adapters import apply_snn_init, snn_weight_variance  # noqa: E402
from snninit_adapters.theory import firing_probability  # noqa: E402

BETA, STEPS = 0.5, 4


class TutorialCSNN(nn.Module):
    """Tutorial 6's convolutional SNN: Conv -> max-pool -> Leaky twice, then Linear -> Leaky, a time loop inside."""

    def __init__(self):
        super().__init__()
        self.conv1, self.lif1 = nn.Conv2d(1, 12, 5), snn.Leaky(beta=BETA)
        self.conv2, self.lif2 = nn.Conv2d(12, 64, 5), snn.Leaky(beta=BETA)
        self.fc1, self.lif3 = nn.Linear(64 * 4 * 4, 10), snn.Leaky(beta=BETA)

    def forward(self, x):
        mem1, mem2, mem3 = self.lif1.init_leaky(), self.lif2.init_leaky(), self.lif3.init_leaky()
        spikes = []
        for _ in range(STEPS):
            spk1, mem1 = self.lif1(F.max_pool2d(self.conv1(x), 2), mem1)
            spk2, mem2 = self.lif2(F.max_pool2d(self.conv2(spk1), 2), mem2)
            spk3, mem3 = self.lif3(self.fc1(spk2.flatten(1)), mem3)
            spikes.append(spk3)
        return torch.stack(spikes)


def sequential_csnn():
    """The same network as tutorial 6's nn.Sequential with init_hidden=True (the time loop outside)."""
    return nn.Sequential(
        nn.Conv2d(1, 12, 5), nn.MaxPool2d(2), snn.Leaky(beta=BETA, init_hidden=True),
        nn.Conv2d(12, 64, 5), nn.MaxPool2d(2), snn.Leaky(beta=BETA, init_hidden=True),
        nn.Flatten(), nn.Linear(64 * 4 * 4, 10), snn.Leaky(beta=BETA, init_hidden=True, output=True),
    )  # fmt: skip


@pytest.mark.parametrize("build", [TutorialCSNN, sequential_csnn], ids=["time loop", "Sequential"])
def test_csnn_with_max_pooling_names_the_pooling_and_reads_the_data(build):
    torch.manual_seed(0)
    model = build()
    x = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    report = apply_snn_init(model, x, generator=torch.Generator().manual_seed(1))
    first, second, readout = (layer.name for layer in report.layers)
    moment = float(x.double().square().mean())  # the images are in [0, 1]: E[x^2] about 1/3, not 1
    assert report[first].new_std == pytest.approx(1 / math.sqrt(25 * moment), rel=1e-9)
    assert report[second].new_std == pytest.approx(math.sqrt(snn_weight_variance(300, 1.0)), rel=1e-9)
    for name in (first, second):
        assert any(w.startswith("max-pooling") and "fires at 0.499" in w for w in report[name].warnings), name
    assert any("through max-pooling" in w for w in report[readout].warnings)
    assert_report_tells_the_truth(model, report)
    found = assert_on_target_or_warned(model, x, report, steps=None if build is TutorialCSNN else 1)
    assert {round(p.variance, 1) for p in found if not p.on_target}  # the pooled layers really are off target


def test_readme_mlp_hits_the_target_in_every_hidden_layer():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(784, 600), snn.Leaky(beta=0.5, init_hidden=True),
        nn.Linear(600, 600), snn.Leaky(beta=0.5, init_hidden=True),
        nn.Linear(600, 600), snn.Leaky(beta=0.5, init_hidden=True),
    )  # fmt: skip
    x = torch.randn(256, 784, generator=torch.Generator().manual_seed(0))
    report = apply_snn_init(net, x, generator=torch.Generator().manual_seed(1))
    p = firing_probability(1.0)
    assert report["2"].new_std == pytest.approx(1 / math.sqrt(600 * p), rel=1e-12)
    assert_report_tells_the_truth(net, report)
    found = assert_on_target_or_warned(net, x, report)
    # every population is on target without any excuse: 600 rows of W, rel. std of Var about sqrt(2/600)
    assert all(p.on_target and not p.warnings for p in found), found


@pytest.mark.parametrize("build", [TutorialCSNN, sequential_csnn], ids=["time loop", "Sequential"])
def test_the_temporal_rule_on_the_csnn_tells_the_truth_or_changes_nothing(build):
    torch.manual_seed(0)
    model, x = build(), torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    options = {} if build is TutorialCSNN else {"steps": 4}  # the Sequential is single-step: T is given
    report = assert_temporal_rule_tells_the_truth_or_changes_nothing(model, x, **options)
    assert report.steps == 4
