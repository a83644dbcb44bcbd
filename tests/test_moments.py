"""Running moments against numpy / scipy.stats on the concatenated data."""

import math
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from snninit_adapters.moments import RunningMoments

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


def _check(acc, values):
    """Compare with numpy/scipy; tolerances are float64 rounding scaled by the data's conditioning."""
    values = np.asarray(values, dtype=np.float64)
    scale = float(np.abs(values).max())
    assert acc.count == values.size
    assert math.isclose(acc.mean, float(np.mean(values)), rel_tol=1e-9, abs_tol=1e-12 * scale)
    variance = float(np.var(values))
    # below float64's smallest normal number (squares of values near 1e-162) only subnormal rounding is left
    assert math.isclose(acc.variance, variance, rel_tol=1e-9, abs_tol=max(1e-12 * scale**2, sys.float_info.min))
    sd = math.sqrt(variance)
    if sd > 0.05 * scale and variance > 1e-140:  # well conditioned: rounding errors of M3, M4 grow like (scale / sd)^k
        ratio = scale / sd
        assert math.isclose(acc.skewness, float(stats.skew(values)), rel_tol=1e-9, abs_tol=1e-12 * ratio**3)
        assert math.isclose(acc.kurtosis, float(stats.kurtosis(values)), rel_tol=1e-9, abs_tol=1e-12 * ratio**4)


@settings(max_examples=300, deadline=None)
@given(data=st.lists(finite, min_size=1, max_size=120), cuts=st.lists(st.integers(0, 120), max_size=8))
def test_running_moments_equal_those_of_the_concatenated_data_for_any_split(data, cuts):
    values = np.asarray(data)
    acc = RunningMoments()
    for chunk in np.split(values, sorted(min(c, len(values)) for c in cuts)):  # empty chunks included
        acc.update(torch.from_numpy(chunk))
    _check(acc, values)


@settings(max_examples=200, deadline=None)
@given(data=st.lists(finite, min_size=2, max_size=120), cuts=st.lists(st.integers(1, 119), max_size=6))
def test_merging_accumulators_in_any_grouping_equals_one_pass(data, cuts):
    values = np.asarray(data)
    parts = [RunningMoments() for _ in range(len(cuts) + 1)]
    for part, chunk in zip(parts, np.split(values, sorted(min(c, len(values)) for c in cuts)), strict=True):
        part.update(chunk)
    while len(parts) > 1:  # merge pairs from the right: another grouping than the left fold above
        right = parts.pop()
        parts[-1].merge(right)
    _check(parts[0], values)


def test_skewed_sample_split_unevenly_matches_scipy_tightly():
    rng = np.random.default_rng(0)
    values = rng.exponential(size=10_007) ** 2  # skewness and kurtosis far from 0
    acc = RunningMoments()
    for chunk in np.split(values, [1, 2, 500, 9_000]):
        acc.update(chunk)
    assert math.isclose(acc.mean, values.mean(), rel_tol=1e-12)
    assert math.isclose(acc.variance, values.var(), rel_tol=1e-11)
    assert math.isclose(acc.skewness, stats.skew(values), rel_tol=1e-10)
    assert math.isclose(acc.kurtosis, stats.kurtosis(values), rel_tol=1e-10)
    assert acc.skewness > 5
    assert acc.kurtosis > 50


def test_undefined_moments_are_nan():
    empty = RunningMoments()
    assert empty.count == 0
    assert math.isnan(empty.variance)
    assert math.isnan(empty.skewness)
    constant = RunningMoments()
    constant.update(torch.full((7,), 0.1))
    constant.update(torch.full((5,), 0.1))
    assert constant.variance < 1e-30
    assert math.isnan(constant.skewness)
    assert math.isnan(constant.kurtosis)


def test_rows_reduced_together_equal_each_row_alone():
    import torch

    from snninit_adapters.moments import RunningMoments

    values = torch.randn(5, 997, generator=torch.Generator().manual_seed(0)) * 3 + 1
    for row, moments in zip(values, RunningMoments.of_rows(values), strict=True):
        alone = RunningMoments()
        alone.update(row)
        assert moments.count == alone.count == 997
        # float64 reductions in another order: equal to the last bits
        for name in ("mean", "variance", "skewness", "kurtosis"):
            assert getattr(moments, name) == pytest.approx(getattr(alone, name), rel=1e-12, abs=1e-14)


_F32 = 2.0**-24  # float32's unit roundoff
_LONG = 20_000  # a float32 row this long is reduced in float32 (shorter ones in float64), in one block
_BLOCKS = 3 * 2**16 + 123  # and one this long in four blocks, the last one partial


def _float32_bound(n):
    """Rounding bound of a float32 cascade sum of n terms, relative to the sum of their sizes (with margin)."""
    return (math.log2(n) + 8) * _F32


