"""How a weight is laid out and what role it plays; filled in by the adapters' weight hooks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["OwnedWeight", "WeightLayerSpec"]


@dataclass(frozen=True)
class WeightLayerSpec:
    """A module that carries a weight the initialiser sets.

    Attributes:
        kind: Short name for reports (``"Linear"``, ``"Conv2d"``, ...).
        weight: Name of the weight parameter on the module.
        bias: Name of the bias parameter, or None.
        transposed: True for a transposed-convolution layout ``(c_in, c_out/groups, *k)``.
        groups: The layer's groups.
        effective: Name of a method of the module that returns the weight its forward uses, when that is
            not the parameter itself (SpikingJelly's ``WSConv2d.get_weight``); None otherwise.
        normalised: Why the scale written into ``weight`` does not reach the forward (weight
            standardisation), for the report; "" when it does.
    """

    kind: str
    weight: str = "weight"
    bias: str | None = "bias"
    transposed: bool = False
    groups: int = 1
    effective: str | None = None
    normalised: str = ""


@dataclass(frozen=True)
class OwnedWeight:
    """A weight parameter that lives inside a neuron module.

    Attributes:
        weight: Dotted name of the parameter, relative to the neuron (``"recurrent.weight"``).
        role: ``"feedforward"`` weights are initialised from the neuron's upstream; others are skipped.
        reason: Why a non-feed-forward weight is left alone (shown in the report).
        bias: Dotted name of its bias, if any.
        transposed: True for a transposed-convolution layout.
    """

    weight: str
    role: Literal["feedforward", "recurrent", "internal"]
    reason: str = ""
    bias: str | None = None
    transposed: bool = False
