r"""What the framework adapters share: the "is this module mine" guard, and the threshold and gain arithmetic.

Every neuron hook first asks whether the module is one of its framework's neurons and answers None
("not mine") otherwise; :func:`neuron_hook` writes that guard once.

A framework keeps a neuron's threshold as a number or as a tensor, which may hold one value, the same
value for every neuron, or one value per neuron; :func:`compact_values` turns it into what a
:class:`~snninit_adapters.neurons.NeuronRecord` carries: a float, or the tensor of per-neuron values.
A record carries one input gain :math:`g`. When the gains differ between neurons, :func:`average_gain`
gives the record their mean :math:`\bar g` and rescales each threshold to :math:`\theta_i \bar g / g_i`,
so that the input threshold :math:`\theta_i / g_i` the one-step rule works with stays exact per neuron.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import torch
from torch import nn

__all__ = ["AveragedGain", "average_gain", "comes_from", "compact_values", "cpu_float64", "neuron_hook"]

Hook = TypeVar("Hook", bound=Callable[..., Any])


def comes_from(module: nn.Module, package: str) -> bool:
    """Whether a class in ``module``'s MRO is defined in ``package`` or one of its submodules.

    Answered once per class and package: discovery and the monitor ask it of every module at every call.
    """
    cls: type = type(module)
    return _class_from(cls, package)


@functools.lru_cache(maxsize=4096)
def _class_from(cls: type, package: str) -> bool:
    return any(c.__module__ == package or c.__module__.startswith(package + ".") for c in cls.__mro__)


def neuron_hook(is_mine: Callable[[nn.Module], bool]) -> Callable[[Hook], Hook]:
    """Make a hook whose first argument is ``module`` answer None for modules ``is_mine`` rejects.

    The wrapper keeps the hook's name, docstring and signature (``functools.wraps``: pluggy reads the
    argument names of the hook itself through ``__wrapped__``); put ``@hookimpl`` above it. The hook's
    return type must allow None.

    Args:
        is_mine: Says whether a module is one of the adapter's neurons.

    Returns:
        The decorator.
    """

    def decorate(hook: Hook) -> Hook:
        @functools.wraps(hook)
        def guarded(module: nn.Module, *args: Any, **kwargs: Any) -> Any:
            if not is_mine(module):
                return None
            return hook(module, *args, **kwargs)

        return cast("Hook", guarded)

    return decorate


def cpu_float64(value: Any) -> torch.Tensor:
    """``value`` (a number or a tensor) as a detached float64 tensor on the CPU."""
    return torch.as_tensor(value).detach().to(device="cpu", dtype=torch.float64)


def compact_values(values: Any, *, merge_equal: bool = True) -> float | torch.Tensor:
    """A threshold (or gain, or rest) as a float when it holds one value, else a copy of the tensor.

    Args:
        values: A number, or a tensor of per-neuron values (its shape and dtype are kept).
        merge_equal: Also give a float when all the tensor's values are equal.

    Returns:
        The float, or a detached copy of the tensor (also for an empty one).
    """
    if not isinstance(values, torch.Tensor):
        return float(values)
    detached = values.detach()
    flat = detached.reshape(-1)
    if flat.numel() == 1 or (merge_equal and flat.numel() > 0 and bool((flat == flat[0]).all())):
        return float(flat[0])
    return detached.clone()


@dataclass(frozen=True)
class AveragedGain:
    """Per-neuron input gains replaced by their mean, with the thresholds rescaled to it.

    Attributes:
        gain: The mean gain, which the record carries.
        threshold: The per-neuron thresholds rescaled so that each ``threshold / gain`` equals the
            neuron's own ``theta / g``.
        gains: The per-neuron gains.
    """

    gain: float
    threshold: torch.Tensor
    gains: torch.Tensor

    @property
    def span(self) -> str:
        """The range of the gains, for notes: ``"min..max"``."""
        return f"{float(self.gains.min()):.4g}..{float(self.gains.max()):.4g}"

    def varies(self, tolerance: float = 0.0) -> bool:
        """Whether there are several gains that spread by more than ``tolerance`` times their mean."""
        return self.gains.numel() > 1 and float(self.gains.max() - self.gains.min()) > tolerance * self.gain


def average_gain(threshold: torch.Tensor, gains: torch.Tensor, *, divide_first: bool = False) -> AveragedGain:
    r"""Replace per-neuron gains :math:`g_i` by their mean :math:`\bar g` and rescale each threshold to it.

    Args:
        threshold: Per-neuron thresholds :math:`\theta_i` (broadcastable against ``gains``).
        gains: Per-neuron gains :math:`g_i`.
        divide_first: Compute :math:`(\theta_i / g_i) \bar g` rather than :math:`(\theta_i \bar g) / g_i`.
            The two round differently in the last bit; Norse's adapter divides first, SpikingJelly's
            last, and each keeps its order so that its records do not change.

    Returns:
        The mean gain with the rescaled thresholds.
    """
    mean = gains.mean()
    rescaled = threshold / gains * mean if divide_first else threshold * float(mean) / gains
    return AveragedGain(gain=float(mean), threshold=rescaled, gains=gains)
