"""Sphinx extension: compute the docs' figures and measured tables with the library's own experiments.

At ``builder-inited`` it runs, into ``docs/_generated/`` (ignored by git, rewritten on every build):

- Figs. 2, 3 and 4 at the paper's scale (100 layers, 20 runs, seed 0, reference backend), as
  ``fig<N>.png`` with their summaries ``fig<N>.md`` (the paper's claim, the measured table and each
  claim checked), exactly as ``snninit experiments propagation --figure N`` writes them;
- Fig. 4 on the exact backend (the finite-width law, with the simulation overlaid): ``fig4-exact.png``;
- Fig. 7 at quick settings (20 layers, 3 runs, 5 steps; the paper-scale run takes minutes):
  ``fig7-quick.png``;
- the mean-field variance map of ``snninit theory --plot``: ``variance-map.png``.

It takes about 10 s on the 2-core development machine. Pages include the PNGs and the summaries, so
the numbers they show are recomputed by the code they document.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

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


def _on_builder_inited(app: Any) -> None:
    generate(Path(app.srcdir) / "_generated")


def setup(app: Any) -> dict[str, Any]:
    """Register the generator with Sphinx."""
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
