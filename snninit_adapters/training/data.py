"""The training datasets, read from a local folder and never downloaded: MNIST, Fashion-MNIST, CIFAR-10, N-MNIST.

Every dataset is read from ``data_dir`` in the on-disk format its publisher ships (the layouts that
torchvision and tonic use after their own download), whole into memory as ``uint8``; inputs are
normalised to mean 0 and variance 1 per batch with the training split's statistics (per channel for
CIFAR-10), as the paper's theory assumes. Layouts looked for under ``data_dir``:

- MNIST: ``MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` (torchvision's layout), or the
  same four files in ``mnist/``.
- Fashion-MNIST: ``FashionMNIST/raw/...`` (torchvision) or ``fashion-mnist/...`` (Debian's package
  ``dataset-fashion-mnist``, which installs them in ``/usr/share/datasets/fashion-mnist``; that folder is
  searched after ``data_dir``, so Fashion-MNIST works once the package is installed).
- CIFAR-10: ``cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}``, the python pickle batches.
- N-MNIST: ``NMNIST/{Train,Test}/<digit>/*.bin``, 5 bytes per event (tonic's layout once extracted).

Where torchvision is importable, MNIST, Fashion-MNIST and CIFAR-10 are read through its dataset classes
(``download=False``; torchvision needs the decompressed IDX files and checks CIFAR-10's md5 sums); if it
is absent or does not accept the folder, the built-in readers below read the same files. N-MNIST events
are read by tonic's reader where tonic (a GPL-3.0 optional extra) is installed, else by the built-in
one, and binned into frames here.
"""

from __future__ import annotations

import functools
import gzip
import os
import pickle
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

__all__ = [
    "DATASETS",
    "DEBIAN_DATASETS",
    "Dataset",
    "DatasetNotFoundError",
    "Split",
    "bin_events",
    "debian_fashion_mnist",
    "expected_files",
    "load_dataset",
    "prepare_fashion_mnist",
    "read_cifar_batch",
    "read_idx",
    "read_nmnist_events",
    "describe",
]

DATASETS = ("mnist", "fashion-mnist", "cifar10", "nmnist")
"""The datasets of the paper's training experiments."""

DEBIAN_DATASETS = Path("/usr/share/datasets")
"""Where Debian's ``dataset-*`` packages install their data (``dataset-fashion-mnist``: ``fashion-mnist/``)."""

NMNIST_SENSOR = (2, 34, 34)
"""N-MNIST frames: (polarity, height, width)."""

NMNIST_BIN_US = 100_000
"""Default bin width of N-MNIST frames (µs): three bins cover the ~300 ms of a recording's three saccades."""

