"""The library's private copy of a model: :func:`copy_model`, the same copy as ``copy.deepcopy``, faster.

Discovery, the activity monitor and calibration each run a copy so that the user's model, its state and
its hooks stay untouched. ``copy.deepcopy`` walks every attribute of every module through its generic
protocol, about a microsecond a value: 3.3 ms for a spiking ResNet-18 with its parameters shared, a
fifth of its forward pass at 64 x 64. :func:`copy_model` builds the same copy directly for the modules
that keep ``nn.Module``'s own copy protocol: each module's state as ``nn.Module.__getstate__`` gives it,
its children copied the same way, its plain buffers cloned, immutable values shared (``deepcopy``
shares them too), and everything else through ``copy.deepcopy`` with one memo, so an object the model
holds twice is copied once. A module with a copy protocol of its own is copied by ``copy.deepcopy``.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any

import torch
from torch import nn

__all__ = ["copy_model", "release"]

_ATOMIC = (type(None), bool, int, float, complex, str, bytes, type)  # what deepcopy returns unchanged
_EMPTY_COPYABLE = (dict, OrderedDict, list, set)
_PROTOCOL = ("__deepcopy__", "__reduce_ex__", "__reduce__", "__getstate__")


def copy_model(model: nn.Module, *, share_parameters: bool = False) -> nn.Module:
    """A deep copy of ``model`` for the library's private runs, the deprecated ``nn.utils.weight_norm`` included.

    That hook keeps its computed weight as a plain attribute, a non-leaf tensor that ``copy.deepcopy``
    refuses; the attribute is taken off for the copy and put back at once (the hook recomputes it before
    every forward anyway).

    Args:
        model: The model.
        share_parameters: Let the copy hold the model's own ``nn.Parameter`` objects instead of copies
            (buffers, the neurons' state and every module are still copied). For runs that only read the
            weights (no-grad forward passes): the copy then costs no memory for the parameters, which
            are most of a large model. Such a run must not change a parameter in place; see
            :func:`~snninit_adapters.model.changed_in_place`.
    """
    modules = list(model.modules())  # one walk of the tree serves every step below
    computed = []
    for module in modules:
        for hook in module._forward_pre_hooks.values():
            name = getattr(hook, "name", None)
            if type(hook).__name__ == "WeightNorm" and isinstance(name, str) and name in module.__dict__:
                computed.append((module, name, module.__dict__.pop(name)))
    memo: dict[int, Any] = {}
    if share_parameters:
        memo = {id(p): p for m in modules for p in m._parameters.values() if p is not None}
    buffers = [b for m in modules for b in m._buffers.values() if b is not None]
    try:
        replica = _Copier(memo, _clonable_buffers(buffers)).module(model)
    finally:
        for module, name, value in computed:
            module.__dict__[name] = value
    if computed:
        for original, copied in zip(modules, replica.modules(), strict=True):
            for module, name, _ in computed:
                if module is original:
                    hooks = copied._forward_pre_hooks.values()
                    weight_norm: Any = next(h for h in hooks if getattr(h, "name", None) == name)
                    copied.__dict__[name] = weight_norm.compute_weight(copied)
    return replica


def release(replica: nn.Module, model: nn.Module) -> None:
    """Free a copy the library is done with now, not at the garbage collector's next full pass.

    Modules hold reference cycles (snnTorch's neurons keep their own bound methods, the adapters'
    per-instance steps close over their module), so a dropped copy lingers with its buffers and state
    until a collection finds it. Emptying the ``__dict__`` of each of the copy's modules breaks those
    cycles; a module the copy shares with ``model`` (a class whose ``__deepcopy__`` returns itself) is
    left alone.

    Args:
        replica: The copy, unusable afterwards.
        model: The model it was copied from.
    """
    originals = {id(module) for module in model.modules()}
    for module in list(replica.modules()):
        if id(module) not in originals:
            module.__dict__.clear()


def _plain(buffer: torch.Tensor) -> bool:
    """Whether ``clone()`` copies ``buffer`` exactly as ``deepcopy`` would: a dense tensor filling its own storage."""
    return (
        type(buffer) is torch.Tensor
        and buffer.layout is torch.strided
        and not buffer.requires_grad
        and not buffer.is_quantized
        and buffer.device.type != "meta"
        and buffer._base is None
        and buffer.storage_offset() == 0
        and buffer.untyped_storage().nbytes() == buffer.numel() * buffer.element_size()
    )


def _clonable_buffers(every: list[torch.Tensor]) -> bool:
    """Whether every buffer can be cloned on its own: plain, and no two share a storage (deepcopy keeps sharing)."""
    buffers = list({id(b): b for b in every if b.numel()}.values())  # a buffer held twice is one buffer
    if not all(_plain(b) for b in buffers):
        return False
    return len({b.untyped_storage().data_ptr() for b in buffers}) == len(buffers)


class _Copier:
    """``copy.deepcopy`` of a module tree with one memo, taking the direct route where it gives the same copy."""

    def __init__(self, memo: dict[int, Any], clone_buffers: bool) -> None:
        self.memo, self.clone_buffers = memo, clone_buffers

    def module(self, module: nn.Module) -> nn.Module:
        found: nn.Module | None = self.memo.get(id(module))
        if found is not None:
            return found
        cls = type(module)
        if any(getattr(cls, name, None) is not getattr(nn.Module, name, None) for name in _PROTOCOL):
            return copy.deepcopy(module, self.memo)
        replica = cls.__new__(cls)
        self.memo[id(module)] = replica
        original = module.__getstate__()  # type: ignore[no-untyped-call]
        state = {key: self.value(key, value) for key, value in original.items()}
        # as deepcopy's reconstruction does (a class's own __setstate__ included)
        replica.__setstate__(state)  # type: ignore[no-untyped-call]
        return replica

    def value(self, key: str, value: Any) -> Any:
        found = self.memo.get(id(value), self)
        if found is not self:
            return found
        if type(value) in _ATOMIC:
            return value
        if type(value) is tuple and all(type(item) in _ATOMIC for item in value):  # kernel sizes, strides, ...
            return value  # deepcopy returns such a tuple itself
        if type(value) in _EMPTY_COPYABLE and not value:  # a module's many empty hook dicts
            fresh = self.memo[id(value)] = type(value)()
            return fresh
        if key == "_modules" and type(value) is dict:
            return {name: None if child is None else self.module(child) for name, child in value.items()}
        if key == "_parameters" and type(value) is dict:  # each parameter as deepcopy copies it (or shared)
            return {name: None if p is None else self.value("", p) for name, p in value.items()}
        if key == "_buffers" and type(value) is dict and self.clone_buffers:
            return {name: None if b is None else self.buffer(b) for name, b in value.items()}
        return copy.deepcopy(value, self.memo)

    def buffer(self, buffer: torch.Tensor) -> torch.Tensor:
        found: torch.Tensor | None = self.memo.get(id(buffer))
        if found is None:
            found = self.memo[id(buffer)] = buffer.clone()
        return found
