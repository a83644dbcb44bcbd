r"""``apply_snn_init``: initialise every linear and conv layer of a spiking model from its neurons.

The rule, in each framework's own units. The downstream membrane after one step is
:math:`u = g\,(W x)`, so asking :math:`\operatorname{Var}[u] = \sigma^2_\text{target}` gives

.. math::

    \operatorname{Var}[w] = \frac{\sigma^2_\text{target}}{g_\text{down}^2\; n\; E[x^2]},

with :math:`E[x^2] = a^2 P(u_\text{pre} > \theta_\text{pre})` for spikes of amplitude :math:`a` from
upstream neurons whose membrane has std :math:`\sigma_\text{pre}` (the target, or, for neurons fed by
the data, :math:`g_\text{pre}` times the data's r.m.s.), and :math:`E[x^2]` measured on the example
input for a layer that reads the data. A readout with no downstream neuron uses :math:`g = 1`. With
:math:`g = a = \sigma_\text{pre} = 1` this is the paper's Eq. 10.

The pipeline reads in order: check the arguments, discover the data flow, plan every layer, calibrate
the plan if asked, write it atomically, report. ``apply_snn_init`` is kept whole: its signature is the
library's one entry point and lists, with one line of docstring each, every option a user can pass;
its body is that pipeline and nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pluggy
import torch
from torch import nn

from snninit_adapters.calibrate import Calibration, calibrate
from snninit_adapters.discovery import discover, discover_sequential
from snninit_adapters.errors import SNNInitError
from snninit_adapters.graph import Graph
from snninit_adapters.init import get_method
from snninit_adapters.model import reset_state, tensors, unwrap
from snninit_adapters.monitor import measure_activity
from snninit_adapters.plan import (
    BIAS_POLICIES,
    BRANCH_POLICIES,
    FROZEN_POLICIES,
    NORMALISER_POLICIES,
    Plan,
    PlanOptions,
)
from snninit_adapters.planner import plan_model
from snninit_adapters.plugins import get_plugin_manager
from snninit_adapters.report import InitReport
from snninit_adapters.write import draw_values, write_plan

__all__ = ["apply_snn_init"]


def _check_arguments(model: Any, target_variance: float, bias: str, generator: Any, choices: dict[str, str]) -> None:
    if not isinstance(model, nn.Module):
        raise SNNInitError(f"apply_snn_init expects a torch.nn.Module, got {type(model).__name__}")
    if not (isinstance(target_variance, int | float) and math.isfinite(target_variance) and target_variance > 0):
        raise SNNInitError(f"target_variance must be a positive finite number, got {target_variance!r}")
    if bias not in BIAS_POLICIES:
        raise SNNInitError(f"bias must be one of {', '.join(BIAS_POLICIES)}, got {bias!r}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise SNNInitError(
            f"generator must be a torch.Generator or None, got {type(generator).__name__} {generator!r}; "
            "for a seed, pass torch.Generator().manual_seed(seed)"
        )
    policies = {"branches": BRANCH_POLICIES, "frozen": FROZEN_POLICIES, "normalisers": NORMALISER_POLICIES}
    for option, valid in policies.items():
        value = choices[option]
        if value not in valid:
            raise SNNInitError(f"{option} must be one of {', '.join(valid)}, got {value!r}")
    lazy = [name for name, p in model.named_parameters() if isinstance(p, nn.parameter.UninitializedParameter)]
    if lazy:
        raise SNNInitError(
            f"the model has uninitialised (lazy) parameters ({', '.join(lazy)}): their shape is not known yet. "
            "Run the model once on a batch (LazyLinear and LazyConv materialise their weights then), then initialise"
        )


def _patterns(value: Any, option: str) -> tuple[str, ...] | None:
    """Glob patterns as a tuple: a single string is one pattern, not its characters."""
    if value is None:
        return None
    items = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, list | tuple | set) else None
    if items is None or not all(isinstance(item, str) for item in items):
        raise SNNInitError(f"{option} must be a glob pattern or a list of them (e.g. ['fc*']), got {value!r}")
    return items


def _check_input(example_input: Any) -> None:
    """Refuse an example input on the meta device or with NaN or infinite values, before any forward pass."""
    for tensor in tensors(example_input):
        if tensor.is_meta:
            raise SNNInitError(
                f"the example input of shape {tuple(tensor.shape)} is on the meta device and holds no values; "
                "pass a real batch (discovery runs the model on it and measures its E[x^2])"
            )
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            raise SNNInitError(
                f"the example input of shape {tuple(tensor.shape)} holds {bad} NaN or infinite value(s); "
                "pass a batch of real data"
            )


def apply_snn_init(
    model: nn.Module,
    example_input: Any = None,
    *,
    method: str = "micheli2024",
    target_variance: float = 1.0,
    bias: str = "zero",
    generator: torch.Generator | None = None,
    dry_run: bool = False,
    include: str | Sequence[str] | None = None,
    exclude: str | Sequence[str] | None = None,
    branches: str = "split",
    frozen: str = "reinit",
    normalisers: str = "set",
    calibrate: bool | Calibration = False,
    target: str = "variance",
    target_rate: float | Mapping[str, float] | None = None,
    backup_device: str | torch.device | None = None,
    **method_options: Any,
) -> InitReport:
    r"""Re-initialise every linear and conv layer of a spiking model from the neurons around it.

    A no-grad forward pass of ``example_input`` through a copy finds what feeds each weight layer and
    what it drives; its weights are drawn so that the driven membrane has variance ``target_variance``
    after one step (module docstring), optionally calibrated on the batch. All or nothing is written.

    Args:
        model: A model built with snnTorch, SpikingJelly, Norse or any registered adapter.
        example_input: A batch as the model takes it (tensor, tuple of arguments or dict of keyword
            arguments). Without it, an ``nn.Sequential`` is read from its module order.
        method: A registered method name (:func:`~snninit_adapters.available_methods`).
        target_variance: Membrane variance to aim at.
        bias: ``"zero"`` (the theory assumes no bias) or ``"keep"``.
        generator: The torch Generator to sample from (default: the global one).
        dry_run: Return the plan without changing anything.
        include: Glob pattern(s) of the layers to initialise (default: all); each must match a layer.
        exclude: Glob pattern(s) of the layers to leave alone.
        branches: ``"split"``: layers summed into one population share the target; ``"each"``: each gets it.
        frozen: ``"reinit"`` layers whose weight does not require grad (with a note), or ``"skip"`` them.
        normalisers: ``"set"`` the affine weight of a BatchNorm (...) between a layer and its neurons so
            that it carries the scale, or ``"keep"`` them.
        calibrate: Measure each neuron population on the example batch and rescale its layers to the
            target (``True``, or a :class:`~snninit_adapters.Calibration` with the settings).
        target: What calibration aims at: ``"variance"`` (first-step Var[u]) or ``"rate"`` (time-averaged rate).
        target_rate: For ``target="rate"``: a rate, or a mapping from population to rate.
        backup_device: Where the rollback keeps the old value of every tensor it writes until all are
            written (None: next to each tensor). ``"cpu"`` spares a GPU the room for a second copy of the
            weights, for one device-to-host copy of them.
        **method_options: Extra arguments of the method's weight law (e.g. ``nu=`` for ``rossbroich2022``).

    Returns:
        The report: per layer its neurons, fan-in, firing probability, old and new weight std, bias.

    Raises:
        SNNInitError: For no spiking neuron, an input the model cannot take, a non-finite or
            underflowing threshold, an unreadable neuron, or invalid arguments.
    """
    _check_arguments(model, target_variance, bias, generator,
                     {"branches": branches, "frozen": frozen, "normalisers": normalisers})  # fmt: skip
    _check_input(example_input)
    backups = _device(backup_device)
    settings = _calibration(calibrate, target, target_rate)
    initialiser = get_method(method)
    initialiser.check_options(method_options, caller=_ARGUMENTS, name="apply_snn_init")
    options = PlanOptions(initialiser.name, method_options, float(target_variance), bias,
                          _patterns(include, "include"), _patterns(exclude, "exclude"), branches, frozen,
                          normalisers, old_stds=dry_run)  # fmt: skip
    model, notes = unwrap(model)
    options = _with_steps(options, model, example_input, notes)
    manager = get_plugin_manager()
    graph = _discover(model, example_input, manager, notes)
    plan = plan_model(model, graph, manager, options)
    return _carry_out(model, example_input, plan, options, settings, generator, dry_run=dry_run,
                      notes=[*notes, *graph.notes], discovery=graph.method, manager=manager,
                      backup_device=backups)  # fmt: skip


_ARGUMENTS = (
    "model", "example_input", "method", "target_variance", "bias", "generator", "dry_run", "include", "exclude",
    "branches", "frozen", "normalisers", "calibrate", "target", "target_rate", "backup_device",
)  # fmt: skip
"""apply_snn_init's own arguments, for the hint on a misspelt one (a test keeps it equal to the signature)."""


