"""Which modules are Norse neurons, and where a Norse state keeps the membrane.

Norse's neurons are its ``SNNCell``/``SNN``/``SNNRecurrentCell``/``SNNRecurrent`` modules (plus
``CobaLIFCell`` and ``LIFCorrelation``, which derive from ``nn.Module`` directly). Cells take one step per
call, ``z, s = cell(x, s)``; the sequence modules ``SNN``/``SNNRecurrent`` run a whole ``[T, ...]`` input.
The leaky integrators ``LICell``, ``LI``, ``LIBoxCell`` and ``LILinearCell`` never spike: they are readouts,
not neurons. A module's classes say whether it comes from Norse, so classifying a module that does not
never imports Norse. A neuron's state is a NamedTuple (possibly nested, as in ``LIFRefracState(lif=...)``)
whose field ``v`` is the membrane.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import torch
from torch import nn

from snninit_adapters.adapters.common import comes_from
from snninit_adapters.plugins import require_framework

__all__ = ["FRAMEWORK", "NorseClasses", "import_norse", "is_neuron", "is_norse_module", "membrane_of", "norse_classes"]

FRAMEWORK = "norse"


def is_norse_module(module: nn.Module) -> bool:
    """Whether a class in ``module``'s MRO comes from Norse."""
    return comes_from(module, FRAMEWORK)


def import_norse(submodule: str) -> Any:
    """Import ``norse.torch.<submodule>``, or say which extra installs Norse."""
    return require_framework(FRAMEWORK, f"norse.torch.{submodule}")


class NorseClasses(NamedTuple):
    """The Norse classes the adapter tells apart.

    Attributes:
        neurons: The base classes of the neurons.
        readouts: The leaky integrators, which never spike (some derive from the neuron bases).
        sequences: The modules that run a whole ``[T, ...]`` sequence per call.
        li_linear: ``LILinearCell``, a linear readout fused with a leaky integrator.
        coba: ``CobaLIFCell``, whose input never reaches its membrane in Norse 1.1.
    """

    neurons: tuple[type, ...]
    readouts: tuple[type, ...]
    sequences: tuple[type, ...]
    li_linear: type
    coba: type


@functools.cache
def norse_classes() -> NorseClasses:
    """The Norse classes the adapter tells apart (imports Norse)."""
    snn = import_norse("module.snn")
    leaky = import_norse("module.leaky_integrator")
    box = import_norse("module.leaky_integrator_box")
    coba = import_norse("module.coba_lif").CobaLIFCell
    correlation = import_norse("module.lif_correlation").LIFCorrelation
    return NorseClasses(
        neurons=(snn.SNNCell, snn.SNN, snn.SNNRecurrentCell, snn.SNNRecurrent, coba, correlation),
        readouts=(leaky.LICell, leaky.LI, leaky.LILinearCell, box.LIBoxCell),
        sequences=(snn.SNN, snn.SNNRecurrent),
        li_linear=leaky.LILinearCell,
        coba=coba,
    )


def is_neuron(module: nn.Module) -> bool:
    """Whether ``module`` is a Norse neuron (Norse is imported only for modules that come from it)."""
    if not is_norse_module(module):
        return False
    classes = norse_classes()
    return isinstance(module, classes.neurons) and not isinstance(module, classes.readouts)


def membrane_of(state: Any) -> torch.Tensor | None:
    """The field ``v`` of a (possibly nested) Norse state NamedTuple."""
    fields = getattr(state, "_fields", None)
    if not isinstance(state, tuple) or fields is None:
        return None
    membrane = getattr(state, "v", None) if "v" in fields else None
    if isinstance(membrane, torch.Tensor):
        return membrane
    for value in state:
        found = membrane_of(value)
        if found is not None:
            return found
    return None
