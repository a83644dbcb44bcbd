r"""The framework backends: the paper's deep LIF network built from snnTorch, SpikingJelly or Norse neurons.

The network is the reference backend's (:mod:`~snninit_adapters.experiments.simulate`): an encoding
neuron layer whose membrane takes the real-valued input :math:`I_0 \sim \mathcal N(0, 1)`, the same
at every step, then ``depth`` blocks of ``Linear(width, width, bias=False)`` -> neuron layer. Here it
is built from the framework's own modules, initialised through
:func:`~snninit_adapters.apply_snn_init` with the real input as the example input, and run with the
time loop outside the model:

- ``snntorch``: ``nn.Sequential`` of ``snn.Leaky(beta, threshold, reset_mechanism="subtract",
  init_hidden=True)``. This is Eq. 2/13 exactly: input gain :math:`g = 1`, the reset of a spike
  subtracted one step later, as in the reference backend.
- ``spikingjelly``: ``nn.Sequential`` of ``LIFNode(tau=1/(1-beta), decay_input=False,
  v_threshold=theta, v_reset=None)`` in single-step mode. ``decay_input=False`` charges
  :math:`h = v - v/\tau + x = \beta v + x`, so :math:`g = 1` as in Eq. 2 (the default
  ``decay_input=True`` would scale the input by :math:`1/\tau = 1 - \beta`). The soft reset is
  subtracted in the step of the spike.
- ``norse``: ``SequentialState`` of ``LIFBoxCell`` (the LIF neuron without a synaptic current) with
  :math:`dt\,\tau_\text{mem}^{-1} = 1 - \beta` (``dt = 1e-3``), ``v_leak = v_reset = 0``,
  ``v_th = theta`` and ``reset_subtract``: :math:`v = \beta v + (1 - \beta) x`, so
  :math:`g = 1 - \beta`; the reset is subtracted in the step of the spike.

Where :math:`g \ne 1` the input is divided by :math:`g`, so that the encoding layer's membrane starts
at :math:`I_0` as in the paper. :func:`backend_notes` lists every way a framework's neuron differs
from the paper's model.

What is recorded, per layer and step, by :func:`~snninit_adapters.monitor.measure_activity`: the
spike count, and the moments across the layer's neurons of the membrane that is compared with the
threshold, before the reset (snnTorch keeps it; for SpikingJelly and Norse, whose neurons keep the
membrane after the reset, the monitor recomputes it through the neuron's own step).

Seeds: the input is drawn exactly as the reference backend draws it, from
:func:`~snninit_adapters.experiments.propagation.cell_seed`, so every method and every backend of a
cell sees the same input; the weights come from a second seed derived from the cell, the same for
every method.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from snninit_adapters.apply import apply_snn_init
from snninit_adapters.experiments.figures import FigureSpec
from snninit_adapters.experiments.propagation import cell_seed
from snninit_adapters.experiments.simulate import LayerStats
from snninit_adapters.monitor import measure_activity
from snninit_adapters.plugins import require_framework

__all__ = ["FRAMEWORKS", "NORSE_DT", "FrameworkNetwork", "backend_notes", "build", "simulate"]

NORSE_DT = 1e-3
"""Norse's step size (its default), in seconds; ``tau_mem_inv = (1 - beta) / dt``."""


def _import(framework: str, module: str | None = None) -> Any:
    """Import a framework (or one of its modules) lazily; MissingFrameworkError names the pip extra."""
    return require_framework(framework, module)


def _zero_linear(width: int, device: torch.device) -> nn.Linear:
    """``Linear(width, width, bias=False)`` with zero weights, skipping PyTorch's default draw."""
    linear = nn.Linear(width, width, bias=False, device="meta").to_empty(device=device)
    with torch.no_grad():
        linear.weight.zero_()
    return linear


