"""Adapter for plain torch weight layers: ``nn.Linear``, ``nn.ConvNd`` and ``nn.ConvTransposeNd``.

Subclasses count too, which covers SpikingJelly's ``layer.Linear``/``layer.Conv2d`` and Norse's
``LConv2d`` (an ``nn.Conv3d``).
"""

from __future__ import annotations

from torch import nn

from snninit_adapters.hookspecs import hookimpl
from snninit_adapters.layers import WeightLayerSpec

__all__ = ["snninit_weight_layer"]

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_CONV_TRANSPOSE = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


@hookimpl(trylast=True)
def snninit_weight_layer(module: nn.Module) -> WeightLayerSpec | None:
    """Recognise linear, conv and transposed-conv layers."""
    if isinstance(module, nn.Linear):
        return WeightLayerSpec(kind=type(module).__name__)
    if isinstance(module, _CONV_TRANSPOSE):
        return WeightLayerSpec(kind=type(module).__name__, transposed=True, groups=module.groups)
    if isinstance(module, _CONV):
        return WeightLayerSpec(kind=type(module).__name__, groups=module.groups)
    return None
