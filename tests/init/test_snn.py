import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from snninit_adapters import (
    FiringProbabilityUnderflowError,
    SNNInitError,
    calculate_snn_gain,
    snn_normal_,
    snn_uniform_,
)
from snninit_adapters.theory import firing_probability
from tests._stats import assert_std_close


def expected_std(n, theta=1.0, target=1.0):
    return math.sqrt(target / (n * firing_probability(theta)))


@pytest.mark.parametrize("theta", [0.0, 0.5, 1.0, 2.0, -1.0])
def test_normal_linear_std(theta):
    w = torch.empty(500, 800)
    snn_normal_(w, theta, generator=torch.Generator().manual_seed(1))
    assert_std_close(w, expected_std(800, theta))


def test_uniform_same_variance_and_bounded():
    w = torch.empty(500, 800)
    snn_uniform_(w, 1.0, generator=torch.Generator().manual_seed(2))
    std = expected_std(800)
    assert_std_close(w, std, "uniform")
    assert w.abs().max() <= math.sqrt(3) * std


def test_conv_uses_k_k_c_in():
    conv = nn.Conv2d(64, 128, 3)
    snn_normal_(conv.weight, 1.0, generator=torch.Generator().manual_seed(3))
    assert_std_close(conv.weight, expected_std(64 * 9))


def test_fan_out_mode():
    w = torch.empty(300, 700)
    snn_normal_(w, 1.0, mode="fan_out", generator=torch.Generator().manual_seed(4))
    assert_std_close(w, expected_std(300))
    snn_normal_(w, 1.0, mode="FAN_IN")  # case-insensitive, as torch
    assert_std_close(w, expected_std(700))


def test_target_variance():
    w = torch.empty(400, 400)
    snn_normal_(w, 0.5, target_variance=2.0, generator=torch.Generator().manual_seed(5))
    assert_std_close(w, expected_std(400, 0.5, 2.0))


def test_zero_threshold_matches_torch_kaiming_normal_bit_for_bit():
    ours, theirs = torch.empty(64, 300), torch.empty(64, 300)
    snn_normal_(ours, 0.0, generator=torch.Generator().manual_seed(6))
    nn.init.kaiming_normal_(theirs, generator=torch.Generator().manual_seed(6))
    assert torch.allclose(ours, theirs, rtol=1e-6, atol=0)


def test_per_neuron_threshold_tensor_uses_mean_probability():
    thresholds = torch.linspace(0.0, 2.0, 800)
    p = float(np.mean(firing_probability(thresholds.double().numpy())))
    w = torch.empty(500, 800)
    snn_normal_(w, thresholds, generator=torch.Generator().manual_seed(7))
    assert_std_close(w, math.sqrt(1 / (800 * p)))


def test_threshold_as_parameter_and_scalar_tensor():
    a, b = torch.empty(20, 30), torch.empty(20, 30)
    snn_normal_(a, nn.Parameter(torch.tensor(0.7)), generator=torch.Generator().manual_seed(8))
    snn_normal_(b, 0.7, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b)


def test_same_seed_bit_identical_and_different_seed_differs():
    tensors = [torch.empty(50, 60) for _ in range(3)]
    for tensor, seed in zip(tensors, (9, 9, 10), strict=True):
        snn_uniform_(tensor, 1.0, generator=torch.Generator().manual_seed(seed))
    assert torch.equal(tensors[0], tensors[1])
    assert not torch.equal(tensors[0], tensors[2])


def test_in_place_on_a_parameter_that_requires_grad():
    layer = nn.Linear(30, 20)
    weight = layer.weight
    returned = snn_normal_(layer.weight)
    assert returned is weight
    assert layer.weight is weight
    assert weight.requires_grad
    assert weight.grad_fn is None


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_keeps_dtype(dtype):
    w = torch.empty(300, 400, dtype=dtype)
    snn_normal_(w, 1.0, generator=torch.Generator().manual_seed(11))
    assert w.dtype == dtype
    assert_std_close(w.double(), expected_std(400))


def test_std_that_overflows_the_dtype_is_rejected_before_writing():
    w = torch.zeros(4, 4, dtype=torch.float16)
    with pytest.raises(SNNInitError, match=r"does not fit dtype torch\.float16"):
        snn_normal_(w, 9.0)  # std ~ 1e9: beyond float16's 65504
    assert torch.equal(w, torch.zeros(4, 4, dtype=torch.float16))