class FrameworkNetwork(ABC):
    r"""The encoding layer and ``depth`` blocks of Linear -> neuron, built from one framework's modules.

    The model is float32, the frameworks' type (snnTorch's spikes are float32 whatever the input).

    Attributes:
        model: The framework's container of all the layers (what :func:`apply_snn_init` initialises).
        neurons: The neuron layers, encoding layer first (``depth + 1``).
        linears: The weight layers (``depth``), ``nn.Linear(width, width, bias=False)``, zero until initialised.
        width: Neurons per layer.
        depth: Number of weight layers.
        beta: Leak :math:`\beta`.
        theta: Threshold :math:`\theta` of every neuron.
        device: Where the model lives.
    """

    framework: ClassVar[str]

    def __init__(
        self, *, width: int, depth: int, beta: float, theta: float, device: str | torch.device = "cpu"
    ) -> None:
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"beta must lie in [0, 1], got {beta!r}")
        self.width, self.depth, self.beta, self.theta = int(width), int(depth), float(beta), float(theta)
        self.device = torch.device(device)
        self.neurons = tuple(self._neuron() for _ in range(self.depth + 1))
        self.linears = tuple(_zero_linear(self.width, self.device) for _ in range(self.depth))
        layers: list[nn.Module] = [self.neurons[0]]
        for linear, neuron in zip(self.linears, self.neurons[1:], strict=True):
            layers += [linear, neuron]
        self.model = self._container(layers).to(device=self.device)

    @property
    @abstractmethod
    def input_gain(self) -> float:
        """The neuron's same-step input gain :math:`g`: a zero membrane becomes :math:`g x` after one step."""

    def encode(self, drive: torch.Tensor) -> torch.Tensor:
        """The network's input for the encoding membrane :math:`I_0` = ``drive``: ``drive / g``, shape (1, n)."""
        return (drive.detach().double() / self.input_gain).reshape(1, -1).to(device=self.device, dtype=torch.float32)

    def run(self, drive: torch.Tensor, steps: int) -> LayerStats:
        """Run ``steps`` steps with the constant input ``drive`` and measure every neuron layer.

        :func:`~snninit_adapters.monitor.measure_activity` runs a copy of the model (the state threaded
        between the calls) and reports, per layer and step, the spike count and the moments of the
        membrane compared with the threshold, before the reset.

        Args:
            drive: The encoding layer's input :math:`I_0`, shape (n,).
            steps: Time steps.

        Returns:
            The statistics of layers 0 (encoding) to ``depth``.

        Raises:
            RuntimeError: If the monitor did not measure every layer's membrane at every step.
        """
        report = measure_activity(self.model, self.encode(drive), steps=steps)
        names = {id(module): name for name, module in self.model.named_modules()}
        layers = [names[id(neuron)] for neuron in self.neurons]
        if report.layers != layers:
            raise RuntimeError(f"the monitor measured layers {report.layers}, expected {layers}: {report.notes}")
        fields = ("u_var", "u_mean", "u_skew", "u_kurt", "spikes")
        arrays = {field: np.full((len(layers), steps), math.nan) for field in fields}
        for index, name in enumerate(layers):
            rows = report.layer(name)
            if len(rows) != steps or any(row.u_var is None for row in rows):
                raise RuntimeError(f"the monitor could not read layer {name}'s membrane at every step: {report.notes}")
            for row in rows:
                for field in fields:
                    value = getattr(row, field)
                    arrays[field][index, row.step] = math.nan if value is None else float(value)
        return LayerStats(*(arrays[field] for field in fields))

    @abstractmethod
    def _neuron(self) -> nn.Module:
        """A new neuron layer with the paper's leak and threshold, on ``self.device``."""

    def _container(self, layers: list[nn.Module]) -> nn.Module:
        return nn.Sequential(*layers)


class SnnTorchNetwork(FrameworkNetwork):
    """snnTorch ``Leaky`` with subtract reset: the paper's Eq. 2/13, in the reference backend's timing."""

    framework = "snntorch"

    def __init__(self, **kwargs: Any) -> None:
        self._snn: Any = _import("snntorch")
        super().__init__(**kwargs)
        # every snnTorch neuron registers itself in a class-level list, kept for the class's
        # reset_hidden/detach_hidden helpers; drop these so that repeated runs do not pile up
        ours = {id(neuron) for neuron in self.neurons}
        instances = self._snn.SpikingNeuron.instances
        instances[:] = [neuron for neuron in instances if id(neuron) not in ours]

    @property
    def input_gain(self) -> float:
        """:math:`g = 1`."""
        return 1.0

    def _neuron(self) -> nn.Module:
        neuron: nn.Module = self._snn.Leaky(
            beta=self.beta, threshold=self.theta, reset_mechanism="subtract", init_hidden=True
        )
        return neuron


class SpikingJellyNetwork(FrameworkNetwork):
    """SpikingJelly ``LIFNode`` with ``decay_input=False`` (input gain 1) and soft reset, single-step mode."""

    framework = "spikingjelly"

    def __init__(self, **kwargs: Any) -> None:
        beta = float(kwargs["beta"])
        if not 0.0 < beta < 1.0:
            raise ValueError(f"SpikingJelly's LIFNode needs tau = 1 / (1 - beta) > 1, so 0 < beta < 1; got {beta!r}")
        self._lif: Any = _import("spikingjelly", "spikingjelly.activation_based.neuron").LIFNode
        super().__init__(**kwargs)

    @property
    def input_gain(self) -> float:
        """:math:`g = 1` (``decay_input=False``)."""
        return 1.0

    def _neuron(self) -> nn.Module:
        neuron: nn.Module = self._lif(
            tau=1.0 / (1.0 - self.beta), decay_input=False, v_threshold=self.theta, v_reset=None, step_mode="s"
        )
        return neuron


