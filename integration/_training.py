"""Shared checks of the training integration tests: real Fashion-MNIST subsets when Debian's package is there."""

from __future__ import annotations

import math

import pytest
import torch

from snninit_adapters import apply_snn_init
from snninit_adapters.training.checkpoint import load_checkpoint
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


class Interrupted(Exception):
    """Raised by a test's ``on_epoch`` to stop a training run part way."""


def tiny_cell(framework: str, architecture: str = "mlp", **changes) -> TrainConfig:
    """A 4-epoch cell on the 64/32 synthetic MNIST images of ``tests.training._files.write_mnist``.

    The MLP's threshold is 0.5: at 1 its 32 x 2 layers leave the output silent on these images, the loss
    stays at ln 10 and the batch order would not show in the results.
    """
    shape = {"width": 32, "theta": 0.5} if architecture == "mlp" else {"width": 4}
    fields = {"depth": 2, **shape, "epochs": 4, "steps": 2, "batch_size": 16}
    return TrainConfig(dataset="mnist", architecture=architecture, framework=framework, **{**fields, **changes})


def comparable_rows(rows) -> list:
    """Epoch rows with NaN made equal to itself and the timing left out."""
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items() if k != "seconds"}
            for row in rows]  # fmt: skip


def comparable(result) -> tuple:
    """A cell's results, NaN made equal to itself and the timing left out: what a resumed run must repeat."""
    return comparable_rows(result.epochs), result.batch_losses, result.activity, result.init_report


def stop_at(epoch: int):
    """An ``on_epoch`` that interrupts the run as soon as ``epoch`` is measured (before its checkpoint)."""

    def on_epoch(row) -> None:
        if row["epoch"] == epoch:
            raise Interrupted(epoch)

    return on_epoch


def assert_resumes_bit_for_bit(config: TrainConfig, data_dir, checkpoint) -> None:
    """Interrupt the cell in epoch 3, resume it from its checkpoint: the result equals an uninterrupted run's."""
    uninterrupted = train_cell(config, data_dir)
    with pytest.raises(Interrupted):
        train_cell(config, data_dir, checkpoint=checkpoint, on_epoch=stop_at(3))
    assert load_checkpoint(checkpoint)[0] == 2  # epoch 3 is lost, no more
    resumed_rows = []
    resumed = train_cell(config, data_dir, checkpoint=checkpoint, on_epoch=resumed_rows.append)
    assert [row["epoch"] for row in resumed_rows] == [3, 4]  # only the lost epochs run again
    assert comparable(resumed) == comparable(uninterrupted)
