"""Benchmark: apply_snn_init on SpikingJelly's spiking ResNet-18 against Kaiming plus one forward pass.

Both sides see the same model (multi-step mode, IFNode neurons) and the same input (batch 1, T = 4,
3 x 224 x 224). The reference is what a user pays anyway: re-initialise every conv/linear layer with
``torch.nn.init.kaiming_normal_`` and run one no-grad forward pass. Target: ratio <= 2.0.

Run: ``python benchmarks/bench_apply_resnet.py [--repeats 5] [--arch spiking|sew] [--size 224]``
(needs spikingjelly and torchvision; the ``spikingjelly`` tox env has both).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from spikingjelly.activation_based import functional, neuron
from spikingjelly.activation_based.model import sew_resnet, spiking_resnet
from torch import nn

from snninit_adapters import apply_snn_init


def build(arch: str) -> nn.Module:
    if arch == "sew":
        net = sew_resnet.sew_resnet18(spiking_neuron=neuron.IFNode, cnf="ADD")
    else:
        net = spiking_resnet.spiking_resnet18(spiking_neuron=neuron.IFNode)
    functional.set_step_mode(net, "m")
    return net.eval()


def kaiming_and_forward(net: nn.Module, x: torch.Tensor) -> None:
    for module in net.modules():
        if isinstance(module, nn.Linear | nn.Conv2d):
            nn.init.kaiming_normal_(module.weight)
    with torch.no_grad():
        net(x)
    functional.reset_net(net)


def timed(function, net: nn.Module, x: torch.Tensor, repeats: int) -> list[float]:
    function(net, x)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(net, x)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--arch", choices=("spiking", "sew"), default="spiking")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    torch.manual_seed(0)
    net = build(args.arch)
    x = torch.randn(args.steps, 1, 3, args.size, args.size)
    reference = timed(kaiming_and_forward, net, x, args.repeats)
    ours = timed(lambda n, i: apply_snn_init(n, i), net, x, args.repeats)
    report = apply_snn_init(net, x, dry_run=True)
    ref, mine = statistics.median(reference), statistics.median(ours)
    print(f"model: {args.arch}_resnet18 (IFNode, multi-step), input {tuple(x.shape)}, {len(report)} weight layers")
    print(f"Kaiming + one forward pass: median {ref:.3f} s over {args.repeats} runs")
    print(f"apply_snn_init:             median {mine:.3f} s over {args.repeats} runs")
    print(f"ratio: {mine / ref:.2f} (target <= 2.0)")


if __name__ == "__main__":
    main()
