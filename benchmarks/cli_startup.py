"""Benchmark: start-up of the ``snninit`` command line, against ``python -c pass`` in the same run.

Every ``--help`` (the group's and each subcommand's) must import nothing heavy: torch, scipy, matplotlib
and the SNN frameworks are imported when a command runs. Target: under 0.5 s each on 2 cores. Each
command runs in a fresh interpreter, interleaved with the reference, ``--repeats`` times; the medians
and the ratio to the reference are printed, and which heavy modules the command imported.

Run: ``python benchmarks/cli_startup.py [--repeats 7]`` (the interpreter that runs it runs the commands).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

TARGET_SECONDS = 0.5
HEAVY = ("torch", "scipy", "numpy", "matplotlib", "snntorch", "spikingjelly", "norse")
COMMANDS = (
    (),
    ("experiments",),
    ("experiments", "propagation"),
    ("experiments", "training"),
    ("theory",),
    ("inspect",),
)


def _cli(arguments: tuple[str, ...]) -> list[str]:
    return [sys.executable, "-c", "from snninit_adapters.cli import main; main()", *arguments, "--help"]


def _seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def _imported(arguments: tuple[str, ...]) -> list[str]:
    """The heavy modules a ``--help`` imports (``sys.modules`` once click has printed the help)."""
    code = (
        f"import sys\nsys.argv = ['snninit', *{arguments!r}, '--help']\nfrom snninit_adapters.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('heavy:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    line = next(line for line in done.stdout.splitlines() if line.startswith("heavy:"))
    return [name for name in line.removeprefix("heavy:").split(",") if name]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    reference_command = [sys.executable, "-c", "pass"]
    print(f"{'command':<40} {'median s':>8} {'python -c pass':>14} {'ratio':>6}  target  heavy imports", flush=True)
    for arguments in COMMANDS:
        ours, reference = [], []
        for _ in range(args.repeats):
            reference.append(_seconds(reference_command))
            ours.append(_seconds(_cli(arguments)))
        mine, ref = statistics.median(ours), statistics.median(reference)
        label = " ".join(("snninit", *arguments, "--help"))
        verdict = "ok" if mine < TARGET_SECONDS else "MISS"
        heavy = ", ".join(_imported(arguments)) or "none"
        print(f"{label:<40} {mine:8.3f} {ref:14.3f} {mine / ref:6.1f}  {verdict:<6}  {heavy}", flush=True)


if __name__ == "__main__":
    main()