_DRAWS = [
    lambda rng, n: rng.standard_normal(n),
    lambda rng, n: rng.standard_normal(n) * 0.01 + 3.0,  # a mean far above the spread
    lambda rng, n: rng.exponential(size=n) ** 2,  # skewness and kurtosis far from 0
    lambda rng, n: np.where(rng.random(n) < 0.05, 1.0, 0.0) - 0.3,  # a few large values, many equal ones
    lambda rng, n: rng.standard_normal(n) * 1e-12,  # fourth powers below float32's range: float64
    lambda rng, n: np.where(np.arange(n) < n - 100, 0.0, 1.0),  # the spread only in the last block
    # there, and tiny: the first blocks equal the mean (0) exactly, the last one needs float64
    lambda rng, n: np.where(np.arange(n) < n - 100, 0.0, np.resize([1e-12, -1e-12], n)),
]


@pytest.mark.parametrize("length", [_LONG, _BLOCKS])
@pytest.mark.parametrize("draw", _DRAWS)
def test_a_long_float32_batch_gives_the_moments_of_its_values_to_float32_rounding(draw, length):
    values = torch.from_numpy(draw(np.random.default_rng(0), length)).float()
    exact = values.double().numpy()  # the float32 values, exactly
    acc = RunningMoments()
    acc.update(values)
    mean, var = float(exact.mean()), float(exact.var())
    z = (exact - mean) / math.sqrt(var)
    bound = _float32_bound(len(exact))
    assert acc.count == len(exact)
    assert math.isclose(acc.mean, mean, rel_tol=1e-12, abs_tol=bound * math.sqrt(var))
    assert math.isclose(acc.variance, var, rel_tol=bound)
    assert math.isclose(acc.skewness, float(stats.skew(exact)), abs_tol=bound * float(np.mean(np.abs(z) ** 3)))
    assert math.isclose(acc.kurtosis, float(stats.kurtosis(exact)), abs_tol=2 * bound * float(np.mean(z**4)))


@pytest.mark.parametrize("draw", _DRAWS)
def test_many_short_float32_rows_are_reduced_in_float32_each_to_its_own_rounding(draw, monkeypatch):
    from snninit_adapters import moments

    # 133 rows of 500 values: 66500 values in all, so one float32 reduction (the monitor's kept rows)
    values = torch.from_numpy(draw(np.random.default_rng(1), 133 * 500).reshape(133, 500)).float()
    float32_batches = []
    power_sums = moments._power_sums
    monkeypatch.setattr(moments, "_power_sums", lambda r, c: float32_batches.append(r.shape) or power_sums(r, c))
    found = RunningMoments.of_rows(values)
    assert float32_batches == [(133, 500)]
    bound = _float32_bound(500)
    for row, acc in zip(values.double().numpy(), found, strict=True):
        mean, var = float(row.mean()), float(row.var())
        assert acc.count == 500
        assert math.isclose(acc.mean, mean, rel_tol=1e-12, abs_tol=bound * math.sqrt(var) + 1e-300)
        if var == 0:
            assert acc.variance == 0
            assert math.isnan(acc.skewness)
            continue
        z = (row - mean) / math.sqrt(var)
        assert math.isclose(acc.variance, var, rel_tol=bound)
        assert math.isclose(acc.skewness, float(stats.skew(row)), abs_tol=bound * float(np.mean(np.abs(z) ** 3)))
        assert math.isclose(acc.kurtosis, float(stats.kurtosis(row)), abs_tol=2 * bound * float(np.mean(z**4)))


def test_short_rows_in_a_batch_below_65536_values_are_reduced_in_float64(monkeypatch):
    from snninit_adapters import moments

    monkeypatch.setattr(moments, "_power_sums", lambda *a: pytest.fail("reduced in float32"))
    RunningMoments.of_rows(torch.randn(4, 16383))
    RunningMoments.of_rows(torch.randn(64, 1023))


@pytest.mark.parametrize("length", [_LONG, _BLOCKS])
def test_long_float32_rows_reduced_together_equal_each_row_alone(length):
    values = torch.randn(4, length, generator=torch.Generator().manual_seed(2)) * 2 + 7
    for row, moments in zip(values, RunningMoments.of_rows(values), strict=True):
        alone = RunningMoments()
        alone.update(row)
        for name in ("mean", "variance", "skewness", "kurtosis"):
            assert getattr(moments, name) == pytest.approx(getattr(alone, name), rel=1e-6, abs=1e-6)


def test_a_row_is_cut_into_blocks_on_a_cpu_only(monkeypatch):
    from snninit_adapters import moments

    calls = []
    block_sums = moments._block_power_sums

    def counted(block, centre):
        calls.append(block.device.type)
        return block_sums(block, centre)

    monkeypatch.setattr(moments, "_block_power_sums", counted)
    for device in ("cpu", "meta"):  # meta stands in for an accelerator: one launch sequence per row
        rows = torch.zeros(4, _BLOCKS, device=device)
        sums, spread = moments._power_sums(rows, rows.mean(dim=1, keepdim=True))
        assert sums.shape == (4, 4)
        assert spread.shape == (4,)
    assert calls.count("cpu") == math.ceil(_BLOCKS / (2**16 // 4))
    assert calls.count("meta") == 1
