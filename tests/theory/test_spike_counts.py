import math

import numpy as np
import pytest
from scipy import stats

from snninit_adapters import SNNInitError
from snninit_adapters.theory import (
    encoding_survival_bound,
    propagate_spike_counts,
    recommend_width,
    snn_weight_variance,
    survival_probability,
)
from snninit_adapters.theory.spike_counts import (
    TransitionRows,
    WorkBudget,
    binomial_law,
    survival_bounds,
)


def paper_std(width, theta):
    return math.sqrt(snn_weight_variance(width, theta))


def test_rows_by_the_ratio_recurrence_are_scipys_binomials():
    rows = TransitionRows(300, 400, 1.0, 0.1, 1e-13)
    begin, matrix, drops = rows.block(0, WorkBudget())
    dense = matrix.toarray()
    for k in (1, 17, 200, 256):
        p = 0.5 * math.erfc(1.0 / (0.1 * math.sqrt(2 * k)))
        exact = stats.binom.pmf(np.arange(begin, begin + dense.shape[1]), 400, p)
        kept = dense[k - 1] > 0
        np.testing.assert_allclose(dense[k - 1][kept], exact[kept], rtol=1e-12)
        assert exact[~kept].sum() <= 1e-13 / 2
        assert 0 <= drops[k - 1] <= 1e-13 / 2 + 1e-15


def test_support_restricted_chain_equals_the_full_one_within_its_bound():
    widths, depth, theta = 90, 12, 1.0
    std = paper_std(widths, theta)
    full = propagate_spike_counts([widths] * (depth + 1), [theta] * (depth + 1), [std] * depth, tol=0.0)
    cut = propagate_spike_counts([widths] * (depth + 1), [theta] * (depth + 1), [std] * depth, tol=1e-8)
    assert full.truncation_bound <= 1e-12
    assert 0 < cut.truncation_bound <= depth * 1e-8
    assert all(law.values.size < widths for law in cut.laws[1:])  # only the counts reached are held
    for a, b in zip(full.distributions, cut.distributions, strict=True):
        assert np.all(b <= a + 1e-15)  # computed masses never exceed the exact ones
        assert np.abs(a - b).sum() <= cut.truncation_bound + 1e-12


@pytest.mark.parametrize(("width", "depth", "theta"), [(200, 300, 0.5), (150, 400, 1.0), (100, 200, 1.25)])
def test_extrapolated_survival_is_within_its_bounds_of_the_propagated_one(width, depth, theta):
    std = paper_std(width, theta)
    chain = propagate_spike_counts([width] * (depth + 1), [theta] * (depth + 1), [std] * depth, tol=1e-15)
    exact = chain.survival[-1]
    found = survival_bounds(width, depth, theta, std, tol=1e-13)
    assert found.lower - 1e-13 <= exact <= found.upper + 1e-13
    assert found.estimate == pytest.approx(exact, abs=2e-13 * (depth + 1))


def test_no_width_shortcut_agrees_with_the_exact_law():
    # the encoding-layer bound: no deeper layer spikes more often than layer 0
    for theta, width in ((3.0, 50), (4.0, 600), (5.0, 2000)):
        bound = encoding_survival_bound(theta, width)
        assert survival_probability(width, 5, theta) <= bound + 1e-12
    with pytest.raises(SNNInitError, match="encoding layer of 4096 neurons fires with probability only"):
        recommend_width(5.0, 10, max_width=4096)
    # past the critical threshold: max_width is tried first and decided within a few layers
    with pytest.raises(SNNInitError, match=r"already below 0\.99 by layer") as info:
        recommend_width(3.0, 100, max_width=4096)
    assert "V = 1 repels" in str(info.value)
    assert survival_probability(4096, 100, 3.0, max_work=10**9) < 0.99


def test_decisions_match_the_value():
    std = paper_std(300, 1.0)
    value = survival_probability(300, 60, 1.0)
    for target in (value - 1e-3, value + 1e-3):
        found = survival_bounds(300, 60, 1.0, std, tol=1e-13, target=target)
        assert (found.lower >= target) == (value >= target) or (found.upper < target) == (value < target)


def test_no_overflow_at_high_thresholds_and_wide_layers():
    assert survival_probability(65536, 1000, 10.0) <= encoding_survival_bound(10.0, 65536)
    law, cut = binomial_law(65536, 1e-300, 1e-13)  # boost's pmf overflows near here: the log-gamma fallback
    assert law.zero == pytest.approx(1.0)
    assert cut <= 1e-13


def test_a_call_past_its_work_limit_says_so():
    with pytest.raises(SNNInitError, match="work limit"):
        survival_probability(65536, 1000, 1.0, max_work=10**6)
    with pytest.raises(SNNInitError, match="strictly between 0 and 1"):
        recommend_width(1.0, 10, survival=1.0)
