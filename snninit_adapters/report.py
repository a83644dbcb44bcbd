"""What :func:`~snninit_adapters.apply_snn_init` planned and did, per weight layer.

``print(report)`` shows a table; :meth:`InitReport.to_dicts` gives plain dicts for logging.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "ChainSurvival",
    "InitReport",
    "LayerReport",
    "NeuronLink",
    "NormaliserReport",
    "PopulationCalibration",
    "SkippedWeight",
]


@dataclass(frozen=True)
class NeuronLink:
    """A neuron (or the model input) next to a weight layer.

    Attributes:
        name: Module name of the neuron, ``"<input>"`` for the model's input, or a weight layer's name.
        kind: Its class (``"Leaky"``), or ``"input"``/``"weight layer"``.
        threshold: Its threshold as text (``"1"``, ``"0.5..1.5 (100 values)"``), if it is a neuron.
        input_gain: Its input gain ``g``, if it is a neuron.
        path: What lies between it and the weight layer (``"mod:BatchNorm2d"``, ``"max_pool2d"``...).
        probed: True when its threshold was measured by the black-box probe.
    """

    name: str
    kind: str
    threshold: str | None = None
    input_gain: float | None = None
    path: tuple[str, ...] = ()
    probed: bool = False

    def describe(self) -> str:
        """Short text for the table."""
        text = self.name
        details = []
        if self.threshold is not None:
            details.append(f"θ={self.threshold}")
        if self.input_gain is not None and self.input_gain != 1.0:
            details.append(f"g={self.input_gain:.4g}")
        if self.probed:
            details.append("probed")
        if details:
            text += f" ({', '.join(details)})"
        return text


@dataclass(frozen=True)
class LayerReport:
    r"""One weight layer: what feeds it, what it drives, and the weights it got.

    Attributes:
        name: Module name of the layer (for a weight owned by a neuron, ``"<neuron>.<param>"``).
        kind: Layer class (``"Linear"``, ``"Conv2d"``...).
        fan_in: Its fan-in :math:`n`.
        upstream: Neurons (or the input) whose output feeds it.
        downstream: Neurons it drives; empty for a readout.
        firing_probability: :math:`P(u > \theta)` of the upstream neurons used in the rule (None for data input).
        input_second_moment: :math:`E[x^2]` of its input used in the rule.
        old_std: Std of the weight the layer used before (its effective weight: after any parametrization).
        new_std: Weight std of the law it was (or would be) drawn from.
        new_mean: Weight mean of that law.
        distribution: ``"normal"`` or ``"uniform"``.
        bias: What happened to the bias: ``"zeroed"``, ``"kept"`` or ``"none"``.
        warnings: Anything that makes the rule approximate here.
        realised_std: After the write, the std of the weight the layer uses in its forward (the drawn values,
            through any parametrization); None for a dry run.
        analytic_std: With calibration, the std of the analytic plan's law (``new_std`` is then the
            calibrated law's); None without.
        calibration_factor: With calibration, the factor between the calibrated and the analytic std.
    """

    name: str
    kind: str
    fan_in: int
    upstream: tuple[NeuronLink, ...]
    downstream: tuple[NeuronLink, ...]
    firing_probability: float | None
    input_second_moment: float
    old_std: float
    new_std: float
    new_mean: float
    distribution: str
    bias: str
    warnings: tuple[str, ...] = ()
    realised_std: float | None = None
    analytic_std: float | None = None
    calibration_factor: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-serialisable dict."""
        data = asdict(self)
        data["upstream"] = [asdict(link) | {"path": list(link.path)} for link in self.upstream]
        data["downstream"] = [asdict(link) | {"path": list(link.path)} for link in self.downstream]
        data["warnings"] = list(self.warnings)
        return data


