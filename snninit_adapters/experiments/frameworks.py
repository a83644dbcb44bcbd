r"""The framework backends of the propagation figures: the paper's deep LIF network in a framework's own neurons.

The network is the reference backend's (:mod:`~snninit_adapters.experiments.simulate`): an encoding
neuron layer whose membrane takes the real-valued input :math:`I_0 \sim \mathcal N(0, 1)`, the same
at every step, then ``depth`` blocks of ``Linear(width, width, bias=False)`` -> neuron layer. Here it
is built by the framework's backend (:mod:`snninit_adapters.backends`: snnTorch ``Leaky``,
SpikingJelly ``LIFNode``, Norse ``LIFBoxCell``, each with the paper's leak, threshold and subtract
reset), initialised through :func:`~snninit_adapters.apply_snn_init` with the real input as the
example input, and run with the time loop outside the model. Where the neuron's input gain
:math:`g \ne 1` the input is divided by :math:`g`, so that the encoding layer's membrane starts at
:math:`I_0` as in the paper. :func:`backend_notes` lists every way a framework's neuron differs from
the paper's model.

What is recorded, per layer and step, by :func:`~snninit_adapters.monitor.measure_activity`: the
spike count, and the moments across the layer's neurons of the membrane that is compared with the
threshold, before the reset (snnTorch keeps it; for SpikingJelly and Norse, whose neurons keep the
membrane after the reset, the monitor recomputes it through the neuron's own step).

Seeds: the input is drawn exactly as the reference backend draws it, from
:func:`~snninit_adapters.experiments.seeds.cell_seed`, so every method and every backend of a
cell sees the same input; the weights come from a second seed derived from the cell, the same for
every method.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from snninit_adapters.apply import apply_snn_init
from snninit_adapters.backends import FRAMEWORKS, FrameworkBackend, get_backend
from snninit_adapters.backends.norse import NORSE_DT
from snninit_adapters.experiments.figures import FigureSpec
from snninit_adapters.experiments.seeds import cell_seed
from snninit_adapters.experiments.simulate import LayerStats
from snninit_adapters.init import get_method
from snninit_adapters.monitor import ActivityReport, measure_activity

__all__ = ["FRAMEWORKS", "NORSE_DT", "FrameworkNetwork", "backend_notes", "build", "simulate"]

_FIELDS = ("u_var", "u_mean", "u_skew", "u_kurt", "spikes")
"""The monitor's fields, in the order of :class:`LayerStats`."""


def _zero_linear(width: int, device: torch.device) -> nn.Linear:
    """``Linear(width, width, bias=False)`` with zero weights, skipping PyTorch's default draw."""
    linear = nn.Linear(width, width, bias=False, device="meta").to_empty(device=device)
    with torch.no_grad():
        linear.weight.zero_()
    return linear


class FrameworkNetwork:
    r"""The encoding layer and ``depth`` blocks of Linear -> neuron, built by one framework's backend.

    The model is float32, the frameworks' type (snnTorch's spikes are float32 whatever the input).

    Attributes:
        backend: The framework's backend (single-step: the time loop runs outside the model).
        model: The framework's container of all the layers (what :func:`apply_snn_init` initialises).
        neurons: The neuron layers, encoding layer first (``depth + 1``; ``depth`` without one).
        linears: The weight layers (``depth``), ``nn.Linear(width, width, bias=False)``, zero until initialised.
        width: Neurons per layer.
        depth: Number of weight layers.
        beta: Leak :math:`\beta`.
        theta: Threshold :math:`\theta` of every neuron.
        device: Where the model lives.
    """

    def __init__(
        self,
        backend: FrameworkBackend,
        *,
        width: int,
        depth: int,
        beta: float,
        theta: float,
        device: str | torch.device = "cpu",
        reset: str = "soft",
        encoding: bool = True,
    ) -> None:
        backend.check_leak(beta)
        self.backend = backend
        self.width, self.depth, self.beta, self.theta = int(width), int(depth), float(beta), float(theta)
        self.device = torch.device(device)
        count = self.depth + int(encoding)
        self.neurons = tuple(
            backend.neuron(self.beta, self.theta, device=self.device, reset=reset) for _ in range(count)
        )
        self.linears = tuple(_zero_linear(self.width, self.device) for _ in range(self.depth))
        layers: list[nn.Module] = [self.neurons[0]] if encoding else []
        for linear, neuron in zip(self.linears, self.neurons[int(encoding) :], strict=True):
            layers += [linear, neuron]
        self.model = backend.container(layers).to(device=self.device)
        self.loop = _TimeLoop(backend, self.model)

    @property
    def framework(self) -> str:
        """The framework's name."""
        return self.backend.name

    @property
    def input_gain(self) -> float:
        """The neuron's same-step input gain :math:`g`: a zero membrane becomes :math:`g x` after one step."""
        return self.backend.input_gain(self.beta)

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
        return self._stats(report, self.model, steps)

    def run_sequence(self, sequence: torch.Tensor) -> LayerStats:
        """Run a network built without an encoding layer on a sequence of spikes ``[T, 1, n]``; its statistics.

        Args:
            sequence: The first weight layer's input at every step.

        Returns:
            The statistics of the neuron layers 1 to ``depth`` (the input is not a neuron layer).
        """
        report = measure_activity(self.loop, sequence.to(device=self.device, dtype=torch.float32))
        return self._stats(report, self.loop, int(sequence.shape[0]))

    def _stats(self, report: ActivityReport, model: nn.Module, steps: int) -> LayerStats:
        names = {id(module): name for name, module in model.named_modules()}
        layers = [names[id(neuron)] for neuron in self.neurons]
        if report.layers != layers:
            raise RuntimeError(f"the monitor measured layers {report.layers}, expected {layers}: {report.notes}")
        return _layer_stats(report, layers, steps)


