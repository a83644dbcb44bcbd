"""The paper's activity-propagation figures (Micheli et al. 2024, Figs. 2-7): what each one compares.

Paper-scale defaults follow Sec. IV: 100 layers of 1000 neurons, 20 runs (10 for the multi-step
figures), 20 steps, beta = 0.5 (0.9 for Fig. 7), soft reset, a constant input at every step.
Thresholds {0, 0.2, ..., 1.0} where the paper does not list them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from snninit_adapters.init import PAPER_METHODS

__all__ = ["FIGURES", "FigureSpec", "figure_spec"]

PAPER_THRESHOLDS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class FigureSpec:
    r"""One figure's experiment.

    Attributes:
        number: Figure number in the paper.
        title: What it shows.
        claim: The paper's claim, quoted in the summary.
        methods: Initialisation methods compared.
        thresholds: Thresholds :math:`\theta`.
        widths: Layer widths :math:`n`.
        depth: Number of weight layers.
        runs: Independent networks per setting.
        steps: Time steps (1: a single step).
        beta: Leak :math:`\beta`.
    """

    number: int
    title: str
    claim: str
    methods: tuple[str, ...]
    thresholds: tuple[float, ...]
    widths: tuple[int, ...] = (1000,)
    depth: int = 100
    runs: int = 20
    steps: int = 1
    beta: float = 0.5

    def quick(self) -> FigureSpec:
        """Small settings for tests and a first look: 20 layers, 3 runs, at most 5 steps.

        The widths stay: narrower layers would show the finite-size effect of Fig. 4 instead of the
        figure's own point.
        """
        return replace(self, depth=20, runs=3, steps=min(self.steps, 5))


_ALL = PAPER_METHODS

FIGURES: dict[int, FigureSpec] = {
    2: FigureSpec(
        2,
        "Var[u_l] over 100 layers, one step: the paper's method against Kaiming for six thresholds",
        "The proposed method keeps Var[u_l] = 1 over all 100 layers for every threshold; under Kaiming the "
        "variance dissipates, worst near theta = 1, and only theta = 0 works.",
        ("micheli2024", "kaiming"),
        PAPER_THRESHOLDS,
    ),
    3: FigureSpec(
        3,
        "Var[u_l] and spikes per layer, one step, theta = 1: the paper's method against the 7 baselines",
        "All methods but Rossbroich et al. fail to sustain activity beyond about 5 layers; the proposed "
        "method keeps Var[u_l] constant and spikes reach all 100 layers.",
        _ALL,
        (1.0,),
    ),
    4: FigureSpec(
        4,
        "Finite-size effect: Var[u_l] under the paper's method for n = 100 and n = 600",
        "With n = 100 activity cannot be kept for theta > 0.85; with n = 600 only theta = 1 still degrades. "
        "The theory holds exactly for 0 <= theta <= 1 and n > 600.",
        ("micheli2024",),
        (0.0, 0.2, 0.4, 0.6, 0.8, 0.85, 0.9, 0.95, 1.0),
        widths=(100, 600),
    ),
    5: FigureSpec(
        5,
        "Var[u_l^t] and spikes per layer and step over 20 steps (beta = 0.5, theta = 1)",
        "The proposed method propagates activity through layers and time steps; Kaiming loses it within a "
        "few layers at every step.",
        ("micheli2024", "kaiming", "micheli2024_temporal"),
        (1.0,),
        runs=10,
        steps=20,
    ),
    6: FigureSpec(
        6,
        "Var[u_l] and spikes per layer averaged over 20 steps, the 8 methods and the temporal rule (theta = 1)",
        "The proposed method approximately conserves the variance, with a slow decrease in spike count; "
        "the other methods but Rossbroich et al. lose the activity.",
        (*_ALL, "micheli2024_temporal"),
        (1.0,),
        runs=10,
        steps=20,
    ),
    7: FigureSpec(
        7,
        "beta = 0.9: Var[u_l^t], and skewness and excess kurtosis of u_l^t averaged over steps",
        "With beta = 0.9 the reset makes u left-skewed and heavy-tailed, and the propagation is less stable.",
        ("micheli2024", "kaiming", "micheli2024_temporal"),
        (1.0,),
        runs=10,
        steps=20,
        beta=0.9,
    ),
}


def figure_spec(number: int, *, quick: bool = False) -> FigureSpec:
    """The spec of figure ``number`` (2 to 7), at paper scale or with ``quick`` settings.

    Raises:
        ValueError: For a figure the library does not reproduce.
    """
    if number not in FIGURES:
        raise ValueError(f"figure {number} is not a propagation figure; choose one of {sorted(FIGURES)}")
    spec = FIGURES[number]
    return spec.quick() if quick else spec
