import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.nn.init import _calculate_fan_in_and_fan_out  # reference only; the library owns its fan-in

from snninit_adapters import SNNInitError
from snninit_adapters.theory import fan_in, fan_out

REGULAR_LAYERS = [
    nn.Linear(784, 10),
    nn.Conv1d(4, 8, 5),
    nn.Conv2d(3, 64, 3, padding=1),
    nn.Conv2d(3, 64, (3, 5)),
    nn.Conv3d(2, 6, (1, 2, 3)),
]


@pytest.mark.parametrize("layer", REGULAR_LAYERS, ids=lambda m: type(m).__name__)
def test_matches_torch_for_ungrouped_layers(layer):
    assert (fan_in(layer.weight.shape), fan_out(layer.weight.shape)) == _calculate_fan_in_and_fan_out(layer.weight)


def test_conv_fan_in_is_k_k_c_in():
    conv = nn.Conv2d(64, 64, 3, padding=1)
    assert fan_in(conv.weight.shape) == 3 * 3 * 64


@pytest.mark.parametrize("groups", [1, 2, 4, 8])
def test_grouped_conv_counts_inputs_per_group(groups):
    conv = nn.Conv2d(8, 16, 3, groups=groups)
    assert fan_in(conv.weight.shape, groups=groups) == conv.in_channels // groups * 9
    assert fan_out(conv.weight.shape, groups=groups) == conv.out_channels // groups * 9


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("groups", [1, 2, 4])
def test_transposed_conv_uses_its_input_channels(dims, groups):
    layer_cls = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[dims]
    kernel = (3, 2, 2)[:dims]
    layer = layer_cls(8, 12, kernel, groups=groups)
    receptive = math.prod(kernel)
    expected = layer.in_channels // groups * receptive
    assert fan_in(layer.weight.shape, transposed=True, groups=groups) == expected
    assert fan_out(layer.weight.shape, transposed=True, groups=groups) == layer.out_channels // groups * receptive
    # torch reads the second dimension (output channels per group) as the fan-in of every layer
    torch_in, torch_out = _calculate_fan_in_and_fan_out(layer.weight)
    assert torch_in == layer.out_channels // groups * receptive
    assert torch_out // groups == expected


def test_transposed_fan_in_predicts_output_variance():
    # With weights N(0, 1/fan_in) and unit-variance input, interior outputs (stride 1) have unit variance.
    # torch's fan-in (16 * 9 here, against the true 8 * 9) would predict 0.5.
    gen = torch.Generator().manual_seed(0)
    layer = nn.ConvTranspose2d(16, 32, 3, groups=2, bias=False)
    n = fan_in(layer.weight.shape, transposed=True, groups=2)
    assert n == 72
    with torch.no_grad():
        layer.weight.normal_(0.0, 1.0 / math.sqrt(n), generator=gen)
        out = layer(torch.randn(32, 16, 12, 12, generator=gen))[:, :, 2:-2, 2:-2]
    # two sources of error: the weights' own sum of squares per output channel (chi-square with n
    # degrees of freedom, averaged over 32 channels) and the finite number of outputs
    tol = 5 * math.sqrt(2 / (n * 32)) + 5 * math.sqrt(2 / out.numel())
    assert abs(out.var().item() - 1.0) < tol


@pytest.mark.parametrize("shape", [(5,), ()])
def test_fewer_than_two_dims_rejected(shape):
    with pytest.raises(SNNInitError, match="fewer than 2 dimensions"):
        fan_in(shape)


def test_transposed_groups_must_divide_input_channels():
    with pytest.raises(SNNInitError, match="groups=3"):
        fan_in((8, 2, 3, 3), transposed=True, groups=3)


@pytest.mark.parametrize("groups", [0, -1, 1.5, True])
def test_bad_groups(groups):
    with pytest.raises(SNNInitError, match="groups"):
        fan_in((8, 2, 3), groups=groups)


@given(st.lists(st.integers(min_value=1, max_value=9), min_size=2, max_size=5))
def test_matches_torch_on_any_shape(shape):
    weight = torch.empty(shape)
    assert (fan_in(shape), fan_out(shape)) == _calculate_fan_in_and_fan_out(weight)
