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

import fnmatch
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pluggy
import torch
from torch import nn

from snninit_adapters.discovery import INPUT, Graph, Link, discover, discover_sequential
from snninit_adapters.errors import FiringProbabilityUnderflowError, SNNInitError
from snninit_adapters.init import get_method
from snninit_adapters.init._tensor import fill_
from snninit_adapters.neurons import NeuronRecord, threshold_array
from snninit_adapters.plugins import get_plugin_manager
from snninit_adapters.report import InitReport, LayerReport, NeuronLink, SkippedWeight
from snninit_adapters.survival import FullyConnectedLink, chain_survival
from snninit_adapters.theory import LayerContext, WeightLaw, fan_in, fan_out, firing_probability

__all__ = ["apply_snn_init"]

BIAS_POLICIES = ("zero", "keep")
_NORMALISING = ("BatchNorm", "LayerNorm", "GroupNorm", "InstanceNorm")
_POOLING = ("pool", "Pool")
_SCALING = ("mul", "div", "truediv", "rmul")


@dataclass(frozen=True)
class _Planned:
    report: LayerReport
    weight: nn.Parameter | torch.Tensor
    bias: nn.Parameter | torch.Tensor | None
    law: WeightLaw


def _unwrap(model: nn.Module) -> tuple[nn.Module, list[str]]:
    notes = []
    while True:
        inner = getattr(model, "_orig_mod", None)
        if isinstance(inner, nn.Module):  # torch.compile's OptimizedModule
            notes.append(f"unwrapped torch.compile's {type(model).__name__}")
            model = inner
            continue
        if isinstance(model, nn.DataParallel | nn.parallel.DistributedDataParallel):
            notes.append(f"unwrapped {type(model).__name__}")
            model = model.module
            continue
        return model, notes


def _check_arguments(model: Any, target_variance: float, bias: str) -> None:
    if not isinstance(model, nn.Module):
        raise SNNInitError(f"apply_snn_init expects a torch.nn.Module, got {type(model).__name__}")
    if not (isinstance(target_variance, int | float) and math.isfinite(target_variance) and target_variance > 0):
        raise SNNInitError(f"target_variance must be a positive finite number, got {target_variance!r}")
    if bias not in BIAS_POLICIES:
        raise SNNInitError(f"bias must be one of {', '.join(BIAS_POLICIES)}, got {bias!r}")


def _selected(name: str, include: Sequence[str] | None, exclude: Sequence[str] | None) -> bool:
    if include is not None and not any(fnmatch.fnmatchcase(name, pattern) for pattern in include):
        return False
    return not (exclude is not None and any(fnmatch.fnmatchcase(name, pattern) for pattern in exclude))


def _get(module: nn.Module, dotted: str) -> Any:
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


