"""Stand-in cell runners for the sweep tests (importable by worker processes as tests.training._runners)."""

import os
import time

from snninit_adapters.training.checkpoint import read_header, save_checkpoint
from snninit_adapters.training.train import CellResult, _cell_fields


def fake_train(config, data_dir, device="cpu", checkpoint=None, checkpoint_every=1):
    """A deterministic 'training' whose accuracy grows with the epoch; special methods misbehave.

    Given a ``checkpoint`` path it saves an empty state there after every epoch, as train_cell does,
    and continues after the epoch a checkpoint found there holds (saying so in ``source``); ``crash``
    saves epoch 1 before it fails; ``slow`` takes half a second per epoch.
    """
    if config.method == "crash":
        if checkpoint is not None:
            save_checkpoint(checkpoint, 1, {})
        raise RuntimeError(f"boom in {config.dataset}")
    if config.method == "die":
        os._exit(3)  # the worker process dies without a word
    base = _cell_fields(config)
    result = CellResult(config, source=f"fake data from {data_dir}")
    header = None if checkpoint is None else read_header(checkpoint)
    first = 0 if header is None else header["epoch"] + 1
    if header is not None:
        result.source += f" (resumed after epoch {header['epoch']})"
    for epoch in range(config.epochs + 1):
        if epoch >= first and config.method == "slow":
            time.sleep(0.5)
        if checkpoint is not None and epoch >= first:
            save_checkpoint(checkpoint, epoch, {})
        accuracy = 0.1 + 0.1 * epoch * (2 if config.method == "micheli2024" else 1)
        result.epochs.append(
            {
                **base,
                "epoch": epoch,
                "train_loss": 2.0 / (epoch + 1),
                "train_acc": accuracy,
                "test_loss": 2.0 / (epoch + 1),
                "test_acc": accuracy,
                "lr": 1e-3,
                "seconds": 0.0,
            }
        )
    result.activity.append(
        {
            **base,
            "layer": "body.0",
            "index": 0,
            "kind": "Fake",
            "step": 0,
            "neurons": 10,
            "spikes": 0 if config.method == "kaiming" else 3,
            "rate": 0.3,
            "u_var": 1.0,
        }
    )
    return result
