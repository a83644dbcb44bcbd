import math

import pytest

from snninit_adapters import SNNInitError, WeightLaw


def test_uniform_bound_has_the_variance():
    law = WeightLaw("uniform", 0.5)
    # Var of U(-b, b) = b^2 / 3
    assert law.bound**2 / 3 == pytest.approx(law.variance)


def test_from_variance():
    assert WeightLaw.from_variance("normal", 4.0).std == 2.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("cauchy", 1.0), "valid distributions are normal, uniform"),
        (("normal", math.inf), "std"),
        (("normal", -1.0), "std"),
        (("normal", 1.0, math.nan), "mean"),
    ],
)
def test_invalid_laws(args, message):
    with pytest.raises(SNNInitError, match=message):
        WeightLaw(*args)
