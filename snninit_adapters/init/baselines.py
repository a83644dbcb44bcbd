r"""The paper's seven baselines as ``torch.nn.init``-style functions.

All share the signature of :func:`~snninit_adapters.init.snn_normal_`:
``(tensor, threshold=1.0, *, mode="fan_in", target_variance=1.0, generator=None, **options)``, so any of
them can stand in for another. Arguments a method does not use are accepted and ignored; each docstring
says which it uses. ``mode="fan_out"`` puts the fan-out where the method reads :math:`n`.

Provisional methods (``zenke2021``, ``ding2022``) are reconstructions, not checked against the papers'
full text; their docstrings say what was reconstructed.
"""

from __future__ import annotations

import torch

from snninit_adapters.errors import SNNInitError
from snninit_adapters.init._tensor import Threshold, initialize_
from snninit_adapters.theory import (
    Distribution,
    bellec2018_law,
    ding2022_law,
    glorot_law,
    kaiming_law,
    lee2016_law,
    rossbroich2022_law,
    zenke2021_law,
)

__all__ = [
    "bellec2018_normal_",
    "ding2022_normal_",
    "glorot_normal_",
    "kaiming_normal_",
    "lee2016_uniform_",
    "rossbroich2022_normal_",
    "zenke2021_normal_",
]


def kaiming_normal_(
    tensor: torch.Tensor,
    threshold: Threshold = 1.0,
    *,
    mode: str = "fan_in",
    target_variance: float = 1.0,
    generator: torch.Generator | None = None,
    distribution: Distribution = "normal",
) -> torch.Tensor:
    r"""Kaiming/He: :math:`w \sim \mathcal{N}(0, 2/n)`, as ``torch.nn.init.kaiming_normal_`` with its defaults.

    He, Zhang, Ren & Sun (2015), "Delving deep into rectifiers: surpassing human-level performance on
    ImageNet classification", Eq. 10.

    Args:
        tensor: An n-dimensional weight.
        threshold: Ignored (Kaiming does not depend on it).
        mode: ``"fan_in"`` or ``"fan_out"``.
        target_variance: Ignored.
        generator: the torch Generator to sample from (default: None)
        distribution: ``"normal"`` or ``"uniform"`` (same variance).

    Returns:
        ``tensor``, filled.
    """
    return initialize_(
        tensor,
        kaiming_law,
        function="kaiming_normal_",
        threshold=threshold,
        mode=mode,
        target_variance=target_variance,
        generator=generator,
        options={"distribution": distribution},
    )


def glorot_normal_(
    tensor: torch.Tensor,
    threshold: Threshold = 1.0,
    *,
    mode: str = "fan_in",
    target_variance: float = 1.0,
    generator: torch.Generator | None = None,
    distribution: Distribution = "normal",
) -> torch.Tensor:
    r"""Glorot/Xavier: :math:`w \sim \mathcal{N}(0, 2/(n + m))`, as ``torch.nn.init.xavier_normal_``.

    Glorot & Bengio (2010), "Understanding the difficulty of training deep feedforward neural
    networks", Eq. 16 (the paper's own form is uniform: pass ``distribution="uniform"``).

    Args:
        tensor: An n-dimensional weight.
        threshold: Ignored.
        mode: Must be ``"fan_in"``: Glorot already averages the fan-in and the fan-out.
        target_variance: Ignored.
        generator: the torch Generator to sample from (default: None)
        distribution: ``"normal"`` or ``"uniform"``.

    Returns:
        ``tensor``, filled.
    """
    if isinstance(mode, str) and mode.lower() == "fan_out":
        raise SNNInitError("glorot_normal_ averages fan-in and fan-out already; mode='fan_out' does not apply")
    return initialize_(
        tensor,
        glorot_law,
        function="glorot_normal_",
        threshold=threshold,
        mode=mode,
        target_variance=target_variance,
        generator=generator,
        options={"distribution": distribution},
    )


