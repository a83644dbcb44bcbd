"""Write a plan into the model: every planned tensor or none.

Every new weight is drawn first (nothing of the model is touched while drawing); then the weights are
copied in and the biases zeroed, keeping a backup of each tensor before it changes; if anything fails,
every tensor already written is restored from its backup, in reverse order, bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from snninit_adapters.init import fill_
from snninit_adapters.plan import PlannedLayer

__all__ = ["write_plan"]


def write_plan(layers: Sequence[PlannedLayer], generator: torch.Generator | None) -> None:
    """Draw every planned weight, then write them all; on any failure restore what was written.

    Args:
        layers: The plan's layers.
        generator: The generator to draw from (its device is where the values are drawn).
    """
    device = generator.device if generator is not None else torch.device("cpu")
    values = []
    for layer in layers:
        value = torch.empty(layer.weight.shape, dtype=layer.weight.dtype, device=device)
        fill_(value, layer.law, generator)
        values.append(value)
    backups: list[tuple[torch.Tensor, torch.Tensor]] = []
    try:
        with torch.no_grad():
            for layer, value in zip(layers, values, strict=True):
                backups.append((layer.weight, layer.weight.detach().clone()))
                layer.weight.copy_(value)
                if layer.bias is not None:
                    backups.append((layer.bias, layer.bias.detach().clone()))
                    layer.bias.zero_()
    except Exception as error:
        _restore(backups, error)
        raise


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
