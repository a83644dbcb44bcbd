"""The pure theory core: Gaussian tail, weight variances, fan-in, the weight laws of every method, and time.

Nothing here imports torch: every function takes and returns numbers or numpy arrays.
"""

from snninit_adapters.theory.fan import fan_in, fan_out
from snninit_adapters.theory.finite_width import (
    ChainResult,
    lower_fixed_point,
    max_threshold,
    membrane_variance_moments,
    propagate_spike_counts,
    recommend_width,
    spike_count_transition,
    survival_probability,
    variance_map,
    variance_map_slope,
)
from snninit_adapters.theory.firing import firing_probability, log_firing_probability, mean_firing_probability
from snninit_adapters.theory.fluctuation import (
    PSPIntegrals,
    current_lif_psp_integrals,
    current_lif_psp_kernel,
    discrete_lif_psp_integrals,
    fluctuation_driven_centered_std,
    fluctuation_driven_moments,
    rossbroich2022_law,
)
from snninit_adapters.theory.law import DISTRIBUTIONS, Distribution, LayerContext, TemporalInput, WeightLaw
from snninit_adapters.theory.meanfield import (
    Dynamics,
    critical_gain,
    first_step_slope,
    input_cooccurrence,
    integrate,
    layer_map,
    propagation_gain,
    stable_gain,
    weight_variance_of_gain,
)
from snninit_adapters.theory.methods import (
    bellec2018_law,
    ding2022_law,
    glorot_law,
    kaiming_law,
    lee2016_law,
    lee2016_threshold,
    micheli2024_law,
    micheli2024_temporal_law,
    zenke2021_law,
)
from snninit_adapters.theory.pooling import max_of_normals, max_pool_firing_probability
from snninit_adapters.theory.spike_counts import SpikeCountLaw, encoding_survival_bound
from snninit_adapters.theory.temporal import (
    FixedPoint,
    TemporalVariance,
    deep_fixed_point,
    input_layer_gain,
    matching_gain,
    rate_floor,
    temporal_weight_variance,
)
from snninit_adapters.theory.variance import snn_weight_variance, weight_variance

__all__ = [
    "ChainResult",
    "DISTRIBUTIONS",
    "Distribution",
    "Dynamics",
    "FixedPoint",
    "LayerContext",
    "PSPIntegrals",
    "SpikeCountLaw",
    "TemporalInput",
    "TemporalVariance",
    "WeightLaw",
    "bellec2018_law",
    "encoding_survival_bound",
    "critical_gain",
    "current_lif_psp_integrals",
    "current_lif_psp_kernel",
    "deep_fixed_point",
    "ding2022_law",
    "discrete_lif_psp_integrals",
    "fan_in",
    "fan_out",
    "firing_probability",
    "first_step_slope",
    "fluctuation_driven_centered_std",
    "fluctuation_driven_moments",
    "glorot_law",
    "input_cooccurrence",
    "input_layer_gain",
    "integrate",
    "kaiming_law",
    "layer_map",
    "lee2016_law",
    "lee2016_threshold",
    "log_firing_probability",
    "lower_fixed_point",
    "matching_gain",
    "max_of_normals",
    "max_pool_firing_probability",
    "max_threshold",
    "mean_firing_probability",
    "membrane_variance_moments",
    "micheli2024_law",
    "micheli2024_temporal_law",
    "propagate_spike_counts",
    "propagation_gain",
    "rate_floor",
    "recommend_width",
    "rossbroich2022_law",
    "snn_weight_variance",
    "spike_count_transition",
    "stable_gain",
    "survival_probability",
    "temporal_weight_variance",
    "variance_map",
    "variance_map_slope",
    "weight_variance",
    "weight_variance_of_gain",
    "zenke2021_law",
]
