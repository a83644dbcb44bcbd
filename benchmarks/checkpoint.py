"""Benchmark: what a training cell's per-epoch checkpoint costs, against the epoch without it.

The cell is the paper's MLP (10 x 600 LIF layers, snnTorch, T = 3, batch 64, Adam) on Fashion-MNIST:
Debian's full set where it is installed (``apt-get install dataset-fashion-mnist``), otherwise
synthetic images of the same shape. Interleaved repeats (in alternating order) run the same cell for ``--epochs`` epochs
without a checkpoint and with one saved after every epoch (``checkpoint_every=1``); it prints the
median seconds per epoch of each, their ratio (the overhead), and the size and save time of one
checkpoint (model, Adam's two moments, scheduler, batch order, RNG states, the rows so far). Where
the write is far shorter than the epochs' run-to-run spread, the ratio is noise; the last line, the
write's time over the plain epoch's, is then the overhead.

Run (needs snntorch, e.g. the ``snntorch`` tox env)::

    python benchmarks/checkpoint.py                      # the whole training split, 2 epochs, 3 repeats
    python benchmarks/checkpoint.py --train-size 6400    # a subset: a shorter epoch, a larger ratio

Pass ``--threads`` to set torch's intra-op threads (default 1, steadier when the machine is shared).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import snninit_adapters.training.train as train_module
from snninit_adapters.training.checkpoint import save_checkpoint
from snninit_adapters.training.data import debian_fashion_mnist
from snninit_adapters.training.train import TrainConfig, train_cell


def _data(folder: Path, train_size: int | None) -> tuple[Path, str]:
    found = debian_fashion_mnist()
    if found is not None:
        return found, "Debian's Fashion-MNIST"
    from tests.training._files import write_mnist

    n = train_size or 60000
    write_mnist(folder / "FashionMNIST" / "raw", n_train=n, n_test=10000)
    return folder, f"synthetic images ({n} of 28 x 28)"


def _per_epoch(config: TrainConfig, data: Path, checkpoint: Path | None, saves: list[float]) -> float:
    """Seconds per epoch, each with its test pass (and, given a path, the checkpoint before it).

    ``on_epoch`` runs after an epoch's test pass and before its checkpoint: from epoch 1's row to the
    last row there are as many epochs as checkpoints of trained epochs (epoch 0's, smaller, with no
    optimiser moments yet, and the initialisation are left out). Each of those checkpoint writes is
    timed into ``saves``.
    """
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)
    marks: list[float] = []

    def timed_save(path: Path, epoch: int, state: dict) -> None:
        start = time.perf_counter()
        save_checkpoint(path, epoch, state)
        if epoch > 0:  # epoch 0's checkpoint has no optimiser moments yet: smaller, and not per epoch
            saves.append(time.perf_counter() - start)

    train_module.save_checkpoint = timed_save
    try:
        train_cell(config, data, checkpoint=checkpoint, on_epoch=lambda row: marks.append(time.perf_counter()))
    finally:
        train_module.save_checkpoint = save_checkpoint
    return (marks[-1] - marks[1]) / (len(marks) - 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-size", type=int, default=None, help="training subset (default: the whole split)")
    parser.add_argument("--epochs", type=int, default=2, help="at least 2: epochs 2 to N are timed")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (epoch 1 is followed by the first checkpoint the timing holds)")
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as folder:
        data, source = _data(Path(folder), args.train_size)
        config = TrainConfig(dataset="fashion-mnist", epochs=args.epochs, train_size=args.train_size)
        path = Path(folder) / "cell.ckpt"
        plain, checkpointed, saves = [], [], []
        for repeat in range(args.repeats):  # ABBA: the order alternates, so that an order effect cancels
            for with_checkpoint in (False, True) if repeat % 2 == 0 else (True, False):
                if with_checkpoint:
                    checkpointed.append(_per_epoch(config, data, path, saves))
                else:
                    plain.append(_per_epoch(config, data, None, []))
            print(f"repeat {repeat + 1}/{args.repeats}: {plain[-1]:.2f} s/epoch without, "
                  f"{checkpointed[-1]:.2f} s/epoch with a checkpoint", flush=True)  # fmt: skip
        size = path.stat().st_size
    without, with_ = statistics.median(plain), statistics.median(checkpointed)
    print(f"data: {source}; {config.train_size or 'all'} training samples; MLP 10 x 600, T = 3, batch 64; "
          f"{args.threads} thread(s)")  # fmt: skip
    save = statistics.median(saves)
    print(f"checkpoint: {size / 2**20:.1f} MiB, written inside the runs in {save * 1e3:.0f} ms (median of "
          f"{len(saves)} after a trained epoch; max {max(saves) * 1e3:.0f} ms)")  # fmt: skip
    print(f"epoch without a checkpoint: {without:.2f} s (median of {args.repeats})")
    print(f"epoch with a checkpoint:    {with_:.2f} s")
    spread = max(plain) / min(plain) - 1
    print(f"ratio: {with_ / without:.3f} (the plain epochs alone vary by {spread:.1%} from run to run)")
    print(f"one checkpoint's write (median) / the plain epoch: {save / without:.4f}")


if __name__ == "__main__":
    main()