@dataclass(frozen=True)
class NormaliserReport:
    r"""A normaliser between a layer and its neuron whose affine weight :math:`\gamma` sets the membrane's scale.

    Attributes:
        name: The normaliser's module name.
        kind: Its class (``"BatchNorm2d"``...).
        layer: The layer before it.
        neuron: The neuron after it.
        old_weight: Its affine weight before (the mean over channels).
        new_weight: Its affine weight after (the mean over channels).
        bias: What happened to its affine bias: ``"zeroed"``, ``"centred"`` (it cancels the running mean)
            or ``"none"``.
        how: The mode the model is in and the formula used.
        realised: After the write, the mean of the affine weight the module holds; None for a dry run.
    """

    name: str
    kind: str
    layer: str
    neuron: str
    old_weight: float
    new_weight: float
    bias: str
    how: str
    realised: float | None = None

    def describe(self) -> str:
        """One line for the report."""
        weight = self.new_weight if self.realised is None else self.realised
        return (
            f"{self.name} ({self.kind}, between {self.layer} and {self.neuron}): gamma {self.old_weight:.4g} -> "
            f"{weight:.4g}, bias {self.bias} ({self.how})"
        )


@dataclass(frozen=True)
class PopulationCalibration:
    """How one neuron population was calibrated on the example batch.

    Attributes:
        neuron: The population (a neuron module's name).
        layers: The layers (or their normalisers) that were rescaled together to move it.
        target: ``"variance"`` (first-step Var[u]) or ``"rate"`` (time-averaged firing rate).
        goal: The value aimed at.
        before: Its measured value under the analytic plan (calibration part of the batch).
        measured: Its measured value after calibration (calibration part).
        held_out: Its measured value after calibration on the held-out part of the batch (None without one).
        factor: The scale the layers' weights (or normaliser gains) were multiplied by, relative to the plan.
        passes: Forward passes used.
        status: ``"converged"``, or why not.
    """

    neuron: str
    layers: tuple[str, ...]
    target: str
    goal: float
    before: float
    measured: float
    held_out: float | None
    factor: float
    passes: int
    status: str

    def cells(self) -> tuple[str, ...]:
        """The row of the report's calibration table."""
        held = "-" if self.held_out is None else f"{self.held_out:.4g}"
        return (self.neuron, self.target, f"{self.goal:.4g}", f"{self.before:.4g}", f"{self.measured:.4g}", held,
                f"{self.factor:.4g}", str(self.passes), self.status)  # fmt: skip


