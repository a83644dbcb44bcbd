"""One registry of initialisation methods: the paper's, its seven baselines and the temporal rule, by name.

>>> from snninit_adapters import get_method
>>> get_method("snn").name
'micheli2024'
>>> sorted(m.name for m in METHODS.values() if m.provisional)
['ding2022', 'zenke2021']
>>> [m.name for m in METHODS.values() if m.temporal]
['micheli2024_temporal']
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import torch

from snninit_adapters.errors import SNNInitError
from snninit_adapters.init._tensor import Threshold
from snninit_adapters.init.baselines import (
    bellec2018_normal_,
    ding2022_normal_,
    glorot_normal_,
    kaiming_normal_,
    lee2016_uniform_,
    rossbroich2022_normal_,
    zenke2021_normal_,
)
from snninit_adapters.init.snn import snn_normal_, snn_temporal_normal_
from snninit_adapters.theory import (
    LayerContext,
    WeightLaw,
    bellec2018_law,
    ding2022_law,
    glorot_law,
    kaiming_law,
    lee2016_law,
    lee2016_threshold,
    micheli2024_law,
    micheli2024_temporal_law,
    rossbroich2022_law,
    zenke2021_law,
)

__all__ = ["METHODS", "PAPER_METHODS", "InitMethod", "TensorInitializer", "available_methods", "get_method"]


TensorInitializer = Callable[..., torch.Tensor]
"""A tensor initialiser with the shared signature
``(tensor, threshold=1.0, *, mode="fan_in", target_variance=1.0, generator=None, **options) -> tensor``."""


@dataclass(frozen=True)
class InitMethod:
    """A named initialisation method.

    Attributes:
        name: Registry name (``"micheli2024"``, ``"kaiming"``, ...).
        law: Pure function ``(LayerContext, **options) -> WeightLaw``.
        initializer: In-place tensor initialiser with the shared signature.
        citation: The reference it implements.
        summary: One line: the law in symbols.
        aliases: Other names it is found by.
        provisional: True when the formula is a reconstruction not checked against its paper.
        data_dependent: True when its natural inputs come from data (the fluctuation-driven rate).
        threshold_rule: For methods that also prescribe thresholds, ``(fan_in, **options) -> theta``.
        temporal: True when its law needs the neurons' dynamics over time (``LayerContext.temporal``).
        kernel: True when its law reads the driven neurons' leak and steps where they are known
            (``LayerContext.temporal``, over ``steps=T``; one step otherwise), for its PSP kernel integrals.
    """

    name: str
    law: Callable[..., WeightLaw]
    initializer: TensorInitializer
    citation: str
    summary: str
    aliases: tuple[str, ...] = ()
    provisional: bool = False
    data_dependent: bool = False
    threshold_rule: Callable[..., float] | None = None
    temporal: bool = False
    kernel: bool = False

    def __call__(self, tensor: torch.Tensor, threshold: Threshold = 1.0, **kwargs: Any) -> torch.Tensor:
        """Initialise ``tensor`` in place with this method; see :attr:`initializer` for the arguments."""
        return self.initializer(tensor, threshold, **kwargs)

    def weight_law(self, context: LayerContext, **options: Any) -> WeightLaw:
        """The weight law this method gives the layer described by ``context``."""
        return self.law(context, **options)

    def option_names(self) -> tuple[str, ...]:
        """The keyword options its law takes (after the layer's context)."""
        parameters = list(inspect.signature(self.law).parameters.values())[1:]
        return tuple(p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))

    def check_options(self, options: Mapping[str, Any], *, caller: Sequence[str] = (), name: str = "") -> None:
        """Refuse an option the law does not take, naming it, the closest valid name and every option.

        Args:
            options: The options given.
            caller: The keyword arguments of the function they were passed to (suggested when closer).
            name: That function's name, for the message.

        Raises:
            SNNInitError: For an unknown option.
        """
        valid = self.option_names()
        for option in options:
            if option in valid:
                continue
            candidates = {candidate.lower(): candidate for candidate in (*caller, *valid)}
            close = difflib.get_close_matches(option.lower(), list(candidates), n=1)
            hint = ""
            if close and candidates[close[0]] in valid:
                hint = f"did you mean {candidates[close[0]]!r}? "
            elif close:
                hint = f"did you mean {name}'s argument {candidates[close[0]]!r}? "
            takes = f"it takes {', '.join(valid)}" if valid else "it takes none"
            raise SNNInitError(f"method {self.name!r} has no option {option!r}: {hint}{takes}")


