"""Write a plan into the model: every planned tensor or none, whatever the exit.

Each planned weight in turn: a backup of every tensor the write changes is kept, then the new values
are drawn into the weight in place (or, for a weight written through a parametrization, or drawn on
another device than the weight's, into a temporary of that one layer, then written), and each bias
is zeroed. Then the ``after`` step runs (the adapters' reset of the neurons' state) and the effective
weights' std is read back for the report. Beyond the model, the write holds the backups (as large as
the weights written; they can be kept in host memory) and at most one layer's temporary. If anything
raises before the end, ``KeyboardInterrupt`` included, every tensor already written is restored from
its backup, newest first, bit for bit, and the exception goes on.

The values are drawn layer by layer in plan order from ``generator`` (the global CPU generator when
None) on its device, so that one seed gives the same weights whatever device the model is on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from snninit_adapters.init import fill_
from snninit_adapters.normalisers import PlannedNormaliser
from snninit_adapters.plan import PlannedLayer
from snninit_adapters.targets import copy_with_std, weight_std

__all__ = ["draw_values", "write_normaliser", "write_plan"]

_Backups = list[tuple[torch.Tensor, torch.Tensor]]


def _draw_device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def _drawn(layer: PlannedLayer, generator: torch.Generator | None) -> torch.Tensor:
    """A new tensor of the layer's weight shape and dtype, filled from its law on the generator's device."""
    weight = layer.target.effective()
    value = torch.empty(weight.shape, dtype=weight.dtype, device=_draw_device(generator))
    return fill_(value, layer.law, generator)


def draw_values(layers: Sequence[PlannedLayer], generator: torch.Generator | None) -> list[torch.Tensor | None]:
    """The new value of every weight a layer writes (None for one tied to an earlier layer's)."""
    return [_drawn(layer, generator) if layer.writes else None for layer in layers]


def _backup(tensor: torch.Tensor, device: torch.device | None) -> tuple[torch.Tensor, torch.Tensor]:
    copy = tensor.detach().clone() if device is None else tensor.detach().to(device, copy=True)
    return tensor, copy


def _write_layer(layer: PlannedLayer, value: torch.Tensor | None, generator: torch.Generator | None) -> None:
    """Write one layer's new weight: ``value``, or values drawn from its law (into the weight when it can be)."""
    direct = layer.target.direct()
    if value is None and direct is not None and direct.device == _draw_device(generator) and direct.is_contiguous():
        fill_(direct, layer.law, generator)
        return
    if value is None:
        value = _drawn(layer, generator)
    layer.target.write(value.to(layer.target.effective().device))


def write_plan(
    layers: Sequence[PlannedLayer],
    generator: torch.Generator | None,
    *,
    normalisers: Sequence[PlannedNormaliser] = (),
    values: Sequence[torch.Tensor | None] | None = None,
    after: Callable[[], None] | None = None,
    backup_device: torch.device | None = None,
) -> tuple[list[float], list[float], list[float]]:
    """Write every planned weight (drawn now, or given) and run ``after``; on any exit before the end, restore all.

    A layer whose report has no old std yet (NaN: the plan left it to the write) gets it here: read from
    the backup as it is taken, for a weight written in place, or before anything is written otherwise.

    Args:
        layers: The plan's layers.
        generator: The generator to draw from (its device is where the values are drawn).
        normalisers: The normalisers whose affine weight and bias to set.
        values: The weights to write instead of drawing them (None for a tied layer that does not write).
        after: Runs once everything is written (inside the rollback: if it raises, the weights are restored).
        backup_device: Where the rollback's backups are kept (None: on each tensor's own device).

    Returns:
        The std of each layer's effective weight after the write, in layer order; the mean affine weight
        of each normaliser; and each layer's std before the write (its report's, or the one read here).
    """
    writes = [layer.writes and (values is None or values[index] is not None) for index, layer in enumerate(layers)]
    old = [_old_std(layer, in_backup=w and _uses_stored(layer)) for layer, w in zip(layers, writes, strict=True)]
    backups: _Backups = []
    try:
        with torch.no_grad():
            for index, layer in enumerate(layers):
                if writes[index] and math.isnan(old[index]):  # a plain weight: its backup gives its old std
                    weight = layer.target.direct()
                    assert weight is not None
                    backup, old[index] = copy_with_std(weight, backup_device)
                    backups.append((weight, backup))
                elif writes[index]:
                    backups.extend(_backup(tensor, backup_device) for tensor in layer.target.tensors())
                if writes[index]:
                    _write_layer(layer, None if values is None else values[index], generator)
                if layer.bias is not None:
                    backups.append(_backup(layer.bias, backup_device))
                    layer.bias.zero_()
            for normaliser in normalisers:
                backups.extend(write_normaliser(normaliser.module, normaliser.weight, normaliser.bias))
            realised = [weight_std(layer.target.effective()) for layer in layers]
            gammas = [_mean_weight(n.module) for n in normalisers]
        if after is not None:
            after()
    except BaseException as error:
        _restore(backups, error)
        raise
    return realised, gammas, old


def _uses_stored(layer: PlannedLayer) -> bool:
    """Whether the module uses the stored weight itself (so its backup's std is the old std of the weight used)."""
    direct = layer.target.direct()
    return direct is not None and layer.target.effective() is direct


def _old_std(layer: PlannedLayer, *, in_backup: bool) -> float:
    """The layer's std before the write: its report's; NaN if its backup will give it; else read now."""
    if not math.isnan(layer.report.old_std) or in_backup:
        return layer.report.old_std
    return weight_std(layer.target.effective())


def write_normaliser(
    module: torch.nn.Module, weight: torch.Tensor, bias: torch.Tensor | None
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Set a normaliser's affine weight (and bias); the backups of what changed, for the rollback.

    SpikingJelly's threshold-dependent BatchNorm keeps its weight as ``alpha * v_th``: its ``alpha`` follows.
    """
    backups = []
    for tensor, value in ((module.weight, weight), (module.bias, bias)):
        if isinstance(tensor, torch.Tensor) and value is not None:
            backups.append((tensor, tensor.detach().clone()))
            tensor.copy_(value.expand_as(tensor))
    alpha, v_th = getattr(module, "alpha", None), getattr(module, "v_th", None)
    if isinstance(alpha, float) and isinstance(v_th, float) and v_th:
        setattr(module, "alpha", _mean_weight(module) / v_th)  # noqa: B010 - a float attribute, not a Module
    return backups


def _mean_weight(module: torch.nn.Module) -> float:
    weight = module.weight
    assert isinstance(weight, torch.Tensor)
    return float(weight.detach().double().mean())


def _restore(backups: list[tuple[torch.Tensor, torch.Tensor]], error: BaseException) -> None:
    """Copy every backup back, newest first; one that cannot be restored does not stop the others.

    A tensor whose restore fails (the one whose write failed, usually) is named in a note on ``error``.
    """
    with torch.no_grad():
        for tensor, backup in reversed(backups):
            try:
                tensor.copy_(backup)
            except Exception as failure:
                error.add_note(f"snninit_adapters could not restore a tensor of shape {tuple(tensor.shape)}: {failure}")
