"""The one plugin manager: built-in framework adapters plus third-party ones from entry points.

Third-party adapters register under the entry-point group ``snninit_adapters``. One that fails to
load is skipped with a warning. Set ``SNNINIT_ADAPTERS_DISABLE_PLUGINS=1`` to load none of them.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import warnings

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
