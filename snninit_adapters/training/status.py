"""The state of every training sweep under a results folder, read from its files alone.

A sweep records its grid in ``grid.json`` when it starts; each cell's state then follows from the
files in ``cells/``: ``done`` (its epochs file), ``failed`` (its error file, whose first line is shown),
``running`` (handed to a worker, not finished: the host and pid of the process that handed it over),
``stopped`` (that process, on this host, is gone: killed before the cell finished), or ``not started``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from snninit_adapters.training.store import GRID_FILE, TrainingStore
from snninit_adapters.training.train import TrainConfig

__all__ = ["CellState", "find_sweeps", "format_grid", "format_status", "sweep_states"]


@dataclass(frozen=True)
class CellState:
    """One cell of a sweep.

    Attributes:
        index: Its place in the grid (the ``--cell`` index).
        key: Its file name stem in ``cells/``.
        state: ``done``, ``failed: ...``, ``running: ...``, ``stopped: ...`` or ``not started``.
    """

    index: int
    key: str
    state: str

    @property
    def kind(self) -> str:
        """The state's first word (``not started`` whole)."""
        return self.state.split(":", 1)[0]


def find_sweeps(results: Path) -> list[Path]:
    """The sweep folders (those holding a ``grid.json``) at or under ``results``, sorted."""
    return sorted(path.parent for path in results.rglob(GRID_FILE))


def sweep_states(directory: Path) -> list[CellState]:
    """Every cell of the sweep in ``directory``, in grid order."""
    store = TrainingStore(directory)
    cells = json.loads((directory / GRID_FILE).read_text())
    return [CellState(index, store.key(cell), store.state(cell)) for index, cell in enumerate(cells)]


def format_status(results: Path) -> str:
    """A report of every sweep under ``results``: the counts by state, then each cell that is not done.

    Raises:
        FileNotFoundError: If no sweep is found there.
    """
    sweeps = find_sweeps(results)
    if not sweeps:
        raise FileNotFoundError(f"no training sweep under {results} (a sweep writes {GRID_FILE} when it starts)")
    lines = []
    for directory in sweeps:
        states = sweep_states(directory)
        counts = Counter(state.kind for state in states)
        order = ("done", "failed", "running", "stopped", "not started")
        summary = ", ".join(f"{counts[kind]} {kind}" for kind in order if counts[kind])
        lines.append(f"{directory}: {len(states)} cell{'s' if len(states) != 1 else ''}: {summary}")
        lines.extend(f"{state.index:>5}  {state.key}  {state.state}" for state in states if state.kind != "done")
    return "\n".join(lines)


def format_grid(cells: Sequence[TrainConfig], directory: Path) -> str:
    """``--list-cells``: one line per cell (index, state, key), then the count and the folder."""
    store = TrainingStore(directory)
    lines = [f"{index:>5}  {store.state(c.to_cell()):<14}  {store.key(c.to_cell())}" for index, c in enumerate(cells)]
    return "\n".join([*lines, f"{len(cells)} cells in {directory}"])