_IDX = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IDX_FOLDERS = {"mnist": ("MNIST/raw", "mnist"), "fashion-mnist": ("FashionMNIST/raw", "fashion-mnist")}
_CIFAR_FOLDER = "cifar-10-batches-py"
_CIFAR_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
_NMNIST_FOLDERS = {"train": "NMNIST/Train", "test": "NMNIST/Test"}


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are not in the data folder; the message lists the files expected and where."""


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
        name: One of :data:`DATASETS`.
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
# Where the files are


def _roots(data_dir: Path) -> list[Path]:
    roots = [data_dir]
    if DEBIAN_DATASETS.is_dir() and DEBIAN_DATASETS.resolve() != data_dir.resolve():
        roots.append(DEBIAN_DATASETS)
    return roots


def expected_files(name: str, data_dir: str | os.PathLike[str]) -> list[str]:
    """The files a dataset is read from, as paths under ``data_dir`` (one layout per line).

    Args:
        name: One of :data:`DATASETS`.
        data_dir: The data folder.

    Returns:
        Human-readable descriptions of the accepted layouts.

    Raises:
        ValueError: For an unknown dataset.
    """
    root = Path(data_dir)
    if name in _IDX_FOLDERS:
        files = [f for pair in _IDX.values() for f in pair]
        layouts = [f"{root / folder}/{{{','.join(files)}}}[.gz]" for folder in _IDX_FOLDERS[name]]
        if name == "fashion-mnist":
            layouts.append(f"{DEBIAN_DATASETS}/fashion-mnist/*.gz (apt-get install dataset-fashion-mnist)")
        return layouts
    if name == "cifar10":
        files = [*_CIFAR_FILES["train"], *_CIFAR_FILES["test"], "batches.meta"]
        return [f"{root / _CIFAR_FOLDER}/{{{','.join(files)}}} (the python version of CIFAR-10)"]
    if name == "nmnist":
        return [f"{root / folder}/<digit 0-9>/*.bin" for folder in _NMNIST_FOLDERS.values()]
    raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")


def _missing(name: str, data_dir: Path, detail: str = "") -> DatasetNotFoundError:
    lines = "\n  ".join(expected_files(name, data_dir))
    hint = ""
    if name == "fashion-mnist":
        hint = "\nOn Debian/Ubuntu: apt-get install dataset-fashion-mnist (found automatically)."
    elif name == "nmnist":
        hint = "\nExtract N-MNIST's Train.zip and Test.zip there (tonic's layout)."
    return DatasetNotFoundError(
        f"{name} not found under {data_dir} (nothing is downloaded at run time). {detail}\n"
        f"Expected one of:\n  {lines}{hint}"
    )


def _find_idx(name: str, data_dir: Path) -> tuple[Path, dict[str, Path]] | None:
    """The folder holding all four IDX files (plain or .gz) and each file's path, searching the layouts."""
    for root in _roots(data_dir):
        for folder in _IDX_FOLDERS[name]:
            found = {}
            for file in (f for pair in _IDX.values() for f in pair):
                for candidate in (root / folder / file, root / folder / f"{file}.gz"):
                    if candidate.is_file():
                        found[file] = candidate
                        break
            if len(found) == 4:
                return root / folder, found
    return None


def debian_fashion_mnist() -> Path | None:
    """The data folder of Debian's ``dataset-fashion-mnist`` package if it is installed, else None.

    Returns:
        ``/usr/share/datasets`` (pass it as ``data_dir``), or None.
    """
    folder = DEBIAN_DATASETS / "fashion-mnist"
    files = [f"{f}.gz" for pair in _IDX.values() for f in pair]
    return DEBIAN_DATASETS if all((folder / f).is_file() for f in files) else None


def prepare_fashion_mnist(data_dir: str | os.PathLike[str], source: str | os.PathLike[str] | None = None) -> Path:
    """Lay Fashion-MNIST out in torchvision's layout under ``data_dir`` (decompressed IDX files).

    The loaders read Debian's files where they are; this copy is for torchvision's own
    ``FashionMNIST(root=data_dir, download=False)`` and for machines where the data should live with
    the results. Existing files are kept.

    Args:
        data_dir: The data folder to fill.
        source: Folder with the four ``.gz`` (or plain) IDX files; default Debian's
            ``/usr/share/datasets/fashion-mnist``.

    Returns:
        The folder written, ``data_dir/FashionMNIST/raw``.

    Raises:
        DatasetNotFoundError: If the source files are missing.
    """
    source_dir = Path(source) if source is not None else DEBIAN_DATASETS / "fashion-mnist"
    target = Path(data_dir) / "FashionMNIST" / "raw"
    target.mkdir(parents=True, exist_ok=True)
    for file in (f for pair in _IDX.values() for f in pair):
        destination = target / file
        if destination.is_file():
            continue
        plain, packed = source_dir / file, source_dir / f"{file}.gz"
        temporary = target / f".{file}.tmp"
        if packed.is_file():
            with gzip.open(packed, "rb") as reader, open(temporary, "wb") as writer:
                shutil.copyfileobj(reader, writer)
        elif plain.is_file():
            shutil.copyfile(plain, temporary)
        else:
            raise _missing("fashion-mnist", Path(data_dir), f"source {source_dir} lacks {file}[.gz].")
        os.replace(temporary, destination)
    return target


