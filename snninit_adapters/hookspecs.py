"""The hooks a framework adapter implements (pluggy).

An adapter is a module or object with functions marked ``@snninit_adapters.hookimpl`` and named
after the specs below. Built-in adapters live in :mod:`snninit_adapters.adapters`; third-party ones
are registered through the ``snninit_adapters`` entry-point group::

    [project.entry-points.snninit_adapters]
    myframework = "myframework_snninit.adapter"

Every hook may return None to say "not mine"; hooks marked *first result* stop at the first adapter
that answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from torch import nn

    from snninit_adapters.neurons import NeuronRecord
    from snninit_adapters.weights import OwnedWeight, WeightLayerSpec

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "snninit_adapters"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(firstresult=True)
def snninit_is_neuron(module: nn.Module) -> bool | None:
    """Say whether ``module`` is a spiking neuron of your framework (first result).

    Neurons are opaque to discovery: their children (surrogate functions, recurrent weights) are
    never visited. Return None for modules you do not know.
    """


@hookspec(firstresult=True)
def snninit_neuron_record(module: nn.Module) -> NeuronRecord | None:
    """Read ``module``'s threshold, input gain, leak and reset into a :class:`NeuronRecord` (first result).

    Called only for modules some adapter claimed with :func:`snninit_is_neuron`. Raise
    :class:`~snninit_adapters.SNNInitError` when the threshold cannot be read; return None for
    modules that are not yours.
    """


@hookspec(firstresult=True)
def snninit_weight_layer(module: nn.Module) -> WeightLayerSpec | None:
    """Describe ``module`` as a weight layer (first result): which parameter, its layout, its kind.

    The built-in torch adapter answers for ``nn.Linear``, ``nn.ConvNd`` and ``nn.ConvTransposeNd``
    (and their subclasses); implement this for weight-carrying layers of other kinds.
    """


@hookspec
def snninit_owned_weights(module: nn.Module) -> list[OwnedWeight] | None:
    """List the weights a neuron module owns (feed-forward input weights, recurrent weights, ...).

    Feed-forward weights are initialised like a layer that feeds this neuron; the others are listed
    in the report as skipped, with the reason given here.
    """


@hookspec
def snninit_reset_state(model: nn.Module) -> None:
    """Reset the state (membranes, traces) of every neuron of your framework inside ``model``."""
