"""The planner: walks a model's atoms and plans every weight layer and every neuron's feed-forward weights.

For every weight, it finds where the weight is written (:mod:`~snninit_adapters.targets`), its uses,
its share of the target when it is summed with other layers into one population, the normaliser that
carries its scale, and asks :class:`~snninit_adapters.rule.LayerRule` for each use's law; one weight
gets one law from all its uses and all the layers it is tied to (:mod:`~snninit_adapters.plan`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pluggy
import torch
from torch import nn

from snninit_adapters.errors import SNNInitError
from snninit_adapters.graph import Graph, Link
from snninit_adapters.model import named_modules, no_neuron_error
from snninit_adapters.normalisers import PlannedNormaliser, normaliser_on, plan_normaliser
from snninit_adapters.plan import Plan, PlannedLayer, PlanOptions
from snninit_adapters.plugins import adapter_errors
from snninit_adapters.report import LayerReport, SkippedWeight
from snninit_adapters.rule import LayerRule, UsePlan, read_neurons
from snninit_adapters.survival import FullyConnectedLink, chain_survival, fully_connected_link
from snninit_adapters.targets import Refusal, WeightTarget, weight_std, weight_target
from snninit_adapters.theory import WeightLaw

__all__ = ["plan_model"]

_FEW_VALUES = 32  # a batch statistic over fewer values per channel is off by sqrt(2 / n) > 25%


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
        self.normalisers: list[PlannedNormaliser] = []
        self.warnings: dict[str, list[str]] = {}  # warnings found after a layer's own were written

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
        self.add(name, spec.kind, target, (module, spec.bias), uses, warnings, (name, spec.weight, spec.effective),
                 transposed=spec.transposed, groups=spec.groups)  # fmt: skip

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
                         self.uses(full, neuron=name), [], (name, owned.weight, None), transposed=owned.transposed,
                         groups=1)  # fmt: skip

    def add(
        self,
        name: str,
        kind: str,
        target: WeightTarget | Refusal,
        bias: tuple[nn.Module, str | None],
        uses: _Uses,
        warnings: list[str],
        where: tuple[str, str, str | None],
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
        normalised = self._normaliser(name, uses[0][1], share)
        warnings.extend(self.warnings.pop(name, []))
        plans = [self.rule.plan_use(name, tuple(weight.shape), links, share, normalised, **layout) for links in uses]
        law = _combined([plan.law for plan in plans])
        self._use_warnings(name, plans, law, warnings)
        if normalised:
            warnings[:] = [w for w in warnings if not w.startswith("normalisation between this layer")]
        self.rule.downstream_path_warnings(name, uses[0][1], share, warnings)
        bias_tensor = _bias(*bias)
        report = _layer_report(name, kind, weight if self.options.old_stds else None, plans, law, warnings,
                               _bias_text(bias_tensor, self.options.bias))  # fmt: skip
        planned = PlannedLayer(report, target, bias_tensor if self.options.bias == "zero" else None, law, where)
        self._tie(planned)

    def _normaliser(self, name: str, downstream: list[Link], share: float) -> bool:
        """Plan the normaliser between the layer and its one neuron population, if there is one that can carry it."""
        neurons = [link for link in downstream if link.name in self.records]
        if self.options.normalisers != "set" or len(neurons) != 1:
            return False
        found = normaliser_on(neurons[0], self.graph)
        if found is None:
            return False
        neuron, normaliser = neurons[0].name, found[0]  # the graph's atoms are discovery's copy: use the model's
        planned = plan_normaliser(normaliser, self.modules[normaliser], name, neuron,
                                  gain=self.records[neuron].input_gain, target=share)  # fmt: skip
        if isinstance(planned, str):
            self.notes.append(f"{name}: {planned}")
            return False
        self.normalisers.append(planned)
        self._few_values(name, normaliser)
        return True

    def _few_values(self, layer: str, normaliser: str) -> None:
        """Warn when a normaliser in training mode sees too few values per channel for its batch statistics."""
        module, outputs = self.modules[normaliser], self.graph.outputs.get(layer)
        channels = getattr(module, "num_features", None)
        calls = len(self.graph.calls.get(layer, ()))
        if not module.training or not isinstance(channels, int) or outputs is None or not calls or not channels:
            return
        per_channel = outputs.count / (calls * channels)
        if per_channel < _FEW_VALUES:
            self.warnings.setdefault(layer, []).append(
                f"{type(module).__name__} {normaliser} normalises over only {per_channel:.0f} values per channel on "
                "the example input (batch x positions x steps): its batch statistics are that noisy, so the "
                "membranes it drives need not have the variance its gamma sets; use a larger example batch"
            )

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
        return Plan(tuple(self.layers), tuple(self.skipped), tuple(notes), chains, tuple(self.normalisers),
                    dict(self.records))  # fmt: skip


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
    name: str,
    kind: str,
    weight: torch.Tensor | None,
    plans: Sequence[UsePlan],
    law: WeightLaw,
    warnings: list[str],
    bias: str,
) -> LayerReport:
    """The layer's report row; without ``weight`` its old std is NaN, for the write to measure."""
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
        old_std=math.nan if weight is None else weight_std(weight),
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
