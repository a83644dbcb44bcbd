import inspect
import math

import pytest
import torch
from torch import nn

from snninit_adapters import (
    SNNInitError,
    bellec2018_normal_,
    ding2022_normal_,
    glorot_normal_,
    kaiming_normal_,
    lee2016_uniform_,
    rossbroich2022_normal_,
    snn_normal_,
    zenke2021_normal_,
)
from snninit_adapters.theory import firing_probability
from tests._stats import assert_std_close

N_OUT, N_IN = 400, 900
ALL = [
    snn_normal_,
    kaiming_normal_,
    glorot_normal_,
    lee2016_uniform_,
    bellec2018_normal_,
    zenke2021_normal_,
    ding2022_normal_,
    rossbroich2022_normal_,
]


@pytest.mark.parametrize(
    ("initializer", "kwargs", "std", "distribution"),
    [
        (kaiming_normal_, {}, math.sqrt(2 / N_IN), "normal"),
        (kaiming_normal_, {"distribution": "uniform"}, math.sqrt(2 / N_IN), "uniform"),
        (glorot_normal_, {}, math.sqrt(2 / (N_IN + N_OUT)), "normal"),
        (lee2016_uniform_, {}, math.sqrt(1 / N_IN), "uniform"),
        (bellec2018_normal_, {}, math.sqrt(1 / N_IN), "normal"),
        (zenke2021_normal_, {"gain": 2.0}, 2 / math.sqrt(N_IN), "normal"),
        (ding2022_normal_, {}, math.sqrt(2 * 0.64 / N_IN), "normal"),
        (rossbroich2022_normal_, {"nu": 0.1, "epsilon_hat": 2.0}, 1 / math.sqrt(N_IN * 0.1 * 2.0), "normal"),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_std_of_each_method(initializer, kwargs, std, distribution):
    w = torch.empty(N_OUT, N_IN)
    initializer(w, 0.8, generator=torch.Generator().manual_seed(0), **kwargs)
    assert_std_close(w, std, distribution)


def test_kaiming_matches_torch_bit_for_bit():
    ours, theirs = torch.empty(30, 40), torch.empty(30, 40)
    kaiming_normal_(ours, generator=torch.Generator().manual_seed(1))
    nn.init.kaiming_normal_(theirs, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(ours, theirs, rtol=1e-6, atol=0)


def test_glorot_matches_torch_on_conv():
    ours, theirs = torch.empty(16, 8, 3, 3), torch.empty(16, 8, 3, 3)
    glorot_normal_(ours, generator=torch.Generator().manual_seed(2))
    nn.init.xavier_normal_(theirs, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(ours, theirs, rtol=1e-6, atol=0)


def test_glorot_rejects_fan_out_mode():
    with pytest.raises(SNNInitError, match="fan_out"):
        glorot_normal_(torch.empty(3, 3), mode="fan_out")


@pytest.mark.parametrize("theta", [0.0, 0.5, 1.0, 1.5])
def test_centred_fluctuation_driven_equals_paper_bit_for_bit(theta):
    # sigma_U = 1, one step, nu = P(u > theta): the same law, so the same draws
    a, b = torch.empty(64, 128), torch.empty(64, 128)
    rossbroich2022_normal_(a, theta, generator=torch.Generator().manual_seed(3))
    snn_normal_(b, theta, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    c = torch.empty(64, 128)
    rossbroich2022_normal_(
        c, theta, nu=firing_probability(theta), sigma_u=1.0, epsilon_hat=1.0, generator=torch.Generator().manual_seed(3)
    )
    assert torch.allclose(a, c, rtol=1e-6, atol=0)


def test_non_centred_fluctuation_driven_has_a_mean():
    w = torch.empty(300, 1000, dtype=torch.float64)
    rossbroich2022_normal_(
        w,
        1.0,
        centered=False,
        mu_u=0.5,
        xi=1.0,
        nu=0.2,
        epsilon_bar=1.0,
        epsilon_hat=1.0,
        generator=torch.Generator().manual_seed(4),
    )
    mu_w = 0.5 / (1000 * 0.2)
    assert float(w.mean()) == pytest.approx(mu_w, abs=5 * float(w.std()) / math.sqrt(w.numel()))


@pytest.mark.parametrize("initializer", ALL, ids=lambda f: f.__name__)
def test_shared_signature(initializer):
    params = inspect.signature(initializer).parameters
    assert list(params)[:2] == ["tensor", "threshold"]
    for name in ("mode", "target_variance", "generator"):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["threshold"].default == 1.0


@pytest.mark.parametrize("initializer", ALL, ids=lambda f: f.__name__)
def test_each_cites_its_paper_and_fills_in_place(initializer):
    assert "(20" in initializer.__doc__  # a year in parentheses: the citation
    layer = nn.Conv2d(4, 8, 3)
    weight = layer.weight
    assert initializer(layer.weight, generator=torch.Generator().manual_seed(5)) is weight


@pytest.mark.parametrize("initializer", [zenke2021_normal_, ding2022_normal_])
def test_provisional_methods_say_so(initializer):
    assert "Provisional" in initializer.__doc__


@pytest.mark.parametrize("initializer", ALL, ids=lambda f: f.__name__)
def test_common_errors(initializer):
    with pytest.raises(SNNInitError, match="fewer than 2 dimensions"):
        initializer(torch.empty(3))
    with pytest.raises(SNNInitError, match="fan_in, fan_out"):
        initializer(torch.empty(3, 3), mode="bogus")
    with pytest.raises(SNNInitError, match="threshold must be finite"):
        initializer(torch.empty(3, 3), float("nan"))
