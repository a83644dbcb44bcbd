"""How the training datasets are stored: the publishers' file formats on disk, :class:`Dataset` in memory.

- IDX (MNIST, Fashion-MNIST): :func:`read_idx`, plain or gzip-compressed; the four files of a folder
  (:func:`find_idx_files`) by :func:`read_idx_splits`.
- CIFAR-10's python pickle batches: :func:`read_cifar_batch`; a folder of them by :func:`read_cifar_splits`.
- N-MNIST's 5-byte events: :func:`read_nmnist_events` (or tonic's reader, see :func:`nmnist_reader`), binned
  into frames by :func:`bin_events`; a split's recordings by :func:`read_nmnist_split`.
- torchvision's dataset classes, where torchvision is installed and accepts the folder:
  :func:`torchvision_splits`.

:mod:`snninit_adapters.training.data` finds the folders (its table of datasets) and re-exports the public
readers and classes.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import pickle
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

__all__ = [
    "CIFAR_BATCHES",
    "IDX_FILES",
    "NMNIST_SENSOR",
    "Dataset",
    "Split",
    "bin_events",
    "find_idx_files",
    "nmnist_reader",
    "normalisation_statistics",
    "read_cifar_batch",
    "read_cifar_splits",
    "read_idx",
    "read_idx_splits",
    "read_nmnist_events",
    "read_nmnist_split",
    "torchvision_splits",
]

NMNIST_SENSOR = (2, 34, 34)
"""N-MNIST frames: (polarity, height, width)."""

IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
"""MNIST's and Fashion-MNIST's IDX files per split: (images, labels), without ``.gz``."""

CIFAR_BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
"""CIFAR-10's python batches per split."""


@dataclass(frozen=True)
class Split:
    """One split of a dataset, in memory.

    Attributes:
        inputs: ``uint8`` inputs, ``[N, C, H, W]`` for images, ``[N, T, C, H, W]`` for event frames.
        targets: ``int64`` class labels, ``[N]``.
    """

    inputs: torch.Tensor
    targets: torch.Tensor

    def __len__(self) -> int:
        return int(self.targets.shape[0])

    def subset(self, size: int | None, seed: int = 0) -> Split:
        """``size`` samples drawn without replacement with a fixed seed (the whole split for None or more).

        Args:
            size: How many samples to keep.
            seed: Seed of the draw (the same subset for the same seed).

        Returns:
            The subset.
        """
        if size is None or size >= len(self):
            return self
        order = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:size]
        order, _ = order.sort()
        return Split(self.inputs[order], self.targets[order])


