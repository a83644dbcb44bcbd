"""Demo: how many spikes reach the last layer of a deep snnTorch network, under Kaiming and the paper's method.

Run ``python -m snninit_adapters.demo [--depth 20] [--width 1000] [--threshold 1.0] [--seed 0]``.
It builds the paper's single-step setup in snnTorch: real-valued N(0, 1) input into a first ``Leaky``
layer, then ``depth`` blocks of ``Linear(width, width) -> Leaky``. ``apply_snn_init`` initialises it
once with Kaiming and once with the paper's method; the demo prints the report and the spikes per layer.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import torch
from torch import nn

from snninit_adapters.apply import apply_snn_init
from snninit_adapters.report import InitReport

__all__ = ["count_spikes", "main"]


def _build(depth: int, width: int, threshold: float, beta: float) -> nn.Sequential:
    try:
        import snntorch as snn
    except ImportError as error:  # pragma: no cover - exercised only without the extra
        raise SystemExit("the demo needs snnTorch: pip install 'snninit-adapters[snntorch]'") from error
    layers: list[nn.Module] = [snn.Leaky(beta=beta, threshold=threshold, init_hidden=True)]
    for _ in range(depth):
        layers += [nn.Linear(width, width, bias=False), snn.Leaky(beta=beta, threshold=threshold, init_hidden=True)]
    return nn.Sequential(*layers)


def count_spikes(
    method: str,
    *,
    depth: int = 20,
    width: int = 1000,
    threshold: float = 1.0,
    beta: float = 0.5,
    seed: int = 0,
) -> tuple[list[int], InitReport]:
    """Spike count of every ``Leaky`` layer after one step, the network initialised by ``apply_snn_init``.

    Args:
        method: A registered initialisation method (``"micheli2024"``, ``"kaiming"``, ...).
        depth: Number of ``Linear -> Leaky`` blocks after the encoding layer.
        width: Neurons per layer.
        threshold: Threshold of every ``Leaky`` neuron.
        beta: Leak of every ``Leaky`` neuron.
        seed: Seed of the weights and the input.

    Returns:
        Spike counts, encoding layer first (``depth + 1`` numbers), and the initialisation report.
    """
    generator = torch.Generator().manual_seed(seed)
    net = _build(depth, width, threshold, beta)
    x = torch.randn(1, width, generator=generator)
    report = apply_snn_init(net, x, method=method, generator=generator)
    counts: list[int] = []
    with torch.no_grad():
        for module in net:
            x = module(x)
            if not isinstance(module, nn.Linear):
                counts.append(int(x.sum()))
    return counts, report


def main(argv: Sequence[str] | None = None) -> None:
    """Print, per layer, the spike counts under Kaiming and under the paper's initialisation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=20, help="Linear -> Leaky blocks (default 20)")
    parser.add_argument("--width", type=int, default=1000, help="neurons per layer (default 1000)")
    parser.add_argument("--threshold", type=float, default=1.0, help="Leaky threshold (default 1.0)")
    parser.add_argument("--beta", type=float, default=0.5, help="Leaky leak (default 0.5)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    options = {"depth": args.depth, "width": args.width, "threshold": args.threshold, "beta": args.beta}
    kaiming, _ = count_spikes("kaiming", seed=args.seed, **options)
    paper, report = count_spikes("micheli2024", seed=args.seed, **options)
    print(report)
    print()
    print(
        f"snnTorch Leaky network, {args.depth} blocks of Linear({args.width}, {args.width}) -> Leaky, "
        f"threshold {args.threshold}, one step, N(0, 1) input"
    )
    print(f"{'layer':>5}  {'Kaiming':>8}  {'Micheli et al. 2024':>20}")
    for layer, (k, p) in enumerate(zip(kaiming, paper, strict=True)):
        print(f"{layer:>5}  {k:>8}  {p:>20}")
    print(f"spikes reaching the last layer: Kaiming {kaiming[-1]}, Micheli et al. 2024 {paper[-1]}")


if __name__ == "__main__":
    main()
