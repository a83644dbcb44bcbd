"""Where a planned weight is written, and what the module then uses: the weight it computes in its forward.

A layer's ``weight`` is not always the tensor to write:

- a plain parameter (or tensor) is written in place;
- a weight computed by ``torch.nn.utils.parametrize`` (``parametrizations.weight_norm``, any
  ``register_parametrization``) is written through its parametrization's ``right_inverse``, which sets
  the stored originals (for weight norm: the magnitude ``g`` and the direction ``v``) so that the
  computed weight is the value asked for; a parametrization that does not give back the value it is
  given (``spectral_norm`` divides by the largest singular value; ``orthogonal`` keeps the weight
  orthogonal) normalises the drawn scale away, and the layer is refused with that reason;
- the deprecated ``nn.utils.weight_norm`` hook keeps ``weight_g`` and ``weight_v``: they are set
  (``v`` the drawn value, ``g`` its norm) and the hook's weight recomputed; the deprecated
  ``nn.utils.spectral_norm`` hook is refused.

:func:`weight_target` decides which, before anything is written; :class:`WeightTarget` then reads the
effective weight (for the report, before and after), lists the tensors a write changes (for the
rollback, and to find weights tied between layers) and writes.
"""

from __future__ import annotations

import copy
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize

__all__ = ["Refusal", "WeightTarget", "copy_with_std", "weight_std", "weight_target"]


_CHUNK = 1 << 16  # elements per chunk of a large CPU weight's std: small enough to stay in cache
_CANCELLATION = 1e-3  # below this share of the sum of squares, the centred sum is recomputed in a second pass


def weight_std(tensor: torch.Tensor) -> float:
    """The sample std of a weight's values (0 for a single value), with no float64 copy of the weight.

    A large weight on the CPU is read once, in chunks: each chunk's sum and sum of squares (a dot product)
    in the weight's dtype (float32 at least), accumulated exactly (``math.fsum``); a weight whose mean is
    so large against its spread that this would cancel is read a second time, centred. Half the time of
    ``Tensor.std`` (whose accumulation is in float64) at a relative error near 1e-7. Elsewhere (a small,
    non-contiguous or non-CPU weight) ``Tensor.std`` reduces it.
    """
    values = tensor.detach()
    count = values.numel()
    if count <= 1:
        return 0.0
    if values.element_size() < 4:
        values = values.float()
    if values.device.type != "cpu" or count <= _CHUNK or not values.is_contiguous():
        return float(values.std())  # (a non-contiguous weight, channels_last say, is reduced where it lies)
    return _std_of_chunks(torch.split(values.view(-1), _CHUNK), count)


def _std_of_chunks(chunks: Iterable[torch.Tensor], count: int) -> float:
    """The sample std of ``count`` values given in chunks: one pass of sums, a centred one if they cancel."""
    seen, sums, squares = [], [], []
    for chunk in chunks:
        seen.append(chunk)
        sums.append(float(chunk.sum()))
        squares.append(float(torch.dot(chunk, chunk)))
    total, square = math.fsum(sums), math.fsum(squares)
    mean = total / count
    centred = square - total * mean
    if centred <= _CANCELLATION * square:  # mean >> spread: the one-pass difference has lost its digits
        centred = math.fsum(float(torch.sub(chunk, mean).square_().sum()) for chunk in seen)
    return math.sqrt(max(centred, 0.0) / (count - 1))


def copy_with_std(tensor: torch.Tensor, device: torch.device | None = None) -> tuple[torch.Tensor, float]:
    """A copy of ``tensor`` (on ``device``, default its own) and :func:`weight_std` of its values, in one pass.

    A large contiguous CPU tensor is copied chunk by chunk, each chunk's sum and sum of squares taken from
    the copy while it is in cache; any other tensor is copied, then reduced.
    """
    values = tensor.detach()
    target = values.device if device is None else device
    plain = values.is_contiguous() and values.element_size() >= 4 and values.numel() > _CHUNK
    if values.device.type != "cpu" or target.type != "cpu" or not plain:
        copied = values.to(target, copy=True)
        return copied, weight_std(copied)
    copied = torch.empty_like(values, device=target)
    pairs = zip(torch.split(values.view(-1), _CHUNK), torch.split(copied.view(-1), _CHUNK), strict=True)
    return copied, _std_of_chunks((chunk.copy_(source) for source, chunk in pairs), values.numel())


class WeightTarget(ABC):
    """How one weight is written and read back."""

    @abstractmethod
    def effective(self) -> torch.Tensor:
        """The weight the module uses in its forward, now."""

    @abstractmethod
    def tensors(self) -> list[torch.Tensor]:
        """The tensors a write changes (their backups restore the weight)."""

    @abstractmethod
    def write(self, value: torch.Tensor) -> None:
        """Make the effective weight equal ``value`` (under ``torch.no_grad()``)."""

    def direct(self) -> torch.Tensor | None:
        """The tensor a write copies its value into unchanged, which can be drawn into in place; None if none."""
        return None

    @property
    def how(self) -> str:
        """How the write reaches the weight, for the report ("" for a plain parameter)."""
        return ""

    def key(self) -> tuple[int, ...]:
        """Identifies the stored tensors: two layers with the same key share (are tied to) one weight."""
        return tuple(id(tensor) for tensor in self.tensors())


