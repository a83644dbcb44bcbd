"""Benchmark: what a training cell's per-epoch checkpoint costs, against the epoch without it.

The cell is the paper's MLP (10 x 600 LIF layers, snnTorch, T = 3, batch 64, Adam) on Fashion-MNIST:
Debian's full set where it is installed (``apt-get install dataset-fashion-mnist``), otherwise
synthetic images of the same shape. Interleaved repeats run the same cell for ``--epochs`` epochs
without a checkpoint and with one saved after every epoch (``checkpoint_every=1``); it prints the
median seconds per epoch of each, their ratio (the overhead), and the size and save time of one
checkpoint (model, Adam's two moments, scheduler, batch order, RNG states, the rows so far).

Run (needs snntorch, e.g. the ``snntorch`` tox env)::

    python benchmarks/checkpoint.py                      # the whole training split, 1 epoch, 3 repeats
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

from snninit_adapters.training.checkpoint import load_checkpoint, save_checkpoint
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


def _per_epoch(config: TrainConfig, data: Path, checkpoint: Path | None) -> float:
    """Seconds per epoch, each with its test pass (and, given a path, the checkpoint before it).

    ``on_epoch`` runs after an epoch's test pass and before its checkpoint: from epoch 0's row to the
    last row there are as many checkpoints as epochs. The initialisation is left out.
    """
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)
    marks: list[float] = []
    train_cell(config, data, checkpoint=checkpoint, on_epoch=lambda row: marks.append(time.perf_counter()))
    return (marks[-1] - marks[0]) / (len(marks) - 1)


def _save_seconds(path: Path, repeats: int) -> float:
    """The median time to write the cell's last checkpoint again (serialise, digest, fsync, rename)."""
    epoch, state = load_checkpoint(path)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        save_checkpoint(path, epoch, state)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-size", type=int, default=None, help="training subset (default: the whole split)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as folder:
        data, source = _data(Path(folder), args.train_size)
        config = TrainConfig(dataset="fashion-mnist", epochs=args.epochs, train_size=args.train_size)
        path = Path(folder) / "cell.ckpt"
        plain, checkpointed = [], []
        for repeat in range(args.repeats):
            plain.append(_per_epoch(config, data, None))
            checkpointed.append(_per_epoch(config, data, path))
            print(f"repeat {repeat + 1}/{args.repeats}: {plain[-1]:.2f} s/epoch without, "
                  f"{checkpointed[-1]:.2f} s/epoch with a checkpoint", flush=True)  # fmt: skip
        size, save = path.stat().st_size, _save_seconds(path, 5)
    without, with_ = statistics.median(plain), statistics.median(checkpointed)
    print(f"data: {source}; {config.train_size or 'all'} training samples; MLP 10 x 600, T = 3, batch 64; "
          f"{args.threads} thread(s)")  # fmt: skip
    print(f"checkpoint: {size / 2**20:.1f} MiB, written in {save * 1e3:.0f} ms (median of 5)")
    print(f"epoch without a checkpoint: {without:.2f} s (median of {args.repeats})")
    print(f"epoch with a checkpoint:    {with_:.2f} s")
    print(f"ratio: {with_ / without:.3f}")


if __name__ == "__main__":
    main()
