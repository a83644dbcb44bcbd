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

import torch
from torch import nn

from snninit_adapters.discovery import discover, discover_sequential
from snninit_adapters.errors import SNNInitError
from snninit_adapters.init import get_method
from snninit_adapters.model import unwrap
from snninit_adapters.plan import BIAS_POLICIES, PlanOptions, plan_model
from snninit_adapters.plugins import get_plugin_manager
from snninit_adapters.report import InitReport
from snninit_adapters.write import write_plan

__all__ = ["apply_snn_init"]


def _check_arguments(model: Any, target_variance: float, bias: str) -> None:
    if not isinstance(model, nn.Module):
        raise SNNInitError(f"apply_snn_init expects a torch.nn.Module, got {type(model).__name__}")
    if not (isinstance(target_variance, int | float) and math.isfinite(target_variance) and target_variance > 0):
        raise SNNInitError(f"target_variance must be a positive finite number, got {target_variance!r}")
    if bias not in BIAS_POLICIES:
        raise SNNInitError(f"bias must be one of {', '.join(BIAS_POLICIES)}, got {bias!r}")


def apply_snn_init(
    model: nn.Module,
    example_input: Any = None,
    *,
    method: str = "micheli2024",
    target_variance: float = 1.0,
    bias: str = "zero",
    generator: torch.Generator | None = None,
    dry_run: bool = False,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
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
        generator: the torch Generator to sample from (default: None)
        dry_run: Return the plan without changing anything.
        include: Glob patterns of layer names to initialise (default: all).
        exclude: Glob patterns of layer names to leave alone.
        **method_options: Extra arguments of the method's weight law (e.g. ``nu=`` for ``rossbroich2022``).

    Returns:
        The report: per layer its neurons, fan-in, firing probability, old and new weight std, bias.

    Raises:
        SNNInitError: For no spiking neuron, an input the model cannot take, a non-finite or
            underflowing threshold, an unreadable neuron, or invalid arguments.
    """
    _check_arguments(model, target_variance, bias)
    name = get_method(method).name  # fails fast on an unknown name
    options = PlanOptions(name, method_options, float(target_variance), bias, include, exclude)
    model, notes = unwrap(model)
    manager = get_plugin_manager()
    if example_input is None:
        graph = discover_sequential(model, manager)
        notes.append("no example input: the data flow was read from the Sequential's module order")
    else:
        graph = discover(model, example_input, manager)
    plan = plan_model(model, graph, manager, options)
    if not dry_run:
        write_plan(plan.layers, generator)
        manager.hook.snninit_reset_state(model=model)
    return plan.report(options, applied=not dry_run, discovery=graph.method, notes=notes)
