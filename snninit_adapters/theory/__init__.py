"""The pure theory core: Gaussian tail, weight variances, fan-in and the weight laws of every method.

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
from snninit_adapters.theory.law import DISTRIBUTIONS, Distribution, LayerContext, WeightLaw
from snninit_adapters.theory.methods import (
    bellec2018_law,
    ding2022_law,
    glorot_law,
    kaiming_law,
    lee2016_law,
    lee2016_threshold,
    micheli2024_law,
    zenke2021_law,
)
from snninit_adapters.theory.pooling import max_of_normals, max_pool_firing_probability
from snninit_adapters.theory.variance import snn_weight_variance, weight_variance

__all__ = [
    "ChainResult",
    "DISTRIBUTIONS",
    "Distribution",
    "LayerContext",
    "PSPIntegrals",
    "WeightLaw",
    "bellec2018_law",
    "current_lif_psp_integrals",
    "current_lif_psp_kernel",
    "ding2022_law",
    "discrete_lif_psp_integrals",
    "fan_in",
    "fan_out",
    "firing_probability",
    "fluctuation_driven_centered_std",
    "fluctuation_driven_moments",
    "glorot_law",
    "kaiming_law",
    "lee2016_law",
    "lee2016_threshold",
    "log_firing_probability",
    "lower_fixed_point",
    "max_of_normals",
    "max_pool_firing_probability",
    "max_threshold",
    "mean_firing_probability",
    "membrane_variance_moments",
    "micheli2024_law",
    "propagate_spike_counts",
    "recommend_width",
    "rossbroich2022_law",
    "snn_weight_variance",
    "spike_count_transition",
    "survival_probability",
    "variance_map",
    "variance_map_slope",
    "weight_variance",
    "zenke2021_law",
]
