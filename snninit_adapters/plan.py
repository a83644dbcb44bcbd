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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from snninit_adapters.errors import SNNInitError
from snninit_adapters.init import get_method
from snninit_adapters.neurons import NeuronRecord
from snninit_adapters.normalisers import NORMALISER_POLICIES, PlannedNormaliser
from snninit_adapters.report import InitReport, LayerReport, PopulationCalibration, SkippedWeight
from snninit_adapters.rule import BRANCH_POLICIES
from snninit_adapters.survival import ChainSurvival
from snninit_adapters.targets import WeightTarget
from snninit_adapters.theory import WeightLaw

__all__ = [
    "BIAS_POLICIES",
    "BRANCH_POLICIES",
    "FROZEN_POLICIES",
    "NORMALISER_POLICIES",
    "Plan",
    "PlanOptions",
    "PlannedLayer",
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
        normalisers: ``"set"`` (a normaliser between a layer and its neuron carries the scale) or ``"keep"``.
        old_stds: Measure each weight's std before the write while planning; False leaves it to the write,
            which reads it from its backups at little cost (a dry run needs True).
    """

    method: str
    options: Mapping[str, Any] = field(default_factory=dict)
    target_variance: float = 1.0
    bias: str = "zero"
    include: Sequence[str] | None = None
    exclude: Sequence[str] | None = None
    branches: str = "split"
    frozen: str = "reinit"
    normalisers: str = "set"
    old_stds: bool = True

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
        where: ``(module, weight, effective)``: the module's name, the weight's name on it and the method
            computing the weight the forward uses (None: the weight itself), to find it in a copy.
        writes: False for a layer whose weight is tied to an earlier one's: the weight is written once.
    """

    report: LayerReport
    target: WeightTarget
    bias: nn.Parameter | torch.Tensor | None
    law: WeightLaw
    where: tuple[str, str, str | None] = ("", "weight", None)
    writes: bool = True


@dataclass(frozen=True)
class Plan:
    """Everything :func:`~snninit_adapters.apply_snn_init` will write, and what goes in its report."""

    layers: tuple[PlannedLayer, ...]
    skipped: tuple[SkippedWeight, ...]
    notes: tuple[str, ...]
    chains: tuple[ChainSurvival, ...]
    normalisers: tuple[PlannedNormaliser, ...] = ()
    records: Mapping[str, NeuronRecord] = field(default_factory=dict)

    def report(
        self,
        options: PlanOptions,
        *,
        applied: bool,
        discovery: str,
        notes: Sequence[str],
        realised: tuple[Sequence[float], Sequence[float], Sequence[float]] | None = None,
        calibration: Sequence[PopulationCalibration] = (),
    ) -> InitReport:
        """The report of this plan (``notes``: remarks made before planning, listed first).

        ``realised`` holds, after the write, the std of each layer's effective weight, in layer order, the
        mean affine weight of each normaliser, and each layer's std before the write (which the write
        measures when the plan left it to it).
        """
        layers = [plan.report for plan in self.layers]
        normalisers = [normaliser.report for normaliser in self.normalisers]
        if realised is not None:
            layers = [replace(layer, realised_std=std, old_std=old)
                      for layer, std, old in zip(layers, realised[0], realised[2], strict=True)]  # fmt: skip
            normalisers = [replace(n, realised=g) for n, g in zip(normalisers, realised[1], strict=True)]
        return InitReport(
            method=options.method,
            target_variance=float(options.target_variance),
            steps=options.options.get("steps") if get_method(options.method).temporal else None,
            applied=applied,
            discovery=discovery,
            layers=tuple(layers),
            skipped=self.skipped,
            notes=(*notes, *self.notes),
            chains=self.chains,
            normalisers=tuple(normalisers),
            calibration=tuple(calibration),
        )

    def scaled(self, layer_factors: Sequence[float], normaliser_factors: Sequence[float]) -> Plan:
        """The plan with each layer's law and each normaliser's weight and bias multiplied by its factor."""
        layers = []
        for layer, factor in zip(self.layers, layer_factors, strict=True):
            law = WeightLaw(layer.law.distribution, layer.law.std * factor, layer.law.mean * factor, layer.law.notes)
            report = replace(layer.report, new_std=law.std, new_mean=law.mean, analytic_std=layer.law.std,
                             calibration_factor=factor)  # fmt: skip
            layers.append(replace(layer, law=law, report=report))
        normalisers = [
            replace(n, weight=n.weight * f, bias=None if n.bias is None else n.bias * f,
                    report=replace(n.report, new_weight=n.report.new_weight * f))
            for n, f in zip(self.normalisers, normaliser_factors, strict=True)
        ]  # fmt: skip
        return replace(self, layers=tuple(layers), normalisers=tuple(normalisers))
