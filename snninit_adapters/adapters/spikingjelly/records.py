r"""Building a SpikingJelly neuron's :class:`~snninit_adapters.neurons.NeuronRecord`: what every extractor shares.

Most neurons keep their threshold in the plain float attribute ``v_threshold`` (not in the
``state_dict``) and start from ``v_reset`` (hard reset) or 0 (soft reset, ``v_reset=None``). An
extractor reads the same-step input gain :math:`g` and the membrane :math:`h_0` reached from the initial
state with no input; :func:`record_from_rest` records the threshold measured from there,
:math:`\theta - h_0` (which is :math:`\theta` for the default ``v_reset=0``), so that :math:`u = g\,x`
crosses it exactly when the neuron fires in the step its input arrives. Neurons with a gain per
feature (``GatedLIFNode``, ``MPBNLIFNode``) go through :func:`per_feature_record`, which keeps
:math:`(\theta - h_0) / g` exact per feature and records the mean gain.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from snninit_adapters.adapters.common import average_gain, compact_values, cpu_float64
from snninit_adapters.adapters.spikingjelly.modules import FRAMEWORK
from snninit_adapters.errors import SNNInitError
from snninit_adapters.neurons import NeuronRecord, Reset

__all__ = [
    "broadcast",
    "flat_float64",
    "per_feature_record",
    "record_from_rest",
    "reset_kind",
    "reset_value",
    "threshold_value",
]


def flat_float64(value: Any) -> torch.Tensor:
    """``value`` (a number or a tensor) as a flat float64 CPU tensor."""
    return cpu_float64(value).reshape(-1)


def threshold_value(value: Any) -> float | torch.Tensor:
    """A threshold as a float (also when all values are equal), or a float64 tensor of per-neuron values."""
    return compact_values(flat_float64(value) if isinstance(value, torch.Tensor) else value)


def reset_kind(module: Any) -> Reset:
    """``"soft"`` for ``v_reset=None`` (subtract the threshold), else ``"hard"`` (set to ``v_reset``)."""
    return "soft" if getattr(module, "v_reset", None) is None else "hard"


def reset_value(module: Any) -> float:
    """The value BaseNode neurons start from and leak to: ``v_reset``, or 0 with a soft reset."""
    value = getattr(module, "v_reset", None)
    return 0.0 if value is None else float(value)


def _describe(value: float | torch.Tensor) -> str:
    if isinstance(value, torch.Tensor):
        return f"{float(value.min()):.4g}..{float(value.max()):.4g}"
    return f"{value:.4g}"


def record_from_rest(
    module: Any,
    *,
    gain: float,
    rest: float | torch.Tensor = 0.0,
    threshold: Any = None,
    source: str = "v_threshold",
    notes: tuple[str, ...] = (),
    **fields: Any,
) -> NeuronRecord:
    """Build a record whose threshold is measured from the membrane ``rest`` reached with no input.

    Args:
        module: The neuron.
        gain: Its same-step input gain.
        rest: The membrane after one input-free step from the reset state.
        threshold: The threshold, if not ``module.v_threshold``.
        source: Where the threshold was read.
        notes: Notes for the report.
        **fields: Further :class:`~snninit_adapters.neurons.NeuronRecord` fields (they override the defaults).

    Returns:
        The record.

    Raises:
        SNNInitError: If the gain is not positive.
    """
    kind = type(module).__name__
    theta = threshold_value(module.v_threshold if threshold is None else threshold)
    offset = threshold_value(rest)
    if isinstance(offset, torch.Tensor) or offset != 0.0:
        theta = theta - offset
        source = f"{source} minus h0, the membrane after one input-free step from reset"
        notes = (
            *notes,
            f"{kind} sits at {_describe(offset)} after one input-free step from its reset state, so its "
            f"threshold counts from there: {_describe(theta)}",
        )
    if not (math.isfinite(gain) and gain > 0):
        raise SNNInitError(
            f"{FRAMEWORK} {kind} has input gain {gain!r}: an input does not raise its membrane, so the rule cannot "
            "scale the layer that feeds it; check its parameters"
        )
    defaults: dict[str, Any] = {
        "framework": FRAMEWORK,
        "kind": kind,
        "threshold": theta,
        "input_gain": float(gain),
        "threshold_source": source,
        "reset": reset_kind(module),
        "notes": notes,
    }
    defaults.update(fields)
    return NeuronRecord(**defaults)


def broadcast(*tensors: torch.Tensor) -> list[torch.Tensor]:
    """The tensors expanded to their common broadcast shape."""
    zero = tensors[0] * 0
    for tensor in tensors[1:]:
        zero = zero + tensor * 0
    return [tensor.expand(zero.shape) for tensor in tensors]


def per_feature_record(
    module: Any, threshold: torch.Tensor, gains: torch.Tensor, rest: torch.Tensor, **fields: Any
) -> NeuronRecord:
    """Per-feature threshold and gain: keep theta/g per feature exact and report the mean gain."""
    threshold, gains, rest = broadcast(flat_float64(threshold), flat_float64(gains), flat_float64(rest))
    if not bool((gains > 0).all()):
        raise SNNInitError(
            f"{FRAMEWORK} {type(module).__name__} has input gains <= 0 in some features "
            f"({float(gains.min()):.4g}): an input does not raise their membrane; check its parameters"
        )
    averaged = average_gain(threshold - rest, gains)
    notes = tuple(fields.pop("notes", ()))
    if averaged.varies(tolerance=1e-12):
        notes = (
            *notes,
            f"{type(module).__name__} has per-feature gains {averaged.span}; "
            f"the record uses their mean g={averaged.gain:.4g} and rescales each threshold so theta/g stays exact",
        )
    return record_from_rest(module, gain=averaged.gain, threshold=averaged.threshold, notes=notes, **fields)
