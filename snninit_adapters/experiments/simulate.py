r"""The reference backend: the paper's deep fully-connected LIF network, vectorised in plain PyTorch.

Eq. 2 with the soft reset of Eq. 13, in snnTorch ``Leaky``'s timing (the reset of a spike at step
:math:`t-1` is subtracted at step :math:`t`):

.. math::

    u_l[t] = \beta\, u_l[t-1] + W_l\, x_l[t] - \theta\, S_l[t-1], \qquad
    S_l[t] = H(u_l[t] - \theta), \qquad x_{l+1}[t] = S_l[t].

Layer 0 encodes the input: its membrane takes the real-valued input :math:`I_0 \sim \mathcal N(0, 1)`
directly, the same at every step; layers :math:`1..L` have :math:`n \times n` weights drawn from a
method's :class:`~snninit_adapters.theory.WeightLaw`.

What must really be sampled: a layer's input is binary, so :math:`W_l x_l[t]` only involves the
columns of :math:`W_l` whose presynaptic neuron spikes at some step; only those are drawn. With one
step and a normal law, the sum of the :math:`k` active Gaussian columns of a row is itself
:math:`\mathcal N(k\mu, k\sigma^2)`, independent across rows, so :math:`n` numbers are drawn
instead of :math:`n k`. Both shortcuts give exactly the distribution of the full simulation.

:func:`simulate_dense` runs the same recursion with explicit weight matrices, for checking a
framework backend against these dynamics on the very same weights.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from snninit_adapters.theory import WeightLaw
from snninit_adapters.theory.meanfield import Reset, Timing

__all__ = ["LayerStats", "layer_stats", "moments", "simulate_dense", "simulate_networks"]


@dataclass(frozen=True)
class LayerStats:
    """Membrane statistics across neurons and spike counts, per layer and step (arrays of shape (L + 1, T)).

    Attributes:
        var_u: Variance of the membrane potential across the layer's neurons.
        mean_u: Its mean.
        skew_u: Its skewness.
        kurt_u: Its excess kurtosis.
        spikes: Number of neurons that spiked.
    """

    var_u: npt.NDArray[np.float64]
    mean_u: npt.NDArray[np.float64]
    skew_u: npt.NDArray[np.float64]
    kurt_u: npt.NDArray[np.float64]
    spikes: npt.NDArray[np.float64]


def moments(u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean, variance, skewness and excess kurtosis along dim 0 (population forms; NaN for constant data)."""
    u = u.double()
    mean = u.mean(0)
    centred = u - mean
    m2 = centred.square().mean(0)
    m3 = centred.pow(3).mean(0)
    m4 = centred.pow(4).mean(0)
    skew = m3 / m2.pow(1.5)
    kurt = m4 / m2.square() - 3.0
    return mean, m2, skew, kurt


class _SharedNoise:
    """One layer's standard-normal and standard-uniform weight noise, shared by every method.

    Each method's weights are an affine map of the same noise (``mean + std * z``, or
    ``mean + bound * (2 v - 1)``): every method still gets an exact sample of its law, and the
    comparison between methods is sharper for it (common random numbers). Noise is drawn lazily and
    only in the shape needed.
    """

    def __init__(self, width: int, generator: torch.Generator) -> None:
        self.width = width
        self.generator = generator
        self.device = generator.device
        self._normal: torch.Tensor | None = None
        self._uniform: torch.Tensor | None = None
        self._row_normal: torch.Tensor | None = None

    def row_normal(self) -> torch.Tensor:
        if self._row_normal is None:
            self._row_normal = torch.randn(
                self.width, 1, generator=self.generator, dtype=torch.float64, device=self.device
            )
        return self._row_normal

    def matrix(self, distribution: str) -> torch.Tensor:
        if distribution == "normal":
            if self._normal is None:
                self._normal = torch.randn(self.width, self.width, generator=self.generator, device=self.device)
            return self._normal
        if self._uniform is None:
            self._uniform = 2 * torch.rand(self.width, self.width, generator=self.generator, device=self.device) - 1
        return self._uniform


