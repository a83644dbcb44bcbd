r"""The paper's MLP and CNN (Sec. V), built from snnTorch, SpikingJelly or Norse modules.

Both networks take a batch of normalised inputs and return the output layer's spikes at every step,
``[T, B, classes]``; the loss is the cross entropy of the spike counts (:func:`spike_count_loss`).

- **MLP** (the paper's "10 layers, each comprising n = 600 LIF neurons"): the flattened input drives
  an encoding LIF layer (it turns pixels into spikes), then ``depth`` blocks ``Linear -> LIF`` of
  ``width`` neurons, then ``Linear(width, classes) -> LIF``, the output. (The authors' scripts count
  the encoding and output layers in their 10, which leaves 8 hidden layers: ``depth=8``.)
- **CNN** (``depth`` conv layers, the paper's 6 x 64 channels): the input goes straight into
  ``Conv2d(c_in, width, 3, padding=1) -> LIF``, then ``depth - 1`` blocks
  ``Conv2d(width, width, 3, padding=1) -> LIF`` (the spatial size is kept), then
  ``Flatten -> Linear(width * H * W, classes) -> LIF``, the output.

Static images are presented at every one of the ``T`` steps; an event dataset gives one frame per step.
Every neuron is the paper's LIF with leak :math:`\beta`, threshold :math:`\theta`, subtract (soft)
reset and the arctan surrogate gradient (:math:`\alpha = 2`, the frameworks' default), built by the
framework's backend (:mod:`snninit_adapters.backends`), which also runs the layers over the steps from
a state reset through the framework's adapter:

- ``snntorch`` (the paper's framework): ``snn.Leaky(beta, threshold, reset_mechanism="subtract",
  spike_grad=surrogate.atan(), init_hidden=True)`` in an ``nn.Sequential``, called once per
  step; the reset of a spike is subtracted one step later (snnTorch's timing).
- ``spikingjelly``: ``LIFNode(tau=1/(1-beta), decay_input=False, v_threshold=theta, v_reset=None,
  surrogate_function=surrogate.ATan())`` in multi-step mode with ``layer.Linear``/``layer.Conv2d``;
  ``decay_input=False`` gives input gain 1 as in the paper; the soft reset lands in the step of the spike.
  Needs ``0 < beta < 1``.
- ``norse``: ``LIFBoxCell`` (``dt = 1e-3``, ``tau_mem_inv = (1 - beta)/dt``, ``v_leak = v_reset = 0``,
  ``v_th = theta``, ``reset_subtract``) in a ``SequentialState``. Norse ships no arctan surrogate, so
  each cell's step function is swapped for the same step with the arctan surrogate
  (:func:`lif_box_atan_step`); its class stays ``LIFBoxCell``. Its input gain is
  :math:`g = 1 - \beta`, so the MLP's input is divided by :math:`g` (the encoding membrane starts at the
  input, as in the paper); weight layers are left to the initialisation (``apply_snn_init`` accounts
  for :math:`g`, the baselines do not).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from snninit_adapters.backends import FRAMEWORKS, FrameworkBackend, get_backend
from snninit_adapters.backends.norse import NORSE_DT, lif_box_atan_step
from snninit_adapters.backends.surrogate import ATAN_ALPHA, atan_spike

__all__ = [
    "ARCHITECTURES",
    "ATAN_ALPHA",
    "FRAMEWORKS",
    "NORSE_DT",
    "ModelConfig",
    "SpikingClassifier",
    "atan_spike",
    "build_model",
    "lif_box_atan_step",
    "spike_count_loss",
]

ARCHITECTURES = ("mlp", "cnn")

DEFAULTS = {"mlp": (10, 600), "cnn": (6, 64)}
"""Architecture -> the paper's (depth, width)."""


@dataclass(frozen=True)
class ModelConfig:
    r"""What to build.

    Attributes:
        architecture: ``"mlp"`` or ``"cnn"``.
        framework: ``"snntorch"``, ``"spikingjelly"`` or ``"norse"``.
        depth: Hidden spiking layers: MLP: ``Linear -> LIF`` blocks of ``width`` neurons (10), between
            the encoding layer and the output layer; CNN: ``Conv2d -> LIF`` blocks (6). None for the paper's value.
        width: MLP: neurons per hidden layer (600); CNN: channels per conv layer (64). None for the paper's.
        beta: Leak :math:`\beta`.
        theta: Threshold :math:`\theta` of every neuron.
        steps: Time steps :math:`T`.
    """

    architecture: str = "mlp"
    framework: str = "snntorch"
    depth: int | None = None
    width: int | None = None
    beta: float = 0.5
    theta: float = 1.0
    steps: int = 3

    @property
    def resolved_depth(self) -> int:
        """The depth, with the paper's default filled in."""
        return self.depth if self.depth is not None else DEFAULTS[self.architecture][0]

    @property
    def resolved_width(self) -> int:
        """The width, with the paper's default filled in."""
        return self.width if self.width is not None else DEFAULTS[self.architecture][1]

    def check(self, frameworks: Sequence[str] = FRAMEWORKS) -> None:
        """Raise ValueError for settings no network can have.

        Args:
            frameworks: The frameworks it may name (those with a backend).

        Raises:
            ValueError: For an unknown architecture or framework, too small a depth, width or step count.
        """
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {self.architecture!r}; choose one of {', '.join(ARCHITECTURES)}")
        if self.framework not in frameworks:
            raise ValueError(f"unknown framework {self.framework!r}; choose one of {', '.join(frameworks)}")
        if self.resolved_depth < 1:
            raise ValueError(f"the {self.architecture} needs depth >= 1, got {self.resolved_depth}")
        if self.resolved_width < 1 or self.steps < 1:
            raise ValueError(f"width and steps must be positive, got {self.resolved_width}, {self.steps}")
        if not 0.0 <= self.beta <= 1.0:
            raise ValueError(f"beta must lie in [0, 1], got {self.beta!r}")