class NorseNetwork(FrameworkNetwork):
    r"""Norse ``LIFBoxCell`` with ``reset_subtract`` and :math:`dt\,\tau_\text{mem}^{-1} = 1 - \beta`."""

    framework = "norse"

    def __init__(self, **kwargs: Any) -> None:
        beta = float(kwargs["beta"])
        if not beta < 1.0:
            raise ValueError(f"Norse's LIFBoxCell needs beta < 1 (input gain 1 - beta > 0); got {beta!r}")
        self._box: Any = _import("norse", "norse.torch.module.lif_box")
        self._parameters: Any = _import("norse", "norse.torch.functional.lif_box").LIFBoxParameters
        self._subtract: Any = _import("norse", "norse.torch.functional.reset").reset_subtract
        self._sequential: Any = _import("norse", "norse.torch.module.sequential").SequentialState
        super().__init__(**kwargs)

    @property
    def input_gain(self) -> float:
        r""":math:`g = dt\,\tau_\text{mem}^{-1} = 1 - \beta`, as the neuron computes it."""
        neuron: Any = self.neurons[0]
        return float(neuron.dt * neuron.p.tau_mem_inv)

    def _neuron(self) -> nn.Module:
        def value(number: float) -> torch.Tensor:
            return torch.tensor(number, device=self.device)

        parameters = self._parameters(
            tau_mem_inv=value((1.0 - self.beta) / NORSE_DT),
            v_leak=value(0.0),
            v_th=value(self.theta),
            v_reset=value(0.0),
            reset_method=self._subtract,
        )
        neuron: nn.Module = self._box.LIFBoxCell(p=parameters, dt=NORSE_DT)
        return neuron

    def _container(self, layers: list[nn.Module]) -> nn.Module:
        container: nn.Module = self._sequential(*layers)
        return container


FRAMEWORKS: dict[str, type[FrameworkNetwork]] = {
    "snntorch": SnnTorchNetwork,
    "spikingjelly": SpikingJellyNetwork,
    "norse": NorseNetwork,
}
"""Framework backend name -> the network class that builds it."""


def build(
    name: str,
    *,
    width: int,
    depth: int,
    beta: float,
    theta: float,
    device: str | torch.device = "cpu",
) -> FrameworkNetwork:
    r"""Build the paper's deep network from one framework's modules, with zero weights.

    Args:
        name: ``"snntorch"``, ``"spikingjelly"`` or ``"norse"``.
        width: Neurons per layer :math:`n`.
        depth: Number of weight layers :math:`L`.
        beta: Leak :math:`\beta`.
        theta: Threshold :math:`\theta` of every neuron.
        device: Torch device of the model (float32).

    Returns:
        The network, ready for :func:`apply_snn_init` on ``network.model`` and :meth:`FrameworkNetwork.run`.

    Raises:
        ValueError: For an unknown framework, or a leak the framework's neuron cannot take.
        MissingFrameworkError: If the framework is not installed (names the pip extra).
    """
    if name not in FRAMEWORKS:
        raise ValueError(f"unknown framework backend {name!r}; choose one of {', '.join(FRAMEWORKS)}")
    return FRAMEWORKS[name](width=width, depth=depth, beta=beta, theta=theta, device=device)


def _drive(cell: Mapping[str, Any], width: int, device: str) -> torch.Tensor:
    """The input :math:`I_0`, drawn as the reference backend draws it (same cell, same numbers)."""
    generator = torch.Generator(device=device).manual_seed(cell_seed(cell))
    return torch.randn(width, 1, generator=generator, dtype=torch.float64, device=device)[:, 0]


def simulate(name: str, cell: Mapping[str, Any], spec: FigureSpec) -> dict[str, LayerStats]:
    """Simulate one cell on a framework backend: build, initialise with the cell's method, run, record.

    Args:
        name: ``"snntorch"``, ``"spikingjelly"`` or ``"norse"``.
        cell: One cell of :func:`~snninit_adapters.experiments.propagation.cells` (one method).
        spec: The figure's settings (depth, steps, leak).

    Returns:
        ``{method: statistics of layers 0 (encoding) to depth at every step}``.

    Raises:
        ValueError: For an unknown framework or a cell with several methods.
        MissingFrameworkError: If the framework is not installed.
    """
    method = str(cell["methods"])
    if "+" in method:
        raise ValueError(f"a framework backend runs one method per cell, got {method!r}")
    width, device = int(cell["width"]), str(cell.get("device", "cpu"))
    network = build(name, width=width, depth=spec.depth, beta=spec.beta, theta=float(cell["threshold"]), device=device)
    drive = _drive(cell, width, device)
    weights = torch.Generator(device=device).manual_seed(cell_seed({**cell, "draw": "weights"}))
    apply_snn_init(network.model, network.encode(drive), method=method, generator=weights)
    return {method: network.run(drive, spec.steps)}


