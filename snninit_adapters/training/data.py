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
is absent or does not accept the folder, the built-in readers read the same files. N-MNIST events
are read by tonic's reader where tonic (a GPL-3.0 optional extra) is installed, else by the built-in
one, and binned into frames. :data:`SOURCES` holds one :class:`DatasetSource` per dataset; the readers
are in :mod:`snninit_adapters.training.formats` (re-exported here).
"""

from __future__ import annotations

import functools
import gzip
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from snninit_adapters.training.formats import (
    CIFAR_BATCHES,
    IDX_FILES,
    Dataset,
    Split,
    bin_events,
    find_idx_files,
    nmnist_reader,
    normalisation_statistics,
    read_cifar_batch,
    read_cifar_splits,
    read_idx,
    read_idx_splits,
    read_nmnist_events,
    read_nmnist_split,
    torchvision_splits,
)
from snninit_adapters.training.formats import NMNIST_SENSOR as NMNIST_SENSOR

__all__ = [
    "DATASETS",
    "DEBIAN_DATASETS",
    "SOURCES",
    "Dataset",
    "DatasetNotFoundError",
    "DatasetSource",
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

DEBIAN_DATASETS = Path("/usr/share/datasets")
"""Where Debian's ``dataset-*`` packages install their data (``dataset-fashion-mnist``: ``fashion-mnist/``)."""

NMNIST_BIN_US = 100_000
"""Default bin width of N-MNIST frames (µs): three bins cover the ~300 ms of a recording's three saccades."""

_IDX_FILES = tuple(f for pair in IDX_FILES.values() for f in pair)
_NMNIST = "NMNIST"


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are not in the data folder; the message lists the files expected and where."""


@dataclass(frozen=True)
class DatasetSource:
    """One record of :data:`SOURCES`: where a dataset's files are looked for, how they are found and read.

    Attributes:
        name: The name :func:`load_dataset` takes.
        title: The dataset's usual spelling, for messages.
        folders: The folders it is looked for in, relative to the data folder, in search order (N-MNIST:
            the training then the test folder, both needed).
        files: The files expected in each folder, as the messages list them.
        layout: How the messages write one folder's layout; ``{folder}`` is the folder under the data
            folder, ``{files}`` the files joined by commas.
        find: ``find(source, data_dir)``: the folder its files were found in (from the files on disk alone,
            nothing is read), or None.
        load: ``load(source, data_dir, frames, bin_us)``: the training split, the test split and how they
            were read; raises :class:`DatasetNotFoundError` when files are missing.
        sequence: True when each sample is a sequence of event frames, one per time step.
        hint: How to install or extract it, the last line of the missing-dataset message ("" for none).
        torchvision: The torchvision dataset class that reads its files ("" for none).
        debian: Whether :data:`DEBIAN_DATASETS` is searched after the data folder.
        debian_layouts: Layouts in Debian's folder the messages add; ``{debian}`` is :data:`DEBIAN_DATASETS`.
    """

    name: str
    title: str
    folders: tuple[str, ...]
    files: tuple[str, ...]
    layout: str
    find: Callable[[DatasetSource, Path], Path | None]
    load: Callable[[DatasetSource, Path, int, int], tuple[Split, Split, str]]
    sequence: bool = False
    hint: str = ""
    torchvision: str = ""
    debian: bool = False
    debian_layouts: tuple[str, ...] = ()


# ----------------------------------------------------------------------------------------------------
# Where the files are


def _source(name: str) -> DatasetSource:
    """The record of a dataset; ValueError for an unknown name."""
    if name not in SOURCES:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return SOURCES[name]


def _roots(source: DatasetSource, data_dir: Path) -> list[Path]:
    """The folders the source's layouts are looked for under: the data folder, then Debian's where searched."""
    roots = [data_dir]
    if source.debian and DEBIAN_DATASETS.is_dir() and DEBIAN_DATASETS.resolve() != data_dir.resolve():
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
    source, root = _source(name), Path(data_dir)
    files = ",".join(source.files)
    layouts = [source.layout.format(folder=root / folder, files=files) for folder in source.folders]
    return layouts + [layout.format(debian=DEBIAN_DATASETS) for layout in source.debian_layouts]


def _missing(source: DatasetSource, data_dir: Path, detail: str = "") -> DatasetNotFoundError:
    """The error for a dataset whose files are missing: what is missing (``detail``), the layouts, the hint."""
    lines = "\n  ".join(expected_files(source.name, data_dir))
    hint = f"\n{source.hint}" if source.hint else ""
    return DatasetNotFoundError(
        f"{source.name} not found under {data_dir} (nothing is downloaded at run time). {detail}\n"
        f"Expected one of:\n  {lines}{hint}"
    )


def _idx_files(source: DatasetSource, data_dir: Path) -> tuple[Path, dict[str, Path]] | None:
    """The folder holding all IDX files (plain or .gz) and each file's path, searching the layouts."""
    return find_idx_files(
        [root / folder for root in _roots(source, data_dir) for folder in source.folders], source.files
    )


