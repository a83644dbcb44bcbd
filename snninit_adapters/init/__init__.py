"""Tensor initialisers in ``torch.nn.init``'s style: the paper's method, its seven baselines and the temporal rule."""

from snninit_adapters.init._tensor import fill_
from snninit_adapters.init.baselines import (
    bellec2018_normal_,
    ding2022_normal_,
    glorot_normal_,
    kaiming_normal_,
    lee2016_uniform_,
    rossbroich2022_normal_,
    zenke2021_normal_,
)
from snninit_adapters.init.registry import (
    METHODS,
    PAPER_METHODS,
    InitMethod,
    TensorInitializer,
    available_methods,
    get_method,
)
from snninit_adapters.init.snn import calculate_snn_gain, snn_normal_, snn_temporal_normal_, snn_uniform_

__all__ = [
    "METHODS",
    "PAPER_METHODS",
    "InitMethod",
    "TensorInitializer",
    "available_methods",
    "bellec2018_normal_",
    "calculate_snn_gain",
    "ding2022_normal_",
    "fill_",
    "get_method",
    "glorot_normal_",
    "kaiming_normal_",
    "lee2016_uniform_",
    "rossbroich2022_normal_",
    "snn_normal_",
    "snn_temporal_normal_",
    "snn_uniform_",
    "zenke2021_normal_",
]
