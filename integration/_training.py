"""Shared checks of the training integration tests: real Fashion-MNIST subsets when Debian's package is there."""

from __future__ import annotations

import math

import pytest
import torch

from snninit_adapters import apply_snn_init
from snninit_adapters.training.data import debian_fashion_mnist
from snninit_adapters.training.models import ModelConfig, build_model
from snninit_adapters.training.train import TrainConfig, train_cell

FASHION = debian_fashion_mnist()
needs_fashion = pytest.mark.skipif(
    FASHION is None, reason="Fashion-MNIST not installed: apt-get install dataset-fashion-mnist"
)


def output_spikes(result) -> int:
    """Spikes of the output layer on the monitored batch at the start of training."""
    top = max(int(row["index"]) for row in result.activity)
    return sum(int(row["spikes"]) for row in result.activity if int(row["index"]) == top)


def silent_start(framework: str) -> dict[str, int]:
    """The paper's 10 x 600 MLP at theta = 1 on 256 real images: output spikes at the start, per method."""
    spikes = {}
    for method in ("micheli2024", "kaiming"):
        config = TrainConfig(dataset="fashion-mnist", framework=framework, method=method, epochs=0,
                             train_size=256, test_size=64)  # fmt: skip
        spikes[method] = output_spikes(train_cell(config, FASHION))
    return spikes


def learning_run(framework: str, method: str = "micheli2024", **changes):
    """20 batches of 32 real Fashion-MNIST images through an MLP of 4 x 200 (``depth=None``: the paper's 10 x 600)."""
    changes = {"depth": 4, "width": 200, **changes}
    config = TrainConfig(dataset="fashion-mnist", framework=framework, method=method, epochs=2, batch_size=32,
                         train_size=320, test_size=500, **changes)  # fmt: skip
    return train_cell(config, FASHION)


def assert_learns(result) -> None:
    losses = result.batch_losses
    first, last = sum(losses[:3]) / 3, sum(losses[-5:]) / 5
    assert last < first - 0.1, losses
    start, end = result.epochs[0], result.epochs[-1]
    assert end["test_loss"] < start["test_loss"] - 0.05, (start, end)
    assert end["test_acc"] > 0.15, end  # chance is 10% (std 1.3 points on 500 images)


def assert_kaiming_cannot_learn(result) -> None:
    """A silent output layer gives equal spike counts: the loss sits at ln 10 and no gradient flows."""
    assert all(abs(loss - math.log(10)) < 1e-4 for loss in result.batch_losses), result.batch_losses


def init_report(framework: str, architecture: str, method: str = "micheli2024"):
    depth, width = (4, 32) if architecture == "mlp" else (2, 8)
    model = build_model(ModelConfig(architecture, framework, depth, width), (1, 28, 28))
    x = torch.randn(16, 1, 28, 28)
    return model, x, apply_snn_init(model, x, method=method)
