"""Exceptions raised by snninit_adapters.

::

    ValueError
     └── SNNInitError            any invalid input this library detects
          └── FiringProbabilityUnderflowError
                                 P(u > theta) is too small to give a finite weight variance
"""

from __future__ import annotations

__all__ = ["FiringProbabilityUnderflowError", "SNNInitError"]


class SNNInitError(ValueError):
    """Invalid input detected by snninit_adapters; the message says what was wrong and how to fix it."""


class FiringProbabilityUnderflowError(SNNInitError):
    """The firing probability P(u > theta) underflows, so the weight variance 1 / (n P) is not finite.

    Attributes:
        theta: The threshold (or the largest of the per-neuron thresholds) that caused it.
    """

    def __init__(self, theta: float, detail: str = "") -> None:
        self.theta = theta
        message = (
            f"firing probability P(u > theta) underflows for theta={theta!r} (in units of the membrane "
            "potential's standard deviation): almost no neuron can fire, and the weight variance "
            "1 / (fan_in * P) is not a finite number. Lower the threshold, or express it in units where "
            "the membrane potential has unit variance."
        )
        super().__init__(f"{message} {detail}".strip())


for _cls in (SNNInitError, FiringProbabilityUnderflowError):
    _cls.__module__ = "snninit_adapters"
