r"""Adapter for Norse (1.1): neurons are ``SNNCell``/``SNN``/``SNNRecurrentCell``/``SNNRecurrent`` modules.

Norse keeps a neuron's parameters in ``module.p``, a NamedTuple that is a plain attribute (not in
``parameters()`` or the ``state_dict``), and its step size in ``module.dt``. Modules are stateless: the
state is passed in and returned (``z, s = cell(x, s)``), a fresh one when ``s`` is None.

Every known class is read by an extractor for its exact type. The threshold is measured from the
membrane the neuron starts from, so that :math:`u = g\,x` crosses it exactly when the neuron fires in
the step its input arrives (the one-step rule). Threshold, input gain :math:`g` and input delay:

- ``LIFCell``, ``LIF``, ``LIFRecurrentCell``, ``LIFRecurrent``, ``LIFMCRecurrentCell``, ``LIFBoxCell``:
  ``p.v_th - p.v_leak``, ``g = dt * tau_mem_inv``, no delay. ``LIFRefracCell``/``LIFRefracRecurrent(Cell)``
  read the same from ``p.lif``, ``LIFCorrelation`` from ``p.lif_parameters``.
- ``IAFCell``, ``IAF``: ``p.v_th - p.v_reset`` (they start at ``v_reset``), ``g = 1``.
- ``LSNNCell``, ``LSNN``, ``LSNNRecurrent(Cell)``: ``p.v_th - p.v_leak``, ``g = dt * tau_mem_inv``, one step
  late (the input joins the synaptic current after the membrane update). ``LIFMCRefracRecurrentCell``
  likewise, from ``p.lif``, with the rest moved by the compartment coupling.
- ``LIFEx*``, ``LIFAdEx*``, ``LIFAdExRefrac*``: ``p.v_th`` minus the membrane after one step from rest
  without input (the exponential term), ``g = dt * tau_mem_inv``.
- ``Izhikevich*``: ``p.v_th`` minus the membrane after one step from ``spiking_method.s`` without input
  (the quadratic term), ``g = dt * tau_inv``.

With Norse's defaults (``dt = 1e-3``, ``tau_mem_inv = 100``) ``g = 0.1``: a LIF neuron needs a same-step
input of 10 to reach ``v_th = 1``. In the synaptic models (LIF, LSNN, Ex, AdEx) the input enters a
current that decays by ``1 - dt * tau_syn_inv`` (0.8) per step and keeps driving the membrane: one input
reaches it with 0.1, 0.17, 0.217, ... over the next steps, and a held input charges it with 0.1, 0.27,
0.487, ... towards the DC gain 5. The one-step rule sets the first step only. Per-neuron ``v_th``
tensors (``p = p._replace(v_th=tensor)``) are read as such.

``CobaLIFCell`` is refused: in Norse 1.1 ``coba_lif_step`` overwrites the input conductances with the
recurrent ones, so its input weights have no effect. The readouts ``LICell``, ``LI``, ``LIBoxCell`` and
``LILinearCell`` have no threshold and are not neurons: the layer that drives them is a readout, and
``LILinearCell`` itself is a weight layer (its ``input_weights``, shape ``(hidden, input)``). A class
that no extractor knows (a user subclass) is measured with the black-box probe: :math:`\theta / g` by
bisection, and :math:`g` from the membrane ``v`` in the state it returns.

Norse is imported only when a model contains one of its modules.

This package module holds the hook implementations; the work is done in its submodules:
:mod:`.modules` (which modules are neurons, the membrane in a state), :mod:`.neurons` (the per-class
extractors), :mod:`.probe` (the black-box fallback) and :mod:`.activity` (the activity monitor's
membrane replay).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from snninit_adapters.adapters.common import neuron_hook
from snninit_adapters.adapters.norse.activity import prepare_activity, steps_of_call
from snninit_adapters.adapters.norse.modules import FRAMEWORK, is_neuron, is_norse_module, norse_classes
from snninit_adapters.adapters.norse.neurons import read_neuron
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


@hookimpl
def snninit_is_neuron(module: nn.Module) -> bool | None:
    """Claim Norse neurons; say no for Norse's readouts (leaky integrators, which never spike)."""
    if not is_norse_module(module):
        return None
    classes = norse_classes()
    if isinstance(module, classes.readouts):
        return False
    return True if isinstance(module, classes.neurons) else None


@hookimpl
def snninit_weight_layer(module: nn.Module) -> WeightLayerSpec | None:
    """``LILinearCell``: a linear readout fused with a leaky integrator; its weight is ``input_weights``."""
    if not (is_norse_module(module) and isinstance(module, norse_classes().li_linear)):
        return None
    return WeightLayerSpec(kind=type(module).__name__, weight="input_weights", bias=None)


@hookimpl
@neuron_hook(is_neuron)
def snninit_neuron_record(module: nn.Module) -> NeuronRecord | None:
    """Read a Norse neuron: by its exact class, else with the black-box probe."""
    return read_neuron(module)


def _weights_of(module: nn.Module) -> dict[str, torch.Tensor]:
    """The neuron's own parameters, and its input and recurrent weights also when they are plain tensors."""
    named: dict[str, torch.Tensor] = dict(module.named_parameters(recurse=False))
    for name in ("input_weights", "recurrent_weights"):  # plain tensors passed to the constructor count too
        value = getattr(module, name, None)
        if isinstance(value, torch.Tensor) and name not in named:
            named[name] = value
    return named


def _owned_weight(name: str, module: nn.Module) -> OwnedWeight:
    """The role of one weight inside a Norse neuron."""
    if name == "input_weights" and type(module) is norse_classes().coba:
        return OwnedWeight(name, "internal", "norse 1.1's coba_lif_step ignores CobaLIFCell's input")
    if name == "input_weights":
        return OwnedWeight(name, "feedforward")
    if name == "recurrent_weights":
        return OwnedWeight(name, "recurrent", "recurrent weights are not covered by the one-step rule")
    if name == "g_coupling":
        return OwnedWeight(name, "internal", "conductances between the neuron's compartments")
    return OwnedWeight(name, "internal", f"internal parameter of {type(module).__name__}")


@hookimpl
@neuron_hook(is_neuron)
def snninit_owned_weights(module: nn.Module) -> list[OwnedWeight] | None:
    """Weights inside Norse neurons: ``input_weights`` are feed-forward, the others are skipped."""
    return [_owned_weight(name, module) for name in _weights_of(module)]


@hookimpl
def snninit_reset_state(model: nn.Module) -> None:
    """Nothing to reset: Norse modules are stateless.

    A Norse neuron takes its state as an argument and returns the new one (``z, s = cell(x, s)``); with
    ``s=None`` it starts from a fresh state. Nothing is kept inside the module between calls, so a model
    is in the same state before and after discovery's forward pass.
    """
    return None


@hookimpl
@neuron_hook(is_neuron)
def snninit_prepare_activity(module: nn.Module) -> None:
    """Wrap the neuron's step function to keep the charged membrane of each step (on the monitor's copy)."""
    prepare_activity(module)


@hookimpl
@neuron_hook(is_neuron)
def snninit_step_activity(
    module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any, membranes: int | None = None
) -> list[tuple[torch.Tensor, torch.Tensor | None]] | None:
    """The spikes of a Norse neuron's call, per step, and the membrane compared with the threshold."""
    return steps_of_call(module, args, kwargs, output, membranes)
