"""The plan of :func:`~snninit_adapters.apply_snn_init`: one weight law per weight, nothing written yet.

For every weight layer (and every feed-forward weight a neuron owns) the plan finds where its weight
is written (:mod:`~snninit_adapters.targets`: in place, through a parametrization, or refused with a
reason), its *uses* (the calls of the layer with distinct inputs: a layer shared by two inputs has two),
and asks the rule (:mod:`~snninit_adapters.rule`) for each use's law. One weight gets one law, from all
its uses: when they ask for different variances it gets the harmonic mean of them, so that the driven
membranes' variance averaged over the uses is the target, and the report says so. A weight tied between
layers (one Parameter in two modules) is planned the same way, over all its layers' uses, and written once.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pluggy
import torch
from torch import nn

from snninit_adapters.errors import SNNInitError
from snninit_adapters.graph import Graph, Link
from snninit_adapters.model import named_modules, no_neuron_error
from snninit_adapters.plugins import adapter_errors
from snninit_adapters.report import InitReport, LayerReport, SkippedWeight
from snninit_adapters.rule import BRANCH_POLICIES, LayerRule, UsePlan, read_neurons
from snninit_adapters.survival import ChainSurvival, FullyConnectedLink, chain_survival, fully_connected_link
from snninit_adapters.targets import Refusal, WeightTarget, weight_target
from snninit_adapters.theory import WeightLaw

__all__ = [
    "BIAS_POLICIES",
    "BRANCH_POLICIES",
    "FROZEN_POLICIES",
    "Plan",
    "PlanOptions",
    "PlannedLayer",
    "plan_model",
]

BIAS_POLICIES = ("zero", "keep")
FROZEN_POLICIES = ("reinit", "skip")


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
        branches: ``"split"`` (layers summed into one neuron population share the target) or ``"each"``.
        frozen: ``"reinit"`` (re-initialise layers whose weight does not require grad, and say so) or ``"skip"``.
    """

    method: str
    options: Mapping[str, Any] = field(default_factory=dict)
    target_variance: float = 1.0
    bias: str = "zero"
    include: Sequence[str] | None = None
    exclude: Sequence[str] | None = None
    branches: str = "split"
    frozen: str = "reinit"

    def selects(self, name: str) -> bool:
        """Whether the include/exclude patterns let layer ``name`` be initialised."""
        if self.include is not None and not any(fnmatch.fnmatchcase(name, pattern) for pattern in self.include):
            return False
        return not (self.exclude is not None and any(fnmatch.fnmatchcase(name, pattern) for pattern in self.exclude))

    def check_patterns(self, names: Sequence[str]) -> None:
        """Raise for an include or exclude pattern that matches none of the model's weight layers."""
        for option, patterns in (("include", self.include), ("exclude", self.exclude)):
            for pattern in patterns or ():
                if not any(fnmatch.fnmatchcase(name, pattern) for name in names):
                    raise SNNInitError(
                        f"{option} pattern {pattern!r} matches no weight layer; the model's weight layers are: "
                        f"{', '.join(names) or 'none'}"
                    )


@dataclass(frozen=True)
class PlannedLayer:
    """One weight layer's plan: its report row, where its weight goes, its bias, and the law to draw from.

    Attributes:
        report: Its row of the report.
        target: Where its weight is written (shared with the layers it is tied to).
        bias: The bias to zero, or None.
        law: The law to draw from.
        writes: False for a layer whose weight is tied to an earlier one's: the weight is written once.
    """

    report: LayerReport
    target: WeightTarget
    bias: nn.Parameter | torch.Tensor | None
    law: WeightLaw
    writes: bool = True