def _with_steps(options: PlanOptions, model: nn.Module, example_input: Any, notes: list[str]) -> PlanOptions:
    """For a multi-step method: the steps asked for, or counted by running the model once on the example input."""
    steps = options.options.get("steps")
    if not get_method(options.method).temporal:
        return options
    if steps is not None:
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise SNNInitError(f"steps must be a positive int (the time steps T), got {steps!r}")
        return options
    if example_input is None:
        raise SNNInitError(f"method {options.method!r} models T time steps: pass steps=T or an example input")
    counted = max((row.step + 1 for row in measure_activity(model, example_input).rows), default=1)
    notes.append(
        f"{options.method}: T = {counted} step(s), counted on the example input (pass steps=T to set it)"
        + ("; at one step the temporal rule is Eq. 10 wherever Eq. 10 is stable" if counted == 1 else "")
    )
    return replace(options, options={**options.options, "steps": counted})


def _device(value: str | torch.device | None) -> torch.device | None:
    """The rollback's backup device, checked."""
    if value is None or isinstance(value, torch.device):
        return value
    try:
        return torch.device(value)
    except (RuntimeError, TypeError) as error:
        raise SNNInitError(
            f"backup_device must be None, a torch.device or a device name like 'cpu', got {value!r}"
        ) from error


