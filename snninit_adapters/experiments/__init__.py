"""The paper's experiments: activity propagation through deep networks (Figs. 2-7)."""

from snninit_adapters.experiments.claims import Claim, claims
from snninit_adapters.experiments.figures import FIGURES, FigureSpec, figure_spec
from snninit_adapters.experiments.propagation import BACKENDS, PropagationResult, run_propagation

__all__ = [
    "BACKENDS",
    "FIGURES",
    "Claim",
    "FigureSpec",
    "PropagationResult",
    "claims",
    "figure_spec",
    "run_propagation",
]
