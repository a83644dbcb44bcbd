r"""The paper's LIF network built from each framework's own modules: one module per framework.

``backends/<framework>.py`` mirrors ``adapters/<framework>.py``: the adapter *reads* a framework's
neurons (the pluggy hooks), the backend *builds* the paper's neuron in it (Eq. 2 with the soft reset
of Eq. 13: leak :math:`\beta`, threshold :math:`\theta`, subtract reset), the layers around it, the
container, how the container runs ``T`` steps, the neuron's input gain for a given :math:`\beta`, and
notes on how that neuron differs from the paper's model. The propagation experiments
(:mod:`snninit_adapters.experiments.frameworks`) and the training networks
(:mod:`snninit_adapters.training.models`) each have one generic network class that asks the backend.
A framework is imported only when its backend builds something.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snninit_adapters.backends.base import FrameworkBackend

__all__ = ["FRAMEWORKS", "FrameworkBackend", "get_backend"]


def __getattr__(name: str) -> Any:
    """``FrameworkBackend`` on first use: importing the package (the CLI reads ``FRAMEWORKS``) needs no torch."""
    if name == "FrameworkBackend":
        from snninit_adapters.backends.base import FrameworkBackend

        return FrameworkBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


FRAMEWORKS = ("snntorch", "spikingjelly", "norse")
"""The frameworks with a backend, in the order the docs and the CLI list them."""


def get_backend(name: str, *, multi_step: bool = False) -> FrameworkBackend:
    """The backend of one framework (importing the framework only when it builds a module).

    Args:
        name: ``"snntorch"``, ``"spikingjelly"`` or ``"norse"``.
        multi_step: Build layers that take a whole ``[T, B, ...]`` sequence per call where the
            framework has them (SpikingJelly's multi-step mode); the others always run step by step.

    Returns:
        The backend.

    Raises:
        ValueError: For a framework without a backend.
    """
    if name not in FRAMEWORKS:
        raise ValueError(f"unknown framework backend {name!r}; choose one of {', '.join(FRAMEWORKS)}")
    module = importlib.import_module(f"snninit_adapters.backends.{name}")
    backend: FrameworkBackend = module.Backend(multi_step=multi_step)
    return backend
