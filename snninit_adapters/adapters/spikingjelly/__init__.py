r"""Adapter for SpikingJelly (``spikingjelly.activation_based``, 2.0).

A neuron is any module with a class in its MRO defined under ``spikingjelly.activation_based.neuron``
(user subclasses included). ``base.MemoryModule`` is deliberately not the test: it also matches
containers, ``Dropout`` and ``DropConnectLinear``. The ``NonSpiking*`` readouts are left out: they
emit their membrane, have no threshold, and pass through like any other non-neuron module.

Most neurons keep their threshold in the plain float attribute ``v_threshold`` (not in the
``state_dict``) and start from ``v_reset`` (hard reset) or 0 (soft reset, ``v_reset=None``). Each known
class has an extractor that reads the same-step input gain :math:`g` and the membrane :math:`h_0`
reached from the initial state with no input, and records the threshold measured from there,
:math:`\theta - h_0` (which is :math:`\theta` for the default ``v_reset=0``). ``LIFNode`` takes its input
with :math:`g = 1/\tau` (``decay_input=True``, the default) and ``ParametricLIFNode`` with
:math:`\sigma(w)`. Subclasses and classes with nothing to read are measured with the black-box probe.
SpikingJelly is imported only when a model contains one of its modules.

This package module holds the hook implementations; the work is done in its submodules:
:mod:`.modules` (which modules are neurons, stepping and resetting them), :mod:`.records` (building a
record from :math:`g` and :math:`h_0`), :mod:`.neurons` (the per-class extractors), :mod:`.probe` (the
black-box fallback) and :mod:`.activity` (the activity monitor's membrane replay).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from snninit_adapters.adapters.common import neuron_hook
from snninit_adapters.adapters.spikingjelly.activity import prepare_activity, steps_of_call
from snninit_adapters.adapters.spikingjelly.modules import FRAMEWORK, is_neuron, is_spikingjelly_module, reset_module
from snninit_adapters.adapters.spikingjelly.neurons import read_neuron
from snninit_adapters.hookspecs import hookimpl
from snninit_adapters.layers import OwnedWeight, WeightLayerSpec
from snninit_adapters.neurons import NeuronRecord

__all__ = [
    "FRAMEWORK",
    "snninit_is_neuron",
    "snninit_neuron_record",
    "snninit_owned_weights",
    "snninit_prepare_activity",
    "snninit_reset_state",
    "snninit_step_activity",
    "snninit_weight_layer",
]

_STANDARDISED = ("WSConv2d", "WSLinear")


@hookimpl
def snninit_is_neuron(module: nn.Module) -> bool | None:
    """Claim SpikingJelly neurons: classes defined under ``spikingjelly.activation_based.neuron``.

    ``NonSpikingIFNode``/``NonSpikingLIFNode`` (and the noisy variant) are not claimed: they output
    their membrane potential rather than spikes and have no threshold, so they are readouts that
    the layer before them drives like any readout (``g = 1``).

    Args:
        module: Any module of the model.

    Returns:
        True for a SpikingJelly spiking neuron, None otherwise.
    """
    return True if is_neuron(module) else None


@hookimpl
@neuron_hook(is_neuron)
def snninit_neuron_record(module: nn.Module) -> NeuronRecord | None:
    """Read a SpikingJelly neuron's threshold, input gain, leak and reset.

    Known classes are read by an exact-type extractor; user subclasses and classes with no fixed
    threshold (PSN, FewSpike, FlexSN, ...) are measured with the black-box probe.

    Args:
        module: A module that :func:`snninit_is_neuron` claimed.

    Returns:
        The record, or None if the module is not a SpikingJelly neuron.

    Raises:
        SNNInitError: If the threshold can neither be read nor probed, or the input gain is not positive.
    """
    return read_neuron(module)


@hookimpl
def snninit_weight_layer(module: nn.Module) -> WeightLayerSpec | None:
    """``WSConv2d``/``WSLinear``: weight standardisation, so the forward uses ``get_weight()``, not ``weight``.

    Their forward standardises each output channel of ``weight`` to mean 0 and variance
    ``1 / fan_in`` and multiplies it by the learnable ``gain``: the scale written into ``weight`` never
    reaches the forward. The spec says so, and names ``get_weight`` so the report can show the std of
    the weight the layer really uses.

    Args:
        module: Any module of the model.

    Returns:
        The spec for a weight-standardised SpikingJelly layer, None otherwise.
    """
    if not is_spikingjelly_module(module) or type(module).__name__ not in _STANDARDISED:
        return None
    return WeightLayerSpec(
        kind=type(module).__name__,
        groups=module.groups if isinstance(module, nn.Conv2d) else 1,
        effective="get_weight",
        normalised=(
            f"{type(module).__name__} standardises each output channel of its weight (weight standardisation): "
            "the scale written into weight is normalised away, and the layer's std is gain / sqrt(fan_in)"
        ),
    )


def _owned_weight(name: str, kind: str) -> OwnedWeight:
    """The role of one weight inside a SpikingJelly neuron of class ``kind``."""
    if name.startswith("conn."):
        return OwnedWeight(name, "recurrent", f"{kind} feeds its spikes into the next step through conn")
    if name.startswith("vbn."):
        return OwnedWeight(name, "internal", f"the scale of {kind}'s membrane BatchNorm")
    if name == "weight" and "PSN" in kind:
        return OwnedWeight(name, "internal", f"{kind}'s weights mix the input over time steps")
    return OwnedWeight(name, "internal", f"internal weight of {kind}")


@hookimpl
@neuron_hook(is_neuron)
def snninit_owned_weights(module: nn.Module) -> list[OwnedWeight] | None:
    """Weights inside SpikingJelly neurons; none is feed-forward, so all are listed as skipped.

    Args:
        module: A module that :func:`snninit_is_neuron` claimed.

    Returns:
        The neuron's weights with their roles, or None if the module is not a SpikingJelly neuron.
    """
    kind = type(module).__name__
    return [_owned_weight(name, kind) for name, _ in module.named_parameters() if name.endswith("weight")]


@hookimpl
def snninit_reset_state(model: nn.Module) -> None:
    """Reset the state of every SpikingJelly module in ``model`` (``functional.reset_net`` semantics).

    Only SpikingJelly's own modules are reset: ``reset_net`` would also call ``reset()`` on any other
    module that has one (which may mean something else there) and caches the module list per model.

    Args:
        model: The model.
    """
    for module in model.modules():
        if is_spikingjelly_module(module):
            reset_module(module)


@hookimpl
@neuron_hook(is_neuron)
def snninit_prepare_activity(module: nn.Module) -> None:
    """Keep each call's starting state (functional neurons) or the charged membrane (``SimpleBaseNode``)."""
    prepare_activity(module)


@hookimpl
@neuron_hook(is_neuron)
def snninit_step_activity(
    module: nn.Module, args: tuple[Any, ...], output: Any, membranes: int | None = None
) -> list[tuple[torch.Tensor, torch.Tensor | None]] | None:
    """The spikes of a SpikingJelly neuron's call, per step, and the membrane before the reset."""
    return steps_of_call(module, args, output, membranes)