@dataclass(frozen=True)
class Plan:
    """Everything :func:`~snninit_adapters.apply_snn_init` will write, and what goes in its report."""

    layers: tuple[PlannedLayer, ...]
    skipped: tuple[SkippedWeight, ...]
    notes: tuple[str, ...]
    chains: tuple[ChainSurvival, ...]

    def report(
        self,
        options: PlanOptions,
        *,
        applied: bool,
        discovery: str,
        notes: Sequence[str],
        realised: Sequence[float] | None = None,
    ) -> InitReport:
        """The report of this plan (``notes``: remarks made before planning, listed first).

        ``realised`` holds, after the write, the std of each layer's effective weight, in layer order.
        """
        layers = [plan.report for plan in self.layers]
        if realised is not None:
            layers = [replace(layer, realised_std=std) for layer, std in zip(layers, realised, strict=True)]
        return InitReport(
            method=options.method,
            target_variance=float(options.target_variance),
            applied=applied,
            discovery=discovery,
            layers=tuple(layers),
            skipped=self.skipped,
            notes=(*notes, *self.notes),
            chains=self.chains,
        )


def _combined(laws: Sequence[WeightLaw]) -> WeightLaw:
    """One law for several uses: the harmonic mean of their variances (their mean membrane variance is the target)."""
    if all(math.isclose(law.std, laws[0].std, rel_tol=1e-12) for law in laws):
        return laws[0]
    variance = 0.0 if any(law.variance == 0 for law in laws) else len(laws) / sum(1 / law.variance for law in laws)
    return WeightLaw.from_variance(laws[0].distribution, variance, sum(law.mean for law in laws) / len(laws))


def _describe_stds(uses: Sequence[tuple[str, WeightLaw]]) -> str:
    return ", ".join(f"{label}: {law.std:.4g}" for label, law in uses)