def spike_count_loss(spikes: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross entropy of the output spike counts (snnTorch's ``ce_count_loss``).

    Args:
        spikes: Output spikes ``[T, B, classes]``.
        targets: Class labels ``[B]``.

    Returns:
        The mean loss over the batch.
    """
    return F.cross_entropy(spikes.sum(0), targets)


class SpikingClassifier(nn.Module):
    """A spiking network that maps a batch to its output spikes at every step.

    Attributes:
        body: The framework's container of all the layers.
        config: What was built.
        backend: The framework backend that built the layers and runs them over the steps.
        input_gain: The encoding neurons' same-step input gain (the MLP's input is divided by it).
    """

    def __init__(self, body: nn.Module, config: ModelConfig, backend: FrameworkBackend) -> None:
        super().__init__()
        self.body = body
        self.config = config
        self.backend = backend
        self.input_gain = backend.input_gain(config.beta)

    @property
    def framework(self) -> str:
        """The framework the network is built from."""
        return self.backend.name

    def frames(self, x: torch.Tensor) -> torch.Tensor:
        """The input at each step, ``[T, B, ...]``: an image repeated, or a sequence's frames (``[B, T, ...]``).

        Args:
            x: ``[B, C, H, W]`` images or ``[B, T, C, H, W]`` frames.

        Returns:
            The per-step input, flattened for the MLP.
        """
        steps = self.config.steps
        seq = x.transpose(0, 1) if x.dim() == 5 else x.unsqueeze(0).expand(steps, *x.shape)
        if seq.shape[0] != steps:
            raise ValueError(f"the model runs {steps} steps but the input has {seq.shape[0]} frames")
        if self.config.architecture == "mlp":
            seq = seq.reshape(seq.shape[0], seq.shape[1], -1)
            if self.input_gain != 1.0:
                seq = seq / self.input_gain
        return seq

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run all the steps from a fresh state.

        Args:
            x: A batch (see :meth:`frames`).

        Returns:
            The output spikes ``[T, B, classes]``.
        """
        return self.run(self.frames(x))

    def run(self, seq: torch.Tensor) -> torch.Tensor:
        """Reset the neurons and run the body over ``seq`` (``[T, B, ...]``); the output spikes per step."""
        return self.backend.run(self.body, seq)


def _layers(config: ModelConfig, in_shape: tuple[int, ...], classes: int, backend: FrameworkBackend) -> list[nn.Module]:
    """The MLP's or the CNN's layers, encoding (MLP) or first conv layer first, the output neurons last."""
    depth, width = config.resolved_depth, config.resolved_width

    def neuron() -> nn.Module:
        return backend.neuron(config.beta, config.theta, surrogate=True)

    if config.architecture == "mlp":
        layers: list[nn.Module] = [neuron()]
        previous = math.prod(in_shape)
        for _ in range(depth):
            layers += [backend.linear(previous, width), neuron()]
            previous = width
        return [*layers, backend.linear(previous, classes), neuron()]
    channels, height, width_px = in_shape
    layers = []
    previous = channels
    for _ in range(depth):
        layers += [backend.conv(previous, width), neuron()]
        previous = width
    return [*layers, backend.flatten(), backend.linear(width * height * width_px, classes), neuron()]


def build_model(
    config: ModelConfig, in_shape: tuple[int, ...], classes: int = 10, *, backend: FrameworkBackend | None = None
) -> SpikingClassifier:
    """Build the paper's MLP or CNN in one framework, with PyTorch's default initialisation.

    Args:
        config: Architecture, framework and hyper-parameters.
        in_shape: Shape of one input frame, ``(C, H, W)``.
        classes: Number of output neurons.
        backend: The backend to build with (default: the config's framework's, multi-step where it can be);
            ``config.framework`` must then be its name.

    Returns:
        The classifier (call :func:`~snninit_adapters.apply_snn_init` on it with a batch to initialise).

    Raises:
        ValueError: For settings the network or the framework's neuron cannot take.
        MissingFrameworkError: If the framework is not installed (names the pip extra).
    """
    config.check(frameworks=FRAMEWORKS if backend is None else (backend.name,))
    backend = backend if backend is not None else get_backend(config.framework, multi_step=True)
    backend.check_leak(config.beta)
    return SpikingClassifier(backend.container(_layers(config, tuple(in_shape), classes, backend)), config, backend)
