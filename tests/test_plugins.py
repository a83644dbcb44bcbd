import importlib.metadata
import subprocess
import sys
import textwrap

import pluggy
import pytest
import torch
from torch import nn

import snninit_adapters
from snninit_adapters import (
    MissingFrameworkError,
    PluginLoadWarning,
    SNNInitError,
    apply_snn_init,
    get_plugin_manager,
    plugins,
)
from snninit_adapters.hookspecs import hookimpl


def test_hookimpl_is_reexported():
    assert snninit_adapters.hookimpl is hookimpl
    assert isinstance(hookimpl, pluggy.HookimplMarker)


def test_builtin_adapters_are_registered():
    names = {name for name, _ in get_plugin_manager().list_name_plugin()}
    assert set(plugins.DEFAULT_PLUGINS) <= names


def test_manager_is_shared_until_reloaded():
    assert get_plugin_manager() is get_plugin_manager()


def _fake_entry_points(monkeypatch, *entry_points):
    def fake(group=None, **_):
        return [ep for ep in entry_points if ep.group == group]

    monkeypatch.setattr(plugins.importlib.metadata, "entry_points", fake)


def test_broken_third_party_plugin_warns_and_is_skipped(monkeypatch):
    broken = importlib.metadata.EntryPoint("broken", "snninit_no_such_module_xyz", plugins.ENTRY_POINT_GROUP)
    good = importlib.metadata.EntryPoint("toy", "tests._toy_plugin_module", plugins.ENTRY_POINT_GROUP)
    _fake_entry_points(monkeypatch, broken, good)
    monkeypatch.delenv(plugins.DISABLE_ENV, raising=False)
    try:
        with pytest.warns(PluginLoadWarning, match="broken.*ModuleNotFoundError"):
            manager = get_plugin_manager(reload=True)
        names = {name for name, _ in manager.list_name_plugin()}
        assert "toy" in names
        assert "broken" not in names
    finally:
        get_plugin_manager(reload=True)


def test_environment_variable_disables_third_party_plugins(monkeypatch):
    good = importlib.metadata.EntryPoint("toy", "tests._toy_plugin_module", plugins.ENTRY_POINT_GROUP)
    _fake_entry_points(monkeypatch, good)
    monkeypatch.setenv(plugins.DISABLE_ENV, "1")
    try:
        names = {name for name, _ in get_plugin_manager(reload=True).list_name_plugin()}
        assert "toy" not in names
        assert set(plugins.DEFAULT_PLUGINS) <= names
    finally:
        monkeypatch.delenv(plugins.DISABLE_ENV)
        get_plugin_manager(reload=True)


def test_plugin_with_an_unknown_hook_is_rejected_clearly(monkeypatch):
    bad = importlib.metadata.EntryPoint("bad", "tests._bad_plugin_module", plugins.ENTRY_POINT_GROUP)
    _fake_entry_points(monkeypatch, bad)
    try:
        with pytest.raises(SNNInitError, match="unknown hook"):
            get_plugin_manager(reload=True)
    finally:
        monkeypatch.undo()
        get_plugin_manager(reload=True)


def test_require_framework_names_the_extra():
    with pytest.raises(MissingFrameworkError, match=r"pip install 'snninit-adapters\[norse\]'"):
        plugins.require_framework("norse", "norse.no_such_submodule_xyz")


def test_model_needing_a_missing_framework_gets_the_extra_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "snntorch", None)  # as if snnTorch were not installed

    class FakeLeaky(nn.Module):
        def forward(self, x):
            return x

    FakeLeaky.__module__ = "snntorch._neurons.leaky"
    model = nn.Sequential(nn.Linear(2, 2), FakeLeaky())
    with pytest.raises(MissingFrameworkError, match=r"snninit-adapters\[snntorch\]"):
        apply_snn_init(model, torch.randn(1, 2))


def test_library_imports_and_works_without_any_framework():
    script = textwrap.dedent(
        """
        import sys
        for name in ("snntorch", "spikingjelly", "norse"):
            sys.modules[name] = None
        import torch
        import snninit_adapters
        from tests._toy import ToyNeuron
        manager = snninit_adapters.get_plugin_manager()
        from tests._toy import ToyAdapter
        manager.register(ToyAdapter())
        model = torch.nn.Sequential(ToyNeuron(), torch.nn.Linear(4, 4), ToyNeuron())
        report = snninit_adapters.apply_snn_init(model, torch.randn(2, 4))
        print(len(report))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=".")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