def lee2016_uniform_(
    tensor: torch.Tensor,
    threshold: Threshold = 1.0,
    *,
    mode: str = "fan_in",
    target_variance: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Lee, Delbruck & Pfeiffer (2016): :math:`w \sim U(-\sqrt{3/M}, \sqrt{3/M})`.

    "Training deep spiking neural networks using backpropagation", Front. Neurosci. 10:508. The method
    also prescribes the thresholds :math:`\alpha \sqrt{3/M}`; this function only fills weights: apply
    :func:`~snninit_adapters.theory.lee2016_threshold` to the neurons yourself if you want them.

    Args:
        tensor: An n-dimensional weight.
        threshold: Ignored.
        mode: ``"fan_in"`` or ``"fan_out"`` (which fan is :math:`M`).
        target_variance: Ignored.
        generator: the torch Generator to sample from (default: None)

    Returns:
        ``tensor``, filled.
    """
    return initialize_(
        tensor,
        lee2016_law,
        function="lee2016_uniform_",
        threshold=threshold,
        mode=mode,
        target_variance=target_variance,
        generator=generator,
        options={},
    )


def bellec2018_normal_(
    tensor: torch.Tensor,
    threshold: Threshold = 1.0,
    *,
    mode: str = "fan_in",
    target_variance: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Bellec et al. (2018), LSNN: :math:`w \sim \mathcal{N}(0, 1/n)`.

    "Long short-term memory and learning-to-learn in networks of spiking neurons", NeurIPS 2018;
    the official code scales ``randn`` by ``1/sqrt(n_in)``.

    Args:
        tensor: An n-dimensional weight.
        threshold: Ignored.
        mode: ``"fan_in"`` or ``"fan_out"``.
        target_variance: Ignored.
        generator: the torch Generator to sample from (default: None)

    Returns:
        ``tensor``, filled.
    """
    return initialize_(
        tensor,
        bellec2018_law,
        function="bellec2018_normal_",
        threshold=threshold,
        mode=mode,
        target_variance=target_variance,
        generator=generator,
        options={},
    )


def zenke2021_normal_(
    tensor: torch.Tensor,
    threshold: Threshold = 1.0,
    *,
    mode: str = "fan_in",
    target_variance: float = 1.0,
    generator: torch.Generator | None = None,
    gain: float = 1.0,
) -> torch.Tensor:
    r"""Zenke & Vogels (2021): :math:`w \sim \mathcal{N}(0, \omega^2 / n)` (provisional).

    "The remarkable robustness of surrogate gradient learning for instilling complex function in spiking
    neural networks", Neural Computation 33:899. Provisional: reconstructed from the authors' public
    code rather than the paper's Methods, with :math:`\omega` = ``gain`` = 1 by default.

    Args:
        tensor: An n-dimensional weight.
        threshold: Ignored.
        mode: ``"fan_in"`` or ``"fan_out"``.
        target_variance: Ignored.
        generator: the torch Generator to sample from (default: None)
        gain: The scale :math:`\omega`.

    Returns:
        ``tensor``, filled.
    """
    return initialize_(
        tensor,
        zenke2021_law,
        function="zenke2021_normal_",
        threshold=threshold,
        mode=mode,
        target_variance=target_variance,
        generator=generator,
        options={"gain": gain},
    )


def ding2022_normal_(
    tensor: torch.Tensor,
    threshold: Threshold = 1.0,
    *,
    mode: str = "fan_in",
    target_variance: float = 1.0,
    generator: torch.Generator | None = None,
    slope: float | None = None,
) -> torch.Tensor:
    r"""Ding, Zhang, Yu & Huang (2022): :math:`w \sim \mathcal{N}(0, 2\theta^2/n)` (provisional).

    "Accelerating training of deep spiking neural networks with parameter initialization". Provisional:
    reconstructed from the paper's abstract as a He-style balance on the slant asymptote
    :math:`r \approx x / \theta` of the neuron's response curve (see
    :func:`~snninit_adapters.theory.ding2022_law`).

    Args:
        tensor: An n-dimensional weight.
        threshold: Threshold(s) of the neurons this layer drives (sets the slope :math:`1/\theta`).
        mode: ``"fan_in"`` or ``"fan_out"``.
        target_variance: Ignored.
        generator: the torch Generator to sample from (default: None)
        slope: The response curve's asymptotic slope, instead of :math:`1/\theta`.

    Returns:
        ``tensor``, filled.
    """
    return initialize_(
        tensor,
        ding2022_law,
        function="ding2022_normal_",
        threshold=threshold,
        mode=mode,
        target_variance=target_variance,
        generator=generator,
        options={"slope": slope},
    )


def rossbroich2022_normal_(
    tensor: torch.Tensor,
    threshold: Threshold = 1.0,
    *,
    mode: str = "fan_in",
    target_variance: float = 1.0,
    generator: torch.Generator | None = None,
    nu: float | None = None,
    epsilon_bar: float = 1.0,
    epsilon_hat: float = 1.0,
    centered: bool = True,
    sigma_u: float | None = None,
    mu_u: float = 0.0,
    xi: float | None = None,
) -> torch.Tensor:
    r"""Fluctuation-driven initialisation of Rossbroich, Gygax & Zenke (2022), centred by default.

    "Fluctuation-driven initialization for spiking neural network training", Neuromorph. Comput. Eng.
    2:044016. Centred: :math:`\sigma_W = \sigma_U / \sqrt{N \nu \hat\epsilon}`; non-centred:
    :math:`\mu_W = \mu_U / (N\nu\bar\epsilon)`,
    :math:`\sigma_W^2 = ((\theta - \mu_U)/\xi)^2 / (N \nu \hat\epsilon) - \mu_W^2`. See
    :mod:`snninit_adapters.theory.fluctuation` for the kernel integrals and the defaults, which make the
    centred form equal :func:`~snninit_adapters.init.snn_normal_`.

    Args:
        tensor: An n-dimensional weight.
        threshold: Presynaptic threshold (sets the default rate :math:`\nu = P(u > \theta)`) and, in the
            non-centred form, the driven neurons' threshold.
        mode: ``"fan_in"`` or ``"fan_out"``.
        target_variance: :math:`\sigma_U^2` of the centred form when ``sigma_u`` is not given.
        generator: the torch Generator to sample from (default: None)
        nu: Presynaptic rate, per kernel time unit.
        epsilon_bar: Kernel integral :math:`\bar\epsilon`.
        epsilon_hat: Kernel integral :math:`\hat\epsilon`.
        centered: Centred (True) or non-centred form.
        sigma_u: Target membrane std of the centred form.
        mu_u: Target mean membrane of the non-centred form.
        xi: Distance to threshold in stds (non-centred form; required there).

    Returns:
        ``tensor``, filled.
    """
    return initialize_(
        tensor,
        rossbroich2022_law,
        function="rossbroich2022_normal_",
        threshold=threshold,
        mode=mode,
        target_variance=target_variance,
        generator=generator,
        options={
            "nu": nu,
            "epsilon_bar": epsilon_bar,
            "epsilon_hat": epsilon_hat,
            "centered": centered,
            "sigma_u": sigma_u,
            "mu_u": mu_u,
            "xi": xi,
        },
    )