_METHODS = (
    InitMethod(
        "micheli2024",
        micheli2024_law,
        snn_normal_,
        "Micheli, Booij, van Gemert & Tömen (2024), Deep activity propagation via weight initialization in SNNs",
        "N(0, 1 / (n P(u > theta)))",
        aliases=("snn",),
    ),
    InitMethod(
        "kaiming",
        kaiming_law,
        kaiming_normal_,
        "He, Zhang, Ren & Sun (2015), Delving deep into rectifiers",
        "N(0, 2 / n)",
        aliases=("he",),
    ),
    InitMethod(
        "glorot",
        glorot_law,
        glorot_normal_,
        "Glorot & Bengio (2010), Understanding the difficulty of training deep feedforward neural networks",
        "N(0, 2 / (n + m))",
        aliases=("xavier",),
    ),
    InitMethod(
        "lee2016",
        lee2016_law,
        lee2016_uniform_,
        "Lee, Delbruck & Pfeiffer (2016), Training deep spiking neural networks using backpropagation",
        "U(-sqrt(3/n), sqrt(3/n)); thresholds alpha sqrt(3/n)",
        threshold_rule=lee2016_threshold,
    ),
    InitMethod(
        "bellec2018",
        bellec2018_law,
        bellec2018_normal_,
        "Bellec et al. (2018), Long short-term memory and learning-to-learn in networks of spiking neurons",
        "N(0, 1 / n)",
    ),
    InitMethod(
        "zenke2021",
        zenke2021_law,
        zenke2021_normal_,
        "Zenke & Vogels (2021), The remarkable robustness of surrogate gradient learning",
        "N(0, omega^2 / n), omega = 1 (provisional)",
        provisional=True,
    ),
    InitMethod(
        "ding2022",
        ding2022_law,
        ding2022_normal_,
        "Ding, Zhang, Yu & Huang (2022), Accelerating training of deep SNNs with parameter initialization",
        "N(0, 2 theta^2 / n) (provisional)",
        provisional=True,
    ),
    InitMethod(
        "rossbroich2022",
        rossbroich2022_law,
        rossbroich2022_normal_,
        "Rossbroich, Gygax & Zenke (2022), Fluctuation-driven initialization for SNN training",
        "N(0, sigma_u^2 / (n nu epsilon_hat))",
        aliases=("fluctuation-driven", "fluctuation_driven"),
        data_dependent=True,
        kernel=True,
    ),
    InitMethod(
        "micheli2024_temporal",
        micheli2024_temporal_law,
        snn_temporal_normal_,
        "Beyond Micheli et al. (2024): the deep fixed point of the multi-step mean-field map (this library)",
        "N(0, kappa* theta^2 / (n g^2)), kappa*: the deep fixed point at the target rate",
        aliases=("snn_temporal", "temporal"),
        temporal=True,
    ),
)

METHODS: Mapping[str, InitMethod] = MappingProxyType({method.name: method for method in _METHODS})
"""Every registered method by its name: the paper's, in its order (proposed method first), then this library's."""

PAPER_METHODS: tuple[str, ...] = tuple(method.name for method in _METHODS if not method.temporal)
"""The paper's proposed method and its seven baselines, in its order."""

_BY_NAME = {name: method for method in _METHODS for name in (method.name, *method.aliases)}


def available_methods() -> tuple[str, ...]:
    """Names of the registered methods: the paper's, in its order, then this library's temporal rule.

    Returns:
        The names.
    """
    return tuple(METHODS)


def get_method(name: str) -> InitMethod:
    """Look a method up by its name or an alias, case-insensitively.

    Args:
        name: A registry name (``"micheli2024"``) or alias (``"snn"``).

    Returns:
        The method.

    Raises:
        SNNInitError: For an unknown name; the message lists the valid ones.
    """
    method = _BY_NAME.get(name.lower()) if isinstance(name, str) else None
    if method is None:
        valid = ", ".join(f"{m.name} (alias {', '.join(m.aliases)})" if m.aliases else m.name for m in _METHODS)
        close = difflib.get_close_matches(name.lower(), list(_BY_NAME), n=1) if isinstance(name, str) else []
        hint = f"did you mean {_BY_NAME[close[0]].name!r}? " if close else ""
        raise SNNInitError(f"unknown initialisation method {name!r}; {hint}valid methods are {valid}")
    return method
