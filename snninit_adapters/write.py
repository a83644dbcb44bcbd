"""Write a plan into the model: every planned tensor or none, whatever the exit.

Every new weight is drawn first (nothing of the model is touched while drawing); then each weight is
written (in place, or through its parametrization) and each bias zeroed, keeping a backup of every
tensor before it changes; then the ``after`` step runs (the adapters' reset of the neurons' state)
and the effective weights' std is read back for the report. If anything raises before the end,
``KeyboardInterrupt`` included, every tensor already written is restored from its backup, newest
first, bit for bit, and the exception goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from snninit_adapters.init import fill_
from snninit_adapters.normalisers import PlannedNormaliser
from snninit_adapters.plan import PlannedLayer

__all__ = ["draw_values", "write_normaliser", "write_plan"]


def draw_values(layers: Sequence[PlannedLayer], generator: torch.Generator | None) -> list[torch.Tensor | None]:
    """The new value of every weight a layer writes (None for one tied to an earlier layer's)."""
    device = generator.device if generator is not None else torch.device("cpu")
    values: list[torch.Tensor | None] = []
    for layer in layers:
        if not layer.writes:
            values.append(None)
            continue
        weight = layer.target.effective()
        value = torch.empty(weight.shape, dtype=weight.dtype, device=device)
        fill_(value, layer.law, generator)
        values.append(value)
    return values


def _std(tensor: torch.Tensor) -> float:
    values = tensor.detach()
    return float(values.std()) if values.numel() > 1 else 0.0


def write_plan(
    layers: Sequence[PlannedLayer],
    generator: torch.Generator | None,
    *,
    normalisers: Sequence[PlannedNormaliser] = (),
    values: Sequence[torch.Tensor | None] | None = None,
    after: Callable[[], None] | None = None,
) -> tuple[list[float], list[float]]:
    """Draw every planned weight, write them all and run ``after``; on any exit before the end, restore all.

    Args:
        layers: The plan's layers.
        generator: The generator to draw from (its device is where the values are drawn).
        normalisers: The normalisers whose affine weight and bias to set.
        values: The weights to write instead of drawing them (None for a tied layer that does not write).
        after: Runs once everything is written (inside the rollback: if it raises, the weights are restored).

    Returns:
        The std of each layer's effective weight after the write, in layer order, and the mean affine
        weight of each normaliser.
    """
    values = draw_values(layers, generator) if values is None else values
    backups: list[tuple[torch.Tensor, torch.Tensor]] = []
    try:
        with torch.no_grad():
            for layer, value in zip(layers, values, strict=True):
                if value is not None and layer.writes:
                    backups.extend((tensor, tensor.detach().clone()) for tensor in layer.target.tensors())
                    layer.target.write(value.to(layer.target.effective().device))
                if layer.bias is not None:
                    backups.append((layer.bias, layer.bias.detach().clone()))
                    layer.bias.zero_()
            for normaliser in normalisers:
                backups.extend(write_normaliser(normaliser.module, normaliser.weight, normaliser.bias))
            realised = [_std(layer.target.effective()) for layer in layers]
            gammas = [_mean_weight(n.module) for n in normalisers]
        if after is not None:
            after()
    except BaseException as error:
        _restore(backups, error)
        raise
    return realised, gammas


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
