"""The plan of :func:`~snninit_adapters.apply_snn_init`: one weight law per weight layer, nothing written yet.

From the discovered data flow (:mod:`~snninit_adapters.discovery`) and the neurons' records (read by
the adapters), each weight layer gets the :class:`~snninit_adapters.theory.LayerContext` its method
needs: fan-in and fan-out, the upstream neurons' thresholds in units of their membrane's std, the
second moment :math:`E[x^2]` of its input, the driven neurons' input gain and thresholds, and the
target variance. The method turns it into a :class:`~snninit_adapters.theory.WeightLaw`. Everything
that makes the rule approximate for that layer is collected as a warning for the report.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pluggy
import torch
from torch import nn

from snninit_adapters.discovery import INPUT, Graph, Link
from snninit_adapters.errors import FiringProbabilityUnderflowError, SNNInitError
from snninit_adapters.init import get_method
from snninit_adapters.model import ROOT, no_neuron_error
from snninit_adapters.neurons import NeuronRecord
from snninit_adapters.report import InitReport, LayerReport, NeuronLink, SkippedWeight
from snninit_adapters.survival import ChainSurvival, FullyConnectedLink, chain_survival, fully_connected_link
from snninit_adapters.theory import LayerContext, WeightLaw, fan_in, fan_out, firing_probability

__all__ = ["BIAS_POLICIES", "NeuronRecords", "Plan", "PlanOptions", "PlannedLayer", "plan_model", "read_neurons"]

BIAS_POLICIES = ("zero", "keep")
_NORMALISING = ("BatchNorm", "LayerNorm", "GroupNorm", "InstanceNorm")
_POOLING = ("pool", "Pool")
_SCALING = ("mul", "div", "truediv", "rmul")
_JOINING = {"cat", "stack", "concat", "concatenate"}


@dataclass(frozen=True)
class PlanOptions:
    """What the user asked of :func:`~snninit_adapters.apply_snn_init` (checked before planning).

    Attributes:
        method: The method's registry name.
        options: Extra arguments of the method's weight law.
        target_variance: Membrane variance to aim at.
        bias: ``"zero"`` or ``"keep"``.
        include: Glob patterns of layer names to initialise (None: all).
        exclude: Glob patterns of layer names to leave alone.
    """

    method: str
    options: Mapping[str, Any] = field(default_factory=dict)
    target_variance: float = 1.0
    bias: str = "zero"
    include: Sequence[str] | None = None
    exclude: Sequence[str] | None = None

    def selects(self, name: str) -> bool:
        """Whether the include/exclude patterns let layer ``name`` be initialised."""
        if self.include is not None and not any(fnmatch.fnmatchcase(name, pattern) for pattern in self.include):
            return False
        return not (self.exclude is not None and any(fnmatch.fnmatchcase(name, pattern) for pattern in self.exclude))


@dataclass(frozen=True)
class PlannedLayer:
    """One weight layer's plan: its report row, the tensors to write, and the law to draw from."""

    report: LayerReport
    weight: nn.Parameter | torch.Tensor
    bias: nn.Parameter | torch.Tensor | None
    law: WeightLaw


@dataclass(frozen=True)
class Plan:
    """Everything :func:`~snninit_adapters.apply_snn_init` will write, and what goes in its report."""

    layers: tuple[PlannedLayer, ...]
    skipped: tuple[SkippedWeight, ...]
    notes: tuple[str, ...]
    chains: tuple[ChainSurvival, ...]

    def report(self, options: PlanOptions, *, applied: bool, discovery: str, notes: Sequence[str]) -> InitReport:
        """The report of this plan (``notes``: the model-wide remarks made before planning, listed first)."""
        return InitReport(
            method=options.method,
            target_variance=float(options.target_variance),
            applied=applied,
            discovery=discovery,
            layers=tuple(layer.report for layer in self.layers),
            skipped=self.skipped,
            notes=(*notes, *self.notes),
            chains=self.chains,
        )


class NeuronRecords(dict[str, NeuronRecord]):
    """Neuron records by name; a neuron that could not be read raises its error only when a layer needs it.

    Attributes:
        errors: The error of each neuron that could not be read.
    """

    def __init__(self) -> None:
        super().__init__()
        self.errors: dict[str, SNNInitError] = {}

    def __missing__(self, name: str) -> NeuronRecord:
        if name in self.errors:
            raise self.errors[name]
        raise KeyError(name)


def read_neurons(graph: Graph, modules: Mapping[str, nn.Module], manager: pluggy.PluginManager) -> NeuronRecords:
    """Every neuron atom's record, read by its adapter; unreadable ones keep their error for later."""
    records = NeuronRecords()
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


def _get(module: nn.Module, dotted: str) -> Any:
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


