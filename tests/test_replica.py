"""copy_model: the same copy as copy.deepcopy (structure, values, sharing), with or without the parameters shared."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from snninit_adapters.replica import copy_model, release


class _Stateful(nn.Module):
    """A neuron-like module: a dict of state, a tensor attribute and a list, as the frameworks keep them."""

    def __init__(self) -> None:
        super().__init__()
        self.memories = {"v": torch.zeros(3)}
        self.trace = torch.ones(2)
        self.history: list[int] = [1, 2]
        self.threshold = 1.0


class _OwnCopy(nn.Module):
    """A module with its own __deepcopy__: copy_model must go through it."""

    copies = 0

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(2, 2)

    def __deepcopy__(self, memo: dict[int, object]) -> _OwnCopy:
        type(self).copies += 1
        fresh = _OwnCopy()
        fresh.load_state_dict(self.state_dict())
        return fresh


def _model() -> nn.Module:
    shared = nn.Linear(4, 4)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), _Stateful(), shared, nn.ReLU(), shared)


@pytest.mark.parametrize("share", [False, True])
def test_the_copy_has_the_structure_and_values_of_deepcopy(share):
    model = _model()
    model[1].running_mean.add_(0.5)
    replica, reference = copy_model(model, share_parameters=share), copy.deepcopy(model)
    assert [type(m) for m in replica.modules()] == [type(m) for m in reference.modules()]
    for (name, value), (ref_name, ref_value) in zip(
        replica.state_dict().items(), reference.state_dict().items(), strict=True
    ):
        assert name == ref_name
        assert torch.equal(value, ref_value)
    assert replica[2].memories["v"].equal(model[2].memories["v"])
    assert replica[2].history == [1, 2]
    assert replica[1].num_batches_tracked.dtype == torch.long


@pytest.mark.parametrize("share", [False, True])
def test_modules_buffers_and_state_are_the_copys_own_and_parameters_shared_only_when_asked(share):
    model = _model()
    replica = copy_model(model, share_parameters=share)
    assert all(a is not b for a, b in zip(model.modules(), replica.modules(), strict=True))
    assert all(a is not b for a, b in zip(model.buffers(), replica.buffers(), strict=True))
    assert all((a is b) == share for a, b in zip(model.parameters(), replica.parameters(), strict=True))
    replica[1].running_mean.add_(1.0)
    replica[2].memories["v"].add_(1.0)
    replica[2].trace.add_(1.0)
    replica[2].history.append(3)
    assert model[1].running_mean.eq(0).all()
    assert model[2].memories["v"].eq(0).all()
    assert model[2].trace.eq(1).all()
    assert model[2].history == [1, 2]
    assert replica[2]._forward_hooks is not model[2]._forward_hooks


def test_a_module_held_twice_is_copied_once():
    replica = copy_model(_model())
    assert replica[3] is replica[5]


def test_hooks_are_copied_as_deepcopy_copies_them():
    model = _model()
    seen = []
    model[0].register_forward_hook(lambda module, args, output: seen.append(module))
    replica = copy_model(model)
    replica[0](torch.randn(1, 1, 6, 6))
    assert seen == [replica[0]]
    assert len(model[0]._forward_hooks) == 1


def test_a_module_with_its_own_deepcopy_is_copied_through_it():
    _OwnCopy.copies = 0
    model = nn.Sequential(_OwnCopy(), nn.Linear(2, 2))
    replica = copy_model(model)
    assert _OwnCopy.copies == 1
    assert isinstance(replica[0], _OwnCopy)
    assert replica[0] is not model[0]
    assert torch.equal(replica[0].lin.weight, model[0].lin.weight)


def test_buffers_that_share_a_storage_still_share_it_in_the_copy():
    model = nn.Module()
    base = torch.arange(6.0)
    model.register_buffer("whole", base)
    model.register_buffer("first", base[:3])
    replica = copy_model(model)
    replica.whole.zero_()
    assert replica.first.eq(0).all()
    assert model.first.equal(torch.arange(3.0))


def test_parametrized_and_weight_normed_layers_copy_and_run():
    from torch.nn.utils import parametrizations, weight_norm

    with pytest.warns(FutureWarning):
        old = weight_norm(nn.Linear(3, 3))
    model = nn.Sequential(parametrizations.weight_norm(nn.Linear(3, 3)), old)
    replica = copy_model(model)
    x = torch.randn(2, 3)
    assert torch.allclose(replica(x), model(x))
    assert "weight" in model[1].__dict__  # the computed weight is put back on the model


def test_a_buffer_viewing_a_parameter_is_copied_as_deepcopy_copies_it():
    model = nn.Linear(3, 3, bias=False)
    model.register_buffer("flat", model.weight.detach().view(-1))
    replica, reference = copy_model(model), copy.deepcopy(model)
    replica.weight.data.zero_()
    reference.weight.data.zero_()
    assert torch.equal(replica.flat, reference.flat)
    assert torch.equal(model.flat, model.weight.detach().view(-1))


class _Singleton(nn.Module):
    """A module whose __deepcopy__ returns itself: the copy holds the original."""

    def __deepcopy__(self, memo: dict[int, object]) -> _Singleton:
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class _Cyclic(nn.Module):
    """A module holding one of its own bound methods, as snnTorch's neurons do: a reference cycle."""

    def __init__(self) -> None:
        super().__init__()
        self.step = self.forward
        self.register_buffer("state", torch.zeros(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def test_release_frees_the_copy_without_the_garbage_collector_and_leaves_shared_modules_alone():
    import gc
    import weakref

    shared = _Singleton()
    model = nn.Sequential(_Cyclic(), nn.Linear(3, 3), shared)
    before = {name: value.clone() for name, value in model.state_dict().items()}
    replica = copy_model(model, share_parameters=True)
    assert replica[2] is shared
    probes = [weakref.ref(replica[0]), weakref.ref(replica[0].state)]
    enabled = gc.isenabled()
    gc.disable()
    try:
        kept = copy_model(model, share_parameters=True)  # not released: the cycle keeps it after del
        kept_probe = weakref.ref(kept[0])
        del kept
        assert kept_probe() is not None
        release(replica, model)
        del replica
        assert [probe() for probe in probes] == [None, None]
    finally:
        if enabled:
            gc.enable()
    assert shared.__dict__  # the shared module keeps its state
    assert model[0].step is not None
    assert model(torch.ones(3)).shape == (3,)
    assert all(torch.equal(before[name], value) for name, value in model.state_dict().items())