@dataclass(frozen=True)
class Dataset:
    """A dataset in memory with the statistics that normalise it.

    Attributes:
        name: One of :data:`~snninit_adapters.training.data.DATASETS`.
        train: The training split.
        test: The test split.
        mean: Per-channel mean of the training inputs (raw ``uint8`` units), shape ``[C]``.
        std: Per-channel standard deviation, shape ``[C]``.
        sequence: True when each sample is a sequence of frames (N-MNIST), one frame per time step.
        classes: Number of classes.
        source: How the files were read (for the run's record).
    """

    name: str
    train: Split
    test: Split
    mean: torch.Tensor
    std: torch.Tensor
    sequence: bool
    classes: int = 10
    source: str = ""

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one frame: ``(C, H, W)``."""
        return tuple(self.train.inputs.shape[2:] if self.sequence else self.train.inputs.shape[1:])

    def normalise(self, inputs: torch.Tensor, device: str | torch.device = "cpu") -> torch.Tensor:
        """Float32 inputs of mean 0 and variance 1 (the training split's statistics), on ``device``.

        Args:
            inputs: A batch of raw inputs from :attr:`train` or :attr:`test`.
            device: Where the result goes.

        Returns:
            The normalised batch, same shape.
        """
        x = inputs.to(device=device, dtype=torch.float32)
        shape = [1] * x.dim()
        shape[2 if self.sequence else 1] = -1
        mean = self.mean.to(device=device, dtype=torch.float32).reshape(shape)
        std = self.std.to(device=device, dtype=torch.float32).reshape(shape)
        return (x - mean) / std

    def limit(self, train: int | None = None, test: int | None = None, seed: int = 0) -> Dataset:
        """The same dataset on fixed random subsets (the normalisation statistics stay the full training split's).

        Args:
            train: Training samples to keep (None: all).
            test: Test samples to keep (None: all).
            seed: Seed of the draw.

        Returns:
            The smaller dataset.
        """
        return Dataset(
            self.name,
            self.train.subset(train, seed),
            self.test.subset(test, seed),
            self.mean,
            self.std,
            self.sequence,
            self.classes,
            self.source,
        )


def normalisation_statistics(inputs: torch.Tensor, channel_dim: int, grey: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of raw inputs per channel (or over all channels when ``grey``).

    Accumulated in float64 over chunks of 4096 samples; a zero standard deviation becomes 1.

    Args:
        inputs: Raw inputs, ``[N, C, H, W]`` or ``[N, T, C, H, W]``.
        channel_dim: The channel dimension (1 for images, 2 for frame sequences).
        grey: One statistic for all channels, repeated per channel.

    Returns:
        Float32 mean and standard deviation, shape ``[C]``.
    """
    channels = 1 if grey else inputs.shape[channel_dim]
    total = torch.zeros(channels, dtype=torch.float64)
    squares = torch.zeros(channels, dtype=torch.float64)
    count = 0
    for start in range(0, inputs.shape[0], 4096):
        chunk = inputs[start : start + 4096]
        x = chunk.to(torch.float64).movedim(channel_dim, -1)
        x = x.reshape(-1, channels)
        total += x.sum(0)
        squares += (x * x).sum(0)
        count += x.shape[0]
    mean = total / count
    std = (squares / count - mean * mean).clamp_min(0).sqrt()
    std = torch.where(std > 0, std, torch.ones_like(std))
    if grey and inputs.shape[channel_dim] > 1:
        mean, std = mean.expand(inputs.shape[channel_dim]), std.expand(inputs.shape[channel_dim])
    return mean.to(torch.float32).clone(), std.to(torch.float32).clone()


# ----------------------------------------------------------------------------------------------------
# File formats


def read_idx(path: str | os.PathLike[str]) -> npt.NDArray[np.uint8]:
    """Read an IDX file (MNIST's format; gzip-compressed if the name ends in ``.gz``) of unsigned bytes.

    The header is two zero bytes, the type code ``0x08`` (unsigned byte), the number of dimensions
    ``d``, then ``d`` big-endian 32-bit sizes; the data follow.

    Args:
        path: The file.

    Returns:
        The array, shaped by the header.

    Raises:
        ValueError: If the header is not that of an unsigned-byte IDX file or the size does not match.
    """
    opener: Any = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as stream:
        data = stream.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (magic {data[:4].hex()})")
    dims = data[3]
    shape = tuple(int(v) for v in np.frombuffer(data, dtype=">u4", count=dims, offset=4))
    offset = 4 + 4 * dims
    if len(data) - offset != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape} ({int(np.prod(shape))} bytes), file has {len(data) - offset}")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)


def read_cifar_batch(path: str | os.PathLike[str]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Read one CIFAR-10 python batch: a pickled dict with ``data`` (N x 3072, uint8) and ``labels``.

    Args:
        path: The batch file (``data_batch_1``, ..., ``test_batch``).

    Returns:
        Images ``[N, 3, 32, 32]`` and labels ``[N]``.

    Raises:
        ValueError: If the file does not hold such a dict.
    """
    with open(path, "rb") as stream:
        entry = pickle.load(stream, encoding="latin1")
    if not isinstance(entry, dict) or "data" not in entry or not ({"labels", "fine_labels"} & set(entry)):
        raise ValueError(f"{path} is not a CIFAR-10 python batch (a dict with 'data' and 'labels')")
    data = np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    labels = np.asarray(entry.get("labels", entry.get("fine_labels")), dtype=np.int64)
    if len(labels) != len(data):
        raise ValueError(f"{path}: {len(data)} images but {len(labels)} labels")
    return data, labels


def read_nmnist_events(path: str | os.PathLike[str]) -> npt.NDArray[np.int64]:
    """Read an N-MNIST ``.bin`` recording: events as rows ``(x, y, t [µs], p)``.

    Each event is 5 bytes: x, y, then one bit of polarity and a 23-bit timestamp (µs) over the last three
    bytes. An event with ``y == 240`` marks a timestamp overflow: it adds :math:`2^{13}` µs to every later
    timestamp and is dropped (as tonic's and the dataset authors' readers do).

    Args:
        path: The ``.bin`` file.

    Returns:
        An ``int64`` array of shape ``[events, 4]``.
    """
    raw = np.fromfile(path, dtype=np.uint8).astype(np.int64)
    raw = raw[: len(raw) - len(raw) % 5].reshape(-1, 5)
    x, y = raw[:, 0], raw[:, 1]
    p = (raw[:, 2] & 128) >> 7
    t = ((raw[:, 2] & 127) << 16) | (raw[:, 3] << 8) | raw[:, 4]
    overflow = y == 240
    t = t + np.cumsum(overflow) * (1 << 13)
    keep = ~overflow
    return np.stack([x[keep], y[keep], t[keep], p[keep]], axis=1)


def bin_events(events: npt.NDArray[np.int64], frames: int, bin_us: int) -> npt.NDArray[np.uint8]:
    """Bin events into ``frames`` frames of ``bin_us`` µs each, counted per (polarity, y, x), from t = 0.

    Frame ``k`` counts the events with ``k * bin_us <= t < (k + 1) * bin_us``; later events are dropped;
    counts saturate at 255.

    Args:
        events: Rows ``(x, y, t, p)`` as :func:`read_nmnist_events` returns.
        frames: Number of frames (the network's time steps).
        bin_us: Bin width in µs.

    Returns:
        ``uint8`` frames ``[frames, 2, 34, 34]``.
    """
    channels, height, width = NMNIST_SENSOR
    x, y, t, p = (events[:, i] for i in range(4))
    frame = t // bin_us
    keep = (frame < frames) & (x < width) & (y < height) & (t >= 0)
    flat = ((frame[keep] * channels + p[keep]) * height + y[keep]) * width + x[keep]
    counts = np.bincount(flat, minlength=frames * channels * height * width)
    return np.minimum(counts, 255).astype(np.uint8).reshape(frames, channels, height, width)


# ----------------------------------------------------------------------------------------------------
# Folders of these files


def find_idx_files(folders: Sequence[Path], files: Sequence[str]) -> tuple[Path, dict[str, Path]] | None:
    """The first folder holding every one of ``files``, each plain or gzip-compressed (``<file>.gz``).

    Args:
        folders: The folders to search, in order.
        files: The file names, without ``.gz``.

    Returns:
        The folder and each file's path (the plain file where both are there), or None.
    """
    for folder in folders:
        found = {}
        for file in files:
            for candidate in (folder / file, folder / f"{file}.gz"):
                if candidate.is_file():
                    found[file] = candidate
                    break
        if len(found) == len(files):
            return folder, found
    return None


def read_idx_splits(folder: Path, files: Mapping[str, Path]) -> tuple[Split, Split]:
    """Read the training and test splits from the four IDX files of :data:`IDX_FILES`.

    Args:
        folder: The folder they were found in (for messages).
        files: Each file's path (plain or ``.gz``), by its name in :data:`IDX_FILES`.

    Returns:
        The training and test splits, images ``[N, 1, 28, 28]``.

    Raises:
        ValueError: If images and labels do not match.
    """
    splits = []
    for images_file, labels_file in IDX_FILES.values():
        images, labels = read_idx(files[images_file]), read_idx(files[labels_file])
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{folder}: images {images.shape} and labels {labels.shape} do not match")
        splits.append(Split(torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))))
    return splits[0], splits[1]


def read_cifar_splits(folder: Path) -> tuple[Split, Split]:
    """Read the training and test splits from the python batches of :data:`CIFAR_BATCHES`.

    Args:
        folder: The folder holding them (``cifar-10-batches-py``).

    Returns:
        The training and test splits, images ``[N, 3, 32, 32]``.
    """
    splits = []
    for files in CIFAR_BATCHES.values():
        parts = [read_cifar_batch(folder / f) for f in files]
        images = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
        splits.append(Split(torch.from_numpy(images), torch.from_numpy(labels)))
    return splits[0], splits[1]


def read_nmnist_split(
    files: Sequence[tuple[int, Path]], read: Callable[[Path], npt.NDArray[np.int64]], frames: int, bin_us: int
) -> Split:
    """Read N-MNIST recordings and bin each into frames (:func:`bin_events`).

    Args:
        files: ``(label, path)`` of each recording.
        read: The event reader (:func:`nmnist_reader`).
        frames: Frames per sample.
        bin_us: Bin width in µs.

    Returns:
        The split, inputs ``[N, frames, 2, 34, 34]``.
    """
    inputs = np.stack([bin_events(read(path), frames, bin_us) for _, path in files])
    targets = np.array([label for label, _ in files], dtype=np.int64)
    return Split(torch.from_numpy(inputs), torch.from_numpy(targets))


def nmnist_reader() -> tuple[Callable[[Path], npt.NDArray[np.int64]], str]:
    """The N-MNIST event reader: tonic's where tonic is installed and usable, else :func:`read_nmnist_events`.

    Returns:
        The reader (path to rows ``(x, y, t, p)``) and its name, for the run's record.
    """
    if _importable("tonic"):
        try:
            import tonic  # type: ignore[import-not-found,unused-ignore]

            dtype = tonic.datasets.NMNIST.dtype

            def read(path: Path) -> npt.NDArray[np.int64]:
                events = tonic.io.read_mnist_file(str(path), dtype=dtype)
                return np.stack([events[k].astype(np.int64) for k in ("x", "y", "t", "p")], axis=1)

            return read, "tonic.io.read_mnist_file"
        except Exception:  # tonic present but unusable: the built-in reader reads the same format
            pass
    return read_nmnist_events, "built-in N-MNIST reader"


def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _torchvision() -> Any:
    if "torchvision" in sys.modules or _importable("torchvision"):
        try:
            import torchvision  # type: ignore[import-not-found,unused-ignore]
        except Exception:  # a broken install (e.g. a torch/torchvision mismatch) counts as absent
            return None
        return torchvision
    return None


def torchvision_splits(kind: str, root: Path) -> tuple[Split, Split] | None:
    """Read the training and test splits through a torchvision dataset class (``download=False``).

    Args:
        kind: The class in ``torchvision.datasets`` (``"MNIST"``, ``"FashionMNIST"``, ``"CIFAR10"``).
        root: The ``root`` it takes.

    Returns:
        The splits, or None where torchvision is absent or does not accept the folder (it needs the
        decompressed IDX files and checks CIFAR-10's md5 sums).
    """
    vision = _torchvision()
    if vision is None:
        return None
    try:
        found = [getattr(vision.datasets, kind)(root=str(root), train=t, download=False) for t in (True, False)]
    except RuntimeError:  # torchvision did not accept the folder: the built-in readers read it
        return None
    train, test = (_split_of(dataset) for dataset in found)
    return train, test


def _split_of(dataset: Any) -> Split:
    """A torchvision dataset as a split: MNIST's data are ``[N, H, W]`` tensors, CIFAR-10's ``[N, H, W, C]`` arrays."""
    if isinstance(dataset.data, torch.Tensor):
        return Split(dataset.data.unsqueeze(1).to(torch.uint8), dataset.targets.to(torch.int64))
    images = torch.from_numpy(np.ascontiguousarray(dataset.data.transpose(0, 3, 1, 2)))
    return Split(images, torch.as_tensor(dataset.targets, dtype=torch.int64))
