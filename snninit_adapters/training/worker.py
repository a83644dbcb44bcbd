"""What a worker runs for one training cell, on every backend: the cell, its errors caught.

The worker-side function of each backend is :func:`run_cell_safely`; it never raises, so that one
failing cell cannot stop a sweep. What the backend hands it after the cell is :data:`CellArgs`.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from snninit_adapters.training.store import TrainingStore
from snninit_adapters.training.train import TrainConfig

__all__ = ["DEFAULT_RUNNER", "CellArgs", "died", "run_cell_safely"]

DEFAULT_RUNNER = "snninit_adapters.training.train:train_cell"
CellArgs = tuple[str, str, str, str | None, int]
"""What every backend passes to :func:`run_cell_safely` after the cell: data, device, runner, cells, interval."""


def _resolve(runner: str) -> Callable[..., Any]:
    module, _, name = runner.partition(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function


def run_cell_safely(
    cell: dict[str, Any],
    data_dir: str,
    device: str,
    runner: str = DEFAULT_RUNNER,
    cells: str | None = None,
    checkpoint_every: int = 1,
) -> dict[str, Any]:
    """Run one cell; never raise. The worker-side function of every backend.

    Args:
        cell: The cell (``TrainConfig.to_cell()``).
        data_dir: The data folder.
        device: Torch device.
        runner: ``module:function`` that takes ``(TrainConfig, data_dir, device=..., checkpoint=...)`` and
            returns a :class:`~snninit_adapters.training.train.CellResult` (the default trains the cell).
        cells: The store's ``cells`` folder, where the cell keeps its checkpoint and resumes from it
            (None: no checkpoint).
        checkpoint_every: Epochs between the cell's checkpoints.

    Returns:
        ``{"ok": True, "epochs": [...], "activity": [...]}`` or ``{"ok": False, "error": ..., "traceback": ...}``.
    """
    try:
        checkpoint = None if cells is None else TrainingStore(Path(cells).parent).checkpoint_path(cell)
        result = _resolve(runner)(TrainConfig.from_cell(cell), data_dir, device=device, checkpoint=checkpoint,
                                  checkpoint_every=checkpoint_every)  # fmt: skip
        return {"ok": True, "epochs": result.epochs, "activity": result.activity, "source": result.source}
    except Exception as error:
        return {"ok": False, "error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}


def died(error: BaseException, likely: str = "out of memory or a crash in native code") -> dict[str, Any]:
    """The outcome of a cell whose worker process died (it could not report one itself), with ``likely`` causes.

    The error is one line (the exception's first); its whole text is in the traceback.
    """
    first = next(iter(str(error).splitlines()), "")
    return {
        "ok": False,
        "error": f"worker process died ({type(error).__name__}: {first}); {likely}",
        "traceback": "".join(traceback.format_exception(error)),
    }
