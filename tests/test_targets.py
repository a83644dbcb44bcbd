"""Where a weight is written, and the std the report reads back from it."""

import math

import pytest
import torch
from torch import nn

from snninit_adapters.targets import weight_std, weight_target


@pytest.mark.parametrize(
    ("shape", "scale", "shift", "dtype", "tolerance"),
    [
        ((3,), 1.0, 0.0, torch.float32, 1e-6),  # small: Tensor.std
        ((600, 700), 0.01, 0.003, torch.float32, 1e-6),  # chunked, one pass
        ((200_000,), 1e-4, 1.0, torch.float32, 1e-5),  # mean >> spread: the centred second pass
        ((300, 300), 2.0, 5.0, torch.float16, 1e-5),  # half precision: reduced in float32
        ((1000, 200), 1e-3, 0.0, torch.float64, 1e-12),
    ],
)
def test_weight_std_equals_the_float64_sample_std(shape, scale, shift, dtype, tolerance):
    values = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * scale + shift
    values = values.to(dtype)
    reference = float(values.double().std())
    assert weight_std(values) == pytest.approx(reference, rel=tolerance)


def test_weight_std_of_one_value_or_equal_values_is_zero():
    assert weight_std(torch.ones(1)) == 0.0
    assert weight_std(torch.full((100_000,), 0.25)) == 0.0


def test_a_plain_weight_is_drawn_into_directly_and_a_parametrized_one_is_not():
    layer = nn.Linear(3, 2)
    assert weight_target(layer, "weight").direct() is layer.weight
    normed = nn.utils.parametrizations.weight_norm(nn.Linear(3, 2))
    target = weight_target(normed, "weight")
    assert target.direct() is None
    assert math.isfinite(weight_std(target.effective()))


def test_weight_std_of_a_channels_last_weight_reads_it_where_it_lies():
    weight = torch.randn(64, 32, 7, 7, generator=torch.Generator().manual_seed(1)).to(memory_format=torch.channels_last)
    assert not weight.is_contiguous()
    assert weight_std(weight) == pytest.approx(float(weight.double().std()), rel=1e-6)