_REFERENCE_TIMING = "u[t] = beta u[t-1] + W x[t] - theta S[t-1] (Eq. 13)"

_NOTES: dict[str, tuple[str, ...]] = {
    "snntorch": (
        "Neuron: snn.Leaky(beta, threshold=theta, reset_mechanism='subtract', init_hidden=True) in an "
        "nn.Sequential, the time loop outside. Input gain g = 1, as in the paper.",
        f"Reset kind and timing: subtract theta, one step after the spike: {_REFERENCE_TIMING}, "
        "exactly the paper's model and the reference backend (its spikes equal the reference dynamics on "
        "the same weights). It fires at u > theta, as the paper.",
        "Precision: the network runs in float32 (the reference in float64), so a membrane within float32 "
        "rounding of theta may fire differently.",
    ),
    "spikingjelly": (
        "Neuron: LIFNode(tau = 1/(1 - beta) (2 at beta = 0.5, 10 at beta = 0.9), decay_input=False, "
        "v_threshold=theta, v_reset=None) in single-step mode, the time loop outside. decay_input=False "
        "charges h[t] = v[t-1] - v[t-1]/tau + x[t] = beta v[t-1] + x[t]: input gain g = 1, as in the paper "
        "(the default decay_input=True would give g = 1/tau = 1 - beta: 0.5 at beta = 0.5, 0.1 at beta = 0.9).",
        "Reset timing: the soft reset (subtract theta) is applied in the step of the spike, before the "
        "next leak: h[t] = beta (h[t-1] - theta S[t-1]) + W x[t], so a spike lowers the next membrane by "
        "beta theta (0.5 at beta = 0.5, 0.9 at beta = 0.9, theta = 1) instead of theta as in "
        f"{_REFERENCE_TIMING}. Neurons fire more over several steps; one-step figures (2-4) are unaffected.",
        "Firing condition: S = H(h - theta) with h >= theta, not h > theta: it differs only for a membrane "
        "exactly at theta (e.g. a neuron with no input at theta = 0). The CPU kernel computes in float32.",
        "Recorded membrane: h, the charged membrane compared with the threshold, before the reset; LIFNode "
        "keeps only the post-reset v, so the activity monitor recomputes h through the neuron's own step.",
    ),
    "norse": (
        f"Neuron: LIFBoxCell (no synaptic current) in a SequentialState, dt = {NORSE_DT:g}, "
        "tau_mem_inv = (1 - beta)/dt (500/s at beta = 0.5, 100/s at beta = 0.9), v_leak = v_reset = 0, "
        "v_th = theta, reset_subtract: v[t] = beta v[t-1] + (1 - beta) x[t].",
        "Input gain g = dt tau_mem_inv = 1 - beta (0.5 at beta = 0.5, 0.1 at beta = 0.9), not 1: the "
        "input is divided by g so the encoding membrane starts at I_0. apply_snn_init's micheli2024 rule "
        "divides the weights by g, so g W follows Eq. 10, and ding2022 reads the driven neurons' threshold "
        "in input units (theta/g), so it scales by 1/g too; the baselines that ignore the neuron (kaiming, "
        "glorot, lee2016, bellec2018, zenke2021, rossbroich2022) are applied as their authors define them "
        "and give membranes g times smaller than in the paper (variance g^2 = 0.25 at beta = 0.5, 0.01 at "
        "beta = 0.9). A held input x charges the membrane towards g x/(1 - beta) = x, not x/(1 - beta).",
        "Reset timing: reset_subtract subtracts theta in the step of the spike, before the next leak: "
        "v[t] = beta (v[t-1] - theta z[t-1]) + g x[t], so a spike lowers the next membrane by beta theta "
        "(0.5 at beta = 0.5, 0.9 at beta = 0.9, theta = 1) instead of theta as in "
        f"{_REFERENCE_TIMING}. Neurons fire more over several steps; one-step figures (2-4) are unaffected. "
        "It fires at v > theta, as the paper.",
        "Recorded membrane: the decayed membrane compared with v_th, before the reset; LIFBoxCell returns "
        "the post-reset state, so the activity monitor recomputes it through the neuron's own step.",
    ),
}


def backend_notes(name: str) -> list[str]:
    """How a framework backend's neuron differs from the paper's model, one line per point, with numbers.

    Args:
        name: ``"snntorch"``, ``"spikingjelly"`` or ``"norse"``.

    Returns:
        The lines, for the figure's summary.

    Raises:
        ValueError: For an unknown framework backend.
    """
    if name not in _NOTES:
        raise ValueError(f"unknown framework backend {name!r}; choose one of {', '.join(_NOTES)}")
    return list(_NOTES[name])