# ----------------------------------------------------------------------------------------------------
# Loaders


def _torchvision() -> Any:
    if "torchvision" in sys.modules or _importable("torchvision"):
        try:
            import torchvision  # type: ignore[import-not-found,unused-ignore]
        except Exception:  # a broken install (e.g. a torch/torchvision mismatch) counts as absent
            return None
        return torchvision
    return None


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _load_idx(name: str, data_dir: Path) -> tuple[Split, Split, str]:
    found = _find_idx(name, data_dir)
    if found is None:
        raise _missing(name, data_dir)
    folder, files = found
    vision = _torchvision()
    plain = all(not str(path).endswith(".gz") for path in files.values())
    if vision is not None and plain and folder.name == "raw":
        kind = vision.datasets.MNIST if name == "mnist" else vision.datasets.FashionMNIST
        try:
            splits = [kind(root=str(folder.parent.parent), train=train, download=False) for train in (True, False)]
        except RuntimeError:  # torchvision did not accept the folder: read it ourselves
            pass
        else:
            return (
                *(Split(s.data.unsqueeze(1).to(torch.uint8), s.targets.to(torch.int64)) for s in splits),
                f"torchvision {kind.__name__} ({folder})",
            )  # type: ignore[return-value]
    splits = []
    for images_file, labels_file in _IDX.values():
        images, labels = read_idx(files[images_file]), read_idx(files[labels_file])
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{folder}: images {images.shape} and labels {labels.shape} do not match")
        splits.append(Split(torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))))
    return splits[0], splits[1], f"IDX files in {folder}"


def _load_cifar(data_dir: Path) -> tuple[Split, Split, str]:
    folder = data_dir / _CIFAR_FOLDER
    missing = [f for files in _CIFAR_FILES.values() for f in files if not (folder / f).is_file()]
    if missing:
        raise _missing("cifar10", data_dir, f"Missing: {', '.join(missing)}.")
    vision = _torchvision()
    if vision is not None:
        try:
            splits = [vision.datasets.CIFAR10(root=str(data_dir), train=t, download=False) for t in (True, False)]
        except RuntimeError:  # torchvision checks the official files' md5 sums
            pass
        else:
            return (
                *(
                    Split(
                        torch.from_numpy(np.ascontiguousarray(s.data.transpose(0, 3, 1, 2))),
                        torch.as_tensor(s.targets, dtype=torch.int64),
                    )
                    for s in splits
                ),
                f"torchvision CIFAR10 ({folder})",
            )  # type: ignore[return-value]
    splits = []
    for files in _CIFAR_FILES.values():
        parts = [read_cifar_batch(folder / f) for f in files]
        images = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
        splits.append(Split(torch.from_numpy(images), torch.from_numpy(labels)))
    return splits[0], splits[1], f"CIFAR-10 python batches in {folder}"


def _nmnist_reader() -> tuple[Any, str]:
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


def _load_nmnist(data_dir: Path, frames: int, bin_us: int) -> tuple[Split, Split, str]:
    read, how = _nmnist_reader()
    splits = []
    for split, folder in _NMNIST_FOLDERS.items():
        root = data_dir / folder
        files = sorted((int(d.name[-1]), f) for d in root.glob("*") if d.is_dir() for f in d.glob("*.bin"))
        if not files:
            raise _missing("nmnist", data_dir, f"No .bin file in {root}/<digit>/ for the {split} split.")
        inputs = np.stack([bin_events(read(path), frames, bin_us) for _, path in files])
        targets = np.array([label for label, _ in files], dtype=np.int64)
        splits.append(Split(torch.from_numpy(inputs), torch.from_numpy(targets)))
    return splits[0], splits[1], f"{how}, {frames} frames of {bin_us} µs, {data_dir / 'NMNIST'}"


