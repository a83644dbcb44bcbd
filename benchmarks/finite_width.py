"""Benchmark: the exact finite-width chain against Monte Carlo simulation, 100 layers, one step.

For widths {100, 600, 1000} and thresholds {0.5, 0.85, 1.0, 1.25} under the paper's initialisation,
prints the chain's survival probability and mean Var[u_100] next to the fraction and mean over
simulated networks (the reference simulator), with the Monte Carlo standard errors, and the time
each takes.

Run: ``python benchmarks/finite_width.py [--networks 200] [--depth 100]``
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from snninit_adapters.experiments.simulate import simulate_networks
from snninit_adapters.theory import (
    LayerContext,
    membrane_variance_moments,
    micheli2024_law,
    propagate_spike_counts,
    snn_weight_variance,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=200)
    parser.add_argument("--depth", type=int, default=100)
    args = parser.parse_args()
    depth, networks = args.depth, args.networks
    print(f"depth {depth}, {networks} simulated networks per setting")
    print(f"{'n':>5} {'theta':>6} | {'P(survive) chain':>16} {'simulated':>15} | "
          f"{'E Var[u_L] chain':>16} {'simulated':>17} | {'chain s':>8} {'sim s':>7}")  # fmt: skip
    chain_time = simulation_time = 0.0
    for width in (100, 600, 1000):
        for theta in (0.5, 0.85, 1.0, 1.25):
            start = time.perf_counter()
            std = math.sqrt(snn_weight_variance(width, theta))
            chain = propagate_spike_counts([width] * (depth + 1), [theta] * (depth + 1), [std] * depth)
            survival = chain.survival[-1]
            mean_var, _ = membrane_variance_moments(chain)
            t_chain = time.perf_counter() - start
            start = time.perf_counter()
            law = micheli2024_law(LayerContext(fan_in=width, fan_out=width, theta_pre=theta))
            alive, variances = [], []
            for run in range(networks):
                generator = torch.Generator().manual_seed(run)
                stats = simulate_networks({"p": law}, depth=depth, width=width, steps=1, beta=0.5, theta=theta,
                                          generator=generator)["p"]  # fmt: skip
                alive.append(stats.spikes[-1, 0] > 0)
                variances.append(stats.var_u[-1, 0])
            t_sim = time.perf_counter() - start
            chain_time, simulation_time = chain_time + t_chain, simulation_time + t_sim
            fraction, var = float(np.mean(alive)), np.array(variances)
            se_fraction = math.sqrt(max(fraction * (1 - fraction), 1 / networks) / networks)
            print(
                f"{width:>5} {theta:>6.2f} | {survival:>16.4f} {fraction:>8.3f} ± {se_fraction:.3f} | "
                f"{mean_var[-1]:>16.4f} {var.mean():>9.4f} ± {var.std() / math.sqrt(networks):.4f} | "
                f"{t_chain:>8.3f} {t_sim:>7.2f}"
            )
    print(f"total: chain {chain_time:.2f} s, simulation {simulation_time:.1f} s, "
          f"ratio {simulation_time / chain_time:.0f}x")  # fmt: skip


if __name__ == "__main__":
    main()
