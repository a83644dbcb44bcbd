import pytest

from snninit_adapters.training import data as data_module
from snninit_adapters.training.data import DatasetNotFoundError
from snninit_adapters.training.reproduce import run_training
from tests.training._files import write_mnist


@pytest.fixture
def no_debian_data(tmp_path, monkeypatch):
    monkeypatch.setattr(data_module, "DEBIAN_DATASETS", tmp_path / "none")


def test_missing_datasets_are_skipped_up_front(tmp_path, no_debian_data):
    write_mnist(tmp_path / "data" / "MNIST" / "raw")
    result = run_training(
        8, data_dir=tmp_path / "data", out=tmp_path / "out", backend="serial", methods=["micheli2024"],
        panels=[("mlp", "mnist"), ("mlp", "fashion-mnist")], progress=False, plot=False,
        epochs=1, train_size=32, test_size=16, width=20, depth=2, batch_size=16,
    )  # fmt: skip
    assert result.skipped_datasets == ("fashion-mnist",)
    assert {cell["dataset"] for cell in result.outcome.cells} == {"mnist"}


def test_a_grid_with_no_data_at_all_says_what_is_expected(tmp_path, no_debian_data):
    with pytest.raises(DatasetNotFoundError, match="no dataset of this grid is on disk") as info:
        run_training(8, data_dir=tmp_path, out=tmp_path / "out", panels=[("cnn", "cifar10")], progress=False)
    assert "cifar-10-batches-py" in str(info.value)
