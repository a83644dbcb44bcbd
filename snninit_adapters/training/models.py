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
reset and the arctan surrogate gradient (:math:`\alpha = 2`, the frameworks' default):

- ``snntorch`` (the paper's framework): ``snn.Leaky(beta, threshold, reset_mechanism="subtract",
  spike_grad=surrogate.atan(), init_hidden=True)`` in an ``nn.Sequential``, the time loop in
  :class:`SpikingClassifier`; the reset of a spike is subtracted one step later (snnTorch's timing).
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
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from snninit_adapters.plugins import require_framework

__all__ = [
    "ARCHITECTURES",
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
FRAMEWORKS = ("snntorch", "spikingjelly", "norse")
NORSE_DT = 1e-3
"""Norse's step (its default, seconds); ``tau_mem_inv = (1 - beta) / dt``."""

ATAN_ALPHA = 2.0
"""Width parameter of the arctan surrogate (snnTorch's and SpikingJelly's default)."""

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

    def check(self) -> None:
        """Raise ValueError for settings no network can have.

        Raises:
            ValueError: For an unknown architecture or framework, too small a depth, width or step count.
        """
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {self.architecture!r}; choose one of {', '.join(ARCHITECTURES)}")
        if self.framework not in FRAMEWORKS:
            raise ValueError(f"unknown framework {self.framework!r}; choose one of {', '.join(FRAMEWORKS)}")
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


class _ATanSpike(torch.autograd.Function):
    """Heaviside forward (spike where x > 0); arctan surrogate derivative backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, alpha: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (x,) = ctx.saved_tensors
        alpha = ctx.alpha
        return grad * (alpha / 2) / (1 + (math.pi / 2 * alpha * x) ** 2), None


def atan_spike(x: torch.Tensor, alpha: float = ATAN_ALPHA) -> torch.Tensor:
    r"""Spikes :math:`H(x)`, differentiated as :math:`\frac{\alpha/2}{1 + (\pi \alpha x / 2)^2}` (arctan surrogate).

    The same function as snnTorch's ``surrogate.atan()`` and SpikingJelly's ``surrogate.ATan()``
    (Fang et al. 2021).

    Args:
        x: Membrane minus threshold.
        alpha: Width parameter.

    Returns:
        The spikes, same shape and dtype.
    """
    result: torch.Tensor = _ATanSpike.apply(x, alpha)  # type: ignore[no-untyped-call]
    return result


def lif_box_atan_step(input_tensor: torch.Tensor, state: Any, p: Any, dt: float = NORSE_DT) -> tuple[torch.Tensor, Any]:
    """Norse's ``lif_box_feed_forward_step`` with the arctan surrogate instead of ``p.method``.

    Args:
        input_tensor: Input current at this step.
        state: ``LIFBoxFeedForwardState``.
        p: ``LIFBoxParameters``.
        dt: Integration step.

    Returns:
        The spikes and the new state.
    """
    v_decayed = state.v + dt * p.tau_mem_inv * (input_tensor + p.v_leak - state.v)
    z = atan_spike(v_decayed - p.v_th)
    v = p.reset_method(z, v_decayed, p.v_reset, p.v_th)
    return z, type(state)(v=v)


class SpikingClassifier(nn.Module, ABC):
    """A spiking network that maps a batch to its output spikes at every step.

    Attributes:
        body: The framework's container of all the layers.
        config: What was built.
        input_gain: The encoding neurons' same-step input gain (the MLP's input is divided by it).
    """

    framework: ClassVar[str]

    def __init__(self, body: nn.Module, config: ModelConfig, input_gain: float = 1.0) -> None:
        super().__init__()
        self.body = body
        self.config = config
        self.input_gain = input_gain

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

    @abstractmethod
    def run(self, seq: torch.Tensor) -> torch.Tensor:
        """Reset the neurons and run the body over ``seq`` (``[T, B, ...]``); the output spikes per step."""


class _SnnTorch(SpikingClassifier):
    framework = "snntorch"

    def run(self, seq: torch.Tensor) -> torch.Tensor:
        for module in self.body.modules():
            reset: Any = getattr(module, "reset_mem", None)
            if callable(reset) and hasattr(module, "mem"):
                reset()
        return torch.stack([self.body(x_t) for x_t in seq])


class _SpikingJelly(SpikingClassifier):
    framework = "spikingjelly"

    def run(self, seq: torch.Tensor) -> torch.Tensor:
        require_framework("spikingjelly", "spikingjelly.activation_based.functional").reset_net(self.body)  # type: ignore[attr-defined]
        out: torch.Tensor = self.body(seq)
        return out


class _Norse(SpikingClassifier):
    framework = "norse"

    def run(self, seq: torch.Tensor) -> torch.Tensor:
        state = None
        outputs = []
        for x_t in seq:
            out, state = self.body(x_t, state)
            outputs.append(out)
        return torch.stack(outputs)


def _layers(
    config: ModelConfig, in_shape: tuple[int, ...], classes: int, neuron: Any, linear: Any, conv: Any, flatten: Any
) -> list[nn.Module]:
    depth, width = config.resolved_depth, config.resolved_width
    if config.architecture == "mlp":
        features = math.prod(in_shape)
        layers: list[nn.Module] = [neuron()]
        previous = features
        for _ in range(depth):
            layers += [linear(previous, width), neuron()]
            previous = width
        return [*layers, linear(previous, classes), neuron()]
    channels, height, width_px = in_shape
    layers = []
    previous = channels
    for _ in range(depth):
        layers += [conv(previous, width), neuron()]
        previous = width
    return [*layers, flatten(), linear(width * height * width_px, classes), neuron()]


def _snntorch(config: ModelConfig, in_shape: tuple[int, ...], classes: int) -> SpikingClassifier:
    snn: Any = require_framework("snntorch")
    surrogate: Any = require_framework("snntorch", "snntorch.surrogate")
    made: list[nn.Module] = []

    def neuron() -> nn.Module:
        cell: nn.Module = snn.Leaky(
            beta=config.beta,
            threshold=config.theta,
            reset_mechanism="subtract",
            spike_grad=surrogate.atan(alpha=ATAN_ALPHA),
            init_hidden=True,
        )
        made.append(cell)
        return cell

    def conv(c_in: int, c_out: int) -> nn.Module:
        return nn.Conv2d(c_in, c_out, 3, padding=1)

    body = nn.Sequential(*_layers(config, in_shape, classes, neuron, nn.Linear, conv, nn.Flatten))
    # snnTorch keeps every neuron in a class-level list (for its reset helpers); the classifier resets
    # its own neurons, so drop them there and let a finished cell's model be freed
    ours = {id(cell) for cell in made}
    snn.SpikingNeuron.instances[:] = [n for n in snn.SpikingNeuron.instances if id(n) not in ours]
    return _SnnTorch(body, config)


def _spikingjelly(config: ModelConfig, in_shape: tuple[int, ...], classes: int) -> SpikingClassifier:
    if not 0.0 < config.beta < 1.0:
        raise ValueError(f"SpikingJelly's LIFNode needs tau = 1 / (1 - beta) > 1, so 0 < beta < 1; got {config.beta}")
    neuron_module: Any = require_framework("spikingjelly", "spikingjelly.activation_based.neuron")
    layer: Any = require_framework("spikingjelly", "spikingjelly.activation_based.layer")
    surrogate: Any = require_framework("spikingjelly", "spikingjelly.activation_based.surrogate")

    def neuron() -> nn.Module:
        cell: nn.Module = neuron_module.LIFNode(
            tau=1.0 / (1.0 - config.beta),
            decay_input=False,
            v_threshold=float(config.theta),
            v_reset=None,
            surrogate_function=surrogate.ATan(alpha=ATAN_ALPHA),
            step_mode="m",
        )
        return cell

    def linear(n_in: int, n_out: int) -> nn.Module:
        module: nn.Module = layer.Linear(n_in, n_out, step_mode="m")
        return module

    def conv(c_in: int, c_out: int) -> nn.Module:
        module: nn.Module = layer.Conv2d(c_in, c_out, 3, padding=1, step_mode="m")
        return module

    def flatten() -> nn.Module:
        module: nn.Module = layer.Flatten(step_mode="m")
        return module

    body = nn.Sequential(*_layers(config, in_shape, classes, neuron, linear, conv, flatten))
    return _SpikingJelly(body, config)


def _norse(config: ModelConfig, in_shape: tuple[int, ...], classes: int) -> SpikingClassifier:
    if not config.beta < 1.0:
        raise ValueError(f"Norse's LIFBoxCell needs beta < 1 (input gain 1 - beta > 0); got {config.beta}")
    box: Any = require_framework("norse", "norse.torch.module.lif_box")
    parameters: Any = require_framework("norse", "norse.torch.functional.lif_box")
    reset: Any = require_framework("norse", "norse.torch.functional.reset")
    sequential: Any = require_framework("norse", "norse.torch.module.sequential")

    def neuron() -> nn.Module:
        p = parameters.LIFBoxParameters(
            tau_mem_inv=torch.tensor((1.0 - config.beta) / NORSE_DT),
            v_leak=torch.tensor(0.0),
            v_th=torch.tensor(float(config.theta)),
            v_reset=torch.tensor(0.0),
            reset_method=reset.reset_subtract,
        )
        cell: Any = box.LIFBoxCell(p=p, dt=NORSE_DT)
        cell.activation = lif_box_atan_step
        module: nn.Module = cell
        return module

    def conv(c_in: int, c_out: int) -> nn.Module:
        return nn.Conv2d(c_in, c_out, 3, padding=1)

    body = sequential.SequentialState(*_layers(config, in_shape, classes, neuron, nn.Linear, conv, nn.Flatten))
    return _Norse(body, config, input_gain=1.0 - config.beta)


_BUILDERS = {"snntorch": _snntorch, "spikingjelly": _spikingjelly, "norse": _norse}


def build_model(config: ModelConfig, in_shape: tuple[int, ...], classes: int = 10) -> SpikingClassifier:
    """Build the paper's MLP or CNN in one framework, with PyTorch's default initialisation.

    Args:
        config: Architecture, framework and hyper-parameters.
        in_shape: Shape of one input frame, ``(C, H, W)``.
        classes: Number of output neurons.

    Returns:
        The classifier (call :func:`~snninit_adapters.apply_snn_init` on it with a batch to initialise).

    Raises:
        ValueError: For settings the network or the framework's neuron cannot take.
        MissingFrameworkError: If the framework is not installed (names the pip extra).
    """
    config.check()
    return _BUILDERS[config.framework](config, tuple(in_shape), classes)
