"""Benchmark: one epoch on the full Fashion-MNIST under four initialisations, same seeds and data order.

Two networks: a deep spiking CNN with BatchNorm in SpikingJelly (LIFNode, input gain 1/tau = 0.5,
multi-step mode) and the paper's MLP (10 hidden layers of 600 snnTorch Leaky neurons). Each starts
from the same PyTorch default weights (seed 0) and is trained for one epoch (Adam, lr 1e-3, batch 64,
T = 3, the spike-count cross entropy), then tested, after one of:

- ``default``: the framework's own initialisation, untouched;
- ``kaiming``: ``apply_snn_init(method="kaiming")``;
- ``analytic``: ``apply_snn_init()`` (the paper's rule; BatchNorm's gamma carries the scale);
- ``calibrated``: ``apply_snn_init(calibrate=True)`` on 256 training images.

Run: ``python benchmarks/calibration_training.py [--networks cnn,mlp] [--train-size N]`` (needs Debian's
``dataset-fashion-mnist``, spikingjelly and snnTorch). Prints test accuracy and the epoch's time.
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from torch import nn

from snninit_adapters import apply_snn_init
from snninit_adapters.training.data import debian_fashion_mnist, load_dataset
from snninit_adapters.training.models import ModelConfig, build_model, spike_count_loss

STEPS = 3


class BatchNormCNN(nn.Module):
    """Conv-BN-LIF x 4 (two 2x2 max-pools), then a linear readout to LIF output neurons, multi-step."""

    def __init__(self, channels: int = 16) -> None:
        super().__init__()
        from spikingjelly.activation_based import layer, neuron

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [layer.Conv2d(c_in, c_out, 3, padding=1, bias=False), layer.BatchNorm2d(c_out), neuron.LIFNode()]

        self.body = nn.Sequential(
            *block(1, channels), *block(channels, channels), layer.MaxPool2d(2),
            *block(channels, 2 * channels), *block(2 * channels, 2 * channels), layer.MaxPool2d(2),
            layer.Flatten(), layer.Linear(2 * channels * 7 * 7, 10), neuron.LIFNode(),
        )  # fmt: skip
        from spikingjelly.activation_based import functional

        functional.set_step_mode(self, "m")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from spikingjelly.activation_based import functional

        functional.reset_net(self)
        return self.body(x.unsqueeze(0).expand(STEPS, *x.shape))


def build(network: str) -> nn.Module:
    torch.manual_seed(0)
    if network == "cnn":
        return BatchNormCNN()
    return build_model(ModelConfig("mlp", "snntorch", steps=STEPS), (1, 28, 28))


def initialise(model: nn.Module, how: str, example: torch.Tensor) -> float:
    start = time.perf_counter()
    generator = torch.Generator().manual_seed(1)
    if how == "kaiming":
        apply_snn_init(model, example, method="kaiming", generator=generator)
    elif how == "analytic":
        apply_snn_init(model, example, generator=generator)
    elif how == "calibrated":
        apply_snn_init(model, example, calibrate=True, generator=generator)
    return time.perf_counter() - start


def accuracy(model: nn.Module, data, split) -> float:
    correct = 0
    model.eval()
    with torch.no_grad():
        for start in range(0, len(split), 1000):
            x = data.normalise(split.inputs[start : start + 1000])
            correct += int((model(x).sum(0).argmax(1) == split.targets[start : start + 1000]).sum())
    model.train()
    return correct / len(split)


def one_epoch(network: str, how: str, data) -> tuple[float, float, float, float]:
    model = build(network)
    example = data.normalise(data.train.inputs[:256])
    init_seconds = initialise(model, how, example)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(0))
    start, losses = time.perf_counter(), []
    model.train()
    for index in range(math.ceil(len(order) / 64)):
        chosen = order[index * 64 : (index + 1) * 64]
        loss = spike_count_loss(model(data.normalise(data.train.inputs[chosen])), data.train.targets[chosen])
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        losses.append(float(loss))
    seconds = time.perf_counter() - start
    return accuracy(model, data, data.test), sum(losses[:20]) / 20, init_seconds, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", default="cnn,mlp")
    parser.add_argument("--train-size", type=int, default=None, help="a fixed subset (default: all 60000)")
    args = parser.parse_args()
    root = debian_fashion_mnist()
    if root is None:
        raise SystemExit("needs Fashion-MNIST: apt-get install dataset-fashion-mnist")
    data = load_dataset("fashion-mnist", root, train_size=args.train_size)
    print(f"Fashion-MNIST: {len(data.train)} training, {len(data.test)} test images; one epoch each")
    print("| network | init | test accuracy | loss of the first 20 batches | init time | epoch time |")
    print("|---|---|---|---|---|---|")
    names = {"cnn": "SpikingJelly CNN with BatchNorm (LIFNode, g = 0.5)", "mlp": "snnTorch MLP, 10 x 600"}
    for network in args.networks.split(","):
        for how in ("default", "kaiming", "analytic", "calibrated"):
            test, early, init_s, epoch_s = one_epoch(network, how, data)
            print(f"| {names[network]} | {how} | {100 * test:.1f}% | {early:.3f} | {init_s:.1f} s | {epoch_s:.0f} s |",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
