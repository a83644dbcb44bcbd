import gzip
import pickle

import numpy as np
import pytest
import torch

from snninit_adapters.training import data as data_module
from snninit_adapters.training.data import (
    DatasetNotFoundError,
    bin_events,
    debian_fashion_mnist,
    describe,
    expected_files,
    load_dataset,
    prepare_fashion_mnist,
    read_cifar_batch,
    read_idx,
    read_nmnist_events,
)
from tests.training._files import nmnist_bytes, write_cifar, write_idx, write_mnist, write_nmnist


@pytest.fixture(autouse=True)
def no_debian(monkeypatch, tmp_path):
    """Keep the system's Debian data folder out of the tests that build their own (and out of the cache)."""
    monkeypatch.setattr(data_module, "DEBIAN_DATASETS", tmp_path / "no-debian")
    data_module._cached.cache_clear()
    yield
    data_module._cached.cache_clear()


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, compress):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a", array, compress)
    path = tmp_path / ("a.gz" if compress else "a")
    np.testing.assert_array_equal(read_idx(path), array)


def test_idx_rejects_other_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x00\x00\x0d\x01" + b"\x00" * 12)
    with pytest.raises(ValueError, match="not an unsigned-byte IDX"):
        read_idx(tmp_path / "bad")
    write_idx(tmp_path / "short", np.zeros((4, 2), np.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-1])
    with pytest.raises(ValueError, match="header says"):
        read_idx(tmp_path / "short")


@pytest.mark.parametrize(("name", "folder"), [("mnist", "MNIST/raw"), ("fashion-mnist", "fashion-mnist")])
def test_mnist_family_is_read_from_either_layout_and_normalised(tmp_path, name, folder):
    arrays = write_mnist(tmp_path / folder, compress=folder == "fashion-mnist")
    dataset = load_dataset(name, tmp_path)
    assert dataset.train.inputs.shape == (64, 1, 28, 28)
    assert dataset.test.inputs.shape == (32, 1, 28, 28)
    np.testing.assert_array_equal(dataset.train.inputs[:, 0].numpy(), arrays["train"][0])
    np.testing.assert_array_equal(dataset.test.targets.numpy(), arrays["t10k"][1])
    x = dataset.normalise(dataset.train.inputs).double()
    assert abs(float(x.mean())) < 1e-5
    assert abs(float(x.var(unbiased=False)) - 1) < 1e-4
    assert not dataset.sequence
    assert dataset.sample_shape == (1, 28, 28)


