"""snninit_adapters: weight initialisation that lets activity reach the deep layers of spiking neural networks.

Implements Micheli, Booij, van Gemert & Tömen (2024), "Deep activity propagation via weight initialization
in spiking neural networks", and the seven baselines it compares against.
"""

import importlib as _importlib
import typing as _typing

_EXPORTS = {
    "ActivityReport": "snninit_adapters.monitor",
    "apply_snn_init": "snninit_adapters.apply",
    "available_methods": "snninit_adapters.init",
    "bellec2018_normal_": "snninit_adapters.init",
    "calculate_snn_gain": "snninit_adapters.init",
    "Calibration": "snninit_adapters.calibrate",
    "ding2022_normal_": "snninit_adapters.init",
    "fan_in": "snninit_adapters.theory",
    "fan_out": "snninit_adapters.theory",
    "firing_probability": "snninit_adapters.theory",
    "FiringProbabilityUnderflowError": "snninit_adapters.errors",
    "get_method": "snninit_adapters.init",
    "get_plugin_manager": "snninit_adapters.plugins",
    "glorot_normal_": "snninit_adapters.init",
    "hookimpl": "snninit_adapters.hookspecs",
    "InitMethod": "snninit_adapters.init",
    "InitReport": "snninit_adapters.report",
    "kaiming_normal_": "snninit_adapters.init",
    "LayerContext": "snninit_adapters.theory",
    "LayerReport": "snninit_adapters.report",
    "lee2016_uniform_": "snninit_adapters.init",
    "measure_activity": "snninit_adapters.monitor",
    "METHODS": "snninit_adapters.init",
    "MissingFrameworkError": "snninit_adapters.plugins",
    "NeuronLink": "snninit_adapters.report",
    "NeuronRecord": "snninit_adapters.neurons",
    "NormaliserReport": "snninit_adapters.report",
    "OwnedWeight": "snninit_adapters.layers",
    "PluginLoadWarning": "snninit_adapters.plugins",
    "PopulationCalibration": "snninit_adapters.report",
    "rossbroich2022_normal_": "snninit_adapters.init",
    "SkippedWeight": "snninit_adapters.report",
    "snn_normal_": "snninit_adapters.init",
    "snn_temporal_normal_": "snninit_adapters.init",
    "snn_uniform_": "snninit_adapters.init",
    "snn_weight_variance": "snninit_adapters.theory",
    "SNNInitError": "snninit_adapters.errors",
    "weight_variance": "snninit_adapters.theory",
    "WeightLaw": "snninit_adapters.theory",
    "WeightLayerSpec": "snninit_adapters.layers",
    "zenke2021_normal_": "snninit_adapters.init",
}
"""Each public name and the module it lives in: imported on first use, so that ``import snninit_adapters``
(and the ``snninit`` command line, whose ``--help`` needs none of them) imports neither torch nor scipy."""

if _typing.TYPE_CHECKING:
    from snninit_adapters.apply import apply_snn_init
    from snninit_adapters.calibrate import Calibration
    from snninit_adapters.errors import FiringProbabilityUnderflowError, SNNInitError
    from snninit_adapters.hookspecs import hookimpl
    from snninit_adapters.init import (
        METHODS,
        InitMethod,
        available_methods,
        bellec2018_normal_,
        calculate_snn_gain,
        ding2022_normal_,
        get_method,
        glorot_normal_,
        kaiming_normal_,
        lee2016_uniform_,
        rossbroich2022_normal_,
        snn_normal_,
        snn_temporal_normal_,
        snn_uniform_,
        zenke2021_normal_,
    )
    from snninit_adapters.layers import OwnedWeight, WeightLayerSpec
    from snninit_adapters.monitor import ActivityReport, measure_activity
    from snninit_adapters.neurons import NeuronRecord
    from snninit_adapters.plugins import MissingFrameworkError, PluginLoadWarning, get_plugin_manager
    from snninit_adapters.report import (
        InitReport,
        LayerReport,
        NeuronLink,
        NormaliserReport,
        PopulationCalibration,
        SkippedWeight,
    )
    from snninit_adapters.theory import (
        LayerContext,
        WeightLaw,
        fan_in,
        fan_out,
        firing_probability,
        snn_weight_variance,
        weight_variance,
    )


def __getattr__(name: str) -> object:
    """Import a public name on first use (PEP 562) and keep it in the module's namespace."""
    if name == "__version__":
        from importlib import metadata

        try:
            value: object = metadata.version("snninit-adapters")
        except metadata.PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
            value = "0+unknown"
    elif name in _EXPORTS:
        value = getattr(_importlib.import_module(_EXPORTS[name]), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS, "__version__"})


__all__ = [
    "ActivityReport",
    "Calibration",
    "FiringProbabilityUnderflowError",
    "InitMethod",
    "InitReport",
    "LayerContext",
    "LayerReport",
    "METHODS",
    "MissingFrameworkError",
    "NeuronLink",
    "NeuronRecord",
    "NormaliserReport",
    "OwnedWeight",
    "PluginLoadWarning",
    "PopulationCalibration",
    "SNNInitError",
    "SkippedWeight",
    "WeightLaw",
    "WeightLayerSpec",
    "__version__",
    "apply_snn_init",
    "available_methods",
    "bellec2018_normal_",
    "calculate_snn_gain",
    "ding2022_normal_",
    "fan_in",
    "fan_out",
    "firing_probability",
    "get_method",
    "get_plugin_manager",
    "glorot_normal_",
    "hookimpl",
    "kaiming_normal_",
    "lee2016_uniform_",
    "measure_activity",
    "rossbroich2022_normal_",
    "snn_normal_",
    "snn_temporal_normal_",
    "snn_uniform_",
    "snn_weight_variance",
    "weight_variance",
    "zenke2021_normal_",
]
