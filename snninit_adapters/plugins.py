"""The one plugin manager: built-in framework adapters plus third-party ones from entry points.

Third-party adapters register under the entry-point group ``snninit_adapters``. One that fails to
load is skipped with a warning. Set ``SNNINIT_ADAPTERS_DISABLE_PLUGINS=1`` to load none of them.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pluggy

from snninit_adapters import hookspecs
from snninit_adapters.errors import SNNInitError

__all__ = [
    "DEFAULT_PLUGINS",
    "DISABLE_ENV",
    "ENTRY_POINT_GROUP",
    "FRAMEWORK_EXTRAS",
    "MissingFrameworkError",
    "PluginLoadWarning",
    "adapter_errors",
    "get_plugin_manager",
    "require_framework",
]

ENTRY_POINT_GROUP = "snninit_adapters"
DISABLE_ENV = "SNNINIT_ADAPTERS_DISABLE_PLUGINS"
DEFAULT_PLUGINS = (
    "snninit_adapters.adapters.torch",
    "snninit_adapters.adapters.snntorch",
    "snninit_adapters.adapters.spikingjelly",
    "snninit_adapters.adapters.norse",
)
FRAMEWORK_EXTRAS = {"snntorch": "snntorch", "spikingjelly": "spikingjelly", "norse": "norse"}
"""The pip extra of ``snninit-adapters`` that installs each supported framework."""

_manager: pluggy.PluginManager | None = None


class PluginLoadWarning(UserWarning):
    """A third-party adapter could not be loaded and was skipped."""


class MissingFrameworkError(SNNInitError, ImportError):
    """A model needs a framework adapter whose framework cannot be imported."""


for _cls in (PluginLoadWarning, MissingFrameworkError):
    _cls.__module__ = "snninit_adapters"


def require_framework(framework: str, module: str | None = None) -> object:
    """Import a framework for its adapter, or raise an error that names the pip extra to install.

    Args:
        framework: Import name of the framework (``"snntorch"``).
        module: The submodule the adapter needs, if not the top-level package.

    Returns:
        The imported module.

    Raises:
        MissingFrameworkError: If the import fails.
    """
    try:
        return importlib.import_module(module or framework)
    except ImportError as error:
        extra = FRAMEWORK_EXTRAS.get(framework, framework)
        raise MissingFrameworkError(
            f"this model needs the {framework} adapter, but {module or framework} cannot be imported ({error}); "
            f"install it with: pip install 'snninit-adapters[{extra}]'"
        ) from error


def _load_entry_points(manager: pluggy.PluginManager) -> None:
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if manager.has_plugin(entry_point.name) or manager.is_blocked(entry_point.name):
            continue
        try:
            manager.register(entry_point.load(), name=entry_point.name)
        except Exception as error:
            warnings.warn(
                f"skipping the snninit_adapters plugin {entry_point.name!r} ({entry_point.value}): "
                f"{type(error).__name__}: {error}",
                PluginLoadWarning,
                stacklevel=3,
            )


def _new_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        manager.register(importlib.import_module(name), name=name)
    if os.environ.get(DISABLE_ENV, "").strip().lower() not in ("1", "true", "yes"):
        _load_entry_points(manager)
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as error:
        raise SNNInitError(f"an snninit_adapters plugin implements an unknown hook: {error}") from error
    return manager


def get_plugin_manager(*, reload: bool = False) -> pluggy.PluginManager:
    """The shared plugin manager, created on first use.

    Args:
        reload: Build it anew (re-reading entry points and the environment variable).

    Returns:
        The plugin manager; register an adapter object on it with ``.register(obj)``.
    """
    global _manager
    if _manager is None or reload:
        _manager = _new_manager()
    return _manager


def _implementing_plugin(manager: pluggy.PluginManager, hook: str, error: BaseException) -> str | None:
    """The plugin whose implementation of ``hook`` the error was raised in (the innermost one on its traceback)."""
    codes = {}
    for impl in getattr(manager.hook, hook).get_hookimpls():
        function = impl.function
        while function is not None:
            code = getattr(function, "__code__", None)
            if code is not None:
                codes[code] = impl.plugin_name
            function = getattr(function, "__wrapped__", None)
    found = None
    traceback = error.__traceback__
    while traceback is not None:
        found = codes.get(traceback.tb_frame.f_code, found)
        traceback = traceback.tb_next
    return found


@contextmanager
def adapter_errors(manager: pluggy.PluginManager, hook: str, name: str, module: Any) -> Iterator[None]:
    """Turn an unexpected error inside an adapter's hook into one that names the plugin, the hook and the module.

    The library's own :class:`SNNInitError` (an adapter saying what is wrong with a neuron) passes
    through; any other exception becomes an :class:`SNNInitError` with the original as its cause.

    Args:
        manager: The plugin manager the hook is called on.
        hook: The hook's name (``"snninit_neuron_record"``).
        name: The module's name in the model.
        module: The module the hook was called for.

    Raises:
        SNNInitError: If the block raised anything but an :class:`SNNInitError` (or a ``BaseException``
            such as ``KeyboardInterrupt``, which passes through).
    """
    try:
        yield
    except SNNInitError:
        raise
    except Exception as error:
        plugin = _implementing_plugin(manager, hook, error)
        who = f"the adapter plugin {plugin!r}" if plugin else "an adapter plugin"
        raise SNNInitError(
            f"{who} failed in its {hook} hook on module {name!r} ({type(module).__name__}): "
            f"{type(error).__name__}: {error}; the model was not changed. Report it to the plugin's authors, or "
            f"disable third-party plugins with {DISABLE_ENV}=1"
        ) from error
