"""Benchmark: the cost of the exact survival law, in `snninit theory` and in `apply_snn_init`'s report.

Part 1 runs worst-case `snninit theory` calls (widths up to 65536, depth up to 1000, thresholds 0..10),
each in a fresh subprocess, and prints its wall time and peak RSS (``os.wait4``'s ``ru_maxrss`` of that
child) against the targets of 5 s and 500 MB. Part 2 applies the paper's initialisation to a 10 x 100
SpikingJelly IFNode MLP at thresholds 0, 0.5, ..., 3 (each in a fresh subprocess) and prints the share
of the apply spent in the survival part of the report (the chain law and its advice), measured in the
same run. Each child runs under a time limit and an address-space cap (``--timeout``, ``--max-memory-mb``);
a child stopped by either is reported as over the cap.

Run: ``OMP_NUM_THREADS=1 python benchmarks/survival.py [--quick] [--timeout 60] [--max-memory-mb 2000]``
(``PYTHONPATH=...`` picks the library under test).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time

TARGET_SECONDS, TARGET_MB = 5.0, 500.0
ADVICE_SHARE_TARGET = 0.05
CLI_CASES = [(width, depth, theta) for width in (600, 65536) for depth in (100, 1000)
             for theta in (0.0, 0.5, 1.0, 1.2, 1.5, 3.0, 10.0)] + [(4096, 100, 1.0), (1, 1, 1.0)]  # fmt: skip
QUICK_CASES = [(600, 100, 1.0), (600, 100, 3.0), (65536, 1000, 1.0), (65536, 1000, 10.0)]

MLP_CHILD = """
import json, sys, time
import torch
from torch import nn
from spikingjelly.activation_based import neuron
import snninit_adapters.planner as planner
import snninit_adapters.survival as survival
from snninit_adapters import apply_snn_init

theta = float(sys.argv[1])
spent = {"survival": 0.0, "advice": 0.0}
def timer(function, key):
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - start
    return timed
planner.chain_survival = timer(planner.chain_survival, "survival")
survival._advice = timer(survival._advice, "advice")
torch.manual_seed(0)
layers = []
for _ in range(10):
    layers += [nn.Linear(100, 100), neuron.IFNode(v_threshold=theta)]
model = nn.Sequential(*layers)
x = torch.randn(64, 100)
apply_snn_init(model, x)  # warm-up: imports, first-call costs
spent.update(survival=0.0, advice=0.0)
start = time.perf_counter()
report = apply_snn_init(model, x)
total = time.perf_counter() - start
line = next((str(c.describe()) for c in report.chains), "")
print(json.dumps({"apply": total, **spent, "line": line}))
"""


def run_child(command: list[str], timeout: float, max_memory_mb: float) -> dict[str, object]:
    """Run one command in a fresh process; its wall time, peak RSS, exit status and output."""

    def cap() -> None:
        limit = int(max_memory_mb * 2**20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, preexec_fn=cap)
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        process.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    output = process.stdout.read().decode(errors="replace") if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    timer.cancel()
    wall = time.perf_counter() - start
    return {"wall": wall, "rss_mb": usage.ru_maxrss / 1024, "rc": os.waitstatus_to_exitcode(status),
            "timed_out": killed.is_set(), "output": output}  # fmt: skip


def verdict(result: dict[str, object], memory_cap: float) -> str:
    """'ok', 'SLOW'/'BIG' against the targets, or why the child did not finish."""
    if result["timed_out"]:
        return "over the time cap"
    output = str(result["output"])
    if "MemoryError" in output or "Unable to allocate" in output or float(result["rss_mb"]) >= 0.95 * memory_cap:
        return "over the memory cap"
    if result["rc"] != 0:
        return f"failed (rc {result['rc']})"
    flags = [name for name, bad in (("SLOW", result["wall"] > TARGET_SECONDS),
                                    ("BIG", result["rss_mb"] > TARGET_MB)) if bad]  # fmt: skip
    return " ".join(flags) or "ok"


def cli_part(cases: list[tuple[int, int, float]], timeout: float, memory_cap: float) -> None:
    """Part 1: one `snninit theory` call per case."""
    print(f"`snninit theory` (targets: < {TARGET_SECONDS:g} s, < {TARGET_MB:g} MB peak RSS)")
    print(
        f"{'width':>6} {'depth':>5} {'theta':>5} | {'wall s':>7} {'RSS MB':>7} | verdict | survival; width; threshold"
    )
    for width, depth, theta in cases:
        command = [sys.executable, "-m", "snninit_adapters.cli", "theory", "--fan-in", str(width),
                   "--depth", str(depth), "--threshold", str(theta)]  # fmt: skip
        result = run_child(command, timeout, memory_cap)
        lines = str(result["output"]).splitlines()
        picked = [line.split("=", 1)[-1].split(":", 1)[-1].strip()[:60] for line in lines
                  if line.startswith(("P(activity", "smallest width", "largest threshold"))]  # fmt: skip
        print(f"{width:>6} {depth:>5} {theta:>5g} | {result['wall']:>7.2f} {result['rss_mb']:>7.0f} | "
              f"{verdict(result, memory_cap)} | {'; '.join(picked) or lines[-1:]}")  # fmt: skip


def mlp_part(thetas: list[float], timeout: float, memory_cap: float) -> None:
    """Part 2: the survival part's share of apply_snn_init on the 10 x 100 IFNode MLP."""
    print(f"\napply_snn_init on a 10 x 100 IFNode MLP, x = [64, 100] (target: the advice < "
          f"{ADVICE_SHARE_TARGET:.0%} of the apply; survival s includes the advice)")  # fmt: skip
    print(f"{'theta':>5} | {'apply s':>8} {'survival s':>10} {'advice s':>8} {'advice share':>12} | verdict | line")
    for theta in thetas:
        result = run_child([sys.executable, "-c", MLP_CHILD, str(theta)], timeout, memory_cap)
        state = verdict(result, memory_cap)
        if state not in ("ok", "SLOW", "BIG", "SLOW BIG"):
            print(
                f"{theta:>5g} | {'-':>8} {'-':>10} {'-':>8} {'-':>12} | {state} | {str(result['output']).strip()[-90:]}"
            )
            continue
        numbers = json.loads(str(result["output"]).strip().splitlines()[-1])
        share = numbers["advice"] / numbers["apply"]
        flag = "ok" if share < ADVICE_SHARE_TARGET else "OVER"
        print(f"{theta:>5g} | {numbers['apply']:>8.3f} {numbers['survival']:>10.4f} {numbers['advice']:>8.4f} "
              f"{share:>12.1%} | {flag} | {numbers['line'][-110:]}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="four CLI cases and three thresholds only")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per child before it is killed")
    parser.add_argument("--max-memory-mb", type=float, default=2000.0, help="address-space cap per child")
    parser.add_argument("--part", choices=["all", "cli", "mlp"], default="all")
    args = parser.parse_args()
    if args.part in ("all", "cli"):
        cli_part(QUICK_CASES if args.quick else CLI_CASES, args.timeout, args.max_memory_mb)
    if args.part in ("all", "mlp"):
        thetas = [0.0, 1.5, 3.0] if args.quick else [0.5 * i for i in range(7)]
        mlp_part(thetas, args.timeout, args.max_memory_mb)


if __name__ == "__main__":
    main()
