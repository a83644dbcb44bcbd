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

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import torch
    from torch import nn

    from snninit_adapters.layers import OwnedWeight, WeightLayerSpec
    from snninit_adapters.neurons import NeuronRecord

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


@hookspec
def snninit_prepare_activity(module: nn.Module) -> None:
    """Get a neuron of your framework ready for :func:`snninit_step_activity` (activity monitor).

    Called once per neuron on the monitor's private deep copy of the model, before its state is reset
    and the model runs, so the neuron may be changed freely (a forward pre-hook that keeps the state
    from before each call, a wrapper that records the membrane compared with the threshold, ...).
    Return None; do nothing for modules that are not yours.
    """


@hookspec(firstresult=True)
def snninit_step_activity(
    module: nn.Module,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    output: Any,
    membranes: int | None,
) -> list[tuple[torch.Tensor, torch.Tensor | None]] | None:
    """The spikes and membrane of every time step one call of a neuron ran (first result).

    Called from a forward hook after each call of a neuron on the monitor's copy of the model, under
    ``torch.no_grad()``.

    Args:
        module: The neuron (on the monitor's copy; :func:`snninit_prepare_activity` has seen it).
        args: The positional arguments of the call.
        kwargs: The keyword arguments of the call.
        output: What the call returned.
        membranes: How many of this call's first steps the monitor wants the membrane of (None: all; 0:
            none). An adapter that has to recompute the membrane may leave the others None; one that
            has it for free may give them all.

    Returns:
        One ``(spikes, membrane)`` pair per step the call ran, in time order: one for a single-step
        call, ``T`` for a multi-step call on ``[T, ...]``. ``spikes`` is what the neuron emitted at that
        step; ``membrane``, of the same shape, is the potential compared with the threshold at that
        step, *before* any reset, or None when it cannot be recovered. Return None for modules that are
        not yours (the monitor then counts the call as one step, the output, or its first element, as
        the spikes, without a membrane).
    """