class _Planner:
    """Turns the discovered graph and the neurons' records into one plan entry per weight layer."""

    def __init__(
        self,
        graph: Graph,
        records: _Records,
        target_variance: float,
        owners: dict[str, str] | None = None,
    ) -> None:
        self.owners = owners or {}  # owned feed-forward weight name -> its neuron
        self.graph = graph
        self.records = records
        self.target_variance = target_variance
        self.notes: list[str] = []

    def role(self, name: str) -> str:
        if name == INPUT:
            return "input"
        return self.graph.atoms[name].role

    def link(self, link: Link) -> NeuronLink:
        if link.name == INPUT:
            return NeuronLink(INPUT, "input", path=link.path)
        record = self.records.get(link.name)
        if record is None:
            return NeuronLink(link.name, "weight layer", path=link.path)
        return NeuronLink(
            link.name, record.kind, record.describe_threshold(), record.input_gain, link.path, record.probed
        )

    def membrane_std(self, neuron: str) -> float:
        """Std of a neuron's membrane: the target, or its gain times the data's r.m.s. if data feeds it."""
        sources = self.graph.walk(neuron, forward=False)
        if neuron in self.owners.values():  # its own input weights set its membrane: the rule's target
            return math.sqrt(self.target_variance)
        if sources and all(link.name == INPUT for link in sources):
            moment = self.graph.input_second_moment(neuron)
            if moment is None:
                moment = 1.0
                self.notes.append(f"{neuron} reads the model input directly; assumed E[x^2] = 1 (normalised data)")
            return self.records[neuron].input_gain * math.sqrt(moment)
        return math.sqrt(self.target_variance)

    def spike_moments(self, neuron: str, layer: str) -> tuple[float, float, float]:
        """(P, E[x], E[x^2]) of a neuron's output spikes."""
        record = self.records[neuron]
        sigma = self.membrane_std(neuron)
        p = float(np.mean(firing_probability(threshold_array(record.threshold), std=sigma)))
        if p == 0.0:
            raise FiringProbabilityUnderflowError(
                float(threshold_array(record.threshold).max() / sigma),
                f"(neuron {neuron!r}, threshold {record.describe_threshold()} against a membrane std of "
                f"{sigma:.3g}, feeds layer {layer!r})",
            )
        amplitude = record.spike_amplitude
        return p, amplitude * p, amplitude**2 * p

    def input_moment(self, layer: str, sources: list[Link], warnings: list[str]) -> tuple[float, float | None]:
        """E[x^2] of the layer's input, and the upstream firing probability when one neuron feeds it."""
        parts: list[tuple[float, float]] = []  # (E[x], E[x^2]) per source
        probability = None
        for link in sources:
            role = self.role(link.name)
            if role == "input":
                moment = self.graph.input_second_moment(self.owners.get(layer, layer))
                if moment is None:
                    moment = 1.0
                    warnings.append("reads the model input; assumed E[x^2] = 1 (normalised data)")
                parts.append((0.0, moment))
            elif role == "neuron":
                probability, mean, moment = self.spike_moments(link.name, layer)
                parts.append((mean, moment))
                if any(any(p in step for p in _POOLING) for step in link.path):
                    warnings.append(
                        f"pooling between {link.name} and this layer changes E[x^2]; the rule uses the neuron's rate"
                    )
            else:
                parts.append((0.0, self.target_variance))
                warnings.append(f"fed by weight layer {link.name} with no neuron between; assumed E[x^2] = target")
        if len(parts) == 1:
            return parts[0][1], probability
        paths = {step for link in sources for step in link.path}
        if paths & {"cat", "stack", "concat", "concatenate"}:
            warnings.append(f"{len(parts)} sources concatenated; E[x^2] is their average")
            return float(np.mean([moment for _, moment in parts])), None
        # a sum of independent inputs: E[(sum x_i)^2] = sum E[x_i^2] + 2 sum_{i<j} E[x_i] E[x_j]
        means = [mean for mean, _ in parts]
        cross = sum(means[i] * means[j] for i in range(len(means)) for j in range(i + 1, len(means)))
        warnings.append(f"{len(parts)} sources summed (residual); E[x^2] assumes they are independent")
        return sum(moment for _, moment in parts) + 2 * cross, None

    def plan_layer(
        self,
        name: str,
        kind: str,
        weight: torch.Tensor,
        *,
        transposed: bool,
        groups: int,
        upstream: list[Link],
        downstream: list[Link],
        method: str,
        method_options: dict[str, Any],
        bias_text: str,
    ) -> tuple[LayerReport, WeightLaw]:
        warnings: list[str] = []
        shape = tuple(weight.shape)
        n_in = fan_in(shape, transposed=transposed, groups=groups)
        n_out = fan_out(shape, transposed=transposed, groups=groups)
        if not upstream:
            upstream = [Link(INPUT, ())]
            warnings.append("its input was not traced to a neuron or the model input; treated as model input")
        second_moment, probability = self.input_moment(name, upstream, warnings)
        neurons_down = [link for link in downstream if self.role(link.name) == "neuron"]
        gain = 1.0
        theta_post = None
        if neurons_down:
            first = self.records[neurons_down[0].name]
            gain = first.input_gain
            theta_post = threshold_array(first.threshold) / gain
            gains = {self.records[link.name].input_gain for link in neurons_down}
            if len(gains) > 1:
                warnings.append(f"drives neurons with different input gains {sorted(gains)}; used g={gain:.4g}")
            if first.input_delay:
                warnings.append(
                    f"{neurons_down[0].name}'s input reaches its membrane after {first.input_delay} step(s); "
                    "the rule uses the gain at that step"
                )
        for link in neurons_down:
            if any(step.startswith("mod:") and any(n in step for n in _NORMALISING) for step in link.path):
                warnings.append(
                    f"normalisation between this layer and {link.name}: the weight scale is normalised away "
                    "at training time"
                )
            if any(step in _SCALING for step in link.path):
                warnings.append(f"a multiplication on the path to {link.name} scales its input; the rule assumes none")
        if any(link.name == name for link in downstream):
            warnings.append("its output flows back into itself (shared or recurrent use)")
        theta_pre = None
        spiking = [link for link in upstream if self.role(link.name) == "neuron"]
        if len(upstream) == 1 and spiking:
            record = self.records[spiking[0].name]
            theta_pre = threshold_array(record.threshold) / self.membrane_std(spiking[0].name)
        context = LayerContext(
            fan_in=n_in,
            fan_out=n_out,
            theta_pre=theta_pre,
            theta_post=theta_post,
            input_second_moment=second_moment,
            input_gain=gain,
            target_variance=self.target_variance,
        )
        initialiser = get_method(method)
        try:
            law = initialiser.weight_law(context, **method_options)
        except TypeError as error:
            raise SNNInitError(f"method {initialiser.name!r} does not take these options: {error}") from error
        except SNNInitError as error:
            raise SNNInitError(f"layer {name!r}: {error}") from error
        report = LayerReport(
            name=name,
            kind=kind,
            fan_in=n_in,
            upstream=tuple(self.link(link) for link in upstream),
            downstream=tuple(self.link(link) for link in downstream),
            firing_probability=probability,
            input_second_moment=second_moment,
            old_std=float(weight.detach().double().std()) if weight.numel() > 1 else 0.0,
            new_std=law.std,
            new_mean=law.mean,
            distribution=law.distribution,
            bias=bias_text,
            warnings=tuple(dict.fromkeys(warnings)),
        )
        return report, law


