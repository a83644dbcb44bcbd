"""Where a training sweep keeps its cells: one file per finished cell's epochs, activity, error, checkpoint.

Under the sweep's folder: ``grid.json`` (the whole grid, written when the sweep starts) and ``cells/``,
which holds per cell ``<key>.csv`` (its epochs: the cell is done), ``<key>.activity.csv``,
``<key>.error.json`` (a failed cell's error and traceback), ``<key>.ckpt`` (the last checkpoint of an
unfinished cell) and ``<key>.running.json`` (the host and pid of the process running it). Every file
is written through a temporary file of its writer's own, so writers of different cells never clash.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from snninit_adapters.experiments.store import CellStore, read_csv, write_csv_atomic, write_text_atomic
from snninit_adapters.training.checkpoint import read_header
from snninit_adapters.training.train import ACTIVITY_COLUMNS, EPOCH_COLUMNS

__all__ = ["GRID_FILE", "TrainingStore"]

GRID_FILE = "grid.json"


class TrainingStore(CellStore):
    """Finished training cells: epochs, activity and errors, one file each per cell.

    Args:
        directory: The sweep's folder; cells go to ``directory / "cells"``.
    """

    @staticmethod
    def key(cell: Mapping[str, Any]) -> str:
        """A stable, readable file name for a cell, from all its parameters."""
        digest = CellStore.key(cell).rsplit("_", 1)[-1]
        parts = [str(cell.get(k)) for k in ("dataset", "architecture", "framework", "method") if k in cell]
        return "_".join([*parts, f"seed{cell.get('seed', 0)}", digest]).replace("/", "-")

    def activity_path(self, cell: Mapping[str, Any]) -> Path:
        """Where the cell's activity rows are stored."""
        return self.directory / f"{self.key(cell)}.activity.csv"

    def error_path(self, cell: Mapping[str, Any]) -> Path:
        """Where a failed cell's error is recorded."""
        return self.directory / f"{self.key(cell)}.error.json"

    def write_result(
        self, cell: Mapping[str, Any], epochs: list[dict[str, Any]], activity: list[dict[str, Any]]
    ) -> None:
        """Store a finished cell: activity first, then the epochs file that marks it done."""
        write_csv_atomic(self.activity_path(cell), activity, ACTIVITY_COLUMNS)
        write_csv_atomic(self.path(cell), epochs, EPOCH_COLUMNS)
        self.error_path(cell).unlink(missing_ok=True)
        self.running_path(cell).unlink(missing_ok=True)
        self.checkpoint_path(cell).unlink(missing_ok=True)

    def write_error(self, cell: Mapping[str, Any], error: str, trace: str) -> None:
        """Record a failed cell (atomically, through a temporary file of this writer's own)."""
        write_text_atomic(self.error_path(cell), json.dumps({"cell": dict(cell), "error": error, "traceback": trace},
                                                           indent=1))  # fmt: skip
        self.running_path(cell).unlink(missing_ok=True)

    def write_outcome(self, cell: Mapping[str, Any], outcome: Mapping[str, Any]) -> None:
        """Store what :func:`~snninit_adapters.training.worker.run_cell_safely` returned: a result or an error."""
        if outcome["ok"]:
            self.write_result(cell, outcome["epochs"], outcome["activity"])
        else:
            self.write_error(cell, outcome["error"], outcome["traceback"])

    def checkpoint_path(self, cell: Mapping[str, Any]) -> Path:
        """The unfinished cell's last checkpoint (removed when its result is written; kept when it fails)."""
        return self.directory / f"{self.key(cell)}.ckpt"

    def running_path(self, cell: Mapping[str, Any]) -> Path:
        """The marker of a cell handed to a worker and not finished yet."""
        return self.directory / f"{self.key(cell)}.running.json"

    def mark_running(self, cell: Mapping[str, Any]) -> None:
        """Record that this process handed the cell to a worker (removed when its result is written)."""
        marker = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time(), "job": _slurm_job()}
        write_text_atomic(self.running_path(cell), json.dumps(marker))

    def write_grid(self, cells: Sequence[Mapping[str, Any]]) -> None:
        """Record the sweep's grid (``grid.json`` beside ``cells/``) so that its state can be read later."""
        write_text_atomic(self.directory.parent / GRID_FILE, json.dumps([dict(cell) for cell in cells], indent=1))

    def state(self, cell: Mapping[str, Any]) -> str:
        """The cell's state from its files alone (see :mod:`~snninit_adapters.training.status`).

        ``"done"``, ``"failed: <the error's first line>"``, ``"running: ..."``, ``"stopped: ..."`` or
        ``"not started"``; an unfinished cell's last checkpoint epoch follows in brackets.
        """
        if self.done(cell):
            return "done"
        header = read_header(self.checkpoint_path(cell))
        saved = "" if header is None else f" (checkpoint after epoch {header['epoch']})"
        error = self.read_error(cell)
        if error is not None:
            return f"failed: {str(error['error']).splitlines()[0] if error['error'] else '(no message)'}{saved}"
        if self.running_path(cell).is_file():
            return _running_state(json.loads(self.running_path(cell).read_text())) + saved
        return "not started" + saved

    def read_activity(self, cell: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The stored activity rows of a finished cell."""
        path = self.activity_path(cell)
        return read_csv(path) if path.is_file() else []

    def read_error(self, cell: Mapping[str, Any]) -> dict[str, Any] | None:
        """The recorded error of a failed cell, if any."""
        path = self.error_path(cell)
        if not path.is_file():
            return None
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded


def _running_state(marker: Mapping[str, Any]) -> str:
    """The state of a cell with a running marker: running, or stopped when its process on this host is gone."""
    since = time.strftime("%Y-%m-%d %H:%M", time.localtime(marker["started"]))
    where = f"pid {marker['pid']} on {marker['host']}" + (f" (SLURM job {marker['job']})" if marker.get("job") else "")
    if marker["host"] == socket.gethostname() and not _alive(int(marker["pid"])):
        return f"stopped: {where}, started {since}, is gone"
    return f"running: {where}, since {since}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - another user's process
        return True
    return True


def _slurm_job() -> str | None:
    """The SLURM job (``<array job>_<task>`` for a task of an array) this process runs in, if any."""
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    return f"{array}_{task}" if array and task else os.environ.get("SLURM_JOB_ID")
