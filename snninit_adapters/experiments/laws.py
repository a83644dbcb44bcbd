r"""The weight laws of the experiments' deep network, per method: one for every layer, or the first's and the rest's.

The network: an encoding layer (a constant current :math:`I_0 \\sim \\mathcal N(0, 1)` into LIF
membranes) or i.i.d. Bernoulli spikes, then ``depth`` layers of ``width`` LIF neurons. The paper's
methods give every layer the same law; the temporal rule gives the first layer the gain that makes
it fire at the target rate on that input, and the deeper layers the deep fixed point's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from snninit_adapters.init import get_method
from snninit_adapters.theory import Dynamics, LayerContext, TemporalInput, WeightLaw

__all__ = ["LayerLaws", "method_laws"]

LayerLaws = WeightLaw | tuple[WeightLaw, WeightLaw]
"""One law for every layer, or (the first layer's, the deeper layers')."""


def method_laws(
    methods: Iterable[str], width: int, theta: float, dynamics: Dynamics | None, *, input_gain: float = 1.0
) -> dict[str, LayerLaws]:
    """Each method's laws for the deep network of ``width`` neurons per layer with these dynamics.

    Args:
        methods: Registry names.
        width: Neurons per layer (every layer's fan-in).
        theta: The neurons' threshold.
        dynamics: The neurons' dynamics, for the temporal rule (None: there is none, e.g. at theta = 0);
            ``dynamics.input`` says what the first weight layer reads (``"constant"``: the encoding
            layer's spikes; ``"bernoulli"``: i.i.d. spikes at ``dynamics.bernoulli_rate``).
        input_gain: The neurons' input gain :math:`g` (1 in the reference network).

    Returns:
        Per method, its laws.

    Raises:
        ValueError: For a temporal method without dynamics.
    """
    context = LayerContext(fan_in=width, fan_out=width, theta_pre=theta, theta_post=theta, input_gain=input_gain)
    laws: dict[str, LayerLaws] = {}
    for name in methods:
        method = get_method(name)
        if not method.temporal:
            if method.kernel and dynamics is not None:  # its PSP kernel over the network's steps
                laws[name] = method.weight_law(replace(context, temporal=TemporalInput(dynamics)))
            else:
                laws[name] = method.weight_law(context)
            continue
        if dynamics is None:
            raise ValueError(f"{name} needs the neurons' dynamics (a positive threshold)")
        if dynamics.input == "constant":
            first = method.weight_law(replace(context, temporal=TemporalInput(dynamics, "encoded", dynamics)))
        else:
            p = dynamics.bernoulli_rate
            reads = TemporalInput(dynamics, "data", mean_square=p)
            first_context = replace(context, theta_pre=None, input_second_moment=p, temporal=reads)
            first = method.weight_law(first_context, data="independent")
        laws[name] = (first, method.weight_law(replace(context, temporal=TemporalInput(dynamics))))
    return laws