@dataclass(frozen=True)
class SkippedWeight:
    """A weight that was left alone, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class ChainSurvival:
    """The exact single-step survival of activity along one chain.

    Attributes:
        layers: The chain's linear layers, in order.
        widths: Widths of its neuron layers, first (upstream) to last.
        survival: Probability that the last neuron layer has at least one spike.
        advice: What to change to reach 0.99 survival, when it is lower (the line is then a warning).
        note: A remark that makes the line a note: the chain ends in a narrow readout (whose silence in
            one step no width of the hidden layers prevents), or the survival was not computed (NaN).
    """

    layers: tuple[str, ...]
    widths: tuple[int, ...]
    survival: float
    advice: str | None
    note: str | None = None

    def describe(self) -> str:
        """One line for the report."""
        names = " -> ".join(self.layers) if len(self.layers) <= 4 else f"{self.layers[0]} -> ... -> {self.layers[-1]}"
        widths = sorted(set(self.widths))
        width_text = f"width {widths[0]}" if len(widths) == 1 else f"widths {widths[0]}..{widths[-1]}"
        count = f"{len(self.layers)} layer{'s' * (len(self.layers) != 1)}"
        if math.isnan(self.survival):
            text = f"chain {names} ({count}, {width_text})"
        else:
            text = (f"chain {names} ({count}, {width_text}): activity reaches the last neurons with "
                    f"probability {self.survival:.4g} (exact finite-width law, one step)")  # fmt: skip
        return "; ".join(part for part in (text, self.note, self.advice) if part)


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in (header, *rows)]  # fmt: skip


_CALIBRATION_HEADER = ("calibrated", "target", "goal", "before", "after", "held out", "factor", "passes", "status")
_SHOWN_LINKS = 3  # a table cell lists this many neighbours; the rest are counted (to_dicts has them all)


def _links(links: tuple[NeuronLink, ...]) -> str:
    if len(links) <= _SHOWN_LINKS:
        return ", ".join(link.describe() for link in links)
    shown = ", ".join(link.describe() for link in links[: _SHOWN_LINKS - 1])
    return f"{shown}, +{len(links) - _SHOWN_LINKS + 1} more"


@dataclass(frozen=True)
class InitReport:
    """The plan of :func:`~snninit_adapters.apply_snn_init` and, unless it was a dry run, what it did.

    Attributes:
        method: The initialisation method used.
        target_variance: The membrane variance aimed at.
        applied: False for a dry run (nothing was changed).
        discovery: How the data flow was found (``"forward pass"`` or ``"module order"``).
        layers: One entry per re-initialised weight layer, in model order.
        skipped: Weights left alone, with reasons.
        notes: Model-wide remarks (probed neurons, assumptions).
        chains: Exact single-step survival of activity along each fully-connected spiking chain.
        normalisers: The normalisers whose affine weight was (or would be) set.
        calibration: Per calibrated neuron population, what the calibration measured and did.
        steps: For a multi-step method, the time steps :math:`T` it modelled (None: one step).
    """

    method: str
    target_variance: float
    applied: bool
    discovery: str
    layers: tuple[LayerReport, ...]
    skipped: tuple[SkippedWeight, ...] = ()
    notes: tuple[str, ...] = field(default=())
    chains: tuple[ChainSurvival, ...] = field(default=())
    normalisers: tuple[NormaliserReport, ...] = field(default=())
    calibration: tuple[PopulationCalibration, ...] = field(default=())
    steps: int | None = None

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, name: str) -> LayerReport:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no weight layer named {name!r} in this report; layers: {[x.name for x in self.layers]}")

    def _aim(self) -> str:
        if self.steps is None:
            return f"target Var[u] = {self.target_variance:g}"
        return f"target: the same time-averaged rate at every depth over T = {self.steps} steps"

    def to_dicts(self) -> list[dict[str, Any]]:
        """One plain dict per layer, with the report-wide fields repeated, for logging or a DataFrame."""
        common = {"method": self.method, "target_variance": self.target_variance, "applied": self.applied}
        return [common | layer.to_dict() for layer in self.layers]

    def __str__(self) -> str:
        verb = "re-initialised" if self.applied else "would re-initialise (dry run)"
        lines = [
            f"apply_snn_init: {verb} {len(self.layers)} weight layer(s) with {self.method} "
            f"({self._aim()}; data flow from {self.discovery})",
        ]
        header = ("layer", "kind", "fan_in", "upstream", "downstream", "P(u>θ)", "old std", "new std", "bias")
        rows = [
            (
                layer.name,
                layer.kind,
                str(layer.fan_in),
                _links(layer.upstream) or "-",
                _links(layer.downstream) or "- (readout)",
                "-" if layer.firing_probability is None else f"{layer.firing_probability:.4f}",
                f"{layer.old_std:.4g}",
                f"{layer.new_std if layer.realised_std is None else layer.realised_std:.4g}",
                layer.bias,
            )
            for layer in self.layers
        ]
        lines += _table(header, rows)
        lines.extend(f"normaliser: {normaliser.describe()}" for normaliser in self.normalisers)
        if self.calibration:
            lines += _table(_CALIBRATION_HEADER, [row.cells() for row in self.calibration])
        for layer in self.layers:
            lines.extend(f"warning: {layer.name}: {message}" for message in layer.warnings)
        for chain in self.chains:
            prefix = "warning: " if chain.advice else "note: " if chain.note else ""
            lines.append(f"{prefix}{chain.describe()}")
        lines.extend(f"skipped: {item.name}: {item.reason}" for item in self.skipped)
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)