def _calibration(calibrate: bool | Calibration, target: str, target_rate: Any) -> Calibration | None:
    """The calibration settings (None: the analytic plan alone), checked."""
    if calibrate is False:
        if target != "variance" or target_rate is not None:
            raise SNNInitError("target and target_rate set what calibration aims at: pass calibrate=True with them")
        return None
    if calibrate is True:
        settings = Calibration(target=target, target_rate=target_rate)
    elif isinstance(calibrate, Calibration):
        settings = calibrate
    else:
        raise SNNInitError(f"calibrate must be True, False or a Calibration, got {calibrate!r}")
    settings.check()
    return settings


def _carry_out(
    model: nn.Module,
    example_input: Any,
    plan: Plan,
    options: PlanOptions,
    settings: Calibration | None,
    generator: torch.Generator | None,
    **context: Any,
) -> InitReport:
    """Calibrate the plan if asked, write it unless a dry run, and report."""
    manager, notes = context["manager"], list(context["notes"])
    values, populations = None, []
    if settings is not None:
        if example_input is None:
            raise SNNInitError("calibration runs the model on the example input: pass one")
        values = draw_values(plan.layers, generator)
        found = calibrate(model, example_input, plan, values, manager, settings, options.target_variance)
        values = [None if v is None else v * f for v, f in zip(values, found.layer_factors, strict=True)]
        plan, populations = plan.scaled(found.layer_factors, found.normaliser_factors), found.populations
        notes += found.notes
    realised = None
    if not context["dry_run"]:
        realised = write_plan(plan.layers, generator, normalisers=plan.normalisers, values=values,
                              after=lambda: reset_state(manager, model),
                              backup_device=context["backup_device"])  # fmt: skip
    return plan.report(options, applied=not context["dry_run"], discovery=context["discovery"], notes=notes,
                       realised=realised, calibration=populations)  # fmt: skip


def _discover(model: nn.Module, example_input: Any, manager: pluggy.PluginManager, notes: list[str]) -> Graph:
    """The data flow: traced on the example input, or read from a Sequential's module order without one."""
    if example_input is not None:
        return discover(model, example_input, manager)
    notes.append("no example input: the data flow was read from the Sequential's module order")
    return discover_sequential(model, manager)
