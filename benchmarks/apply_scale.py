"""Benchmark: apply_snn_init's peak memory and time on real models, against one forward pass.

For each model and input (SpikingJelly's spiking ResNet-18/50 and SEW-ResNet-18/50 with IFNode neurons in
multi-step mode, B = 1, 3 x S x S, T steps; a 1 GiB MLP of four 8192 x 8192 linear layers) it prints:

- **memory**: the peak resident memory above the built model of one no-grad forward pass and of
  ``apply_snn_init``, each measured in a fresh process (the kernel's high-water mark, reset just before
  the measured call), and the target: apply <= forward + 1.1 x the parameters' size;
- **time**: the median of interleaved repeats of the reference (Kaiming on every conv/linear layer plus
  one no-grad forward pass, what a user pays anyway) and of ``apply_snn_init``, and their ratio against
  the target (<= 1.5 at 224 x 224, <= 2.0 at 64 x 64 and on the MLP).

Every process first runs a tiny forward pass and a tiny ``apply_snn_init`` on a separate small model, so
that one-off imports are not measured: SpikingJelly 2.0 imports ``torch._inductor`` on its first neuron
step. That first call's time is printed on its own line, not hidden in a ratio.

Run (needs spikingjelly and torchvision, e.g. the ``spikingjelly`` tox env or a venv with both)::

    python benchmarks/apply_scale.py                 # every model, sizes 224 and 64, T = 1, 4, 16
    python benchmarks/apply_scale.py --quick         # ResNet-18s at 64, T = 4, and the MLP
    python benchmarks/apply_scale.py --models sew_resnet50 --sizes 224 --steps 4 --repeats 5

Pass ``--threads`` to set torch's intra-op threads (default 1, steadier when the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from typing import Any

MODELS = ("spiking_resnet18", "spiking_resnet50", "sew_resnet18", "sew_resnet50", "mlp1g")
_KIB = 1024


def _status(key: str) -> int:
    """A field of /proc/self/status, in bytes."""
    with open("/proc/self/status") as status:
        match = re.search(rf"^{key}:\s+(\d+) kB", status.read(), re.MULTILINE)
    assert match is not None, key
    return int(match.group(1)) * _KIB


def _reset_peak() -> None:
    """Reset the kernel's high-water mark of this process's resident memory to its current size."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def build(name: str) -> Any:
    import torch
    from spikingjelly.activation_based import functional, neuron
    from torch import nn

    torch.manual_seed(0)
    if name == "mlp1g":
        layers: list[nn.Module] = []
        for _ in range(4):
            layers += [nn.Linear(8192, 8192), neuron.IFNode()]
        net = nn.Sequential(*layers)
    else:
        from spikingjelly.activation_based.model import sew_resnet, spiking_resnet

        family = sew_resnet if name.startswith("sew") else spiking_resnet
        kwargs = {"cnf": "ADD"} if name.startswith("sew") else {}
        net = getattr(family, name)(spiking_neuron=neuron.IFNode, **kwargs)
    functional.set_step_mode(net, "m")
    return net.eval()


def example(name: str, size: int, steps: int) -> Any:
    import torch

    generator = torch.Generator().manual_seed(1)
    if name == "mlp1g":
        return torch.randn(steps, 1, 8192, generator=generator)
    return torch.randn(steps, 1, 3, size, size, generator=generator)


def reference(net: Any, x: Any) -> None:
    """What a user pays anyway: Kaiming on every conv/linear layer and one no-grad forward pass."""
    import torch
    from spikingjelly.activation_based import functional
    from torch import nn

    for module in net.modules():
        if isinstance(module, nn.Linear | nn.Conv2d):
            nn.init.kaiming_normal_(module.weight)
    with torch.no_grad():
        net(x)
    functional.reset_net(net)


def forward(net: Any, x: Any) -> None:
    import torch
    from spikingjelly.activation_based import functional

    with torch.no_grad():
        net(x)
    functional.reset_net(net)


def apply(net: Any, x: Any) -> None:
    from snninit_adapters import apply_snn_init

    apply_snn_init(net, x)


def _warm_up() -> float:
    """One tiny forward pass and one tiny apply_snn_init (one-off imports); the seconds they took."""
    import torch
    from spikingjelly.activation_based import functional, layer, neuron
    from torch import nn

    start = time.perf_counter()
    tiny = nn.Sequential(
        layer.Conv2d(3, 4, 3), neuron.IFNode(), layer.Flatten(), layer.Linear(4 * 6 * 6, 2), neuron.IFNode()
    )
    functional.set_step_mode(tiny, "m")
    x = torch.randn(2, 1, 3, 8, 8)
    forward(tiny, x)
    apply(tiny, x)
    return time.perf_counter() - start


