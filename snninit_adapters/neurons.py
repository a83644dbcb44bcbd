"""The normalised record of a spiking neuron module, whatever framework it comes from.

Each framework adapter reads its neurons into a :class:`NeuronRecord`: where the threshold is kept
and its value, the input gain ``g`` (the coefficient with which the synaptic input enters the
membrane in the same step), the leak, the reset kind, an input delay and the spike amplitude.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
import torch

from snninit_adapters.errors import SNNInitError

__all__ = ["NeuronRecord", "Reset", "ResetTiming", "threshold_array"]

Reset = Literal["soft", "hard", "none"]
ResetTiming = Literal["after_leak", "before_leak"]


def threshold_array(threshold: float | torch.Tensor) -> npt.NDArray[np.float64]:
    """A threshold as a flat float64 array (one value for a scalar threshold)."""
    if isinstance(threshold, torch.Tensor):
        return threshold.detach().to(device="cpu", dtype=torch.float64).reshape(-1).numpy()
    return np.asarray([float(threshold)], dtype=np.float64)


@dataclass(frozen=True)
class NeuronRecord:
    r"""What the initialiser needs to know about one spiking neuron module.

    Attributes:
        framework: The framework it comes from (``"snntorch"``, ``"spikingjelly"``, ``"norse"``, ...).
        kind: The neuron's class name.
        threshold: Threshold :math:`\theta` in membrane units: a float, or a tensor of per-neuron values.
        input_gain: :math:`g`, the same-step coefficient from synaptic input to membrane
            (1 for snnTorch ``Leaky``, ``1/tau`` for SpikingJelly ``LIFNode``, ``dt * tau_mem_inv`` in Norse).
        threshold_source: Where the threshold was read (``"buffer threshold"``, ``"p.v_th"``, ...).
        leak: Membrane decay per step, if the neuron has one.
        reset: ``"soft"`` (subtract), ``"hard"`` (to a value) or ``"none"``.
        reset_timing: When a soft reset acts: ``"before_leak"``, :math:`u_t = \beta (u_{t-1} - \theta s_{t-1}) + g I_t`
            (SpikingJelly, Norse, snnTorch ``reset_delay=False``), or ``"after_leak"``,
            :math:`u_t = \beta u_{t-1} + g I_t - \theta s_{t-1}` (the paper's Eq. 13, snnTorch's default).
        input_delay: Steps before an input reaches the membrane (0 for most neurons).
        current_decay: The decay per step of a synaptic current between the input and the membrane
            (snnTorch ``Synaptic``'s alpha, Norse ``LIFCell``'s ``1 - dt tau_syn_inv``); None without one.
        spike_amplitude: Value of one output spike (snnTorch ``graded_spikes_factor``; 1 otherwise).
        learnable_threshold: True when the threshold is a trainable parameter.
        probed: True when threshold and gain were measured by the black-box probe, not read.
        notes: Anything the report should mention about this neuron.
    """

    framework: str
    kind: str
    threshold: float | torch.Tensor
    input_gain: float = 1.0
    threshold_source: str = ""
    leak: float | None = None
    reset: Reset = "soft"
    reset_timing: ResetTiming = "before_leak"
    input_delay: int = 0
    current_decay: float | None = None
    spike_amplitude: float = 1.0
    learnable_threshold: bool = False
    probed: bool = False
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        values = threshold_array(self.threshold)
        if values.size == 0 or not np.isfinite(values).all():
            raise SNNInitError(
                f"{self.framework} {self.kind} has a threshold that is not finite ({self.threshold_source}: "
                f"{self.threshold!r}); set a finite threshold before initialising"
            )
        if not (math.isfinite(self.input_gain) and self.input_gain > 0):
            raise SNNInitError(
                f"{self.framework} {self.kind} has input gain {self.input_gain!r}: its input does not reach the "
                "membrane in the same step, so the single-step rule cannot scale the layer that feeds it"
            )

    @property
    def theta(self) -> float | npt.NDArray[np.float64]:
        """The threshold as a float, or a float64 array of per-neuron values."""
        values = threshold_array(self.threshold)
        return float(values[0]) if values.size == 1 else values

    def describe_threshold(self) -> str:
        """Short text for reports: the value, or the range of per-neuron values."""
        values = threshold_array(self.threshold)
        if values.size == 1:
            return f"{values[0]:.4g}"
        return f"{values.min():.4g}..{values.max():.4g} ({values.size} values)"
