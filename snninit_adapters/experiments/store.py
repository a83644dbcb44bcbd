"""Resumable results: every finished cell is written atomically, and a rerun skips it.

A cell's rows go to ``<dir>/cells/<key>.csv`` through a temporary file in the same folder and
``os.replace``, so an interrupted run leaves either the whole file or none. Tables and summaries written
at the end go through the same atomic write.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

__all__ = ["CellStore", "read_csv", "run_or_reuse", "write_csv_atomic", "write_text_atomic"]

COLUMNS = (
    "figure", "backend", "method", "threshold", "width", "beta", "run",
    "layer", "step", "var_u", "mean_u", "skew_u", "kurt_u", "spikes",
    "var_u_std", "spikes_std", "survival",  # the exact backend's spreads over networks; empty otherwise
)  # fmt: skip


def _umask() -> int:
    """The process's umask (read by setting it and putting it back: there is no other portable way)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def _atomic(path: Path) -> Iterator[TextIO]:
    """A text stream whose content replaces ``path`` only if the block finishes: all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it 0600: give it the mode open() would
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
            yield stream
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_csv_atomic(path: Path, rows: Iterable[Mapping[str, Any]], columns: Sequence[str] = COLUMNS) -> None:
    """Write ``rows`` to ``path`` as CSV, all or nothing."""
    with _atomic(path) as stream:
        writer = csv.DictWriter(stream, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, all or nothing."""
    with _atomic(path) as stream:
        stream.write(text)


def read_csv(path: Path) -> list[dict[str, Any]]:
    """Read a results CSV, numbers converted back to int/float."""
    with path.open(newline="", encoding="utf-8") as stream:
        return [{key: _number(value) for key, value in row.items()} for row in csv.DictReader(stream)]


def _number(value: str) -> Any:
    if value == "":
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value


class CellStore:
    """The finished cells of one experiment, one CSV file each.

    Args:
        directory: Folder of the experiment; cells go to ``directory / "cells"``.
        columns: The columns of its rows (default: the propagation figures').
    """

    def __init__(self, directory: Path, columns: Sequence[str] = COLUMNS) -> None:
        self.directory = directory / "cells"
        self.columns = tuple(columns)

    @staticmethod
    def key(cell: Mapping[str, Any]) -> str:
        """A stable file name for a cell, from all its parameters."""
        digest = hashlib.sha256(json.dumps(dict(cell), sort_keys=True).encode()).hexdigest()[:16]
        readable = "_".join(f"{k}-{cell[k]}" for k in ("method", "threshold", "width", "run") if k in cell)
        return f"{readable}_{digest}".replace("/", "-").replace(",", "+")

    def path(self, cell: Mapping[str, Any]) -> Path:
        """Where the cell's rows are stored."""
        return self.directory / f"{self.key(cell)}.csv"

    def done(self, cell: Mapping[str, Any]) -> bool:
        """True if the cell was finished by an earlier run."""
        return self.path(cell).is_file()

    def write(self, cell: Mapping[str, Any], rows: Iterable[Mapping[str, Any]]) -> None:
        """Store a finished cell atomically."""
        write_csv_atomic(self.path(cell), rows, self.columns)

    def read(self, cell: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The stored rows of a finished cell."""
        return read_csv(self.path(cell))


def run_or_reuse(
    store: CellStore,
    cells: Sequence[Mapping[str, Any]],
    run: Callable[[Mapping[str, Any]], list[dict[str, Any]]],
    bar: Any = None,
) -> tuple[list[dict[str, Any]], int, int]:
    """Every cell's rows: read back where an earlier run stored them, else computed and stored at once.

    Args:
        store: Where finished cells are kept.
        cells: The cells, in order.
        run: Computes one cell's rows.
        bar: A progress bar to advance per cell (``update()``, ``close()``), or None.

    Returns:
        The rows, the number of cells computed and the number reused.
    """
    rows: list[dict[str, Any]] = []
    computed = reused = 0
    for cell in cells:
        if store.done(cell):
            rows.extend(store.read(cell))
            reused += 1
        else:
            cell_rows = run(cell)
            store.write(cell, cell_rows)
            rows.extend(cell_rows)
            computed += 1
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    return rows, computed, reused