class _Records(dict[str, NeuronRecord]):
    """Neuron records by name; a neuron that could not be read raises its error only when a layer needs it."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: dict[str, SNNInitError] = {}

    def __missing__(self, name: str) -> NeuronRecord:
        if name in self.errors:
            raise self.errors[name]
        raise KeyError(name)


def _fully_connected_link(
    report: LayerReport, weight: torch.Tensor, law: WeightLaw, records: _Records, target_variance: float
) -> FullyConnectedLink | None:
    """The layer as a link of a fully-connected chain, if it is one: 2-D weight, one source, one neuron."""
    if weight.dim() != 2 or len(report.upstream) != 1 or len(report.downstream) != 1:
        return None
    up, down = report.upstream[0], report.downstream[0]
    if down.name not in records or (up.name != INPUT and up.name not in records):
        return None
    amplitude = records[up.name].spike_amplitude if up.name != INPUT else 1.0
    record = records[down.name]
    return FullyConnectedLink(
        layer=report.name,
        upstream=up.name,
        downstream=down.name,
        n_in=report.fan_in,
        n_out=int(weight.shape[0]),
        p_in=report.firing_probability,
        weight_std=record.input_gain * amplitude * law.std,
        theta=float(threshold_array(record.threshold).mean()),
        membrane_std=math.sqrt(target_variance),
    )


def _records(graph: Graph, modules: dict[str, nn.Module], manager: pluggy.PluginManager) -> _Records:
    records = _Records()
    for name, atom in graph.atoms.items():
        if atom.role != "neuron":
            continue
        module = modules[name]
        try:
            record = manager.hook.snninit_neuron_record(module=module)
        except SNNInitError as error:
            records.errors[name] = SNNInitError(f"neuron {name!r}: {error}")
            continue
        if record is None:
            records.errors[name] = SNNInitError(
                f"neuron {name!r} ({type(module).__module__}.{type(module).__name__}) was recognised, but no adapter "
                "could read its threshold or probe it; write an adapter for it (see the plugin guide), replace it, "
                "or exclude the layers next to it"
            )
            continue
        records[name] = record
    return records


def _no_neuron_error(manager: pluggy.PluginManager, graph: Graph) -> SNNInitError:
    adapters = sorted(name for name, _ in manager.list_name_plugin())
    kinds = sorted({type(atom.module).__name__ for atom in graph.atoms.values()})
    return SNNInitError(
        f"no spiking neuron found in the model (its modules: {', '.join(kinds) or 'none'}). Active adapters: "
        f"{', '.join(adapters)}. If the model uses a framework with no adapter here, install the matching extra "
        "(pip install 'snninit-adapters[snntorch|spikingjelly|norse]') or register an adapter plugin."
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
    get_method(method)  # fail fast on an unknown name
    model, notes = _unwrap(model)
    manager = get_plugin_manager()
    graph = (
        discover(model, example_input, manager) if example_input is not None else discover_sequential(model, manager)
    )
    if graph.method == "module order":
        notes.append("no example input: the data flow was read from the Sequential's module order")
    modules = dict(model.named_modules())
    modules["<root>"] = model
    records = _records(graph, modules, manager)
    if not records:
        if records.errors:
            raise next(iter(records.errors.values()))
        raise _no_neuron_error(manager, graph)
    notes.extend(f"{name}: {note}" for name, record in records.items() for note in record.notes)
    owners = {
        f"{name}.{owned.weight}": name
        for name, atom in graph.atoms.items()
        if atom.role == "neuron"
        for owned_list in manager.hook.snninit_owned_weights(module=modules[name])
        for owned in owned_list or []
        if owned.role == "feedforward"
    }
    planner = _Planner(graph, records, float(target_variance), owners)
    plans: list[_Planned] = []
    skipped: list[SkippedWeight] = []
    links: list[FullyConnectedLink] = []
    convolutions: list[str] = []

    def add(name: str, kind: str, owner: nn.Module, spec_weight: str, spec_bias: str | None, **kw: Any) -> None:
        weight = _get(owner, spec_weight)
        bias_param = _get(owner, spec_bias) if spec_bias and _get(owner, spec_bias) is not None else None
        bias_text = "none" if bias_param is None else ("zeroed" if bias == "zero" else "kept")
        report, law = planner.plan_layer(
            name, kind, weight, method=method, method_options=method_options, bias_text=bias_text, **kw
        )
        plans.append(_Planned(report, weight, bias_param if bias == "zero" else None, law))
        link = _fully_connected_link(report, weight, law, records, float(target_variance))
        if link is not None:
            links.append(link)
        elif weight.dim() > 2:
            convolutions.append(name)

    for name, atom in graph.atoms.items():
        module = modules[name]
        if atom.role == "weight":
            spec = manager.hook.snninit_weight_layer(module=module)
            if not _selected(name, include, exclude):
                skipped.append(SkippedWeight(name, "excluded by include/exclude"))
                continue
            upstream = graph.walk(name, forward=False)
            downstream = graph.walk(name, forward=True)
            if graph.method == "forward pass" and not upstream and not downstream:
                skipped.append(SkippedWeight(name, "not called in the forward pass of the example input"))
                continue
            add(
                name,
                spec.kind,
                module,
                spec.weight,
                spec.bias,
                transposed=spec.transposed,
                groups=spec.groups,
                upstream=upstream,
                downstream=downstream,
            )
        elif atom.role == "neuron":
            for owned_list in manager.hook.snninit_owned_weights(module=module):
                for owned in owned_list or []:
                    full = f"{name}.{owned.weight}"
                    if owned.role != "feedforward":
                        skipped.append(SkippedWeight(full, f"{owned.role} weight inside the neuron: {owned.reason}"))
                    elif not _selected(full, include, exclude):
                        skipped.append(SkippedWeight(full, "excluded by include/exclude"))
                    else:
                        add(
                            full,
                            f"{type(module).__name__}.{owned.weight}",
                            module,
                            owned.weight,
                            owned.bias,
                            transposed=owned.transposed,
                            groups=1,
                            upstream=[link for link in graph.walk(name, forward=False) if link.name != name],
                            downstream=[Link(name, ())],
                        )
    notes.extend(dict.fromkeys(planner.notes))
    skipped.extend(
        SkippedWeight(name, f"neuron left out, no planned layer needs it: {error}")
        for name, error in records.errors.items()
    )
    chains = tuple(chain_survival(links, method=get_method(method).name))
    if convolutions:
        notes.append(
            "activity survival is computed for fully-connected chains only: convolutions share weights across "
            "positions, so the exact finite-width law would only approximate them through their fan-in"
        )
    report = InitReport(
        method=get_method(method).name,
        target_variance=float(target_variance),
        applied=not dry_run,
        discovery=graph.method,
        layers=tuple(plan.report for plan in plans),
        skipped=tuple(skipped),
        notes=tuple(notes),
        chains=chains,
    )
    if not dry_run:
        _write(plans, generator)
        manager.hook.snninit_reset_state(model=model)
    return report


def _write(plans: list[_Planned], generator: torch.Generator | None) -> None:
    """Draw every new weight first, then write them all; on any failure restore what was written."""
    device = generator.device if generator is not None else torch.device("cpu")
    values = []
    for plan in plans:
        value = torch.empty(plan.weight.shape, dtype=plan.weight.dtype, device=device)
        fill_(value, plan.law, generator)
        values.append(value)
    backups: list[tuple[torch.Tensor, torch.Tensor]] = []
    try:
        with torch.no_grad():
            for plan, value in zip(plans, values, strict=True):
                backups.append((plan.weight, plan.weight.detach().clone()))
                plan.weight.copy_(value)
                if plan.bias is not None:
                    backups.append((plan.bias, plan.bias.detach().clone()))
                    plan.bias.zero_()
    except Exception:
        with torch.no_grad():
            for tensor, backup in reversed(backups):
                tensor.copy_(backup)
        raise