class _Rule:
    """The rule's inputs for one layer: what feeds it, what it drives, and the law its method gives."""

    def __init__(self, graph: Graph, records: NeuronRecords, options: PlanOptions, owners: dict[str, str]) -> None:
        self.graph = graph
        self.records = records
        self.options = options
        self.target_variance = float(options.target_variance)
        self.owners = owners  # owned feed-forward weight name -> its neuron
        self.notes: list[str] = []

    def role(self, name: str) -> str:
        return "input" if name == INPUT else self.graph.atoms[name].role

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
        p = float(np.mean(firing_probability(record.theta, std=sigma)))
        if p == 0.0:
            raise FiringProbabilityUnderflowError(
                float(np.max(record.theta)) / sigma,
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
        if {step for link in sources for step in link.path} & _JOINING:
            warnings.append(f"{len(parts)} sources concatenated; E[x^2] is their average")
            return float(np.mean([moment for _, moment in parts])), None
        # a sum of independent inputs: E[(sum x_i)^2] = sum E[x_i^2] + 2 sum_{i<j} E[x_i] E[x_j]
        means = [mean for mean, _ in parts]
        cross = sum(means[i] * means[j] for i in range(len(means)) for j in range(i + 1, len(means)))
        warnings.append(f"{len(parts)} sources summed (residual); E[x^2] assumes they are independent")
        return sum(moment for _, moment in parts) + 2 * cross, None

    def driven(self, downstream: list[Link], warnings: list[str]) -> tuple[float, Any]:
        """The driven neurons' input gain and thresholds in input units (gain 1, None for a readout)."""
        neurons_down = [link for link in downstream if self.role(link.name) == "neuron"]
        if not neurons_down:
            return 1.0, None
        first = self.records[neurons_down[0].name]
        gains = {self.records[link.name].input_gain for link in neurons_down}
        if len(gains) > 1:
            warnings.append(f"drives neurons with different input gains {sorted(gains)}; used g={first.input_gain:.4g}")
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
        return first.input_gain, first.theta / first.input_gain

    def theta_pre(self, upstream: list[Link]) -> Any:
        """The one upstream neuron layer's thresholds in units of its membrane's std (None otherwise)."""
        spiking = [link for link in upstream if self.role(link.name) == "neuron"]
        if len(upstream) != 1 or not spiking:
            return None
        return self.records[spiking[0].name].theta / self.membrane_std(spiking[0].name)

    def plan_layer(
        self,
        name: str,
        kind: str,
        weight: torch.Tensor,
        links: tuple[list[Link], list[Link]],
        bias: str,
        **layout: Any,
    ) -> tuple[LayerReport, WeightLaw]:
        """The law of one layer and its report row; ``links`` are its (upstream, downstream) neighbours."""
        upstream, downstream = links
        warnings: list[str] = []
        shape = tuple(weight.shape)
        if not upstream:
            upstream = [Link(INPUT, ())]
            warnings.append("its input was not traced to a neuron or the model input; treated as model input")
        second_moment, probability = self.input_moment(name, upstream, warnings)
        gain, theta_post = self.driven(downstream, warnings)
        if any(link.name == name for link in downstream):
            warnings.append("its output flows back into itself (shared or recurrent use)")
        context = LayerContext(
            fan_in=fan_in(shape, **layout),
            fan_out=fan_out(shape, **layout),
            theta_pre=self.theta_pre(upstream),
            theta_post=theta_post,
            input_second_moment=second_moment,
            input_gain=gain,
            target_variance=self.target_variance,
        )
        law = self.law(name, context)
        report = LayerReport(
            name=name,
            kind=kind,
            fan_in=context.fan_in,
            upstream=tuple(self.link(link) for link in upstream),
            downstream=tuple(self.link(link) for link in downstream),
            firing_probability=probability,
            input_second_moment=second_moment,
            old_std=float(weight.detach().double().std()) if weight.numel() > 1 else 0.0,
            new_std=law.std,
            new_mean=law.mean,
            distribution=law.distribution,
            bias=bias,
            warnings=tuple(dict.fromkeys(warnings)),
        )
        return report, law

    def law(self, name: str, context: LayerContext) -> WeightLaw:
        """The method's law for the layer; its errors name the layer, a bad option names the method."""
        initialiser = get_method(self.options.method)
        try:
            return initialiser.weight_law(context, **self.options.options)
        except TypeError as error:
            raise SNNInitError(f"method {initialiser.name!r} does not take these options: {error}") from error
        except SNNInitError as error:
            raise SNNInitError(f"layer {name!r}: {error}") from error


class _ModelPlanner:
    """Walks the model's atoms and plans every weight layer and every neuron's feed-forward weights."""

    def __init__(
        self, graph: Graph, modules: Mapping[str, nn.Module], manager: pluggy.PluginManager, options: PlanOptions
    ) -> None:
        self.graph, self.modules, self.manager, self.options = graph, modules, manager, options
        self.records = read_neurons(graph, modules, manager)
        if not self.records:
            if self.records.errors:
                raise next(iter(self.records.errors.values()))
            raise no_neuron_error(manager, graph.atoms)
        self.owned = {name: self._owned(name) for name, atom in graph.atoms.items() if atom.role == "neuron"}
        owners = {
            f"{name}.{owned.weight}": name for name, weights in self.owned.items() for owned in weights
            if owned.role == "feedforward"
        }  # fmt: skip
        self.rule = _Rule(graph, self.records, options, owners)
        self.layers: list[PlannedLayer] = []
        self.skipped: list[SkippedWeight] = []
        self.links: list[FullyConnectedLink] = []
        self.convolutions: list[str] = []

    def _owned(self, name: str) -> list[Any]:
        return [owned for found in self.manager.hook.snninit_owned_weights(module=self.modules[name])
                for owned in found or []]  # fmt: skip

    def add(self, name: str, kind: str, owner: nn.Module, names: tuple[str, str | None], **layout: Any) -> None:
        """Plan the weight ``names[0]`` (and bias ``names[1]``) of ``owner`` as layer ``name``."""
        weight = _get(owner, names[0])
        bias = _get(owner, names[1]) if names[1] and _get(owner, names[1]) is not None else None
        bias_text = "none" if bias is None else ("zeroed" if self.options.bias == "zero" else "kept")
        report, law = self.rule.plan_layer(name, kind, weight, bias=bias_text, **layout)
        self.layers.append(PlannedLayer(report, weight, bias if self.options.bias == "zero" else None, law))
        link = fully_connected_link(report, weight, law, self.records, self.rule.target_variance)
        if link is not None:
            self.links.append(link)
        elif weight.dim() > 2:
            self.convolutions.append(name)

    def weight_layer(self, name: str, module: nn.Module) -> None:
        """Plan a weight layer, unless it is excluded or was never called."""
        spec = self.manager.hook.snninit_weight_layer(module=module)
        if not self.options.selects(name):
            self.skipped.append(SkippedWeight(name, "excluded by include/exclude"))
            return
        links = (self.graph.walk(name, forward=False), self.graph.walk(name, forward=True))
        if self.graph.method == "forward pass" and not links[0] and not links[1]:
            self.skipped.append(SkippedWeight(name, "not called in the forward pass of the example input"))
            return
        self.add(name, spec.kind, module, (spec.weight, spec.bias), links=links, transposed=spec.transposed,
                 groups=spec.groups)  # fmt: skip

    def neuron_weights(self, name: str, module: nn.Module) -> None:
        """Plan a neuron's feed-forward weights; list its other weights as skipped."""
        for owned in self.owned[name]:
            full = f"{name}.{owned.weight}"
            if owned.role != "feedforward":
                self.skipped.append(SkippedWeight(full, f"{owned.role} weight inside the neuron: {owned.reason}"))
            elif not self.options.selects(full):
                self.skipped.append(SkippedWeight(full, "excluded by include/exclude"))
            else:
                upstream = [link for link in self.graph.walk(name, forward=False) if link.name != name]
                self.add(full, f"{type(module).__name__}.{owned.weight}", module, (owned.weight, owned.bias),
                         links=(upstream, [Link(name, ())]), transposed=owned.transposed, groups=1)  # fmt: skip

    def plan(self) -> Plan:
        """Plan every atom, then gather the notes and the chains' survival."""
        for name, atom in self.graph.atoms.items():
            if atom.role == "weight":
                self.weight_layer(name, self.modules[name])
            elif atom.role == "neuron":
                self.neuron_weights(name, self.modules[name])
        notes = [f"{name}: {note}" for name, record in self.records.items() for note in record.notes]
        notes.extend(dict.fromkeys(self.rule.notes))
        self.skipped.extend(
            SkippedWeight(name, f"neuron left out, no planned layer needs it: {error}")
            for name, error in self.records.errors.items()
        )
        if self.convolutions:
            notes.append(
                "activity survival is computed for fully-connected chains only: convolutions share weights across "
                "positions, so the exact finite-width law would only approximate them through their fan-in"
            )
        chains = tuple(chain_survival(self.links, method=self.options.method))
        return Plan(tuple(self.layers), tuple(self.skipped), tuple(notes), chains)


def plan_model(model: nn.Module, graph: Graph, manager: pluggy.PluginManager, options: PlanOptions) -> Plan:
    """The plan for every weight layer of ``model``, from its discovered graph; nothing is written.

    Args:
        model: The (unwrapped) model.
        graph: Its data flow.
        manager: The plugin manager whose adapters read its neurons and weights.
        options: What the user asked for.

    Returns:
        The plan.

    Raises:
        SNNInitError: For a model with no readable neuron, a neuron a planned layer needs that cannot be
            read, or a method that cannot plan a layer.
    """
    modules = dict(model.named_modules())
    modules[ROOT] = model
    return _ModelPlanner(graph, modules, manager, options).plan()
