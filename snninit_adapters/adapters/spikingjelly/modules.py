"""Which modules are SpikingJelly neurons, and how to run and reset one.

A neuron is any module with a class in its MRO defined under ``spikingjelly.activation_based.neuron``
(user subclasses included); the class's module name says where it comes from, so classifying a module
never imports SpikingJelly. ``base.MemoryModule`` is deliberately not the test: it also matches
containers, ``Dropout`` and ``DropConnectLinear``. The ``NonSpiking*`` readouts are left out: they emit
their membrane, have no threshold, and pass through like any other non-neuron module.

A neuron runs in single-step mode (``step_mode="s"``: one ``[B, ...]`` input per call) or multi-step mode
(``"m"``: a whole ``[T, B, ...]`` sequence per call), and keeps its state until ``reset()``.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import nn

from snninit_adapters.adapters.common import comes_from
from snninit_adapters.errors import SNNInitError
from snninit_adapters.plugins import require_framework

__all__ = [
    "FRAMEWORK",
    "NEURON_PACKAGE",
    "first_tensor",
    "import_neuron_package",
    "is_neuron",
    "is_spikingjelly_module",
    "reset_module",
    "step_mode",
]

FRAMEWORK = "spikingjelly"
NEURON_PACKAGE = "spikingjelly.activation_based.neuron"
_NON_SPIKING = ("NonSpikingBaseNode", "NoisyNonSpikingBaseNode")


@functools.lru_cache(maxsize=4096)  # per class: discovery and the monitor ask it of every module at every call
def _non_spiking(cls: type) -> bool:
    return any(c.__name__ in _NON_SPIKING and c.__module__.startswith(NEURON_PACKAGE) for c in cls.__mro__)


def is_spikingjelly_module(module: nn.Module) -> bool:
    """Whether a class in ``module``'s MRO comes from SpikingJelly."""
    return comes_from(module, FRAMEWORK)


def is_neuron(module: nn.Module) -> bool:
    """Whether ``module`` is a SpikingJelly spiking neuron (a ``NonSpiking*`` readout is not)."""
    cls: type = type(module)
    return comes_from(module, NEURON_PACKAGE) and not _non_spiking(cls)


def import_neuron_package() -> Any:
    """Import ``spikingjelly.activation_based.neuron``, or say which extra installs it."""
    return require_framework(FRAMEWORK, NEURON_PACKAGE)


def first_tensor(out: Any) -> torch.Tensor:
    """The spikes in what a neuron returned: the output, or the first element of a (nested) tuple or list."""
    while isinstance(out, list | tuple):
        out = out[0]
    if not isinstance(out, torch.Tensor):
        raise SNNInitError(f"the neuron returned {type(out).__name__}, not a spike tensor")
    return out


def step_mode(neuron: nn.Module) -> str:
    """``"s"`` (one step per call) or ``"m"`` (a sequence per call); ``MultiStepModule`` classes are ``"m"``."""
    mode = getattr(neuron, "step_mode", None)
    if isinstance(mode, str):
        return mode
    return "m" if any(cls.__name__ == "MultiStepModule" for cls in type(neuron).__mro__) else "s"


def reset_module(module: nn.Module) -> None:
    """Call the module's ``reset()``, if it has one."""
    reset = getattr(module, "reset", None)
    if callable(reset):
        reset()