def _find_idx(source: DatasetSource, data_dir: Path) -> Path | None:
    """The folder holding all IDX files, or None."""
    found = _idx_files(source, data_dir)
    return found[0] if found else None


def _find_cifar(source: DatasetSource, data_dir: Path) -> Path | None:
    """The folder holding all python batches (``batches.meta`` is not needed), or None."""
    folder = data_dir / source.folders[0]
    return folder if all((folder / f).is_file() for files in CIFAR_BATCHES.values() for f in files) else None


def _find_nmnist(source: DatasetSource, data_dir: Path) -> Path | None:
    """The N-MNIST folder if both the training and the test folder hold a ``<digit>/*.bin`` file, or None."""
    found = all(any((data_dir / folder).glob("*/*.bin")) for folder in source.folders)
    return data_dir / _NMNIST if found else None


def debian_fashion_mnist() -> Path | None:
    """The data folder of Debian's ``dataset-fashion-mnist`` package if it is installed, else None.

    Returns:
        ``/usr/share/datasets`` (pass it as ``data_dir``), or None.
    """
    folder = DEBIAN_DATASETS / "fashion-mnist"
    return DEBIAN_DATASETS if all((folder / f"{f}.gz").is_file() for f in _IDX_FILES) else None


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
    for file in _IDX_FILES:
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
            raise _missing(SOURCES["fashion-mnist"], Path(data_dir), f"source {source_dir} lacks {file}[.gz].")
        os.replace(temporary, destination)
    return target


# ----------------------------------------------------------------------------------------------------
# Loaders: ``load(source, data_dir, frames, bin_us)`` of the table (frames and bin_us matter to N-MNIST only)


def _load_idx(source: DatasetSource, data_dir: Path, frames: int, bin_us: int) -> tuple[Split, Split, str]:
    """MNIST or Fashion-MNIST: through torchvision for its layout of plain files, else the built-in reader."""
    found = _idx_files(source, data_dir)
    if found is None:
        raise _missing(source, data_dir)
    folder, files = found
    plain = all(not str(path).endswith(".gz") for path in files.values())
    if plain and folder.name == "raw" and (splits := torchvision_splits(source.torchvision, folder.parent.parent)):
        return *splits, f"torchvision {source.torchvision} ({folder})"
    return *read_idx_splits(folder, files), f"IDX files in {folder}"


def _load_cifar(source: DatasetSource, data_dir: Path, frames: int, bin_us: int) -> tuple[Split, Split, str]:
    """CIFAR-10's python batches: through torchvision where it accepts them, else the built-in reader."""
    folder = data_dir / source.folders[0]
    missing = [f for files in CIFAR_BATCHES.values() for f in files if not (folder / f).is_file()]
    if missing:
        raise _missing(source, data_dir, f"Missing: {', '.join(missing)}.")
    if splits := torchvision_splits(source.torchvision, data_dir):
        return *splits, f"torchvision {source.torchvision} ({folder})"
    return *read_cifar_splits(folder), f"CIFAR-10 python batches in {folder}"


def _load_nmnist(source: DatasetSource, data_dir: Path, frames: int, bin_us: int) -> tuple[Split, Split, str]:
    """N-MNIST's recordings, each binned into ``frames`` frames of ``bin_us`` µs; labels from the digit folders."""
    read, how = nmnist_reader()
    splits = []
    for split, folder in zip(("train", "test"), source.folders, strict=True):
        root = data_dir / folder
        files = sorted((int(d.name[-1]), f) for d in root.glob("*") if d.is_dir() for f in d.glob("*.bin"))
        if not files:
            raise _missing(source, data_dir, f"No .bin file in {root}/<digit>/ for the {split} split.")
        splits.append(read_nmnist_split(files, read, frames, bin_us))
    return splits[0], splits[1], f"{how}, {frames} frames of {bin_us} µs, {data_dir / _NMNIST}"


