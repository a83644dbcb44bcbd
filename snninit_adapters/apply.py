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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pluggy
import torch
from torch import nn

from snninit_adapters.discovery import discover, discover_sequential
from snninit_adapters.errors import SNNInitError
from snninit_adapters.graph import Graph
from snninit_adapters.init import get_method
from snninit_adapters.model import reset_state, tensors, unwrap
from snninit_adapters.plan import BIAS_POLICIES, BRANCH_POLICIES, FROZEN_POLICIES, PlanOptions, plan_model
from snninit_adapters.plugins import get_plugin_manager
from snninit_adapters.report import InitReport
from snninit_adapters.write import write_plan

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
    for option, (value, valid) in {"branches": (choices["branches"], BRANCH_POLICIES),
                                   "frozen": (choices["frozen"], FROZEN_POLICIES)}.items():  # fmt: skip
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
    **method_options: Any,
) -> InitReport:
    r"""Re-initialise every linear and conv layer of a spiking model from the neurons around it.

    One no-grad forward pass of ``example_input`` through a deep copy finds, for every weight layer,
    the neurons whose spikes feed it and the neurons it drives. Each layer's weights are then drawn so
    that the driven membrane has variance ``target_variance`` after one step (module docstring). The
    whole plan is computed first; if anything fails, the model is left bit-for-bit unchanged.

    Args:
        model: A model built with snnTorch, SpikingJelly, Norse or any registered adapter.
        example_input: A batch as the model takes it (tensor, tuple of arguments or dict of keyword
            arguments). Without it, an ``nn.Sequential`` is read from its module order.
        method: A registered method name (:func:`~snninit_adapters.available_methods`).
        target_variance: Membrane variance to aim at.
        bias: ``"zero"`` (the theory assumes no bias) or ``"keep"``.
        generator: The torch Generator to sample from (default: the global one).
        dry_run: Return the plan without changing anything.
        include: Glob pattern(s) of layer names to initialise (default: all); a pattern that matches no
            layer is an error.
        exclude: Glob pattern(s) of layer names to leave alone.
        branches: ``"split"``: weight layers summed into one neuron population share the target, so that
            the sum has it; ``"each"``: every layer gets the whole target.
        frozen: ``"reinit"``: re-initialise layers whose weight does not require grad (the report says
            so); ``"skip"``: leave them as they are.
        **method_options: Extra arguments of the method's weight law (e.g. ``nu=`` for ``rossbroich2022``).

    Returns:
        The report: per layer its neurons, fan-in, firing probability, old and new weight std, bias.

    Raises:
        SNNInitError: For no spiking neuron, an input the model cannot take, a non-finite or
            underflowing threshold, an unreadable neuron, or invalid arguments.
    """
    _check_arguments(model, target_variance, bias, generator, {"branches": branches, "frozen": frozen})
    _check_input(example_input)
    options = PlanOptions(get_method(method).name, method_options, float(target_variance), bias,
                          _patterns(include, "include"), _patterns(exclude, "exclude"), branches, frozen)  # fmt: skip
    model, notes = unwrap(model)
    manager = get_plugin_manager()
    graph = _discover(model, example_input, manager, notes)
    plan = plan_model(model, graph, manager, options)
    realised = None if dry_run else write_plan(plan.layers, generator, after=lambda: reset_state(manager, model))
    return plan.report(options, applied=not dry_run, discovery=graph.method, notes=[*notes, *graph.notes],
                       realised=realised)  # fmt: skip


def _discover(model: nn.Module, example_input: Any, manager: pluggy.PluginManager, notes: list[str]) -> Graph:
    """The data flow: traced on the example input, or read from a Sequential's module order without one."""
    if example_input is not None:
        return discover(model, example_input, manager)
    notes.append("no example input: the data flow was read from the Sequential's module order")
    return discover_sequential(model, manager)