def test_deep_tail_threshold_still_initialises():
    w = torch.empty(100, 100, dtype=torch.float64)
    snn_normal_(w, 8.0, generator=torch.Generator().manual_seed(12))
    assert_std_close(w, expected_std(100, 8.0))


@pytest.mark.parametrize("shape", [(10,), ()])
def test_fewer_than_two_dims(shape):
    with pytest.raises(SNNInitError, match="fewer than 2 dimensions"):
        snn_normal_(torch.empty(shape))


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool])
def test_integer_dtype(dtype):
    with pytest.raises(SNNInitError, match="floating-point"):
        snn_normal_(torch.zeros(3, 3, dtype=dtype))


def test_unknown_mode_lists_valid_modes():
    with pytest.raises(SNNInitError, match="fan_in, fan_out"):
        snn_normal_(torch.empty(3, 3), mode="fan_avg")


@pytest.mark.parametrize("threshold", [float("nan"), float("inf"), -float("inf"), torch.tensor([1.0, float("nan")])])
def test_non_finite_threshold_names_the_argument(threshold):
    w = torch.zeros(3, 3)
    with pytest.raises(SNNInitError, match="threshold must be finite"):
        snn_normal_(w, threshold)
    assert torch.equal(w, torch.zeros(3, 3))


def test_underflowing_threshold():
    w = torch.zeros(3, 3, dtype=torch.float64)
    with pytest.raises(FiringProbabilityUnderflowError, match=r"theta=40\.0"):
        snn_normal_(w, 40.0)
    assert torch.equal(w, torch.zeros(3, 3, dtype=torch.float64))


@pytest.mark.parametrize("target", [0.0, -1.0, float("nan")])
def test_bad_target_variance(target):
    with pytest.raises(SNNInitError, match="target_variance"):
        snn_normal_(torch.empty(3, 3), target_variance=target)


def test_zero_element_tensor_warns_and_is_unchanged():
    w = torch.empty(0, 5)
    with pytest.warns(UserWarning, match="zero-element"):
        assert snn_normal_(w) is w


def test_non_tensor_rejected():
    with pytest.raises(SNNInitError, match=r"torch\.Tensor"):
        snn_normal_(np.zeros((3, 3)))


def test_empty_threshold_rejected():
    with pytest.raises(SNNInitError, match="at least one value"):
        snn_normal_(torch.empty(3, 3), torch.tensor([]))


def test_gain():
    assert calculate_snn_gain(0.0) == pytest.approx(math.sqrt(2))
    assert calculate_snn_gain(0.0) == pytest.approx(nn.init.calculate_gain("relu"))
    assert calculate_snn_gain(1.0) == pytest.approx(2.5106, abs=1e-4)
    assert calculate_snn_gain(1.0, target_variance=4.0) == pytest.approx(2 * calculate_snn_gain(1.0))
    w = torch.empty(200, 200)
    snn_normal_(w, 1.0, generator=torch.Generator().manual_seed(13))
    assert_std_close(w, calculate_snn_gain(1.0) / math.sqrt(200))


def test_no_warnings_in_normal_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        snn_normal_(torch.empty(5, 5))


def test_real_valued_input_uses_its_second_moment():
    # the CNN's first layer reads normalised pixels: Var[w] = 1 / (n E[x^2]), whatever the threshold
    conv = nn.Conv2d(3, 256, 3)
    snn_normal_(conv.weight, 1.0, input_second_moment=1.0, generator=torch.Generator().manual_seed(14))
    assert_std_close(conv.weight, 1 / math.sqrt(27))
    w = torch.empty(300, 300)
    snn_uniform_(w, input_second_moment=4.0, generator=torch.Generator().manual_seed(15))
    assert_std_close(w, 1 / math.sqrt(300 * 4.0), "uniform")


def test_real_valued_input_predicts_membrane_variance():
    gen = torch.Generator().manual_seed(16)
    layer = nn.Linear(500, 2000, bias=False)
    snn_normal_(layer.weight, input_second_moment=9.0, generator=gen)
    with torch.no_grad():
        u = layer(3.0 * torch.randn(64, 500, generator=gen))
    # Var[u] = n Var[w] E[x^2] = 1. Relative errors (each a chi-square's): the weights' sum of squares per
    # row (500 terms, 2000 rows), the inputs' per sample (500 terms, 64 samples), and the finite sample
    tol = 5 * math.sqrt(2 / (500 * 2000) + 2 / (500 * 64) + 2 / u.numel())
    assert abs(u.var().item() - 1.0) < tol
