"""Benchmark: measure_activity against one plain no-grad forward pass of the same model on the same input.

For each model the reference is what a user pays anyway: reset the neurons' state and run the model
under ``torch.no_grad()`` (``steps`` calls for a single-step model with the time loop outside). The two
sides run interleaved, so load on the machine hits both alike; the table gives their medians and the
ratio of the medians. Target: ratio <= 1.3.

The first call of each side is a warm-up, reported on its own line and left out of the medians: a
framework's first neuron step can do one-off work (SpikingJelly 2.0 imports ``torch._inductor`` on its
first neuron step, seconds on a CPU), which belongs to no steady-state ratio.

Models: SpikingJelly's spiking ResNet-18 and SEW-ResNet-18 with IFNode and LIFNode (multi-step,
T = 4, batch 1, 3 x 64 x 64 unless ``--sj-batch`` / ``--sj-size`` say otherwise; needs torchvision),
the snnTorch tutorial CSNN (time loop inside, T = 4, batch 32), Norse's ConvNet (T = 4, batch 32) and
a plain snnTorch MLP of 10 Linear(100, 100) + Leaky layers (single-step, ``steps=4``, batch 32).

At batch 1 and 64 x 64 the ResNets' layers are small, so fixed costs set the monitor's ratio: the
copy of the model, classifying its modules, the hooks and torch's cost per operation (steps of fewer
than 16384 values are counted and reduced together at the end of the run, the others per call); larger
inputs (``--sj-batch 8 --sj-size 128``) show the ratio where the data dominate. The MLP's forward
(40 neuron calls of 3200 values, about 5 ms) is where the fixed costs weigh most.

Run: ``OMP_NUM_THREADS=1 python benchmarks/measure_activity.py [--repeats 15] [--threads 1]
[--models spiking-if,spiking-lif,sew-if,sew-lif,csnn,convnet,mlp] [--sj-batch 1] [--sj-size 64]``
(the SpikingJelly models need torchvision, e.g. the ``spikingjelly`` tox env).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from zoo import tutorial_csnn

import snninit_adapters
from snninit_adapters import get_plugin_manager, measure_activity
from snninit_adapters.model import reset_state

Case = tuple[nn.Module, torch.Tensor, int | None]


SJ_INPUT = {"batch": 1, "size": 64}  # --sj-batch / --sj-size


def spikingjelly(arch: str, kind: str) -> Case:
    from spikingjelly.activation_based import functional, neuron
    from spikingjelly.activation_based.model import sew_resnet, spiking_resnet

    cell = {"if": neuron.IFNode, "lif": neuron.LIFNode}[kind]
    if arch == "sew":
        net = sew_resnet.sew_resnet18(spiking_neuron=cell, cnf="ADD")
    else:
        net = spiking_resnet.spiking_resnet18(spiking_neuron=cell)
    functional.set_step_mode(net, "m")
    batch, size = SJ_INPUT["batch"], SJ_INPUT["size"]
    return net.eval(), torch.randn(4, batch, 3, size, size, generator=torch.Generator().manual_seed(0)), None


def csnn() -> Case:
    return tutorial_csnn(), torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(0)), None


def convnet() -> Case:
    from norse.torch.models.conv import ConvNet

    return ConvNet(), torch.rand(4, 32, 1, 28, 28, generator=torch.Generator().manual_seed(0)), None


def mlp() -> Case:
    import snntorch as snn

    layers: list[nn.Module] = []
    for _ in range(10):
        layers += [nn.Linear(100, 100), snn.Leaky(beta=0.5, init_hidden=True)]
    return nn.Sequential(*layers), torch.randn(32, 100, generator=torch.Generator().manual_seed(0)), 4


CASES: dict[str, tuple[str, Callable[[], Case]]] = {
    "spiking-if": ("SJ spiking_resnet18, IFNode", lambda: spikingjelly("spiking", "if")),
    "spiking-lif": ("SJ spiking_resnet18, LIFNode", lambda: spikingjelly("spiking", "lif")),
    "sew-if": ("SJ sew_resnet18, IFNode", lambda: spikingjelly("sew", "if")),
    "sew-lif": ("SJ sew_resnet18, LIFNode", lambda: spikingjelly("sew", "lif")),
    "csnn": ("snnTorch tutorial CSNN", csnn),
    "convnet": ("Norse ConvNet", convnet),
    "mlp": ("snnTorch 10 x 100 MLP", mlp),
}


def plain(model: nn.Module, x: torch.Tensor, steps: int | None) -> Any:
    """One plain no-grad forward pass (``steps`` calls), after resetting the neurons as the monitor does."""
    reset_state(get_plugin_manager(), model)
    with torch.no_grad():
        for _ in range(steps or 1):
            out = model(x)
    return out


def seconds(function: Callable[[], Any]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def run(key: str, repeats: int) -> None:
    name, build = CASES[key]
    torch.manual_seed(0)
    try:
        model, x, steps = build()
    except ImportError as error:
        print(f"| {name} | skipped: {error} | | | | |")
        return
    sides = {
        "forward": lambda: plain(model, x, steps),
        "measure_activity": lambda: measure_activity(model, x, steps=steps),
    }
    warm = {label: seconds(function) for label, function in sides.items()}  # first calls: one-off work
    times: dict[str, list[float]] = {label: [] for label in sides}
    for _ in range(repeats):  # interleaved
        for label, function in sides.items():
            times[label].append(seconds(function))
    forward_s, monitor_s = (statistics.median(times[label]) for label in sides)
    print(f"| {name} | {warm['forward']:.3f} / {warm['measure_activity']:.3f} | {forward_s * 1e3:.1f} | "
          f"{monitor_s * 1e3:.1f} | {monitor_s / forward_s:.2f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(CASES))
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: leave torch's default)")
    parser.add_argument("--sj-batch", type=int, default=1, help="batch of the SpikingJelly ResNets' input")
    parser.add_argument("--sj-size", type=int, default=64, help="height and width of their input")
    args = parser.parse_args()
    SJ_INPUT.update(batch=args.sj_batch, size=args.sj_size)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {args.repeats} interleaved repeats, "
        f"SpikingJelly input B = {args.sj_batch}, 3 x {args.sj_size} x {args.sj_size}, "
        f"snninit_adapters from {snninit_adapters.__file__}"
    )
    print("| model | warm-up s (first forward / first measure_activity) | forward ms | measure_activity ms | ratio |")
    print("|---|---|---|---|---|")
    for key in args.models.split(","):
        run(key, args.repeats)
    print("ratio: median measure_activity / median plain forward (target <= 1.3)")


if __name__ == "__main__":
    main()
