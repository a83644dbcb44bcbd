r"""Normalisers between a layer and its neurons: where the scale that matters lives.

For ``layer -> BatchNorm / LayerNorm / GroupNorm / InstanceNorm -> neuron`` the normaliser divides the
layer's output by its std (the batch's in training mode, the running one in eval mode) and multiplies
it by its affine weight :math:`\gamma`: in training the layer's weight scale is normalised away, and
:math:`\gamma` sets the membrane's. The plan therefore gives the layer's weights the law that makes its
output unit-variance (the rule with target 1 and gain 1), and sets

.. math::

    \gamma = \frac{\sigma_\text{target}}{g}\,\sqrt{\sigma^2_\text{running} + \epsilon} \;\text{(eval mode)},
    \qquad \gamma = \frac{\sigma_\text{target}}{g} \;\text{(training mode; LayerNorm, GroupNorm)}, \qquad
    \beta = \gamma\,\frac{\mu_\text{running}}{\sqrt{\sigma^2_\text{running} + \epsilon}} \;\text{(eval mode)}, \; 0

so that the driven membrane :math:`g\,(\gamma \hat x + \beta)` has variance :math:`\sigma^2_\text{target}`
and mean 0 in the mode the model is in, and, with fresh running statistics (mean 0, variance 1), in
both modes. SpikingJelly's threshold-dependent BatchNorm keeps :math:`\gamma = \alpha V_\text{th}`: its
``alpha`` is set to match. A normaliser without an affine weight cannot carry a scale; the layer keeps
its warning. ``normalisers="keep"`` leaves every normaliser as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from snninit_adapters.graph import Graph, Link
from snninit_adapters.report import NormaliserReport

__all__ = ["NORMALISER_POLICIES", "PlannedNormaliser", "normaliser_on", "plan_normaliser"]

NORMALISER_POLICIES = ("set", "keep")
_KINDS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


@dataclass(frozen=True)
class PlannedNormaliser:
    """A normaliser's affine weight and bias to write.

    Attributes:
        report: Its row of the report.
        module: The normaliser.
        weight: Its new affine weight (broadcast to the parameter's shape when written).
        bias: Its new affine bias (None: it has none).
    """

    report: NormaliserReport
    module: nn.Module
    weight: torch.Tensor
    bias: torch.Tensor | None


def normaliser_on(link: Link, graph: Graph) -> tuple[str, nn.Module] | None:
    """The first normaliser on the way from a layer to a neuron, with its name, if there is one."""
    for name in link.via:
        module = graph.atoms[name].module
        if isinstance(module, _KINDS):
            return name, module
    return None


def _running(module: nn.Module) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(running mean, sqrt(running var + eps)) of a normaliser used with running statistics now, else None."""
    mean, var = getattr(module, "running_mean", None), getattr(module, "running_var", None)
    uses_running = not module.training or not getattr(module, "track_running_stats", False)
    if not isinstance(mean, torch.Tensor) or not isinstance(var, torch.Tensor) or not uses_running:
        return None
    return mean.detach(), torch.sqrt(var.detach() + float(getattr(module, "eps", 1e-5)))


def plan_normaliser(
    name: str, module: nn.Module, layer: str, neuron: str, *, gain: float, target: float
) -> PlannedNormaliser | str:
    """The affine weight and bias of a normaliser so that the neuron it feeds gets ``target`` variance.

    Args:
        name: The normaliser's name.
        module: The normaliser.
        layer: The layer before it.
        neuron: The neuron after it.
        gain: The neuron's input gain :math:`g`.
        target: The membrane variance to aim at (the layer's share of it, for a summed branch).

    Returns:
        The plan, or the reason it cannot carry the scale (no affine weight).
    """
    weight, bias = getattr(module, "weight", None), getattr(module, "bias", None)
    if not isinstance(weight, torch.Tensor):
        return f"{type(module).__name__} {name} has no affine weight: the layer's scale is normalised away"
    scale = math.sqrt(target) / gain
    running = _running(module)
    mode = "training" if module.training else "eval"
    with torch.no_grad():
        if running is None:
            new_weight, new_bias = torch.full_like(weight, scale), None if bias is None else torch.zeros_like(bias)
            how = f"{mode} mode, batch statistics: gamma = sqrt(target) / g"
        else:
            mean, std = running
            new_weight = (scale * std).to(weight)
            new_bias = None if bias is None else (new_weight * mean / std).to(bias)
            how = f"{mode} mode, running statistics: gamma = sqrt(target) / g * sqrt(running_var + eps)"
    report = NormaliserReport(
        name=name,
        kind=type(module).__name__,
        layer=layer,
        neuron=neuron,
        old_weight=float(weight.detach().double().mean()),
        new_weight=float(new_weight.double().mean()),
        bias="none" if bias is None else "zeroed" if running is None else "centred",
        how=how,
    )
    return PlannedNormaliser(report, module, new_weight, new_bias)
