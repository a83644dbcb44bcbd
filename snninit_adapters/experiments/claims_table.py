"""One table of the paper's claims across backends, computed from a results folder.

It reads what ``snninit experiments propagation`` (Figs. 2-7, ``<results>/fig<N>/<backend>/``) and
``snninit experiments training`` (Figs. 8-10, any ``training.csv`` below the folder) wrote, checks every
claim on each backend's numbers (:func:`~snninit_adapters.experiments.claims.claims`,
:func:`~snninit_adapters.training.claims.training_claims`) and gives one row per claim and one column per
backend: the verdict, the measured numbers and the tolerance. A figure no backend ran is one row, "not run".
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from snninit_adapters.experiments.claims import claims
from snninit_adapters.experiments.figures import FIGURES, FigureSpec
from snninit_adapters.experiments.store import read_csv, write_csv_atomic, write_text_atomic

__all__ = ["COLUMNS", "ClaimRow", "ClaimsTable", "claims_table", "compare", "write_claims_table"]

COLUMNS = ("reference", "exact", "snntorch", "spikingjelly", "norse")
"""The backends, in the table's order; the training figures fill the three frameworks' columns."""
EXACT_FIGURES = (2, 3, 4)  # the exact finite-width law covers the single-step figures
TRAINING_TOLERANCE = "final accuracy, mean over seeds, against the bar the claim names"
TRAINING_CLAIMS = {
    8: "MLP: only the proposed method and Rossbroich et al. pass 90% (MNIST) and 70% (Fashion-MNIST) train "
    "accuracy; on N-MNIST and with the CNN all methods are similar; on CIFAR-10 the proposed method is the best",
    9: "the same ranking in test accuracy",
    10: "the proposed method is at least as accurate as Kaiming at every depth, threshold and leak; Kaiming "
    "degrades with depth, higher threshold and lower leak",
}
CSV_COLUMNS = ("figure", "claim", "backend", "verdict", "measured", "tolerance", "scale")


@dataclass(frozen=True)
class Verdict:
    """One claim on one backend: holds, does not hold, not run or not applicable."""

    word: str
    measured: str = ""


NOT_RUN = Verdict("not run")
NOT_APPLICABLE = Verdict("-")


@dataclass
class ClaimRow:
    """One claim of the paper and its verdict on every backend."""

    figure: int
    claim: str
    tolerance: str
    verdicts: dict[str, Verdict] = field(default_factory=dict)


@dataclass(frozen=True)
class ClaimsTable:
    """The claims table: its rows, and the scale each backend's propagation figures ran at."""

    rows: list[ClaimRow]
    scales: dict[str, str]
    ran_figures: dict[str, frozenset[int]] = field(default_factory=dict)

    def verdict(self, row: ClaimRow, backend: str) -> Verdict:
        """The row's verdict on ``backend``: measured, not run, or ``-`` where the backend does not check it.

        ``-``: the backend cannot run the figure (the exact law and the multi-step figures, the
        propagation backends and training), or it ran the figure without the claim's method (the exact
        law covers the zero-mean normal laws only, so not lee2016's uniform one).
        """
        if backend in row.verdicts:
            return row.verdicts[backend]
        if row.figure in self.ran_figures.get(backend, ()):
            return NOT_APPLICABLE
        applies = (backend in COLUMNS[2:]) if row.figure >= 8 else (backend != "exact" or row.figure in EXACT_FIGURES)
        return NOT_RUN if applies else NOT_APPLICABLE

    def markdown(self) -> str:
        """The table in Markdown, the measured numbers next to each verdict."""
        header = " | ".join(f"{b} ({self.scales[b]})" if b in self.scales else b for b in COLUMNS)
        lines = [f"| Fig. | claim | tolerance | {header} |", "|---|---|---|" + "---|" * len(COLUMNS)]
        for row in self.rows:
            cells = []
            for backend in COLUMNS:
                verdict = self.verdict(row, backend)
                cells.append(f"**{verdict.word}**: {verdict.measured}" if verdict.measured else verdict.word)
            lines.append(f"| {row.figure} | {row.claim} | {row.tolerance} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def console(self, width: int = 60) -> str:
        """The verdicts only, one line per claim (the Markdown and CSV files have the numbers)."""
        short = {"holds": "holds", "does not hold": "NO", "not run": ".", "-": "-"}
        lines = [f"{'Fig.':<4} {'claim':<{width}} " + " ".join(f"{b:>12}" for b in COLUMNS)]
        for row in self.rows:
            text = row.claim if len(row.claim) <= width else row.claim[: width - 3] + "..."
            words = (short.get(self.verdict(row, b).word, self.verdict(row, b).word) for b in COLUMNS)
            lines.append(f"{row.figure:<4} {text:<{width}} " + " ".join(f"{w:>12}" for w in words))
        lines.append("holds / NO (does not hold) / . (not run) / - (the backend does not check this claim)")
        return "\n".join(lines)

    def ran(self) -> tuple[str, ...]:
        """The backends with any result in the folder, in the table's order."""
        return tuple(b for b in COLUMNS if any(b in row.verdicts for row in self.rows))

    def csv_rows(self) -> list[dict[str, Any]]:
        """The long table: one row per claim and backend."""
        out = []
        for row in self.rows:
            for backend in COLUMNS:
                verdict = self.verdict(row, backend)
                out.append({"figure": row.figure, "claim": row.claim, "backend": backend, "verdict": verdict.word,
                            "measured": verdict.measured, "tolerance": row.tolerance,
                            "scale": self.scales.get(backend, "")})  # fmt: skip
        return out


def _spec(settings: dict[str, Any]) -> FigureSpec:
    names = {f.name for f in fields(FigureSpec)}
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items() if k in names}
    return FigureSpec(**values)


