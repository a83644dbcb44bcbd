import importlib
import inspect
import math

import pluggy
import pytest
import torch
from torch import nn

from snninit_adapters import hookspecs
from snninit_adapters.adapters.common import average_gain, compact_values, cpu_float64, neuron_hook
from snninit_adapters.hookspecs import hookimpl
from snninit_adapters.plugins import DEFAULT_PLUGINS, get_plugin_manager

# ------------------------------------------------------------------------------------------------
# neuron_hook


def _is_relu(module):
    return isinstance(module, nn.ReLU)


@neuron_hook(_is_relu)
def _kind_and_output(module, args, output):
    """Docstring kept."""
    return (type(module).__name__, args, output)


def test_neuron_hook_answers_none_for_modules_that_are_not_mine():
    assert _kind_and_output(nn.Linear(2, 2), (), None) is None
    assert _kind_and_output(nn.ReLU(), (1,), "out") == ("ReLU", (1,), "out")
    assert _kind_and_output(module=nn.ReLU(), args=(), output=3) == ("ReLU", (), 3)


def test_neuron_hook_keeps_name_docstring_and_signature():
    assert _kind_and_output.__name__ == "_kind_and_output"
    assert _kind_and_output.__doc__ == "Docstring kept."
    assert list(inspect.signature(_kind_and_output).parameters) == ["module", "args", "output"]
    assert pluggy.HookimplMarker  # pluggy reads the names through __wrapped__
    from pluggy._hooks import varnames

    assert varnames(_kind_and_output) == (("module", "args", "output"), ())


def test_decorated_hooks_register_with_their_argument_names():
    class Adapter:
        @staticmethod
        @hookimpl
        @neuron_hook(_is_relu)
        def snninit_step_activity(module, args, output):
            return [(output, None)]

    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(Adapter())
    manager.check_pending()
    spikes = torch.ones(2)
    call = manager.hook.snninit_step_activity
    assert call(module=nn.ReLU(), args=(), kwargs={}, output=spikes) == [(spikes, None)]
    assert call(module=nn.Linear(2, 2), args=(), kwargs={}, output=spikes) is None


@pytest.mark.parametrize("name", DEFAULT_PLUGINS)
def test_built_in_hooks_keep_the_spec_argument_names(name):
    module = importlib.import_module(name)
    specs = {spec: inspect.signature(getattr(hookspecs, spec)).parameters for spec in dir(hookspecs)
             if spec.startswith("snninit_")}  # fmt: skip
    hooks = [attr for attr in dir(module) if attr.startswith("snninit_")]
    assert hooks
    assert set(hooks) <= set(module.__all__)
    for hook in hooks:
        names = list(inspect.signature(getattr(module, hook)).parameters)
        assert set(names) <= set(specs[hook]), (name, hook, names)


def test_the_plugin_manager_loads_the_built_in_adapters():
    manager = get_plugin_manager(reload=True)
    manager.check_pending()
    for name in DEFAULT_PLUGINS:
        assert manager.has_plugin(name)
    hook = manager.hook
    assert hook.snninit_is_neuron(module=nn.Linear(2, 2)) is None
    assert hook.snninit_neuron_record(module=nn.ReLU()) is None
    assert hook.snninit_owned_weights(module=nn.ReLU()) == []
    assert hook.snninit_step_activity(module=nn.ReLU(), args=(), kwargs={}, output=torch.ones(1)) is None


# ------------------------------------------------------------------------------------------------
# compact_values and cpu_float64


def test_compact_values_gives_floats_for_one_or_equal_values():
    assert compact_values(0.7) == 0.7
    assert isinstance(compact_values(3), float)
    assert compact_values(torch.tensor(0.5)) == 0.5
    assert compact_values(torch.tensor([[0.25]])) == 0.25
    assert compact_values(torch.full((3,), 2.0)) == 2.0


def test_compact_values_keeps_per_neuron_tensors_as_detached_copies():
    values = torch.tensor([[0.5, 1.0], [1.5, 2.0]], requires_grad=True)
    result = compact_values(values)
    assert isinstance(result, torch.Tensor)
    assert result.shape == (2, 2)
    assert result.dtype == torch.float32
    assert not result.requires_grad
    assert torch.equal(result, values.detach())
    result.zero_()
    assert float(values.detach().sum()) == 5.0


def test_compact_values_without_merging_equal_values():
    equal = compact_values(torch.full((3,), 2.0), merge_equal=False)
    assert isinstance(equal, torch.Tensor)
    assert torch.equal(equal, torch.full((3,), 2.0))
    assert compact_values(torch.tensor([2.0]), merge_equal=False) == 2.0


def test_compact_values_of_an_empty_tensor_is_an_empty_tensor():
    for merge_equal in (True, False):
        result = compact_values(torch.zeros(0), merge_equal=merge_equal)
        assert isinstance(result, torch.Tensor)
        assert result.numel() == 0


def test_cpu_float64():
    value = cpu_float64(torch.tensor([1.0, 2.0], requires_grad=True))
    assert value.dtype == torch.float64
    assert value.device.type == "cpu"
    assert not value.requires_grad
    assert cpu_float64(3).item() == 3.0


# ------------------------------------------------------------------------------------------------
# average_gain


@pytest.mark.parametrize("divide_first", [False, True])
def test_average_gain_keeps_theta_over_g_per_neuron(divide_first):
    threshold = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    gains = torch.tensor([0.5, 1.0, 1.5], dtype=torch.float64)
    averaged = average_gain(threshold, gains, divide_first=divide_first)
    assert averaged.gain == 1.0
    assert torch.allclose(averaged.threshold / averaged.gain, threshold / gains, rtol=1e-15, atol=0)
    assert averaged.span == "0.5..1.5"
    assert averaged.varies()
    assert averaged.varies(tolerance=0.5)
    assert not averaged.varies(tolerance=1.0)


def test_average_gain_keeps_each_adapters_rounding():
    threshold = torch.tensor([0.1, 0.7, 1.3], dtype=torch.float64)
    gains = torch.tensor([0.3, 0.11, 0.07], dtype=torch.float64)
    mean = gains.mean()
    assert torch.equal(average_gain(threshold, gains).threshold, threshold * float(mean) / gains)
    assert torch.equal(average_gain(threshold, gains, divide_first=True).threshold, threshold / gains * mean)


def test_one_gain_does_not_vary():
    averaged = average_gain(torch.tensor([0.4], dtype=torch.float64), torch.tensor([0.2], dtype=torch.float64))
    assert not averaged.varies()
    assert math.isclose(float(averaged.threshold[0]), 0.4)
