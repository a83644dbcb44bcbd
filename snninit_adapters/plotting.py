"""matplotlib for the library's figures: imported on first use, drawn off screen, saved as PNG and PDF.

Needs matplotlib (the ``experiments`` extra); the Agg backend is used, so no display is required.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["pyplot", "save_figure"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend.

    Returns:
        The module.

    Raises:
        ImportError: If matplotlib is not installed (the message names the extra).
    """
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError("plots need matplotlib: pip install 'snninit-adapters[experiments]'") from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(plt: Any, fig: Any, stem: Path, *, tight: bool = True) -> tuple[Path, Path]:
    """Lay the figure out tightly, save it as ``stem.png`` and ``stem.pdf`` (120 dpi) and close it.

    Args:
        plt: ``matplotlib.pyplot``.
        fig: The figure.
        stem: Path without suffix (its folder must exist).
        tight: Lay it out with ``tight_layout`` first (False when the caller has laid it out).

    Returns:
        The two paths.
    """
    if tight:
        fig.tight_layout()
    paths = (stem.with_suffix(".png"), stem.with_suffix(".pdf"))
    for path in paths:
        fig.savefig(path, dpi=120)
    plt.close(fig)
    return paths