def _propagation(results: Path) -> tuple[dict[int, dict[str, list[Any]]], dict[str, set[str]]]:
    """Per figure and backend: its checked claims; per backend: the scales it ran at."""
    found: dict[int, dict[str, list[Any]]] = defaultdict(dict)
    scales: dict[str, set[str]] = defaultdict(set)
    for number in FIGURES:
        for backend in COLUMNS:
            stem = results / f"fig{number}" / backend / f"fig{number}"
            if not (stem.with_suffix(".json").is_file() and stem.with_suffix(".csv").is_file()):
                continue
            settings = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
            found[number][backend] = claims(_spec(settings), read_csv(stem.with_suffix(".csv")))
            scales[backend].add("quick" if settings.get("quick") else "paper scale")
    return found, scales


def _training(results: Path) -> dict[int, dict[str, list[Any]]]:
    """Per training figure and framework: its checked claims, from every training.csv below ``results``."""
    from snninit_adapters.training.claims import training_claims

    rows: dict[tuple[int, ...], dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(results.rglob("training.csv")):
        figures: tuple[int, ...] = (10,) if path.parent.name == "fig10" else (8, 9)
        for row in read_csv(path):
            rows[figures][str(row["framework"])].append(row)
    found: dict[int, dict[str, list[Any]]] = defaultdict(dict)
    for figures, by_framework in rows.items():
        for framework, framework_rows in by_framework.items():
            for number in figures:
                found[number][framework] = training_claims(number, framework_rows)
    return found


def claims_table(results: Path | str) -> ClaimsTable:
    """Every claim of the paper (Figs. 2-10), checked on each backend's results in ``results``.

    Args:
        results: The folder the propagation and training commands wrote to.

    Returns:
        The table.

    Raises:
        FileNotFoundError: If ``results`` is not a folder.
    """
    results = Path(results)
    if not results.is_dir():
        raise FileNotFoundError(f"{results} is not a folder: pass the --out folder of the experiments")
    propagation, scales = _propagation(results)
    checked = {**propagation, **_training(results)}
    table: list[ClaimRow] = []
    for number in (*FIGURES, 8, 9, 10):
        by_text: dict[str, ClaimRow] = {}
        for backend, found in checked.get(number, {}).items():
            for claim in found:
                tolerance = getattr(claim, "tolerance", TRAINING_TOLERANCE)
                row = by_text.setdefault(claim.text, ClaimRow(number, claim.text, tolerance))
                row.verdicts[backend] = Verdict("holds" if claim.holds else "does not hold", claim.detail)
        if not by_text:
            text = FIGURES[number].claim if number in FIGURES else TRAINING_CLAIMS[number]
            by_text[text] = ClaimRow(number, text, "")
        table.extend(by_text.values())
    ran = {b: frozenset(n for n, found in checked.items() if b in found) for b in COLUMNS}
    return ClaimsTable(table, {b: " + ".join(sorted(s)) for b, s in scales.items()}, ran)


def write_claims_table(table: ClaimsTable, out: Path | str) -> tuple[Path, Path]:
    """Write ``claims.md`` and ``claims.csv`` into ``out``; their paths."""
    out = Path(out)
    markdown, csv_path = out / "claims.md", out / "claims.csv"
    text = (
        "# The paper's claims, checked on every backend\n\n"
        "Each cell: the verdict and the measured numbers it was judged on; `not run`: no results for it in "
        "this folder; `-`: the backend does not check the claim (the figure or its method is outside what it "
        "runs).\n\n" + table.markdown()
    )
    write_text_atomic(markdown, text)
    write_csv_atomic(csv_path, table.csv_rows(), CSV_COLUMNS)
    return markdown, csv_path


def compare(table: ClaimsTable, expected: Iterable[dict[str, Any]], backends: Iterable[str] | None = None) -> list[str]:
    """The verdicts that differ from ``expected`` (rows of an earlier ``claims.csv``), one line each.

    Args:
        table: The claims now.
        expected: The rows of an earlier ``claims.csv``.
        backends: Compare these backends' columns only (default: every backend). On them a claim expected
            but no longer checked, or not run, counts as a difference, so a figure that stops running is
            seen too.

    Returns:
        One line per difference.
    """
    now = {(str(r["figure"]), r["claim"], r["backend"]): r for r in table.csv_rows()}
    compared = set(COLUMNS if backends is None else backends)
    changes = []
    for row in expected:
        if row["backend"] not in compared:
            continue
        key = (str(row["figure"]), row["claim"], row["backend"])
        current = now.get(key)
        word = current["verdict"] if current else "missing"
        if word != row["verdict"]:
            measured = f" ({current['measured']})" if current and current["measured"] else ""
            changes.append(f"Fig. {key[0]} on {key[2]}: {key[1]}: was {row['verdict']}, now {word}{measured}")
    return changes
