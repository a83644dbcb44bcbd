"""Norse models built as its docs build them: apply_snn_init is right, or says why not."""

import math

import pytest
import torch
from torch import nn

norse = pytest.importorskip("norse.torch")

from integration._zoo import (  # noqa: E402
    assert_on_target_or_warned,
    assert_report_tells_the_truth,
    assert_temporal_rule_tells_the_truth_or_changes_nothing,
)
from snninit_adapters import apply_snn_init  # noqa: E402
from snninit_adapters.theory import firing_probability  # noqa: E402


def test_sequential_state_of_lif_cells_hits_the_target_in_norse_units():
    torch.manual_seed(0)
    model = norse.SequentialState(
        norse.LIFBoxCell(), nn.Linear(500, 500), norse.LIFBoxCell(), nn.Linear(500, 500), norse.LIFBoxCell()
    )
    x = 10 * torch.randn(128, 500, generator=torch.Generator().manual_seed(0))  # g = 0.1: encoding membrane ~ N(0, 1)
    report = apply_snn_init(model, x, generator=torch.Generator().manual_seed(1))
    gain = 0.1  # dt * tau_mem_inv with Norse's defaults
    assert report["3"].new_std == pytest.approx(1 / (gain * math.sqrt(500 * firing_probability(1.0))), rel=1e-6)
    assert_report_tells_the_truth(model, report)
    found = assert_on_target_or_warned(model, x, report)
    assert all(p.on_target and not p.warnings for p in found), found


def test_convnet_example_names_its_multiplication_and_pooling():
    from norse.torch.models.conv import ConvNet

    torch.manual_seed(0)
    model = ConvNet()
    x = torch.rand(4, 8, 1, 28, 28, generator=torch.Generator().manual_seed(0))  # [T, B, C, H, W]
    report = apply_snn_init(model, x, generator=torch.Generator().manual_seed(1))
    assert any("a multiplication on the path to lif1" in w for w in report["conv2"].warnings)
    assert any(w.startswith("pooling between lif0") for w in report["conv2"].warnings)  # its spikes are pooled
    assert any("lif2 is driven by fc1 through max-pooling of its input" in w for w in report["out"].warnings)
    assert_report_tells_the_truth(model, report)
    assert_on_target_or_warned(model, x, report)


def test_the_temporal_rule_on_the_convnet_tells_the_truth_or_changes_nothing():
    from norse.torch.models.conv import ConvNet

    torch.manual_seed(0)
    x = torch.rand(4, 8, 1, 28, 28, generator=torch.Generator().manual_seed(0))  # [T, B, C, H, W]
    report = assert_temporal_rule_tells_the_truth_or_changes_nothing(ConvNet(), x)
    assert report.steps == 4