def _statistics(inputs: torch.Tensor, channel_dim: int, grey: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std of the raw inputs, per channel (or over all channels when ``grey``), in float64."""
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


@functools.lru_cache(maxsize=4)
def _cached(name: str, data_dir: str, frames: int, bin_us: int) -> Dataset:
    root = Path(data_dir)
    if name in _IDX_FOLDERS:
        train, test, source = _load_idx(name, root)
    elif name == "cifar10":
        train, test, source = _load_cifar(root)
    else:
        train, test, source = _load_nmnist(root, frames, bin_us)
    sequence = name == "nmnist"
    mean, std = _statistics(train.inputs, 2 if sequence else 1, grey=sequence)
    return Dataset(name, train, test, mean, std, sequence, 10, source)


def load_dataset(
    name: str,
    data_dir: str | os.PathLike[str],
    *,
    frames: int = 3,
    bin_us: int = NMNIST_BIN_US,
    train_size: int | None = None,
    test_size: int | None = None,
    subset_seed: int = 0,
) -> Dataset:
    """Load a dataset from the local data folder (never downloading), with its normalisation statistics.

    Loaded datasets are cached per process (a sweep's cells in one worker read the files once).

    Args:
        name: ``"mnist"``, ``"fashion-mnist"``, ``"cifar10"`` or ``"nmnist"``.
        data_dir: The data folder (layouts in the module docstring).
        frames: N-MNIST only: frames per sample (the network's time steps).
        bin_us: N-MNIST only: bin width in µs (the paper states 1000 µs; see docs/training.md).
        train_size: Keep a fixed random subset of this many training samples (None: all).
        test_size: The same for the test split.
        subset_seed: Seed of the subsets.

    Returns:
        The dataset. Normalisation statistics are those of the full training split.

    Raises:
        DatasetNotFoundError: If the files are not there; the message lists the expected layouts.
        ValueError: For an unknown dataset or malformed files.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if name != "nmnist":
        frames, bin_us = 0, 0  # irrelevant: one cache entry per image dataset
    elif frames < 1 or bin_us < 1:
        raise ValueError(f"N-MNIST needs frames >= 1 and bin_us >= 1, got {frames}, {bin_us}")
    dataset = _cached(name, str(Path(data_dir).resolve()), frames, bin_us)
    return dataset.limit(train_size, test_size, subset_seed)


def _status(name: str, root: Path) -> str:
    """``"found in <folder>"`` or ``"missing"``, from the files on disk alone (nothing is read)."""
    if name in _IDX_FOLDERS:
        found = _find_idx(name, root)
        return f"found in {found[0]}" if found else "missing"
    if name == "cifar10":
        folder = root / _CIFAR_FOLDER
        ok = all((folder / f).is_file() for files in _CIFAR_FILES.values() for f in files)
        return f"found in {folder}" if ok else "missing"
    ok = all(any((root / f).glob("*/*.bin")) for f in _NMNIST_FOLDERS.values())
    return f"found in {root / 'NMNIST'}" if ok else "missing"


def available(name: str, data_dir: str | os.PathLike[str]) -> bool:
    """Whether the dataset's files are on disk under ``data_dir`` (or Debian's folder, for Fashion-MNIST).

    Args:
        name: Dataset name.
        data_dir: The data folder.

    Returns:
        True if :func:`load_dataset` would find its files.
    """
    return _status(name, Path(data_dir)) != "missing"


def describe(names: Sequence[str], data_dir: str | os.PathLike[str]) -> list[str]:
    """One line per dataset: found (and how it would be read) or missing (and the files expected).

    Args:
        names: Datasets to check.
        data_dir: The data folder.

    Returns:
        The lines.
    """
    lines = []
    root = Path(data_dir)
    for name in names:
        status = _status(name, root)
        lines.append(f"{name}: {status}")
        if status == "missing":
            lines.extend(f"  expected: {layout}" for layout in expected_files(name, root))
    return lines
