r"""The rule for one use of one weight layer: its :class:`~snninit_adapters.theory.LayerContext`, and its caveats.

A layer's context comes from what feeds it and what it drives (the links discovery found): fan-in and
fan-out, the upstream neurons' thresholds in units of their membrane's std, the second moment
:math:`E[x^2]` of its input (measured where it depends on the data alone, from the upstream neurons'
firing probability where it is spikes), the driven neurons' input gain and thresholds, and the target
variance of the driven membrane. When several weight layers are summed into one neuron population,
each gets a share of the target so that the sum has it (``branches="split"``, the default: under
independence the variances add), after taking off what the population's other, non-weight inputs
(an identity shortcut of spikes, the data) already bring; ``branches="each"`` gives every layer the
whole target. Everything the rule does not model on the way (pooling, normalisation, a multiplication,
a recurrence) is collected as a warning, with numbers where they are known.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pluggy
from torch import nn

from snninit_adapters.dynamics import neuron_dynamics
from snninit_adapters.errors import FiringProbabilityUnderflowError, SNNInitError
from snninit_adapters.graph import INPUT, Graph, Link
from snninit_adapters.init import get_method
from snninit_adapters.neurons import NeuronRecord
from snninit_adapters.plugins import adapter_errors
from snninit_adapters.report import NeuronLink
from snninit_adapters.theory import (
    LayerContext,
    TemporalInput,
    WeightLaw,
    fan_in,
    fan_out,
    firing_probability,
    max_of_normals,
    max_pool_firing_probability,
)

__all__ = ["BRANCH_POLICIES", "LayerRule", "NeuronRecords", "UsePlan", "read_neurons"]

BRANCH_POLICIES = ("split", "each")
_NORMALISING = ("BatchNorm", "LayerNorm", "GroupNorm", "InstanceNorm")
_POOLING = ("pool", "Pool")
_SCALING = ("mul", "div", "truediv", "rmul")
_JOINING = {"cat", "stack", "concat", "concatenate"}
_SHAPE_ONLY = {"view", "reshape", "flatten", "unflatten", "contiguous", "permute", "transpose", "squeeze",
               "unsqueeze", "getitem", "clone", "expand", "mod:Flatten", "mod:Identity", "mod:Dropout"}  # fmt: skip
_MEASURED_TOLERANCE = 0.1  # a measured path factor further than this from 1 is worth a warning


def _caveat(path: tuple[str, ...], *, into: bool) -> str | None:
    """What on a path changes a membrane's (``into`` a neuron) or a layer's input's statistics, unmodelled.

    Normalisation is left out: the layer it follows says so itself, and its scale is a choice of the model's.
    """
    steps = " ".join(path).lower()
    where = "" if into else " of its input"
    if "max" in steps and "pool" in steps:
        return "max-pooling (its neurons fire more often)" if into else "max-pooling of its input"
    if "pool" in steps:
        return f"pooling{where}"
    if any(step in _SCALING for step in path) or "mod:scale" in steps:
        return f"a multiplication{where}"
    return None


@dataclass(frozen=True)
class UsePlan:
    """The law one use of a layer asks for, and what went into it."""

    upstream: tuple[NeuronLink, ...]
    downstream: tuple[NeuronLink, ...]
    context: LayerContext
    law: WeightLaw
    probability: float | None
    warnings: tuple[str, ...]


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
            with adapter_errors(manager, "snninit_neuron_record", name, module):
                record = manager.hook.snninit_neuron_record(module=module)
        except SNNInitError as error:
            records.errors[name] = SNNInitError(f"neuron {name!r}: {error}")
            records.errors[name].__cause__ = error.__cause__ or error
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


class LayerRule:
    """The rule's inputs for one layer: what feeds it, what it drives, and the law its method gives."""

    def __init__(self, graph: Graph, records: dict[str, NeuronRecord], options: Any, owners: dict[str, str]) -> None:
        self.graph = graph
        self.records = records
        self.options = options
        self.target_variance = float(options.target_variance)
        self.owners = owners  # owned feed-forward weight name -> its neuron
        self.notes: list[str] = []

    def role(self, name: str) -> str:
        """``"input"``, ``"neuron"``, ``"weight"`` or ``"other"``."""
        return "input" if name == INPUT else self.graph.atoms[name].role

    def link(self, link: Link) -> NeuronLink:
        """A link as the report shows it: the neuron's kind, threshold and gain, or the input, or a layer."""
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
                self.upstream_path_warnings(layer, link, len(sources) == 1, warnings)
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

    def upstream_path_warnings(self, layer: str, link: Link, alone: bool, warnings: list[str]) -> None:
        """Pooling between a neuron and the layer; a path from its only source whose measured effect is not 1."""
        if any(any(p in step for p in _POOLING) for step in link.path):
            warnings.append(
                f"pooling between {link.name} and this layer changes E[x^2]; the rule uses the neuron's rate"
            )
        for module in (self.graph.atoms[name].module for name in link.via):
            rate = getattr(module, "p", None)
            if type(module).__name__.startswith("Dropout") and isinstance(rate, float) and 0 < rate < 1:
                warnings.append(
                    f"{type(module).__name__}(p={rate:g}) between {link.name} and this layer multiplies E[x^2] by "
                    f"1 / (1 - p) = {1 / (1 - rate):.3g} while training; discovery and the rule see it in eval mode, "
                    "where it passes its input on"
                )
        for source, cause in self.approximate_drivers(link.name):
            warnings.append(
                f"{link.name} is driven by {source} through {cause}, which the rule does not model: its firing "
                "rate, and so this layer's E[x^2], can differ from the rule's P(u > theta)"
            )
        if set(link.path) <= _SHAPE_ONLY or not alone:
            return
        measured_in, measured_out = self.graph.inputs.get(layer), self.graph.outputs.get(link.name)
        if measured_in is None or measured_out is None or not measured_out.squares or len(self.graph.uses(layer)) > 1:
            return
        factor = measured_in.second / measured_out.second
        if abs(factor - 1) > _MEASURED_TOLERANCE:
            warnings.append(
                f"on the example input, what lies between {link.name} and this layer ({', '.join(link.path)}) "
                f"scales E[x^2] by {factor:.3g} (measured with the model's weights at the time); the rule assumes 1"
            )

    def approximate_drivers(self, neuron: str) -> list[tuple[str, str]]:
        """(layer, cause) for each layer driving ``neuron`` through, or fed through, what the rule does not model."""
        found = []
        for source in self.graph.walk(neuron, forward=False):
            if self.role(source.name) != "weight":
                continue
            causes = [_caveat(source.path, into=True)]
            causes += [_caveat(link.path, into=False) for link in self.graph.walk(source.name, forward=False)]
            cause = next((c for c in causes if c), None)
            if cause:
                found.append((source.name, cause))
        return found

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

    def downstream_path_warnings(self, layer: str, downstream: list[Link], share: float, warnings: list[str]) -> None:
        """Pooling between the layer and its neurons, with the numbers for independent Gaussian inputs."""
        for link in downstream:
            if self.role(link.name) != "neuron" or not any(any(p in s for p in _POOLING) for s in link.path):
                continue
            size = self.graph.pool_size(link)
            if any("max" in step.lower() for step in link.path):
                k = size or 4
                mean, variance = max_of_normals(k)
                theta = float(np.mean(self.records[link.name].theta)) / math.sqrt(share)
                warnings.append(
                    f"max-pooling between this layer and {link.name} gives each neuron the largest of "
                    f"{k if size else 'k (taken as 4, a 2 x 2 window)'} values: for independent Gaussian values of "
                    f"std s its membrane has mean {mean:.3g} s and variance {variance:.3g} s^2, and it fires "
                    f"at {max_pool_firing_probability(theta, k):.3g} instead of {float(firing_probability(theta)):.3g}"
                    "; the one-step rule does not model this"
                )
            else:
                warnings.append(
                    f"average pooling between this layer and {link.name} divides the membrane variance by up to "
                    f"{size or 'k'} (exactly that for independent values); the one-step rule does not model this"
                )
        self.measured_downstream(layer, downstream, warnings)

    def measured_downstream(self, layer: str, downstream: list[Link], warnings: list[str]) -> None:
        """A path to the one neuron a layer alone drives whose measured effect on the variance is not 1."""
        if len(downstream) != 1 or self.role(downstream[0].name) != "neuron":
            return
        link = downstream[0]
        if set(link.path) <= _SHAPE_ONLY or any(any(n in s for n in _NORMALISING) for s in link.path):
            return
        if [source.name for source in self.graph.walk(link.name, forward=False)] != [layer]:
            return
        measured_in, measured_out = self.graph.inputs.get(link.name), self.graph.outputs.get(layer)
        if measured_in is None or measured_out is None or not measured_out.variance:
            return
        factor = measured_in.variance / measured_out.variance
        scaling = f"a multiplication on the path to {link.name} scales its input; the rule assumes none"
        if scaling in warnings and abs(factor - 1) > _MEASURED_TOLERANCE:
            warnings[warnings.index(scaling)] = (
                f"a multiplication on the path to {link.name} scales its input (its variance by {factor:.3g} on the "
                "example input); the rule assumes none"
            )
        elif abs(factor - 1) > _MEASURED_TOLERANCE:
            warnings.append(
                f"on the example input, what lies between this layer and {link.name} ({', '.join(link.path)}) "
                f"scales the variance by {factor:.3g} (measured with the model's weights at the time); the rule "
                "assumes 1"
            )

    def share(self, layer: str, downstream: list[Link], warnings: list[str]) -> float:
        """The target variance this layer's output should bring to its neurons (a share when branches are summed)."""
        neurons = [link for link in downstream if self.role(link.name) == "neuron"]
        if len(neurons) != 1 or any(step in _JOINING for step in neurons[0].path):
            return self.target_variance
        neuron = neurons[0].name
        sources = [link for link in self.graph.walk(neuron, forward=False) if link.name != neuron]
        if not any(step in _JOINING for link in sources for step in link.path):
            return self._split(layer, neuron, sources, warnings)
        return self.target_variance

    def _split(self, layer: str, neuron: str, sources: list[Link], warnings: list[str]) -> float:
        branches = sorted(link.name for link in sources if self.role(link.name) == "weight")
        others = [link for link in sources if self.role(link.name) != "weight"]
        if len(branches) < 2 and not (branches and others):
            return self.target_variance
        gain = self.records[neuron].input_gain
        brought = sum(self._variance_of(link, gain, layer) for link in others)
        names = ", ".join(branches + [link.name for link in others])
        if self.options.branches == "each":
            warnings.append(
                f"{len(branches) + len(others)} inputs are summed into {neuron} ({names}); branches='each' gives each "
                "weight layer the whole target, so the sum's variance is about the sum of theirs"
            )
            return self.target_variance
        share = (self.target_variance - brought) / len(branches)
        if share <= 0.05 * self.target_variance:
            warnings.append(
                f"{neuron} sums {names}; its non-weight inputs alone bring a variance of {brought:.3g} "
                f"(target {self.target_variance:g}), so each of the {len(branches)} weight layer(s) gets target / "
                f"{len(branches)} instead"
            )
            return self.target_variance / len(branches)
        if len(branches) > 1 or brought:
            warnings.append(
                f"{neuron} sums {names} (branches='split'): this layer gets {share:.3g} of the target "
                f"{self.target_variance:g}" + (f", after the {brought:.3g} its other inputs bring" if brought else "")
            )
        return share

    def _variance_of(self, link: Link, gain: float, layer: str) -> float:
        """The membrane variance a non-weight input summed into a neuron brings: spikes or the data, times g^2."""
        if self.role(link.name) == "neuron":
            _, mean, moment = self.spike_moments(link.name, layer)
            return gain**2 * (moment - mean * mean)
        measured = self.graph.input_second_moment(link.name if link.name != INPUT else layer)
        return gain**2 * (measured if measured is not None else 1.0)

    def plan_use(
        self,
        name: str,
        shape: tuple[int, ...],
        links: tuple[list[Link], list[Link]],
        share: float,
        normalised: bool = False,
        **layout: Any,
    ) -> UsePlan:
        """The law one use of a layer asks for; ``links`` are its (upstream, downstream) neighbours.

        ``normalised``: a normaliser between the layer and its neurons sets their scale, so the layer's
        output is given unit variance (target 1, gain 1) and the normaliser the rest.
        """
        upstream, downstream = links
        warnings: list[str] = []
        if not upstream:
            upstream = [Link(INPUT, ())]
            warnings.append("its input was not traced to a neuron or the model input; treated as model input")
        second_moment, probability = self.input_moment(name, upstream, warnings)
        gain, theta_post = self.driven(downstream, warnings)
        spiking = [link for link in upstream if self.role(link.name) == "neuron"]
        theta_pre = None
        if len(upstream) == 1 and spiking:
            theta_pre = self.records[spiking[0].name].theta / self.membrane_std(spiking[0].name)
        context = LayerContext(
            fan_in=fan_in(shape, **layout),
            fan_out=fan_out(shape, **layout),
            theta_pre=theta_pre,
            theta_post=theta_post,
            input_second_moment=second_moment,
            input_gain=1.0 if normalised else gain,
            target_variance=1.0 if normalised else share,
        )
        method = get_method(self.options.method)
        if method.temporal or method.kernel:
            context = replace(context, temporal=self.temporal(name, (upstream, downstream), warnings))
        law = self.law(name, context)
        warnings.extend(law.notes)
        links_shown = (tuple(self.link(link) for link in upstream), tuple(self.link(link) for link in downstream))
        return UsePlan(*links_shown, context, law, probability, tuple(warnings))

    def temporal(self, name: str, links: tuple[list[Link], list[Link]], warnings: list[str]) -> TemporalInput | None:
        """The driven neurons' dynamics over the steps, and whether the layer reads data, encoded or deep spikes."""
        upstream, downstream = links
        driven = [link.name for link in downstream if self.role(link.name) == "neuron"]
        if not driven:
            return None
        steps = int(self.options.options.get("steps") or 1)
        dynamics, notes = neuron_dynamics(self.records[driven[0]], steps)
        warnings.extend(notes)
        spiking = [link.name for link in upstream if self.role(link.name) == "neuron"]
        if dynamics is None or not spiking:
            moments = self.graph.data_inputs.get(self.owners.get(name, name))
            square = (moments.total / moments.count) ** 2 / moments.second if moments and moments.second else 0.0
            return None if dynamics is None else TemporalInput(dynamics, "data", mean_square=min(square, 1.0))
        fed = self.graph.walk(spiking[0], forward=False)
        if len(spiking) == 1 and spiking[0] not in self.owners.values() and all(f.name == INPUT for f in fed) and fed:
            std = self.membrane_std(spiking[0])
            source, _ = neuron_dynamics(self.records[spiking[0]], steps, input_std=std)
            if source is not None:
                return TemporalInput(dynamics, "encoded", source)
        return TemporalInput(dynamics)

    def law(self, name: str, context: LayerContext) -> WeightLaw:
        """The method's law for the layer; its errors name the layer, a bad option names the method."""
        initialiser = get_method(self.options.method)
        try:
            return initialiser.weight_law(context, **self.options.options)
        except TypeError as error:
            raise SNNInitError(f"method {initialiser.name!r} does not take these options: {error}") from error
        except SNNInitError as error:
            raise SNNInitError(f"layer {name!r}: {error}") from error
