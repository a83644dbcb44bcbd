"""Sphinx extension: compute the docs' figures and measured tables with the library's own experiments.

At ``builder-inited`` it runs, into ``docs/_generated/`` (ignored by git, rewritten on every build):

- Figs. 2, 3 and 4 at the paper's scale (100 layers, 20 runs, seed 0, reference backend), as
  ``fig<N>.png`` with their summaries ``fig<N>.md`` (the paper's claim, the measured table and each
  claim checked), exactly as ``snninit experiments propagation --figure N`` writes them;
- Fig. 4 on the exact backend (the finite-width law, with the simulation overlaid): ``fig4-exact.png``;
- Fig. 7 at quick settings (20 layers, 3 runs, 5 steps; the paper-scale run takes minutes):
  ``fig7-quick.png``;
- the mean-field variance map of ``snninit theory --plot``: ``variance-map.png``;
- the Time page's tables and figure T1's quick version (:mod:`time_pages`, about a minute);
- the claims table (``claims.md``): every claim of the paper checked on the quick propagation figures
  (2-7) of the reference, exact and snnTorch backends, as ``snninit experiments claims`` prints it
  (the other frameworks' columns say "not run": these pages are built with snnTorch only);
- snnTorch's tutorial CSNN under its default, the analytic and the calibrated initialisation,
  measured on a fresh batch: ``calibration.png`` (skipped, with a placeholder, where snnTorch is missing).

It takes about a minute and a half on the 2-core development machine. Pages include the PNGs and the summaries, so
the numbers they show are recomputed by the code they document.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import time_pages

PAPER_SCALE = (2, 3, 4)


def _summary(text: str, seconds: float, command: str) -> str:
    """The run's Markdown summary, without its title and with its sections one level below the page's."""
    lines = text.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    body = "\n".join(re.sub(r"^## ", "#### ", line) for line in lines).strip()
    return f"Computed while these pages were built: `{command}` took {seconds:.1f} s.\n\n{body}\n"


def generate(out: Path) -> None:
    """Write the figures and summaries into ``out``."""
    from snninit_adapters.experiments import run_propagation
    from snninit_adapters.experiments.plots import plot_variance_map

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        results = Path(scratch)
        for number in PAPER_SCALE:
            start = time.perf_counter()
            result = run_propagation(number, out=results, progress=False)
            seconds = time.perf_counter() - start
            shutil.copyfile(result.figures[0], out / f"fig{number}.png")
            command = f"snninit experiments propagation --figure {number}"
            (out / f"fig{number}.md").write_text(_summary(result.summary, seconds, command), encoding="utf-8")
        exact = run_propagation(4, backend="exact", out=results, progress=False)  # reuses the simulated cells
        shutil.copyfile(exact.figures[0], out / "fig4-exact.png")
        quick = run_propagation(7, out=results, quick=True, progress=False)
        shutil.copyfile(quick.figures[0], out / "fig7-quick.png")
        png, _ = plot_variance_map(results / "variance-map")
        shutil.copyfile(png, out / "variance-map.png")
        time_pages.generate(out, results)
        claims_page(out, results / "claims")
    calibration_figure(out / "calibration")


def claims_page(out: Path, results: Path) -> None:
    """The claims table from quick runs of Figs. 2-7 on the reference, exact and (if installed) snnTorch backends."""
    from snninit_adapters.experiments import run_propagation
    from snninit_adapters.experiments.claims_table import claims_table

    start = time.perf_counter()
    backends = ["reference", "exact"]
    try:
        import snntorch  # noqa: F401

        backends.append("snntorch")
    except ImportError:
        pass
    for backend in backends:
        for number in (2, 3, 4) if backend == "exact" else (2, 3, 4, 5, 6, 7):
            run_propagation(number, backend=backend, out=results, quick=True, progress=False, plot=False)
    seconds = time.perf_counter() - start
    table = claims_table(results)
    names = ", ".join(f"`{b}`" for b in backends)
    (out / "claims.md").write_text(
        f"Computed while these pages were built ({seconds:.0f} s): `snninit experiments propagation --figure N "
        f"--quick --backend B` for Figs. 2-7 (the exact law: 2-4) and B = {names}; then "
        f"`snninit experiments claims`. Seed 0; quick settings (20 layers, 3 runs, at most 5 steps).\n\n"
        + table.markdown(),
        encoding="utf-8",
    )


def _csnn() -> Any:
    """snnTorch's tutorial 6 (the calibration page's recipe): Conv -> max-pool -> Leaky twice, Linear -> Leaky."""
    import snntorch as snn
    import torch
    from torch import nn
    from torch.nn import functional as F

    class CSNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.lif1 = nn.Conv2d(1, 12, 5), snn.Leaky(beta=0.5)
            self.conv2, self.lif2 = nn.Conv2d(12, 64, 5), snn.Leaky(beta=0.5)
            self.fc1, self.lif3 = nn.Linear(64 * 4 * 4, 10), snn.Leaky(beta=0.5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mem1, mem2, mem3 = self.lif1.init_leaky(), self.lif2.init_leaky(), self.lif3.init_leaky()
            out = []
            for _ in range(4):
                spk1, mem1 = self.lif1(F.max_pool2d(self.conv1(x), 2), mem1)
                spk2, mem2 = self.lif2(F.max_pool2d(self.conv2(spk1), 2), mem2)
                spk3, mem3 = self.lif3(self.fc1(spk2.flatten(1)), mem3)
                out.append(spk3)
            return torch.stack(out)

    return CSNN()


def calibration_figure(stem: Path) -> None:
    """First-step Var[u] and mean rate per population of the tutorial CSNN, three initialisations."""
    import numpy as np
    import torch

    from snninit_adapters import apply_snn_init, measure_activity
    from snninit_adapters.plotting import pyplot, save_figure

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    try:
        import snntorch  # noqa: F401
    except ImportError:
        for ax in axes:
            ax.text(0.5, 0.5, "snnTorch is not installed where these pages were built", ha="center", va="center")
        save_figure(plt, fig, stem)
        return
    torch.manual_seed(0)
    images, fresh = torch.rand(512, 1, 28, 28), torch.rand(512, 1, 28, 28)
    models = {"default (PyTorch's)": _csnn(), "analytic": _csnn(), "calibrated, variance": _csnn(),
              "calibrated, rate": _csnn()}  # fmt: skip
    apply_snn_init(models["analytic"], images, generator=torch.Generator().manual_seed(1))
    for label, target in (("calibrated, variance", "variance"), ("calibrated, rate", "rate")):
        apply_snn_init(models[label], images, calibrate=True, target=target, generator=torch.Generator().manual_seed(1))
    names = ["lif1", "lif2", "lif3"]
    for offset, (label, model) in enumerate(models.items()):
        activity = measure_activity(model, fresh)
        variance = [activity.layer(name)[0].u_var for name in names]
        rate = [sum(r.spikes for r in activity.layer(n)) / sum(r.neurons for r in activity.layer(n)) for n in names]
        positions = np.arange(len(names)) + (offset - 1.5) * 0.2
        axes[0].bar(positions, variance, width=0.2, label=label)
        axes[1].bar(positions, rate, width=0.2, label=label)
    axes[0].axhline(1.0, color="black", linewidth=0.8)
    axes[1].axhline(0.1587, color="black", linewidth=0.8)
    axes[0].set(title="first-step Var[u] (target 1)", xticks=range(len(names)), xticklabels=names)
    axes[1].set(title="rate over the 4 steps (criterion's 0.159)", xticks=range(len(names)), xticklabels=names)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=4, fontsize="small")
    fig.suptitle(
        "snnTorch's tutorial CSNN (max-pooling before each neuron), measured on a fresh batch", fontsize="medium"
    )
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    save_figure(plt, fig, stem, tight=False)


def _on_builder_inited(app: Any) -> None:
    generate(Path(app.srcdir) / "_generated")


def setup(app: Any) -> dict[str, Any]:
    """Register the generator with Sphinx."""
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
