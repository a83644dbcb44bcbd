"""What :func:`~snninit_adapters.measure_activity` reports: one row per neuron layer and time step.

``print(report)`` shows one line per layer; :meth:`ActivityReport.to_rows` and
:meth:`ActivityReport.to_csv` give the tidy table.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["ActivityReport", "ActivityRow"]


@dataclass(frozen=True)
class ActivityRow:
    """The activity of one neuron layer at one time step.

    Attributes:
        layer: The neuron module's name in the model (as in ``named_modules``; ``<root>`` for the model itself).
        kind: Its class name.
        step: The step index (from 0): how many steps this neuron had run before.
        neurons: Neuron-steps measured: elements of its spike tensor at this step, summed over the batch.
        spikes: How many of them emitted a spike (a nonzero output).
        rate: ``spikes / neurons``, the fraction of neurons that fired at this step.
        u_mean: Mean of the membrane potential compared with the threshold (before any reset); None
            when the adapter cannot recover the membrane.
        u_var: Its population variance.
        u_skew: Its skewness (NaN when the membrane is constant).
        u_kurt: Its excess kurtosis (NaN when the membrane is constant).
    """

    layer: str
    kind: str
    step: int
    neurons: int
    spikes: int
    rate: float
    u_mean: float | None = None
    u_var: float | None = None
    u_skew: float | None = None
    u_kurt: float | None = None


@dataclass(frozen=True)
class ActivityReport:
    """What :func:`measure_activity` found: one row per neuron layer and time step.

    ``print(report)`` shows one line per layer; :meth:`to_rows` and :meth:`to_csv` give the tidy table.

    Attributes:
        rows: One :class:`ActivityRow` per layer and step, layers in model order, steps in time order.
        notes: What the report should mention (neurons never called, membranes not available, ...).
    """

    rows: tuple[ActivityRow, ...]
    notes: tuple[str, ...] = ()

    @property
    def layers(self) -> list[str]:
        """The neuron layers measured, in model order."""
        return list(dict.fromkeys(row.layer for row in self.rows))

    def layer(self, name: str) -> list[ActivityRow]:
        """The rows of one layer, in time order.

        Args:
            name: The layer's name.

        Returns:
            Its rows.

        Raises:
            KeyError: If no neuron of that name was measured.
        """
        rows = [row for row in self.rows if row.layer == name]
        if not rows:
            raise KeyError(f"no neuron layer {name!r} was measured; layers: {', '.join(self.layers)}")
        return rows

    @property
    def silent(self) -> list[str]:
        """The layers that emitted no spike at all."""
        return [name for name in self.layers if not any(row.spikes for row in self.layer(name))]

    def summary(self) -> list[dict[str, Any]]:
        """One dict per layer: kind, steps, total spikes, mean rate, mean membrane variance, first and last rate.

        Returns:
            The per-layer summaries, in model order.
        """
        result = []
        for name in self.layers:
            rows = self.layer(name)
            neurons = sum(row.neurons for row in rows)
            spikes = sum(row.spikes for row in rows)
            variances = [row.u_var for row in rows if row.u_var is not None]
            result.append(
                {
                    "layer": name,
                    "kind": rows[0].kind,
                    "steps": len(rows),
                    "spikes": spikes,
                    "rate": spikes / neurons if neurons else math.nan,
                    "u_var": sum(variances) / len(variances) if variances else None,
                    "first_rate": rows[0].rate,
                    "last_rate": rows[-1].rate,
                    "silent": spikes == 0,
                }
            )
        return result

    def to_rows(self) -> list[dict[str, Any]]:
        """The tidy table: one plain dict per layer and step (the fields of :class:`ActivityRow`).

        Returns:
            The rows as dicts.
        """
        return [asdict(row) for row in self.rows]

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write the tidy table to a CSV file, with a header; a missing membrane is an empty cell.

        Args:
            path: Where to write it.
        """
        names = [field.name for field in fields(ActivityRow)]
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=names)
            writer.writeheader()
            for row in self.to_rows():
                writer.writerow({key: "" if value is None else value for key, value in row.items()})

    def __str__(self) -> str:
        summary = self.summary()
        steps = sorted({entry["steps"] for entry in summary}) or [0]
        span = f"{steps[0]} step{'s' if steps[0] != 1 else ''}" if len(steps) == 1 else f"{steps[0]}-{steps[-1]} steps"
        header = ("layer", "kind", "steps", "spikes", "rate", "Var[u]", "rate[0]", "rate[-1]", "")
        table = [header]
        for entry in summary:
            table.append(
                (
                    entry["layer"],
                    entry["kind"],
                    str(entry["steps"]),
                    str(entry["spikes"]),
                    _number(entry["rate"]),
                    _number(entry["u_var"]),
                    _number(entry["first_rate"]),
                    _number(entry["last_rate"]),
                    "silent" if entry["silent"] else "",
                )
            )
        widths = [max(len(line[i]) for line in table) for i in range(len(header))]
        numeric = {2, 3, 4, 5, 6, 7}
        lines = [f"ActivityReport: {len(summary)} neuron layer{'s' if len(summary) != 1 else ''}, {span}"]
        for line in table:
            cells = [cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i]) for i, cell in enumerate(line)]
            lines.append("  ".join(cells).rstrip())
        silent = [entry["layer"] for entry in summary if entry["silent"]]
        if silent:
            lines.append(f"silent: {len(silent)} of {len(summary)} layers emitted no spike ({', '.join(silent)})")
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    return f"{value:.4g}"