# ----------------------------------------------------------------------------------------------------
# The table

_IDX_LAYOUT = "{folder}/{{{files}}}[.gz]"

SOURCES: Mapping[str, DatasetSource] = MappingProxyType(
    {
        source.name: source
        for source in (
            DatasetSource(
                "mnist",
                "MNIST",
                ("MNIST/raw", "mnist"),
                _IDX_FILES,
                _IDX_LAYOUT,
                _find_idx,
                _load_idx,
                torchvision="MNIST",
                debian=True,
            ),
            DatasetSource(
                "fashion-mnist",
                "Fashion-MNIST",
                ("FashionMNIST/raw", "fashion-mnist"),
                _IDX_FILES,
                _IDX_LAYOUT,
                _find_idx,
                _load_idx,
                hint="On Debian/Ubuntu: apt-get install dataset-fashion-mnist (found automatically).",
                torchvision="FashionMNIST",
                debian=True,
                debian_layouts=("{debian}/fashion-mnist/*.gz (apt-get install dataset-fashion-mnist)",),
            ),
            DatasetSource(
                "cifar10",
                "CIFAR-10",
                ("cifar-10-batches-py",),
                (*CIFAR_BATCHES["train"], *CIFAR_BATCHES["test"], "batches.meta"),
                "{folder}/{{{files}}} (the python version of CIFAR-10)",
                _find_cifar,
                _load_cifar,
                torchvision="CIFAR10",
            ),
            DatasetSource(
                "nmnist",
                "N-MNIST",
                (f"{_NMNIST}/Train", f"{_NMNIST}/Test"),
                ("<digit 0-9>/*.bin",),
                "{folder}/{files}",
                _find_nmnist,
                _load_nmnist,
                sequence=True,
                hint="Extract N-MNIST's Train.zip and Test.zip there (tonic's layout).",
            ),
        )
    }
)
"""Every dataset, by name: one :class:`DatasetSource` each (read-only)."""

DATASETS = tuple(SOURCES)
"""The datasets of the paper's training experiments."""


# ----------------------------------------------------------------------------------------------------
# Loading and checking


@functools.lru_cache(maxsize=4)
def _cached(name: str, data_dir: str, frames: int, bin_us: int) -> Dataset:
    source = SOURCES[name]
    train, test, how = source.load(source, Path(data_dir), frames, bin_us)
    mean, std = normalisation_statistics(train.inputs, 2 if source.sequence else 1, grey=source.sequence)
    return Dataset(name, train, test, mean, std, source.sequence, 10, how)


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
    source = _source(name)
    if not source.sequence:
        frames, bin_us = 0, 0  # irrelevant: one cache entry per image dataset
    elif frames < 1 or bin_us < 1:
        raise ValueError(f"{source.title} needs frames >= 1 and bin_us >= 1, got {frames}, {bin_us}")
    dataset = _cached(name, str(Path(data_dir).resolve()), frames, bin_us)
    return dataset.limit(train_size, test_size, subset_seed)


def _status(name: str, root: Path) -> str:
    """``"found in <folder>"`` or ``"missing"``, from the files on disk alone (nothing is read)."""
    source = _source(name)
    found = source.find(source, root)
    return f"found in {found}" if found is not None else "missing"


def available(name: str, data_dir: str | os.PathLike[str]) -> bool:
    """Whether the dataset's files are on disk under ``data_dir`` (or Debian's folder, for Fashion-MNIST).

    Args:
        name: Dataset name.
        data_dir: The data folder.

    Returns:
        True if :func:`load_dataset` would find its files.

    Raises:
        ValueError: For an unknown dataset.
    """
    return _status(name, Path(data_dir)) != "missing"


def describe(names: Sequence[str], data_dir: str | os.PathLike[str]) -> list[str]:
    """One line per dataset: found (and how it would be read) or missing (and the files expected).

    Args:
        names: Datasets to check.
        data_dir: The data folder.

    Returns:
        The lines.

    Raises:
        ValueError: For an unknown dataset.
    """
    lines = []
    root = Path(data_dir)
    for name in names:
        status = _status(name, root)
        lines.append(f"{name}: {status}")
        if status == "missing":
            lines.extend(f"  expected: {layout}" for layout in expected_files(name, root))
    return lines