def child_memory(name: str, size: int, steps: int, which: str) -> dict[str, Any]:
    import torch

    first = _warm_up()
    net = build(name)
    x = example(name, size, steps)
    parameters = sum(p.numel() * p.element_size() for p in net.parameters())
    before = _status("VmRSS")
    _reset_peak()
    {"forward": forward, "apply": apply}[which](net, x)
    peak = _status("VmHWM") - before
    del torch
    return {"peak": peak, "parameters": parameters, "first_call": first}


def child_time(name: str, size: int, steps: int, repeats: int) -> dict[str, Any]:
    first = _warm_up()
    net = build(name)
    x = example(name, size, steps)
    reference(net, x)
    apply(net, x)
    ref_times, apply_times = [], []
    for _ in range(repeats):  # interleaved, so that a slower spell of the machine hits both
        for function, times in ((reference, ref_times), (apply, apply_times)):
            start = time.perf_counter()
            function(net, x)
            times.append(time.perf_counter() - start)
    return {"reference": statistics.median(ref_times), "apply": statistics.median(apply_times), "first_call": first}


def _run_child(args: argparse.Namespace, *extra: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--threads", str(args.threads), *extra]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cases(args: argparse.Namespace) -> list[tuple[str, int, int]]:
    cases = []
    for name in args.models:
        if name == "mlp1g":
            cases.append((name, 0, 1))
            continue
        cases += [(name, size, steps) for size in args.sizes for steps in args.steps]
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--sizes", nargs="+", type=int, default=[224, 64])
    parser.add_argument("--steps", nargs="+", type=int, default=[1, 4, 16])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="ResNet-18s at 64 x 64, T = 4, and the MLP")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-time", action="store_true")
    parser.add_argument("--child", nargs=4, metavar=("KIND", "MODEL", "SIZE", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.child:
        kind, name, size, steps = args.child
        if kind == "time":
            result = child_time(name, int(size), int(steps), args.repeats)
        else:
            result = child_memory(name, int(size), int(steps), kind)
        print(json.dumps(result))
        return
    if args.quick:
        args.models, args.sizes, args.steps = ["spiking_resnet18", "sew_resnet18", "mlp1g"], [64], [4]
    print(f"torch {torch.__version__}, {args.threads} thread(s), B = 1, IFNode multi-step")
    header = f"{'model':<17} {'input':>13}  {'params':>8}  {'fwd peak':>9}  {'apply peak':>10}  {'budget':>8}  mem"
    header += f"   {'ref s':>7}  {'apply s':>7}  {'ratio':>5}  {'target':>6}  time"
    print(header)
    first_calls = []
    for name, size, steps in _cases(args):
        line = f"{name:<17} {('8192' if name == 'mlp1g' else f'T={steps} {size}x{size}'):>13}"
        if not args.skip_memory:
            fwd = _run_child(args, "--child", "forward", name, str(size), str(steps))
            app = _run_child(args, "--child", "apply", name, str(size), str(steps))
            first_calls.append(fwd["first_call"])
            budget = fwd["peak"] + 1.1 * app["parameters"]
            mb = 1 << 20
            line += f"  {app['parameters'] / mb:7.0f}M  {fwd['peak'] / mb:8.0f}M  {app['peak'] / mb:9.0f}M"
            line += f"  {budget / mb:7.0f}M  {'ok' if app['peak'] <= budget else 'OVER'}"
        if not args.skip_time:
            timing = _run_child(args, "--child", "time", name, str(size), str(steps))
            target = 1.5 if size == 224 else 2.0
            ratio = timing["apply"] / timing["reference"]
            line += f"   {timing['reference']:7.3f}  {timing['apply']:7.3f}  {ratio:5.2f}  {target:6.1f}"
            line += f"  {'ok' if ratio <= target else 'MISS'}"
            first_calls.append(timing["first_call"])
        print(line, flush=True)
    if first_calls:
        print(
            f"first call in a fresh process (a tiny forward and apply: SpikingJelly imports torch._inductor on its "
            f"first neuron step): median {statistics.median(first_calls):.2f} s, not counted above"
        )


if __name__ == "__main__":
    main()
