"""The training networks built from SpikingJelly, and torchvision's readers (this env has torchvision)."""

import importlib.util

import numpy as np
import pytest
import torch

from integration._training import (
    assert_learns,
    assert_resumes_bit_for_bit,
    init_report,
    learning_run,
    needs_fashion,
    silent_start,
    tiny_cell,
)
from snninit_adapters.training import data as data_module
from snninit_adapters.training.data import load_dataset, read_idx
from snninit_adapters.training.models import ModelConfig, build_model
from tests.training._files import write_cifar, write_mnist

has_torchvision = importlib.util.find_spec("torchvision") is not None


def test_lif_nodes_follow_the_papers_neuron():
    model = build_model(ModelConfig("mlp", "spikingjelly", depth=2, width=32, beta=0.75, theta=0.5), (1, 28, 28))
    nodes = [m for m in model.modules() if type(m).__name__ == "LIFNode"]
    assert len(nodes) == 4
    for node in nodes:
        assert (node.tau, node.decay_input, node.v_threshold, node.v_reset, node.step_mode) == (
            4.0,
            False,
            0.5,
            None,
            "m",
        )
        assert type(node.surrogate_function).__name__ == "ATan"
    assert model(torch.randn(5, 1, 28, 28)).shape == (3, 5, 10)
    with pytest.raises(ValueError, match="0 < beta < 1"):
        build_model(ModelConfig("mlp", "spikingjelly", beta=0.0), (1, 28, 28))


@pytest.mark.parametrize("architecture", ["mlp", "cnn"])
def test_apply_snn_init_reads_every_layer(architecture):
    model, x, report = init_report("spikingjelly", architecture)
    assert all(layer.downstream and not any(n.probed for n in layer.downstream) for layer in report.layers)
    assert model(x).shape == (3, 16, 10)


@needs_fashion
def test_proposed_mlp_fires_in_its_last_layer_and_kaiming_is_silent():
    spikes = silent_start("spikingjelly")
    assert spikes["micheli2024"] > 0, spikes
    assert spikes["kaiming"] == 0, spikes


@needs_fashion
def test_proposed_mlp_learns_on_real_fashion_mnist():
    assert_learns(learning_run("spikingjelly"))


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setattr(data_module, "DEBIAN_DATASETS", tmp_path / "none")
    data_module._cached.cache_clear()
    yield tmp_path
    data_module._cached.cache_clear()


@pytest.mark.skipif(not has_torchvision, reason="torchvision is not installed")
def test_torchvision_reads_the_mnist_layout_like_the_built_in_reader(folder):
    raw = folder / "FashionMNIST" / "raw"
    arrays = write_mnist(raw)
    dataset = load_dataset("fashion-mnist", folder)
    assert dataset.source.startswith("torchvision FashionMNIST")
    np.testing.assert_array_equal(dataset.train.inputs[:, 0].numpy(), read_idx(raw / "train-images-idx3-ubyte"))
    np.testing.assert_array_equal(dataset.test.targets.numpy(), arrays["t10k"][1])
    assert dataset.train.inputs.dtype == torch.uint8
    assert dataset.train.targets.dtype == torch.int64


@pytest.mark.skipif(not has_torchvision, reason="torchvision is not installed")
def test_cifar_files_torchvision_rejects_are_read_by_the_built_in_reader(folder):
    # torchvision checks the official files' md5 sums; the tiny test files fail it
    arrays = write_cifar(folder / "cifar-10-batches-py")
    dataset = load_dataset("cifar10", folder)
    assert dataset.source.startswith("CIFAR-10 python batches")
    np.testing.assert_array_equal(dataset.test.inputs.reshape(4, -1).numpy(), arrays["test_batch"][0])


@pytest.mark.parametrize("architecture", ["mlp", "cnn"])
def test_a_cell_interrupted_in_epoch_3_resumes_to_the_uninterrupted_result(tmp_path, architecture):
    write_mnist(tmp_path / "MNIST" / "raw")
    assert_resumes_bit_for_bit(tiny_cell("spikingjelly", architecture), tmp_path, tmp_path / "cell.ckpt")