def test_missing_dataset_says_which_files_are_expected_where(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("mnist", tmp_path)
    message = str(info.value)
    assert str(tmp_path / "MNIST" / "raw") in message
    assert "train-images-idx3-ubyte" in message
    assert "nothing is downloaded" in message
    with pytest.raises(DatasetNotFoundError, match="cifar-10-batches-py"):
        load_dataset("cifar10", tmp_path)
    with pytest.raises(DatasetNotFoundError, match=r"NMNIST/Train/<digit 0-9>/\*\.bin"):
        load_dataset("nmnist", tmp_path)
    with pytest.raises(DatasetNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist", tmp_path)
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("imagenet", tmp_path)
    assert any(line == "fashion-mnist: missing" for line in describe(["fashion-mnist"], tmp_path))


def test_subsets_are_fixed_by_their_seed_and_keep_the_full_statistics(tmp_path):
    write_mnist(tmp_path / "MNIST" / "raw")
    full = load_dataset("mnist", tmp_path)
    a = load_dataset("mnist", tmp_path, train_size=10, test_size=5)
    b = load_dataset("mnist", tmp_path, train_size=10, test_size=5)
    c = load_dataset("mnist", tmp_path, train_size=10, subset_seed=1)
    assert len(a.train) == 10
    assert len(a.test) == 5
    assert torch.equal(a.train.inputs, b.train.inputs)
    assert not torch.equal(a.train.targets, c.train.targets)
    assert torch.equal(a.mean, full.mean)
    assert torch.equal(a.std, full.std)


def test_cifar10_python_batches(tmp_path):
    arrays = write_cifar(tmp_path / "cifar-10-batches-py")
    dataset = load_dataset("cifar10", tmp_path)
    assert dataset.train.inputs.shape == (20, 3, 32, 32)
    assert dataset.test.inputs.shape == (4, 3, 32, 32)
    data, labels = arrays["data_batch_1"]
    # the format is channel-major: the first 1024 bytes of a row are the red plane
    np.testing.assert_array_equal(dataset.train.inputs[0, 0].reshape(-1).numpy(), data[0, :1024])
    np.testing.assert_array_equal(dataset.train.inputs[1, 2].reshape(-1).numpy(), data[1, 2048:])
    assert dataset.train.targets[:4].tolist() == labels
    assert dataset.test.targets.tolist() == arrays["test_batch"][1]
    x = dataset.normalise(dataset.train.inputs).double()
    per_channel = x.transpose(0, 1).reshape(3, -1)
    torch.testing.assert_close(per_channel.mean(1), torch.zeros(3, dtype=torch.float64), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        per_channel.var(1, unbiased=False), torch.ones(3, dtype=torch.float64), atol=1e-4, rtol=0
    )


def test_cifar_reader_rejects_other_pickles(tmp_path):
    (tmp_path / "x").write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(ValueError, match="not a CIFAR-10 python batch"):
        read_cifar_batch(tmp_path / "x")


def test_nmnist_events_decode_with_timestamp_overflow(tmp_path):
    events = [(1, 2, 10, 1), (33, 0, 8191, 0), (5, 6, 100, 1)]
    (tmp_path / "a.bin").write_bytes(nmnist_bytes(events, overflow_after=1))
    decoded = read_nmnist_events(tmp_path / "a.bin")
    # the overflow marker adds 2**13 us to every later event and is dropped
    np.testing.assert_array_equal(decoded, [[1, 2, 10, 1], [33, 0, 8191, 0], [5, 6, 100 + 8192, 1]])


def test_binning_counts_events_per_frame_polarity_and_pixel():
    events = np.array([[1, 2, 0, 1], [1, 2, 999, 1], [3, 4, 1000, 0], [3, 4, 2999, 0], [3, 4, 3000, 0]])
    frames = bin_events(events, frames=3, bin_us=1000)
    assert frames.shape == (3, 2, 34, 34)
    assert frames.dtype == np.uint8
    assert frames[0, 1, 2, 1] == 2
    assert frames[1, 0, 4, 3] == 1
    assert frames[2, 0, 4, 3] == 1
    assert frames.sum() == 4  # the event at t = 3000 falls after the third frame


def test_nmnist_folder_layout_gives_frames_and_labels(tmp_path):
    write_nmnist(tmp_path, per_digit=2)
    dataset = load_dataset("nmnist", tmp_path, frames=4, bin_us=2000)
    assert dataset.sequence
    assert dataset.sample_shape == (2, 34, 34)
    assert dataset.train.inputs.shape == (20, 4, 2, 34, 34)
    assert sorted(dataset.train.targets.tolist()) == sorted(list(range(10)) * 2)
    assert int(dataset.train.inputs.sum()) == 20 * 50  # every event (t < 8000 us) lands in one of the 4 frames
    x = dataset.normalise(dataset.train.inputs).double()
    assert abs(float(x.mean())) < 1e-5
    assert abs(float(x.var(unbiased=False)) - 1) < 1e-4


def test_prepare_fashion_mnist_writes_torchvisions_layout(tmp_path):
    arrays = write_mnist(tmp_path / "source", compress=True)
    folder = prepare_fashion_mnist(tmp_path / "data", source=tmp_path / "source")
    assert folder == tmp_path / "data" / "FashionMNIST" / "raw"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    )
    np.testing.assert_array_equal(read_idx(folder / "t10k-images-idx3-ubyte"), arrays["t10k"][0])
    with gzip.open(tmp_path / "source" / "train-labels-idx1-ubyte.gz") as stream:
        assert (folder / "train-labels-idx1-ubyte").read_bytes() == stream.read()
    assert any(
        layout.startswith(str(tmp_path / "data" / "FashionMNIST" / "raw"))
        for layout in expected_files("fashion-mnist", tmp_path / "data")
    )


def test_debian_folder_is_searched_after_the_data_dir(tmp_path, monkeypatch):
    debian = tmp_path / "usr-share-datasets"
    write_mnist(debian / "fashion-mnist", compress=True)
    monkeypatch.setattr(data_module, "DEBIAN_DATASETS", debian)
    assert debian_fashion_mnist() == debian
    dataset = load_dataset("fashion-mnist", tmp_path / "empty")
    assert len(dataset.train) == 64
    assert str(debian) in dataset.source
