"""The table of datasets, and the torchvision path of the loaders (through a stand-in torchvision)."""

import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from snninit_adapters.training import data as data_module
from snninit_adapters.training.data import DATASETS, SOURCES, expected_files, load_dataset, read_cifar_batch, read_idx
from tests.training._files import write_cifar, write_mnist


@pytest.fixture(autouse=True)
def no_debian(monkeypatch, tmp_path):
    monkeypatch.setattr(data_module, "DEBIAN_DATASETS", tmp_path / "no-debian")
    data_module._cached.cache_clear()
    yield
    data_module._cached.cache_clear()


def test_the_table_holds_every_dataset_in_order():
    assert DATASETS == ("mnist", "fashion-mnist", "cifar10", "nmnist")
    assert tuple(SOURCES) == DATASETS
    assert all(source.name == name for name, source in SOURCES.items())
    assert [name for name, source in SOURCES.items() if source.sequence] == ["nmnist"]
    with pytest.raises(TypeError):
        SOURCES["imagenet"] = SOURCES["mnist"]  # read-only


def test_expected_layouts_are_written_from_the_table(tmp_path):
    idx = "train-images-idx3-ubyte,train-labels-idx1-ubyte,t10k-images-idx3-ubyte,t10k-labels-idx1-ubyte"
    assert expected_files("mnist", tmp_path) == [
        f"{tmp_path}/MNIST/raw/{{{idx}}}[.gz]",
        f"{tmp_path}/mnist/{{{idx}}}[.gz]",
    ]
    assert expected_files("fashion-mnist", tmp_path)[-1] == (
        f"{tmp_path / 'no-debian'}/fashion-mnist/*.gz (apt-get install dataset-fashion-mnist)"
    )
    assert expected_files("nmnist", tmp_path) == [
        f"{tmp_path}/NMNIST/Train/<digit 0-9>/*.bin",
        f"{tmp_path}/NMNIST/Test/<digit 0-9>/*.bin",
    ]
    with pytest.raises(ValueError, match="unknown dataset"):
        expected_files("imagenet", tmp_path)


def _stand_in_torchvision(refuse_cifar):
    """Stand-ins for torchvision's MNIST (tensors [N, H, W]) and CIFAR10 (arrays [N, H, W, C]) classes."""

    class MNIST:
        def __init__(self, root, train, download):
            assert download is False
            folder, split = Path(root) / "MNIST" / "raw", "train" if train else "t10k"
            self.data = torch.from_numpy(read_idx(folder / f"{split}-images-idx3-ubyte").copy())
            self.targets = torch.from_numpy(read_idx(folder / f"{split}-labels-idx1-ubyte").astype(np.int64))

    class CIFAR10:
        def __init__(self, root, train, download):
            if refuse_cifar:
                raise RuntimeError("Dataset not found or corrupted.")
            names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
            parts = [read_cifar_batch(Path(root) / "cifar-10-batches-py" / name) for name in names]
            self.data = np.concatenate([p[0] for p in parts]).transpose(0, 2, 3, 1)
            self.targets = [int(v) for p in parts for v in p[1]]

    return types.SimpleNamespace(datasets=types.SimpleNamespace(MNIST=MNIST, CIFAR10=CIFAR10))


@pytest.mark.parametrize("refuse_cifar", [False, True])
def test_torchvision_reads_what_the_built_in_readers_read(tmp_path, monkeypatch, refuse_cifar):
    write_mnist(tmp_path / "MNIST" / "raw")
    write_cifar(tmp_path / "cifar-10-batches-py")
    monkeypatch.delitem(sys.modules, "torchvision", raising=False)
    built_in = {name: load_dataset(name, tmp_path) for name in ("mnist", "cifar10")}
    data_module._cached.cache_clear()
    monkeypatch.setitem(sys.modules, "torchvision", _stand_in_torchvision(refuse_cifar))
    for name, kind in (("mnist", "MNIST"), ("cifar10", "CIFAR10")):
        dataset = load_dataset(name, tmp_path)
        refused = refuse_cifar and name == "cifar10"
        assert dataset.source.startswith("CIFAR-10 python batches" if refused else f"torchvision {kind} (")
        for split in ("train", "test"):
            assert torch.equal(getattr(dataset, split).inputs, getattr(built_in[name], split).inputs)
            assert torch.equal(getattr(dataset, split).targets, getattr(built_in[name], split).targets)
        assert torch.equal(dataset.mean, built_in[name].mean)