class _Plain(WeightTarget):
    def __init__(self, tensor: torch.Tensor) -> None:
        self.tensor = tensor

    def effective(self) -> torch.Tensor:
        return self.tensor

    def tensors(self) -> list[torch.Tensor]:
        return [self.tensor]

    def write(self, value: torch.Tensor) -> None:
        self.tensor.copy_(value)

    def direct(self) -> torch.Tensor:
        return self.tensor


class _Computed(_Plain):
    """A parameter the forward transforms (weight standardisation): written in place, read through a method."""

    def __init__(self, tensor: torch.Tensor, module: nn.Module, method: str) -> None:
        super().__init__(tensor)
        self.module, self.method = module, method

    def effective(self) -> torch.Tensor:
        value: torch.Tensor = getattr(self.module, self.method)()
        return value

    @property
    def how(self) -> str:
        return f"the forward uses {type(self.module).__name__}.{self.method}()"


class _Parametrized(WeightTarget):
    def __init__(self, parametrizations: parametrize.ParametrizationList, names: str) -> None:
        self.parametrizations = parametrizations
        self.names = names

    def effective(self) -> torch.Tensor:
        value: torch.Tensor = self.parametrizations()
        return value

    def tensors(self) -> list[torch.Tensor]:
        return [p for name, p in self.parametrizations.named_parameters(recurse=False) if name.startswith("original")]

    def write(self, value: torch.Tensor) -> None:
        self.parametrizations.right_inverse(value)

    @property
    def how(self) -> str:
        return f"written through its parametrization ({self.names})"


class _LegacyWeightNorm(WeightTarget):
    def __init__(self, module: nn.Module, hook: Any) -> None:
        self.module, self.hook = module, hook

    def effective(self) -> torch.Tensor:
        value: torch.Tensor = self.hook.compute_weight(self.module)
        return value

    def tensors(self) -> list[torch.Tensor]:
        return [getattr(self.module, f"{self.hook.name}_g"), getattr(self.module, f"{self.hook.name}_v")]

    def write(self, value: torch.Tensor) -> None:
        g, v = self.tensors()
        v.copy_(value)
        g.copy_(torch.norm_except_dim(value, 2, self.hook.dim).reshape(g.shape))
        setattr(self.module, self.hook.name, self.hook.compute_weight(self.module))

    @property
    def how(self) -> str:
        return f"written through nn.utils.weight_norm ({self.hook.name}_g and {self.hook.name}_v)"


class Refusal(str):
    """Why a weight cannot be written so that the module uses the law (the layer is left as it is)."""

    __slots__ = ()


def _names(parametrizations: parametrize.ParametrizationList) -> str:
    return ", ".join(type(p).__name__ for p in parametrizations)


def _gives_back(parametrizations: parametrize.ParametrizationList) -> bool:
    """Whether the parametrization computes exactly the weight it is given (tried on a private copy)."""
    trial = copy.deepcopy(parametrizations)
    reference = trial().detach()
    value = torch.randn(reference.shape, generator=torch.Generator().manual_seed(0)).to(reference)
    with torch.no_grad():
        try:
            trial.right_inverse(value)
            computed = trial().detach()
        except Exception:  # no right_inverse, or one that rejects the value: not writable
            return False
    return bool(torch.allclose(computed, value, rtol=1e-4, atol=1e-5))


def weight_target(owner: nn.Module, dotted: str, effective: str | None = None) -> WeightTarget | Refusal:
    """Where ``owner``'s weight ``dotted`` (``"weight"``, ``"linear.weight"``) is written, or why it cannot be.

    Args:
        owner: The layer (or the neuron that owns the weight).
        dotted: The weight's name relative to it.
        effective: A method of the module that computes the weight its forward uses (None: the weight itself).

    Returns:
        The target, or a :class:`Refusal` that says why the weight is left alone.
    """
    prefix, _, name = dotted.rpartition(".")
    module = owner.get_submodule(prefix) if prefix else owner
    if parametrize.is_parametrized(module, name):
        parametrizations: parametrize.ParametrizationList = getattr(module.parametrizations, name)
        if _gives_back(parametrizations):
            return _Parametrized(parametrizations, _names(parametrizations))
        return Refusal(
            f"its weight is computed by the parametrization {_names(parametrizations)}, which does not give back "
            "a weight it is given (it normalises the drawn scale away); left as it is"
        )
    for hook in module._forward_pre_hooks.values():
        kind = type(hook).__name__
        if getattr(hook, "name", None) == name and kind == "WeightNorm":
            return _LegacyWeightNorm(module, hook)
        if getattr(hook, "name", None) == name and kind == "SpectralNorm":
            return Refusal(
                "nn.utils.spectral_norm divides its weight by the largest singular value, so the drawn scale is "
                "normalised away; left as it is"
            )
    tensor = getattr(module, name)
    if not isinstance(tensor, torch.Tensor):
        return Refusal(f"{dotted} is a {type(tensor).__name__}, not a tensor")
    return _Plain(tensor) if effective is None else _Computed(tensor, module, effective)