class _TimeLoop(nn.Module):
    """The network run over a whole input sequence ``[T, B, n]`` in one call (the time loop inside)."""

    def __init__(self, backend: FrameworkBackend, body: nn.Module) -> None:
        super().__init__()
        self.backend, self.body = backend, body

    def forward(self, sequence: torch.Tensor) -> torch.Tensor:
        return self.backend.step_through(self.body, sequence)


def _layer_stats(report: ActivityReport, layers: list[str], steps: int) -> LayerStats:
    """The monitor's rows as arrays of shape (layers, steps), in the order of :class:`LayerStats`."""
    arrays = {field: np.full((len(layers), steps), math.nan) for field in _FIELDS}
    for index, name in enumerate(layers):
        rows = report.layer(name)
        if len(rows) != steps or any(row.u_var is None for row in rows):
            raise RuntimeError(f"the monitor could not read layer {name}'s membrane at every step: {report.notes}")
        for row in rows:
            for field in _FIELDS:
                value = getattr(row, field)
                arrays[field][index, row.step] = math.nan if value is None else float(value)
    return LayerStats(*(arrays[field] for field in _FIELDS))


def build(
    name: str,
    *,
    width: int,
    depth: int,
    beta: float,
    theta: float,
    device: str | torch.device = "cpu",
    reset: str = "soft",
    encoding: bool = True,
) -> FrameworkNetwork:
    r"""Build the paper's deep network from one framework's modules, with zero weights.

    Args:
        name: ``"snntorch"``, ``"spikingjelly"`` or ``"norse"``.
        width: Neurons per layer :math:`n`.
        depth: Number of weight layers :math:`L`.
        beta: Leak :math:`\beta`.
        theta: Threshold :math:`\theta` of every neuron.
        device: Torch device of the model (float32).
        reset: The neurons' reset kind, in the framework's own timing (``backend.orderings``).
        encoding: Start with an encoding neuron layer that takes the real-valued input; without it the
            first weight layer reads the input (for spike sequences, :meth:`FrameworkNetwork.run_sequence`).

    Returns:
        The network, ready for :func:`apply_snn_init` on ``network.model`` and :meth:`FrameworkNetwork.run`.

    Raises:
        ValueError: For an unknown framework, or a leak the framework's neuron cannot take.
        MissingFrameworkError: If the framework is not installed (names the pip extra).
    """
    return FrameworkNetwork(get_backend(name), width=width, depth=depth, beta=beta, theta=theta, device=device,
                            reset=reset, encoding=encoding)  # fmt: skip


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
    initialiser = get_method(method)
    options: dict[str, Any] = {"steps": spec.steps} if initialiser.temporal or initialiser.kernel else {}
    apply_snn_init(network.model, network.encode(drive), method=method, generator=weights, **options)
    return {method: network.run(drive, spec.steps)}


def backend_notes(name: str) -> list[str]:
    """How a framework backend's neuron differs from the paper's model, one line per point, with numbers.

    Args:
        name: ``"snntorch"``, ``"spikingjelly"`` or ``"norse"``.

    Returns:
        The lines, for the figure's summary.

    Raises:
        ValueError: For an unknown framework backend.
    """
    return list(get_backend(name).notes)
