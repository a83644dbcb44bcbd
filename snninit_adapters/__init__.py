"""snninit_adapters: weight initialisation that lets activity reach the deep layers of spiking neural networks.

Implements Micheli, Booij, van Gemert & Tömen (2024), "Deep activity propagation via weight initialization
in spiking neural networks", and the seven baselines it compares against.
"""

from importlib import metadata as _metadata

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

try:
    __version__ = _metadata.version("snninit-adapters")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
    __version__ = "0+unknown"

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