_Uses = list[tuple[list[Link], list[Link]]]


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
        self.rule = LayerRule(graph, self.records, options, owners)
        self.layers: list[PlannedLayer] = []
        self.skipped: list[SkippedWeight] = []
        self.notes: list[str] = []
        self.tied: dict[tuple[int, ...], int] = {}  # target key -> index of the layer that writes it

    def _owned(self, name: str) -> list[Any]:
        module = self.modules[name]
        with adapter_errors(self.manager, "snninit_owned_weights", name, module):
            found = self.manager.hook.snninit_owned_weights(module=module)
        return [owned for weights in found for owned in weights or []]

    def spec(self, name: str) -> Any:
        module = self.modules[name]
        with adapter_errors(self.manager, "snninit_weight_layer", name, module):
            return self.manager.hook.snninit_weight_layer(module=module)

    def weight_names(self) -> list[str]:
        """Every weight layer and feed-forward owned weight of the model, by name."""
        names = [name for name, atom in self.graph.atoms.items() if atom.role == "weight"]
        return names + [f"{name}.{o.weight}" for name, owned in self.owned.items() for o in owned
                        if o.role == "feedforward"]  # fmt: skip

    def uses(self, name: str, neuron: str | None = None) -> _Uses:
        """Each use's (upstream, downstream) links; a neuron's own weights are fed by the neuron's sources."""
        source = neuron or name
        downstream = [Link(neuron, ())] if neuron else self.graph.walk(name, forward=True)
        calls = self.graph.uses(source)

        def upstream(first: frozenset[str] | None) -> list[Link]:
            links = self.graph.walk(source, forward=False, first=None if first is None else tuple(first))
            return [link for link in links if link.name != neuron]

        if len(calls) <= 1:
            return [(upstream(None), downstream)]
        return [(upstream(call), downstream) for call in calls]

    def weight_layer(self, name: str, module: nn.Module) -> None:
        """Plan a weight layer, unless it is excluded or was never called."""
        spec = self.spec(name)
        if not self.options.selects(name):
            self.skipped.append(SkippedWeight(name, "excluded by include/exclude"))
            return
        uses = self.uses(name)
        if self.graph.method == "forward pass" and not uses[0][0] and not uses[0][1]:
            self.skipped.append(SkippedWeight(name, "not called in the forward pass of the example input"))
            return
        target = weight_target(module, spec.weight, spec.effective)
        warnings = [spec.normalised] if spec.normalised else []
        self.add(name, spec.kind, target, (module, spec.bias), uses, warnings, transposed=spec.transposed,
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
                target = weight_target(module, owned.weight)
                self.add(full, f"{type(module).__name__}.{owned.weight}", target, (module, owned.bias),
                         self.uses(full, neuron=name), [], transposed=owned.transposed, groups=1)  # fmt: skip

    def add(
        self,
        name: str,
        kind: str,
        target: WeightTarget | Refusal,
        bias: tuple[nn.Module, str | None],
        uses: _Uses,
        warnings: list[str],
        **layout: Any,
    ) -> None:
        """Plan one weight from all its uses (or skip it, saying why)."""
        if isinstance(target, Refusal):
            self.skipped.append(SkippedWeight(name, str(target)))
            return
        weight = target.effective()
        if not any(tensor.requires_grad for tensor in target.tensors()):
            if self.options.frozen == "skip":
                self.skipped.append(SkippedWeight(name, "frozen (requires_grad=False) and frozen='skip'"))
                return
            self.notes.append(f"{name} is frozen (requires_grad=False); re-initialised (frozen='skip' leaves it)")
        if target.how:
            self.notes.append(f"{name}: {target.how}")
        share = self.rule.share(name, uses[0][1], warnings)
        plans = [self.rule.plan_use(name, tuple(weight.shape), links, share, **layout) for links in uses]
        law = _combined([plan.law for plan in plans])
        self._use_warnings(name, plans, law, warnings)
        self.rule.downstream_path_warnings(name, uses[0][1], share, warnings)
        bias_tensor = _bias(*bias)
        report = _layer_report(name, kind, weight, plans, law, warnings, _bias_text(bias_tensor, self.options.bias))
        planned = PlannedLayer(report, target, bias_tensor if self.options.bias == "zero" else None, law)
        self._tie(planned)

    def _use_warnings(self, name: str, plans: Sequence[UsePlan], law: WeightLaw, warnings: list[str]) -> None:
        for plan in plans:
            warnings.extend(plan.warnings)
        if len(plans) > 1:
            sources = ["+".join(link.name for link in plan.upstream) for plan in plans]
            differ = len({plan.law.std for plan in plans}) > 1
            warnings.append(
                f"called on {len(plans)} different inputs ({', '.join(sources)}): one weight serves every use"
                + (f"; they ask for stds {_describe_stds(list(zip(sources, [p.law for p in plans], strict=True)))}, "
                   f"it gets {law.std:.4g} (their driven membranes' variance is the target on average)" if differ
                   else "")
            )  # fmt: skip
        upstream = {link.name for plan in plans for link in plan.upstream}
        downstream = {link.name for link in plans[0].downstream}
        if name in downstream:
            warnings.append("its output flows back into itself (shared or recurrent use)")
        for neuron in sorted((upstream & downstream) - {name}):
            warnings.append(
                f"recurrent: {neuron}'s output comes back into this layer; the one-step rule sets the step its input "
                "arrives, not the feedback"
            )

    def _tie(self, planned: PlannedLayer) -> None:
        """Add a layer; one whose weight is tied to an earlier layer's shares that layer's law, combined."""
        key = planned.target.key()
        if key not in self.tied:
            self.tied[key] = len(self.layers)
            self.layers.append(planned)
            return
        first = self.layers[self.tied[key]]
        law = _combined([first.law, planned.law])
        for index, (layer, other) in enumerate(((first, planned), (planned, first))):
            text = (f"its weight is tied to {other.report.name}'s (one Parameter): one law serves both, std "
                    f"{law.std:.4g} (asked for {layer.law.std:.4g})")  # fmt: skip
            report = replace(layer.report, new_std=law.std, new_mean=law.mean,
                             warnings=(*layer.report.warnings, text))  # fmt: skip
            updated = replace(layer, report=report, law=law, writes=index == 0)
            if index == 0:
                self.layers[self.tied[key]] = updated
            else:
                self.layers.append(updated)

    def plan(self) -> Plan:
        """Plan every atom, then gather the notes and the chains' survival."""
        self.options.check_patterns(self.weight_names())
        for name, atom in self.graph.atoms.items():
            if atom.role == "weight":
                self.weight_layer(name, self.modules[name])
            elif atom.role == "neuron":
                self.neuron_weights(name, self.modules[name])
        if not self.layers and not self.skipped:
            raise SNNInitError(
                "the model has no weight layer to initialise (no nn.Linear, nn.ConvNd or nn.ConvTransposeNd, and no "
                "weight a neuron adapter owns); nothing to do"
            )
        return self._finish()

    def _finish(self) -> Plan:
        notes = [f"{name}: {note}" for name, record in self.records.items() for note in record.notes]
        notes += self.notes
        notes.extend(dict.fromkeys(self.rule.notes))
        self.skipped.extend(
            SkippedWeight(name, f"neuron left out, no planned layer needs it: {error}")
            for name, error in self.records.errors.items()
        )
        links: list[FullyConnectedLink] = []
        for layer in self.layers:
            link = fully_connected_link(layer.report, layer.target.effective(), layer.law, self.records,
                                        self.rule.target_variance)  # fmt: skip
            if link is not None:
                links.append(link)
        if any(layer.target.effective().dim() > 2 for layer in self.layers):
            notes.append(
                "activity survival is computed for fully-connected chains only: convolutions share weights across "
                "positions, so the exact finite-width law would only approximate them through their fan-in"
            )
        chains = tuple(chain_survival(links, method=self.options.method))
        return Plan(tuple(self.layers), tuple(self.skipped), tuple(notes), chains)


def _bias(module: nn.Module, name: str | None) -> torch.Tensor | None:
    if not name:
        return None
    owner = module
    prefix, _, attribute = name.rpartition(".")
    if prefix:
        owner = module.get_submodule(prefix)
    value = getattr(owner, attribute, None)
    return value if isinstance(value, torch.Tensor) else None


def _bias_text(bias: torch.Tensor | None, policy: str) -> str:
    return "none" if bias is None else ("zeroed" if policy == "zero" else "kept")


def _layer_report(
    name: str, kind: str, weight: torch.Tensor, plans: Sequence[UsePlan], law: WeightLaw, warnings: list[str], bias: str
) -> LayerReport:
    upstream = tuple(dict.fromkeys(link for plan in plans for link in plan.upstream))
    moments = [plan.context.input_second_moment or 0.0 for plan in plans]
    return LayerReport(
        name=name,
        kind=kind,
        fan_in=plans[0].context.fan_in,
        upstream=upstream,
        downstream=plans[0].downstream,
        firing_probability=plans[0].probability if len(plans) == 1 else None,
        input_second_moment=sum(moments) / len(moments),
        old_std=float(weight.detach().double().std()) if weight.numel() > 1 else 0.0,
        new_std=law.std,
        new_mean=law.mean,
        distribution=law.distribution,
        bias=bias,
        warnings=tuple(dict.fromkeys(warnings)),
    )


def plan_model(model: nn.Module, graph: Graph, manager: pluggy.PluginManager, options: PlanOptions) -> Plan:
    """The plan for every weight of ``model``, from its discovered graph; nothing is written.

    Args:
        model: The (unwrapped) model.
        graph: Its data flow.
        manager: The plugin manager whose adapters read its neurons and weights.
        options: What the user asked for.

    Returns:
        The plan.

    Raises:
        SNNInitError: For a model with no readable neuron or no weight layer, an include/exclude pattern
            that matches nothing, a neuron a planned layer needs that cannot be read, or a method that
            cannot plan a layer.
    """
    return _ModelPlanner(graph, named_modules(model), manager, options).plan()
