r"""Measure the activity that reaches each neuron layer: spikes and membrane statistics per time step.

:func:`measure_activity` runs a model once (or ``steps`` times) on a deep copy, under
``torch.no_grad()``, with a forward hook on every neuron that the framework adapters recognise. After
each call of a neuron its adapter's ``snninit_step_activity`` hook returns the spikes and the membrane
potential of every time step that call ran; the monitor folds them into running statistics per
(layer, step) and drops the tensors, so memory stays O(layers x steps) whatever the batch:

- the number of neuron-steps (elements of the spike tensor, summed over the batch) and how many of
  them emitted a spike (a nonzero output; graded, multi-level and ternary spikes count once);
- the count, mean and central moment sums :math:`M_k = \sum (u - \bar u)^k`, :math:`k = 2, 3, 4`, of
  the membrane, merged batch by batch with the parallel update of Chan et al. (1979) and Pébay
  (2008) in float64 (:class:`RunningMoments`).

The moments are population moments: variance :math:`M_2 / n`, skewness :math:`\sqrt{n} M_3 / M_2^{3/2}`,
excess kurtosis :math:`n M_4 / M_2^2 - 3` (``scipy.stats.skew``/``kurtosis`` with their defaults).
"""

from __future__ import annotations

import csv
import inspect
import math
import os
from dataclasses import asdict, dataclass, fields
from typing import Any

import pluggy
import torch
from torch import nn

from snninit_adapters.errors import SNNInitError
from snninit_adapters.model import (
    arguments,
    atoms,
    copy_model,
    forward_pass,
    no_neuron_error,
    reset_state,
    strip_compiled,
    tensors,
    unwrap,
)
from snninit_adapters.moments import RunningMoments
from snninit_adapters.plugins import get_plugin_manager

__all__ = ["ActivityReport", "ActivityRow", "RunningMoments", "measure_activity"]


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


class _Step:
    __slots__ = ("membrane", "neurons", "spikes")

    def __init__(self) -> None:
        self.neurons = 0
        self.spikes = 0
        self.membrane: RunningMoments | None = None


