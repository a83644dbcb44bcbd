"""The packaged survival table: its estimates against the exact searches, and the file against its generator."""

import math

import numpy as np
import pytest

from snninit_adapters.errors import SNNInitError
from snninit_adapters.theory import max_threshold, recommend_width, survival_probability
from snninit_adapters.theory.survival_table import (
    MAX_DEPTH,
    TABLE_PATH,
    TABLE_SURVIVAL,
    TABLE_THETAS,
    TABLE_WIDTHS,
    generate_survival_table,
    load_survival_table,
    survival_profile,
)

TABLE = load_survival_table()

WIDTH_RATIO = 1.10
"""Largest ratio between the table's width, rounded up, and the exact one (measured worst 1.08, at widths
below 20 where one neuron is 5-10%, and past the critical threshold, where the needed width grows fast)."""

THRESHOLD_ERROR = 0.01
"""Largest difference from the exact threshold (measured worst 0.005, at depth 1)."""

# Points between the grid's nodes (fixed: drawn once with numpy's default_rng(7)), shallow and deep chains,
# below and past the critical threshold (about 1.19).
WIDTH_POINTS = [(0.137, 1), (0.912, 1), (1.861, 1), (0.692, 2), (1.268, 2), (0.348, 5), (1.141, 5), (1.458, 5),
                (0.718, 9), (1.013, 9), (0.482, 12), (0.966, 50), (0.646, 100), (0.809, 300)]  # fmt: skip
THRESHOLD_POINTS = [(11, 2), (45, 2), (165, 1), (3973, 1), (41, 5), (738, 5), (2681, 3), (100, 9), (1895, 9),
                    (92, 20), (326, 50), (432, 100), (1442, 300), (2854, 1000)]  # fmt: skip


@pytest.mark.parametrize(("theta", "depth"), WIDTH_POINTS)
def test_the_tables_width_is_close_to_the_exact_one(theta, depth):
    exact = recommend_width(theta, depth, TABLE_SURVIVAL, max_width=4096)
    estimate = math.ceil(TABLE.width(theta, depth))
    assert exact / WIDTH_RATIO - 1 <= estimate <= exact * WIDTH_RATIO + 1  # one neuron: the grid steps by 1-2 below 20


@pytest.mark.parametrize(("width", "depth"), THRESHOLD_POINTS)
def test_the_tables_threshold_is_close_to_the_exact_one(width, depth):
    exact = max_threshold(width, depth, TABLE_SURVIVAL, xtol=1e-4)
    assert TABLE.threshold(width, depth) == pytest.approx(exact, abs=THRESHOLD_ERROR)


def test_past_the_widest_layer_the_table_and_the_search_agree_that_no_width_suffices():
    assert TABLE.width(1.75, 9) == math.inf
    with pytest.raises(SNNInitError, match="no width up to 4096"):
        recommend_width(1.75, 9, TABLE_SURVIVAL, max_width=4096)


def test_outside_its_grid_the_table_gives_no_answer():
    assert TABLE.width(3.2, 5) is None  # above its highest threshold
    assert TABLE.width(0.0, 1) is None  # the narrowest width already suffices
    assert TABLE.width(1.0, MAX_DEPTH + 1) is None
    assert TABLE.threshold(5, 5) is None  # narrower than its narrowest width
    assert TABLE.threshold(8, 50) == 0.0  # 8 neurons lose activity within 50 layers even at theta = 0


@pytest.mark.parametrize(("width", "theta"), [(108, 1.0), (512, 0.9), (16, 0.25)])
def test_a_profile_is_the_exact_law(width, theta):
    profile = survival_profile(width, theta)
    for depth, lost in enumerate(profile.losses, start=1):
        assert 1 - lost == pytest.approx(survival_probability(width, depth, theta), abs=1e-10)
    depth = math.floor(profile.reach)
    assert survival_probability(width, depth, theta) >= TABLE_SURVIVAL > survival_probability(width, depth + 1, theta)


def test_the_packaged_table_is_what_the_generator_makes():
    assert TABLE_PATH.is_file()
    assert tuple(TABLE.widths) == TABLE_WIDTHS
    assert tuple(TABLE.thetas) == TABLE_THETAS
    assert TABLE.survival == TABLE_SURVIVAL
    widths, thetas = [108, 512, 2048], [0.25, 1.0, 1.5]
    fresh = generate_survival_table(widths, thetas)
    rows, columns = [TABLE_THETAS.index(t) for t in thetas], [TABLE_WIDTHS.index(n) for n in widths]
    stored = np.ix_(rows, columns)
    np.testing.assert_allclose(TABLE.reach[stored], fresh.reach, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(TABLE.losses[:, *stored], fresh.losses, rtol=1e-4, atol=1e-5)
