"""A neuron's dynamics over time, read from its record: what the multi-step rule needs to know of it.

The record (:class:`~snninit_adapters.neurons.NeuronRecord`) holds the leak, the reset kind and
timing, the threshold and the input gain; :func:`neuron_dynamics` turns them into the theory's
:class:`~snninit_adapters.theory.Dynamics`, or says why it cannot.
"""

from __future__ import annotations

import numpy as np

from snninit_adapters.neurons import NeuronRecord
from snninit_adapters.theory import Dynamics

__all__ = ["neuron_dynamics"]


def neuron_dynamics(
    record: NeuronRecord, steps: int, *, input_std: float = 1.0
) -> tuple[Dynamics | None, tuple[str, ...]]:
    """The dynamics of one neuron population over ``steps`` steps, and what the rule should say of them.

    Args:
        record: The neurons' record.
        steps: Time steps :math:`T`.
        input_std: The std of their membrane's input current (for neurons that read the data).

    Returns:
        ``(dynamics, notes)``; dynamics None when the record does not say enough (no known leak,
        or a leak outside [0, 1]).
    """
    name = f"{record.framework} {record.kind}"
    if record.leak is None:
        return None, (f"{name} does not say its leak; the layer gets Eq. 10's one-step law",)
    if not 0.0 <= record.leak <= 1.0:
        return None, (f"{name} has leak {record.leak:.4g} outside [0, 1]; the layer gets Eq. 10's one-step law",)
    notes = []
    if record.input_delay:
        notes.append(f"{name} receives its input {record.input_delay} step(s) late; the temporal rule models no delay")
    if record.current_decay is not None:
        notes.append(
            f"{name}'s synaptic current (decay {record.current_decay:.3g} per step) carries its input over the steps; "
            "the temporal rule models the membrane alone"
        )
    theta = float(np.mean(record.theta))
    if theta <= 0:
        return None, (f"{name} has threshold {theta:.4g} <= 0; the layer gets Eq. 10's one-step law",)
    if np.ptp(record.theta) > 1e-6 * theta:
        notes.append(
            f"{name} has per-neuron thresholds ({record.describe_threshold()}); the temporal rule uses their mean"
        )
    dynamics = Dynamics(
        beta=float(record.leak),
        theta=theta,
        reset=record.reset,
        timing=record.reset_timing,
        gain=record.input_gain,
        steps=steps,
        input_std=input_std,
    )
    return dynamics, tuple(notes)
