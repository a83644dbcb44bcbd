"""The real Fashion-MNIST from Debian's dataset-fashion-mnist package (skipped where it is not installed)."""

import pytest
import torch

from snninit_adapters.training.data import debian_fashion_mnist, load_dataset

DEBIAN = debian_fashion_mnist()
pytestmark = pytest.mark.skipif(
    DEBIAN is None, reason="Fashion-MNIST not installed: apt-get install dataset-fashion-mnist"
)


def test_the_full_dataset_is_read_and_normalised():
    dataset = load_dataset("fashion-mnist", DEBIAN)
    assert dataset.train.inputs.shape == (60000, 1, 28, 28)
    assert dataset.test.inputs.shape == (10000, 1, 28, 28)
    assert torch.bincount(dataset.train.targets).tolist() == [6000] * 10
    assert torch.bincount(dataset.test.targets).tolist() == [1000] * 10
    # Fashion-MNIST's published pixel statistics: mean 0.2860, std 0.3530 (in [0, 1] units)
    assert abs(float(dataset.mean) / 255 - 0.2860) < 1e-3
    assert abs(float(dataset.std) / 255 - 0.3530) < 1e-3
    x = dataset.normalise(dataset.train.inputs[:20000]).double()
    assert abs(float(x.mean())) < 0.01
    assert abs(float(x.var()) - 1) < 0.02