def _input_current(law: WeightLaw, spikes: torch.Tensor, noise: _SharedNoise) -> torch.Tensor:
    """:math:`W x[t]` for every step, using only the columns of :math:`W` that the input uses."""
    width, steps = spikes.shape
    active = spikes.any(dim=1)
    k = int(active.sum())
    if k == 0:
        return torch.zeros(width, steps, dtype=torch.float64, device=spikes.device)
    if steps == 1 and law.distribution == "normal":
        # the sum of k i.i.d. N(mu, s^2) weights per row is N(k mu, k s^2)
        return k * law.mean + law.std * math.sqrt(k) * noise.row_normal()
    scale = law.std if law.distribution == "normal" else law.bound
    columns = noise.matrix(law.distribution)[:, active]
    current = columns @ spikes[active].float()
    return (scale * current.double()) + law.mean * spikes[active].double().sum(0)


def _integrate(
    current: torch.Tensor, beta: float, theta: float, reset: Reset = "soft", timing: Timing = "after_leak"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the leaky membrane over the steps; returns (membrane before the reset, spikes), shape (n, T).

    ``reset``/``timing`` as :class:`~snninit_adapters.theory.Dynamics` (default: Eq. 13).
    """
    width, steps = current.shape
    membrane = torch.empty(width, steps, dtype=torch.float64, device=current.device)
    spikes = torch.empty(width, steps, dtype=torch.bool, device=current.device)
    u = torch.zeros(width, dtype=torch.float64, device=current.device)
    fired = torch.zeros(width, dtype=torch.bool, device=current.device)
    for t in range(steps):
        if reset == "hard":
            u = beta * u * ~fired + current[:, t]
        elif reset == "soft" and timing == "before_leak":
            u = beta * (u - theta * fired) + current[:, t]
        elif reset == "soft":
            u = beta * u + current[:, t] - theta * fired
        else:
            u = beta * u + current[:, t]
        fired = u > theta
        membrane[:, t] = u
        spikes[:, t] = fired
    return membrane, spikes


def _layer_law(law: WeightLaw | tuple[WeightLaw, WeightLaw], layer: int) -> WeightLaw:
    """The law of weight layer ``layer`` (from 0): one law for all, or (first layer's, deeper layers')."""
    if isinstance(law, WeightLaw):
        return law
    return law[0] if layer == 0 else law[1]


def simulate_networks(
    laws: Mapping[str, WeightLaw | tuple[WeightLaw, WeightLaw]],
    *,
    depth: int,
    width: int,
    steps: int,
    beta: float,
    theta: float,
    generator: torch.Generator,
    reset: Reset = "soft",
    timing: Timing = "after_leak",
    input_rate: float | None = None,
) -> dict[str, LayerStats]:
    r"""Simulate one network per weight law: an encoding layer and ``depth`` layers of ``width`` LIF neurons.

    All networks see the same input :math:`I_0 \sim \mathcal N(0, 1)` (the same at every step) and
    their weights are drawn from the same noise (see :class:`_SharedNoise`).

    Args:
        laws: Per method, the weight law of every layer, or (the first layer's, the deeper layers').
        depth: Number of weight layers :math:`L`.
        width: Neurons per layer :math:`n`.
        steps: Time steps :math:`T`.
        beta: Leak :math:`\beta`.
        theta: Threshold :math:`\theta` of every neuron.
        generator: Source of the input and the weights; the simulation runs on its device.
        reset: ``"soft"`` (the paper's), ``"hard"`` (to 0) or ``"none"``.
        timing: For the soft reset: ``"after_leak"`` (Eq. 13) or ``"before_leak"``.
        input_rate: None: the encoding layer above; a rate: layer 0 is i.i.d. Bernoulli spikes at that
            rate, drawn afresh at every step (its membrane statistics are NaN).

    Returns:
        Per method, statistics of layers 0 (encoding) to ``depth`` at every step.
    """
    drive0 = torch.randn(width, 1, generator=generator, dtype=torch.float64, device=generator.device)
    drive0 = drive0.expand(width, steps)
    stats = {name: tuple(np.empty((depth + 1, steps)) for _ in range(5)) for name in laws}
    drives = dict.fromkeys(laws, drive0)
    for layer in range(depth + 1):
        noise = _SharedNoise(width, generator)
        if layer == 0 and input_rate is not None:
            spikes = torch.rand(width, steps, generator=generator, device=generator.device) < input_rate
            membrane = torch.full((width, steps), math.nan, dtype=torch.float64, device=generator.device)
        for name, law in laws.items():
            if layer or input_rate is None:
                membrane, spikes = _integrate(drives[name], beta, theta, reset, timing)
            mean, var, skew, kurt = moments(membrane)
            var_u, mean_u, skew_u, kurt_u, counts = stats[name]
            mean_u[layer], var_u[layer] = mean.cpu().numpy(), var.cpu().numpy()
            skew_u[layer], kurt_u[layer] = skew.cpu().numpy(), kurt.cpu().numpy()
            counts[layer] = spikes.sum(0).double().cpu().numpy()
            if layer < depth:
                drives[name] = _input_current(_layer_law(law, layer), spikes, noise)
    return {name: LayerStats(*arrays) for name, arrays in stats.items()}


def layer_stats(membranes: Sequence[torch.Tensor], spikes: Sequence[torch.Tensor]) -> LayerStats:
    """Statistics of recorded layers: one membrane and one spike tensor of shape (neurons, T) per layer.

    Args:
        membranes: Per layer, the membrane compared with the threshold, one column per step.
        spikes: Per layer, the spikes (boolean or 0/1), same shape.

    Returns:
        The layers' statistics across neurons, arrays of shape (layers, T).
    """
    rows: list[tuple[npt.NDArray[np.float64], ...]] = []
    for membrane, spike in zip(membranes, spikes, strict=True):
        mean, var, skew, kurt = moments(membrane)
        count = spike.double().sum(0)
        rows.append(tuple(value.cpu().numpy() for value in (var, mean, skew, kurt, count)))
    var_u, mean_u, skew_u, kurt_u, counts = (np.stack(column) for column in zip(*rows, strict=True))
    return LayerStats(var_u, mean_u, skew_u, kurt_u, counts)


def simulate_dense(
    weights: Sequence[torch.Tensor], drive: torch.Tensor, *, steps: int, beta: float, theta: float
) -> tuple[LayerStats, list[torch.Tensor]]:
    r"""The reference dynamics on given weights: the encoding layer, then one layer per weight matrix.

    The same recursion as :func:`simulate_networks` (Eq. 2/13, the reset of a spike subtracted one
    step later, :math:`S = H(u - \theta)` with a strict inequality), in float64, with every weight
    used: :math:`u_{l}[t] = \beta u_l[t-1] + W_l S_{l-1}[t] - \theta S_l[t-1]` and
    :math:`u_0[t] = \beta u_0[t-1] + I_0 - \theta S_0[t-1]`.

    Args:
        weights: The weight matrices :math:`W_1 .. W_L`, shape (out, in) as in ``nn.Linear``.
        drive: The encoding layer's input :math:`I_0`, shape (n,), the same at every step.
        steps: Time steps :math:`T`.
        beta: Leak :math:`\beta`.
        theta: Threshold :math:`\theta` of every neuron.

    Returns:
        The statistics of layers 0 (encoding) to :math:`L`, and each layer's spikes, boolean (n_l, T).
    """
    current = drive.detach().double().reshape(-1, 1).expand(-1, steps)
    membranes, spikes = [], []
    for layer in range(len(weights) + 1):
        membrane, spike = _integrate(current, beta, theta)
        membranes.append(membrane)
        spikes.append(spike)
        if layer < len(weights):
            current = weights[layer].detach().to(device=spike.device, dtype=torch.float64) @ spike.double()
    return layer_stats(membranes, spikes), spikes
