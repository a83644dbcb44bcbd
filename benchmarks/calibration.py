"""Benchmark: calibrated apply_snn_init, its accuracy on a fresh batch and its cost against one forward pass.

Accuracy. Each model is initialised from a calibration batch (``calibrate=True``), then measured by
the activity monitor on a *fresh* batch from the same distribution. For ``target="variance"`` every
neuron population's first-step Var[u] should be within 5% of the target (1); for ``target="rate"``
its time-averaged rate within 5% of the rate the paper's criterion implies (0.1587 at theta = 1). The
table also gives the analytic plan's numbers on the same fresh batch.

Cost. Calibrated apply_snn_init on SpikingJelly's SEW-ResNet-18 (multi-step, T = 4, batch 8,
3 x 64 x 64) against one no-grad forward pass of the same batch, measured in the same run; target <= 10.

Run: ``python benchmarks/calibration.py [--models sew,vgg,spikformer,csnn,convnet] [--quick]`` (needs
spikingjelly with torchvision for the SpikingJelly models, snnTorch and Norse for theirs).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn
from zoo import tutorial_csnn

from snninit_adapters import apply_snn_init, measure_activity

TARGET_RATE = 0.15865525393145707  # P(u > 1) at Var[u] = 1


def spikingjelly(name: str, size: int, steps: int, batch: int) -> tuple[nn.Module, Callable[[int], torch.Tensor]]:
    from spikingjelly.activation_based import functional, neuron
    from spikingjelly.activation_based.model import sew_resnet, spikformer, spiking_vgg

    build = {
        "sew": lambda: sew_resnet.sew_resnet18(spiking_neuron=neuron.IFNode, cnf="ADD"),
        "vgg": lambda: spiking_vgg.spiking_vgg11_bn(spiking_neuron=neuron.LIFNode, num_classes=10),
        "spikformer": lambda: spikformer.spikformer_cifar10(T=steps),
    }[name]
    net = build()
    functional.set_step_mode(net, "m")
    return net, lambda seed: torch.randn(steps, batch, 3, size, size, generator=torch.Generator().manual_seed(seed))


def csnn(batch: int) -> tuple[nn.Module, Callable[[int], torch.Tensor]]:
    return tutorial_csnn(), lambda seed: torch.rand(batch, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def convnet(batch: int) -> tuple[nn.Module, Callable[[int], torch.Tensor]]:
    from norse.torch.models.conv import ConvNet

    return ConvNet(), lambda seed: torch.rand(4, batch, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def fresh_values(model: nn.Module, x: torch.Tensor, report, target: str) -> dict[str, float]:
    activity = measure_activity(model, x)
    values = {}
    for row in report.calibration:
        rows = activity.layer(row.neuron)
        if target == "variance":
            values[row.neuron] = rows[0].u_var
        else:
            values[row.neuron] = sum(r.spikes for r in rows) / sum(r.neurons for r in rows)
    return values


def accuracy(name: str, build: Callable[[], tuple[nn.Module, Callable[[int], torch.Tensor]]], target: str) -> None:
    torch.manual_seed(0)
    model, batch = build()
    goal = 1.0 if target == "variance" else TARGET_RATE
    analytic = apply_snn_init(model, batch(0), generator=torch.Generator().manual_seed(1))
    start = time.perf_counter()
    report = apply_snn_init(model, batch(0), calibrate=True, target=target, generator=torch.Generator().manual_seed(1))
    seconds = time.perf_counter() - start
    calibrated = fresh_values(model, batch(7), report, target)
    apply_snn_init(model, batch(0), generator=torch.Generator().manual_seed(1))  # the analytic plan again
    plain = fresh_values(model, batch(7), report, target)
    within = [abs(v / goal - 1) <= 0.05 for v in calibrated.values()]
    worst = max(calibrated.values(), key=lambda v: abs(v / goal - 1))
    worst_plain = max(plain.values(), key=lambda v: abs(v / goal - 1))
    passes = max(row.passes for row in report.calibration)
    print(f"| {name} | {target} | {len(within)} | {sum(within)} | {worst:.4g} | {worst_plain:.4g} | {passes} | "
          f"{seconds:.1f} s |")  # fmt: skip
    del analytic


def cost(repeats: int, size: int) -> None:
    from spikingjelly.activation_based import functional

    net, batch = spikingjelly("sew", size, 4, 8)
    x = batch(0)

    def forward() -> None:
        with torch.no_grad():
            net(x)
        functional.reset_net(net)

    def calibrated() -> None:
        apply_snn_init(net, x, calibrate=True, generator=torch.Generator().manual_seed(1))

    forward()
    calibrated()  # warm-up: the frameworks' first calls import and compile
    times: dict[str, list[float]] = {"forward": [], "calibrated": []}
    for _ in range(repeats):  # interleaved, so load on the machine hits both alike
        for label, function in (("forward", forward), ("calibrated", calibrated)):
            start = time.perf_counter()
            function()
            times[label].append(time.perf_counter() - start)
    forward_s, calibrated_s = (statistics.median(times[k]) for k in ("forward", "calibrated"))
    print(f"SEW-ResNet-18, T = 4, batch 8, 3 x {size} x {size}: one forward {forward_s:.3f} s, calibrated "
          f"apply_snn_init {calibrated_s:.3f} s, ratio {calibrated_s / forward_s:.2f} (target <= 10)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="sew,vgg,spikformer,csnn,convnet")
    parser.add_argument("--size", type=int, default=64, help="image size of the SpikingJelly models")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-cost", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    builders = {
        "sew": ("SEW-ResNet-18 (SJ, T=4)", lambda: spikingjelly("sew", args.size, 4, args.batch)),
        "vgg": ("spiking VGG-11-BN (SJ, T=4)", lambda: spikingjelly("vgg", args.size, 4, args.batch)),
        "spikformer": ("Spikformer CIFAR-10 (SJ, T=4)", lambda: spikingjelly("spikformer", 32, 4, args.batch)),
        "csnn": ("snnTorch tutorial CSNN (T=4)", lambda: csnn(32 * args.batch)),
        "convnet": ("Norse ConvNet (T=4)", lambda: convnet(32 * args.batch)),
    }
    print("| model | target | populations | within 5% | worst, calibrated | worst, analytic | passes | time |")
    print("|---|---|---|---|---|---|---|---|")
    for key in args.models.split(","):
        name, build = builders[key]
        for target in ("variance", "rate"):
            accuracy(name, build, target)
    if not args.no_cost:
        cost(args.repeats, args.size)


if __name__ == "__main__":
    main()