class _Monitor:
    """Forward hooks on the neurons of the copy; running statistics per (layer, step)."""

    def __init__(self, manager: pluggy.PluginManager, neurons: dict[str, nn.Module]) -> None:
        self.manager = manager
        self.neurons = neurons
        self.steps: dict[str, list[_Step]] = {name: [] for name in neurons}
        self.without_membrane: set[str] = set()
        self.fallback: set[str] = set()
        self.errors: dict[str, str] = {}
        self.busy = False

    def hook(self, name: str) -> Any:
        def after(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> None:
            if self.busy:  # an adapter re-running part of the neuron: not a step of the model
                return
            self.busy = True
            try:
                try:
                    activity = self.manager.hook.snninit_step_activity(
                        module=module, args=args, kwargs=kwargs, output=output
                    )
                except Exception as error:  # reading the activity must never break the measurement
                    self.errors.setdefault(name, f"{type(error).__name__}: {error}")
                    activity = None
                if activity is None:
                    self.fallback.add(name)
                    spikes = next(tensors(output), None)
                    activity = [] if spikes is None else [(spikes, None)]
                for spikes, membrane in activity:
                    self.record(name, spikes, membrane)
            finally:
                self.busy = False

        return after

    def record(self, name: str, spikes: torch.Tensor, membrane: torch.Tensor | None) -> None:
        step = _Step()
        self.steps[name].append(step)
        step.neurons = spikes.numel()
        step.spikes = int(torch.count_nonzero(spikes.detach()))
        if membrane is None or membrane.numel() != spikes.numel():
            self.without_membrane.add(name)
            return
        step.membrane = RunningMoments()
        step.membrane.update(membrane)

    def report(self, notes: list[str]) -> ActivityReport:
        rows = []
        for name, steps in self.steps.items():
            kind = type(self.neurons[name]).__name__
            for index, step in enumerate(steps):
                moments = step.membrane
                rows.append(
                    ActivityRow(
                        layer=name,
                        kind=kind,
                        step=index,
                        neurons=step.neurons,
                        spikes=step.spikes,
                        rate=step.spikes / step.neurons if step.neurons else math.nan,
                        u_mean=None if moments is None else moments.mean,
                        u_var=None if moments is None else moments.variance,
                        u_skew=None if moments is None else moments.skewness,
                        u_kurt=None if moments is None else moments.kurtosis,
                    )
                )
        never = [name for name, steps in self.steps.items() if not steps]
        if never:
            notes.append(f"never called, so not in the table: {', '.join(never)}")
        for name, error in self.errors.items():
            notes.append(f"the adapter failed to read the activity of {name} ({error})")
        if self.fallback:
            notes.append(
                f"no adapter reads the activity of {', '.join(sorted(self.fallback))}: each call counts as one step, "
                "its output (or the output's first tensor) as the spikes, without a membrane"
            )
        missing = sorted(self.without_membrane - self.fallback)
        if missing:
            notes.append(f"membrane not available for {', '.join(missing)} (statistics left empty)")
        return ActivityReport(rows=tuple(rows), notes=tuple(notes))


def _state_parameter(model: nn.Module) -> int | None:
    """Position of a ``state`` parameter of ``model.forward`` (Norse ``SequentialState``), if it has one."""
    try:
        parameters = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return None
    for index, parameter in enumerate(parameters):
        if parameter.name == "state" and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
            return index if parameter.kind is parameter.POSITIONAL_OR_KEYWORD else len(parameters)
    return None


def _run(model: nn.Module, example_input: Any, steps: int | None, notes: list[str]) -> None:
    args, kwargs = arguments(example_input)
    if steps is None:
        model(*args, **kwargs)
        return
    position = _state_parameter(model)
    state: Any = None
    for call in range(steps):
        if call and position is not None:
            if position < len(args):
                args = (*args[:position], state, *args[position + 1 :])
            else:
                kwargs = {**kwargs, "state": state}
        output = model(*args, **kwargs)
        if position is not None:
            if isinstance(output, tuple) and len(output) == 2:
                state = output[1]
            else:
                position = None
    if _state_parameter(model) is not None:
        if position is not None:
            notes.append(f"{steps} calls threaded the state the model returned (forward(..., state) -> (out, state))")
        else:
            notes.append(
                "the model's forward takes a state but did not return (output, state): its state was not threaded "
                "between the calls"
            )


def _check_steps(steps: int | None) -> None:
    if steps is None:
        return
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise SNNInitError(f"steps must be None (one call) or a positive int, not {steps!r}")


def measure_activity(model: nn.Module, example_input: Any, *, steps: int | None = None) -> ActivityReport:
    """Spike counts, firing rates and membrane statistics of every neuron layer, per time step.

    The model runs on a deep copy under ``torch.no_grad()`` in its current training mode (call
    ``model.eval()`` first for inference behaviour); its neurons' state is reset first. The model and
    its state are left untouched. Each call of a neuron adds one step to that neuron (a multi-step call
    on ``[T, ...]`` adds ``T``), so time loops inside ``forward`` and multi-step models are covered by
    one call. Statistics are accumulated on the fly (float64), not stored, so memory does not grow with
    the batch or the number of steps beyond one small record per layer and step.

    Args:
        model: The spiking network (snnTorch, SpikingJelly, Norse, or any framework with an adapter).
        example_input: A batch as the model takes it: a tensor, a tuple of positional arguments or a
            dict of keyword arguments (``[T, B, ...]`` for multi-step models, ``[B, ...]`` for single-step ones).
        steps: None to call the model once; ``K`` to call it ``K`` times on the same input, keeping the
            neurons' state between calls (single-step models with the time loop outside). A model whose
            ``forward`` takes a ``state`` argument and returns ``(output, state)`` (Norse
            ``SequentialState``) gets that state passed back in.

    Returns:
        The report: one row per neuron layer and step; ``print(report)`` for the per-layer table.

    Raises:
        SNNInitError: If the model has no neuron any adapter recognises, cannot run on
            ``example_input``, or ``steps`` is not a positive int.
    """
    _check_steps(steps)
    model, notes = unwrap(model)
    manager = get_plugin_manager()
    replica = copy_model(model)
    notes.extend(strip_compiled(replica))
    found = atoms(replica, manager)
    neurons = {name: atom.module for name, atom in found.items() if atom.role == "neuron"}
    if not neurons:
        raise no_neuron_error(manager, found)
    for module in neurons.values():
        manager.hook.snninit_prepare_activity(module=module)
    monitor = _Monitor(manager, neurons)
    handles = [module.register_forward_hook(monitor.hook(name), with_kwargs=True) for name, module in neurons.items()]
    with forward_pass(example_input, handles):
        reset_state(manager, replica)
        with torch.no_grad():
            _run(replica, example_input, steps, notes)
    return monitor.report(notes)
