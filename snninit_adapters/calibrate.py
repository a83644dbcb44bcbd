r"""Calibration on the example batch: the paper's criterion measured, where the theory can only assume it.

The analytic plan gives the start. On a private copy of the model carrying the plan's very weights,
the activity monitor (:class:`~snninit_adapters.monitor.ActivityRecorder`) runs the model on part of the
example batch, all its steps, through the framework's own neurons, and measures every neuron
population a planned layer drives. Each population's drivers (the layers summed into it, or the
normalisers after them, which carry the scale in training mode) are then multiplied by the factor that
moves it to its target, all populations at once, and the batch is run again, until every population is
within ``tolerance`` of its target or ``max_passes`` have run:

- ``target="variance"``: the first-step membrane variance, :math:`\operatorname{Var}[u_0] = \sigma^2_\text{target}`
  in the population's own units (the paper's criterion, now exact for pooling, residual sums, BatchNorm,
  correlated inputs). Its factor is :math:`\sqrt{\sigma^2_\text{target} / \operatorname{Var}[u_0]}`: the
  first-step membrane is linear in the drivers' weights.
- ``target="rate"``: the time-averaged firing rate over all steps equals the rate the paper's criterion
  implies, :math:`P(u > \theta)` at :math:`\operatorname{Var}[u] = \sigma^2_\text{target}` (or a given
  ``target_rate``). Its factor is :math:`Q^{-1}(r) / Q^{-1}(r_\text{target})`, exact for a Gaussian
  membrane, and iterated for the rest. Use it when the network runs many steps, where leak and reset move
  the activity away from what the first step shows.

Populations feed each other, so one pass fixes the first ones exactly and moves the later ones closer;
a driver shared by populations gets the geometric mean of their factors. A population that stays
silent, or asks for more than ``max_gain`` times the plan, is capped and named. The part of the batch
not calibrated on (or ``holdout``) is measured at the end: a target missed there by more than 10% is a
scale that only fits the calibration batch, and the report says so. Dropout masks are the same in every
pass (a fixed seed), the copy's BatchNorm running statistics are the copy's own, and the user's model is
only written once, through the same atomic write as the analytic plan.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pluggy
import torch
from scipy import stats
from torch import nn

from snninit_adapters.activity import ActivityReport
from snninit_adapters.errors import SNNInitError
from snninit_adapters.model import named_modules, strip_compiled, tensors
from snninit_adapters.monitor import ActivityRecorder
from snninit_adapters.plan import Plan
from snninit_adapters.replica import copy_model, release
from snninit_adapters.report import PopulationCalibration
from snninit_adapters.targets import Refusal, WeightTarget, weight_target
from snninit_adapters.write import write_normaliser, write_plan

__all__ = ["TARGETS", "Calibrated", "Calibration", "calibrate"]

TARGETS = ("variance", "rate")
_HELD_OUT_TOLERANCE = 0.1
_STEP_CAP = 10.0  # one pass moves a driver by at most this factor either way


@dataclass(frozen=True)
class Calibration:
    """How ``apply_snn_init(..., calibrate=...)`` calibrates.

    Attributes:
        target: ``"variance"`` (first-step Var[u] equals the target variance) or ``"rate"``
            (time-averaged rate equals the rate the paper's criterion implies).
        target_rate: For ``"rate"``: one rate for every population, or a mapping from population name to
            rate (the others keep the criterion's); None for the criterion's.
        tolerance: Relative distance to the target at which a population is done.
        max_passes: Most forward passes of the calibration part of the batch.
        max_gain: Most a driver may be scaled relative to the analytic plan, up or down.
        holdout: A batch to check the calibration on; None takes part of the example batch.
        batch_dim: The example input's batch dimension; None infers it (1 when the model runs one step per
            entry of the first dimension, as SpikingJelly's multi-step models and time loops do; 0 otherwise).
        steps: Call the model this many times per pass, keeping the neurons' state (a single-step model
            whose time loop is outside it), as :func:`~snninit_adapters.measure_activity` does; None: once.
    """

    target: str = "variance"
    target_rate: float | Mapping[str, float] | None = None
    tolerance: float = 0.02
    max_passes: int = 10
    max_gain: float = 100.0
    holdout: Any = None
    batch_dim: int | None = None
    steps: int | None = None

    def check(self) -> None:
        """Raise for settings calibration cannot use."""
        if self.target not in TARGETS:
            raise SNNInitError(f"target must be one of {', '.join(TARGETS)}, got {self.target!r}")
        rates = self.target_rate.values() if isinstance(self.target_rate, Mapping) else [self.target_rate]
        if any(rate is not None and not (isinstance(rate, int | float) and 0 < rate < 1) for rate in rates):
            raise SNNInitError(f"target_rate must be a rate in (0, 1) or a mapping of them, got {self.target_rate!r}")
        if self.target_rate is not None and self.target != "rate":
            raise SNNInitError("target_rate goes with target='rate'")
        if not (0 < self.tolerance < 1) or self.max_passes < 1 or self.max_gain <= 1:
            raise SNNInitError(
                f"calibration needs 0 < tolerance < 1, max_passes >= 1 and max_gain > 1; got {self.tolerance!r}, "
                f"{self.max_passes!r}, {self.max_gain!r}"
            )


@dataclass
class Calibrated:
    """What calibration found: a factor per planned layer and normaliser, and a record per population."""

    layer_factors: list[float]
    normaliser_factors: list[float]
    populations: list[PopulationCalibration] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Knob:
    """One thing calibration scales on the copy: a planned weight, or a normaliser's affine weight and bias."""

    def __init__(self, name: str, target: WeightTarget | None = None, normaliser: nn.Module | None = None) -> None:
        self.name, self.target, self.normaliser = name, target, normaliser
        self.factor = 1.0

    def scale(self, factor: float) -> None:
        """Multiply what the forward uses by ``factor``."""
        with torch.no_grad():
            if self.target is not None:
                self.target.write(self.target.effective() * factor)
            elif self.normaliser is not None:
                weight, bias = self.normaliser.weight, self.normaliser.bias
                assert isinstance(weight, torch.Tensor)
                scaled_bias = bias * factor if isinstance(bias, torch.Tensor) else None
                write_normaliser(self.normaliser, weight * factor, scaled_bias)
        self.factor *= factor


@dataclass
class _Population:
    name: str
    knobs: list[_Knob]
    goal: float
    before: float = math.nan
    measured: float = math.nan
    count: int = 0  # the neuron-steps the measured value comes from
    held_out: float | None = None
    passes: int = 0
    status: str = "converged"
    last: tuple[float, float] | None = None  # (log scale, log measured) at the previous pass, for the secant

    def scale(self) -> float:
        """The population's scale: the geometric mean of its knobs' factors."""
        return math.exp(sum(math.log(knob.factor) for knob in self.knobs) / len(self.knobs))

    def error(self) -> float:
        """The relative distance of the measured value from the goal (infinite when not measured)."""
        return abs(self.measured / self.goal - 1) if math.isfinite(self.measured) else math.inf

    def noise(self, target: str) -> float:
        """Twice the relative standard error of the measured value, from the neuron-steps it counts."""
        if not self.count:
            return 0.0
        if target == "variance":
            return 2 * math.sqrt(2 / self.count)  # the sample variance of n Gaussian values: sqrt(2 / n)
        rate = min(max(self.goal, 1e-12), 1 - 1e-12)
        return 2 * math.sqrt(rate * (1 - rate) / self.count) / rate

    def done(self, settings: Calibration) -> bool:
        """Within the tolerance, or within twice its standard error when the population is too small for it."""
        return self.error() <= max(settings.tolerance, self.noise(settings.target))


def _on_copy(plan: Plan, model: nn.Module, replica: nn.Module) -> tuple[Plan, list[_Knob], list[_Knob]]:
    """The plan on the copy's tensors; a knob per planned layer (tied layers share one) and per normaliser."""
    modules = named_modules(replica)
    twins = {id(t): r for t, r in zip([*model.parameters(), *model.buffers()],
                                      [*replica.parameters(), *replica.buffers()], strict=True)}  # fmt: skip
    layers, knobs = [], []
    by_key: dict[tuple[int, ...], _Knob] = {}
    for layer in plan.layers:
        owner, weight, effective = layer.where
        target = weight_target(modules[owner], weight, effective)
        if isinstance(target, Refusal):  # it was writable in the model itself
            raise SNNInitError(f"calibration cannot reach {layer.report.name} in its copy of the model: {target}")
        layers.append(replace(layer, target=target, bias=None if layer.bias is None else twins[id(layer.bias)]))
        knobs.append(by_key.setdefault(target.key(), _Knob(layer.report.name, target=target)))
    normalisers = [replace(n, module=modules[n.report.name]) for n in plan.normalisers]
    norm_knobs = [_Knob(n.report.name, normaliser=n.module) for n in normalisers]
    copied = Plan(tuple(layers), plan.skipped, plan.notes, plan.chains, tuple(normalisers), plan.records)
    return copied, knobs, norm_knobs


def _populations(
    plan: Plan, knobs: list[_Knob], norm_knobs: list[_Knob], settings: Calibration, target_variance: float
) -> list[_Population]:
    """Every neuron population a planned layer drives, with the knobs that move it and its goal."""
    carried = {(n.report.layer, n.report.neuron): knob for n, knob in zip(plan.normalisers, norm_knobs, strict=True)}
    found: dict[str, list[_Knob]] = {}
    for layer, knob in zip(plan.layers, knobs, strict=True):
        for link in layer.report.downstream:
            if link.name in plan.records:
                chosen = carried.get((layer.report.name, link.name), knob)
                found.setdefault(link.name, [])
                if chosen not in found[link.name]:
                    found[link.name].append(chosen)
    return [_Population(name, drivers, _goal(plan, name, settings, target_variance)) for name, drivers in found.items()]


def _goal(plan: Plan, name: str, settings: Calibration, target_variance: float) -> float:
    if settings.target == "variance":
        return target_variance
    if isinstance(settings.target_rate, Mapping) and name in settings.target_rate:
        return float(settings.target_rate[name])
    if isinstance(settings.target_rate, int | float):
        return float(settings.target_rate)
    theta = float(torch.as_tensor(plan.records[name].threshold).double().mean())
    return float(stats.norm.sf(theta / math.sqrt(target_variance)))


def _value(report: ActivityReport, name: str, target: str) -> tuple[float, int]:
    """A population's first-step Var[u] or time-averaged rate (NaN when not measured), and its neuron-steps."""
    try:
        rows = report.layer(name)
    except KeyError:
        return math.nan, 0
    if target == "variance":
        return (math.nan if rows[0].u_var is None else float(rows[0].u_var)), rows[0].neurons
    neurons = sum(row.neurons for row in rows)
    return (sum(row.spikes for row in rows) / neurons if neurons else math.nan), neurons


def _factor(measured: float, goal: float, target: str) -> float:
    """The scale that moves a population from ``measured`` to ``goal`` (one step of it)."""
    if not math.isfinite(measured) or measured <= 0:
        return _STEP_CAP
    if target == "variance":
        factor = math.sqrt(goal / measured)
    elif measured >= 1:
        factor = 1 / _STEP_CAP
    else:  # a zero-mean Gaussian membrane fires at Q(theta / sigma): sigma moves by Q^-1(r) / Q^-1(goal)
        now, wanted = float(stats.norm.isf(measured)), float(stats.norm.isf(goal))
        factor = now / wanted if now > 0 and wanted > 0.05 else math.sqrt(goal / measured)
    return min(max(factor, 1 / _STEP_CAP), _STEP_CAP)


def _secant(population: _Population) -> float | None:
    """The step the measured response to the previous step asks for (a secant in log-log), if it can tell.

    ``measured`` moves with the scale of the population's layers as a power law to first order (the
    variance as its square); two passes at different scales give that power, and the step that reaches
    the goal along it. None at the first pass, or when the two passes cannot tell the power.
    """
    if not (math.isfinite(population.measured) and population.measured > 0):
        population.last = None
        return None
    point = (math.log(population.scale()), math.log(population.measured))
    previous, population.last = population.last, point
    if previous is None or abs(point[0] - previous[0]) < 1e-9:
        return None
    power = (point[1] - previous[1]) / (point[0] - previous[0])
    if not 0.1 < power < 20:
        return None
    factor = math.exp((math.log(population.goal) - point[1]) / power)
    return min(max(factor, 1 / _STEP_CAP), _STEP_CAP)


def _step(populations: list[_Population], settings: Calibration) -> None:
    """Scale every knob by the geometric mean of the factors its pending populations ask for."""
    target, max_gain = settings.target, settings.max_gain
    asks: dict[int, tuple[_Knob, list[float], list[_Population]]] = {}
    for population in populations:
        if population.done(settings):
            continue
        secant = _secant(population) if target == "rate" else None  # the variance's power is 2: exact
        factor = secant or _factor(population.measured, population.goal, target)
        for knob in population.knobs:
            asks.setdefault(id(knob), (knob, [], []))[1].append(factor)
            asks[id(knob)][2].append(population)
    for knob, factors, asking in asks.values():
        step = math.exp(sum(math.log(f) for f in factors) / len(factors))
        capped = min(max(knob.factor * step, 1 / max_gain), max_gain)
        if capped != knob.factor * step:
            for population in asking:
                population.status = f"capped: its layers reached {capped:.3g} times the plan (max_gain)"
        if capped != knob.factor:
            knob.scale(capped / knob.factor)


def _batch_dim(report: ActivityReport, example_input: Any) -> int:
    """1 when the model ran one step per entry of its input's first dimension ([T, B, ...]), else 0."""
    first = next(tensors(example_input), None)
    steps = max((len(report.layer(name)) for name in report.layers), default=1)
    if first is not None and first.dim() >= 3 and steps > 1 and first.shape[0] == steps:
        return 1
    return 0


def _split(example_input: Any, dim: int) -> tuple[Any, Any]:
    """The example input cut in two along its batch dimension: (calibration part, held-out part or None)."""
    first = next(tensors(example_input), None)
    if first is None or first.dim() <= dim or first.shape[dim] < 2:
        return example_input, None
    size = first.shape[dim]
    cut = size - size // 2

    def part(obj: Any, start: int, length: int) -> Any:
        if isinstance(obj, torch.Tensor):
            return obj.narrow(dim, start, length) if obj.dim() > dim and obj.shape[dim] == size else obj
        if isinstance(obj, dict):
            return {key: part(value, start, length) for key, value in obj.items()}
        if isinstance(obj, tuple | list):
            return type(obj)(part(value, start, length) for value in obj)
        return obj

    return part(example_input, 0, cut), part(example_input, cut, size - cut)


def _run(recorder: ActivityRecorder, example_input: Any, settings: Calibration) -> ActivityReport:
    """One pass, with the same dropout masks every time (a fixed seed; the caller's RNG state is kept).

    The variance target reads the first step's membrane only; the rate target none.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        membranes = 1 if settings.target == "variance" else 0
        return recorder.run(example_input, steps=settings.steps, membranes=membranes)


def _iterate(
    recorder: ActivityRecorder, calibration_part: Any, populations: list[_Population], settings: Calibration
) -> None:
    """Measure, scale, measure again, until every population is within tolerance or the passes run out."""
    for passes in range(1, settings.max_passes + 1):
        report = _run(recorder, calibration_part, settings)
        for population in populations:
            population.measured, population.count = _value(report, population.name, settings.target)
            population.passes = passes
            if passes == 1:
                population.before = population.measured
        pending = [p for p in populations if not p.done(settings)]
        for population in populations:
            if population.done(settings):
                population.status = "converged" if population.error() <= settings.tolerance else (
                    f"converged to its sampling error (+-{population.noise(settings.target):.1%})")  # fmt: skip
        if not pending:
            return
        if passes == settings.max_passes:
            for population in pending:
                if not population.status.startswith("capped"):
                    population.status = _missed(population, settings)
            return
        _step(populations, settings)


def _missed(population: _Population, settings: Calibration) -> str:
    if not math.isfinite(population.measured):
        return "not measured (no membrane reading for this neuron class)"
    if population.measured == 0:
        what = "has no input at the first step" if settings.target == "variance" else "stays silent"
        return f"unreachable: it {what} at any scale of its layers (its upstream is silent then)"
    return f"not within {settings.tolerance:g} after {settings.max_passes} passes"


def calibrate(
    model: nn.Module,
    example_input: Any,
    plan: Plan,
    values: list[torch.Tensor | None],
    manager: pluggy.PluginManager,
    settings: Calibration,
    target_variance: float,
) -> Calibrated:
    """Calibrate the plan on a copy of ``model`` that carries the plan's drawn ``values``.

    Args:
        model: The (unwrapped) model; only copied.
        example_input: The batch, as the model takes it.
        plan: The analytic plan.
        values: The weights drawn for it, in plan order (they are scaled, not redrawn).
        manager: The plugin manager.
        settings: How to calibrate.
        target_variance: The membrane variance the plan aims at.

    Returns:
        The factor of every planned layer and normaliser, and what each population measured.
    """
    replica = copy_model(model)
    try:
        notes = strip_compiled(replica)
        copied, knobs, norm_knobs = _on_copy(plan, model, replica)
        write_plan(copied.layers, None, normalisers=copied.normalisers, values=values)
        populations = _populations(copied, knobs, norm_knobs, settings, target_variance)
        with ActivityRecorder(replica, manager) as recorder:
            if settings.holdout is not None:
                calibration_part, held_out = example_input, settings.holdout
            else:
                dim = (
                    settings.batch_dim
                    if settings.batch_dim is not None
                    else _batch_dim(_run(recorder, example_input, settings), example_input)
                )
                calibration_part, held_out = _split(example_input, dim)
                halves = f"calibrated on half of the example batch (dimension {dim}), checked on the other half"
                notes.append(halves if held_out is not None else "the example batch has one sample: no held-out part")
            _iterate(recorder, calibration_part, populations, settings)
            if held_out is not None:
                report = _run(recorder, held_out, settings)
                for population in populations:
                    population.held_out = _value(report, population.name, settings.target)[0]
        return _result(plan, knobs, norm_knobs, populations, settings, notes, model.training)
    finally:
        release(replica, model)  # the copy.s weights freed now: the result holds numbers and names only


def _result(
    plan: Plan,
    knobs: list[_Knob],
    norm_knobs: list[_Knob],
    populations: list[_Population],
    settings: Calibration,
    notes: list[str],
    training: bool,
) -> Calibrated:
    carried = {n.report.layer for n in plan.normalisers}
    layer_factors = [
        1.0 if layer.report.name in carried else knob.factor for layer, knob in zip(plan.layers, knobs, strict=True)
    ]
    records = []
    for population in populations:
        status = population.status
        if population.held_out is not None and math.isfinite(population.measured) and population.measured:
            gap = abs(population.held_out / population.measured - 1)
            if gap > _HELD_OUT_TOLERANCE:
                status += f"; on the held-out part it is {gap:.0%} off: a scale that only fits the calibration batch"
        factor = math.exp(sum(math.log(k.factor) for k in population.knobs) / len(population.knobs))
        records.append(PopulationCalibration(population.name, tuple(k.name for k in population.knobs), settings.target,
                                             population.goal, population.before, population.measured,
                                             population.held_out, factor, population.passes, status))  # fmt: skip
    mode, statistics = ("training", "batch") if training else ("eval", "running")
    notes.append(
        f"calibrated in {mode} mode, as the model is: normalisers used their {statistics} statistics, and none of "
        "the model's running statistics changed"
    )
    return Calibrated(layer_factors, [k.factor for k in norm_knobs], records, notes)
