import inspect
import math

import pytest
import torch

from snninit_adapters import METHODS, LayerContext, SNNInitError, available_methods, get_method
from snninit_adapters.init import PAPER_METHODS
from tests._stats import assert_std_close

PAPER_ORDER = ("micheli2024", "kaiming", "glorot", "lee2016", "bellec2018", "zenke2021", "ding2022", "rossbroich2022")


def test_the_eight_methods_in_the_papers_order_then_the_temporal_rule():
    assert PAPER_METHODS == PAPER_ORDER
    assert available_methods() == (*PAPER_ORDER, "micheli2024_temporal")
    assert tuple(METHODS) == available_methods()
    assert [name for name, method in METHODS.items() if method.temporal] == ["micheli2024_temporal"]


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("snn", "micheli2024"),
        ("SNN", "micheli2024"),
        ("he", "kaiming"),
        ("xavier", "glorot"),
        ("fluctuation-driven", "rossbroich2022"),
        ("Kaiming", "kaiming"),
    ],
)
def test_aliases(alias, name):
    assert get_method(alias).name == name


def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(SNNInitError, match="unknown initialisation method 'lecun'") as info:
        get_method("lecun")
    for name in PAPER_ORDER:
        assert name in str(info.value)


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        METHODS["mine"] = METHODS["kaiming"]  # type: ignore[index]


@pytest.mark.parametrize("name", PAPER_ORDER)
def test_tensor_initialiser_follows_the_law(name):
    # the registry's two faces agree: the pure law and the tensor it fills
    method = get_method(name)
    shape = (300, 600)
    law = method.weight_law(LayerContext(fan_in=600, fan_out=300, theta_pre=0.9, theta_post=0.9))
    w = torch.empty(shape)
    assert method(w, 0.9, generator=torch.Generator().manual_seed(0)) is w
    assert_std_close(w, law.std, law.distribution)


@pytest.mark.parametrize("name", PAPER_ORDER)
def test_entries_are_documented(name):
    method = get_method(name)
    assert method.citation
    assert method.summary
    assert inspect.getdoc(method.law)
    assert inspect.getdoc(method.initializer)
    if method.provisional:
        assert "provisional" in method.summary


def test_lee2016_exposes_its_threshold_rule():
    rule = get_method("lee2016").threshold_rule
    assert rule is not None
    assert rule(300, alpha=2.0) == pytest.approx(2 * math.sqrt(3 / 300))
    assert all(get_method(n).threshold_rule is None for n in PAPER_ORDER if n != "lee2016")


def test_only_fluctuation_driven_is_data_dependent():
    assert [m.name for m in METHODS.values() if m.data_dependent] == ["rossbroich2022"]
