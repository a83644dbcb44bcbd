"""The paper's training experiments (Figs. 8-10): datasets, networks in three frameworks, sweeps.

Needs the ``experiments`` extra for the command line, plots and progress bars, one SNN framework
(snnTorch by default), and optionally ``vision`` (torchvision readers), ``nmnist`` (tonic) and ``ray``.
"""

from snninit_adapters.training.data import DATASETS, Dataset, DatasetNotFoundError, load_dataset
from snninit_adapters.training.grids import figure_grid
from snninit_adapters.training.models import ModelConfig, SpikingClassifier, build_model, spike_count_loss
from snninit_adapters.training.reproduce import TrainingGrid, TrainingResult, run_training, training_grid
from snninit_adapters.training.sweep import SweepOutcome, run_sweep
from snninit_adapters.training.train import CellResult, TrainConfig, train_cell

__all__ = [
    "DATASETS",
    "CellResult",
    "Dataset",
    "DatasetNotFoundError",
    "ModelConfig",
    "SpikingClassifier",
    "SweepOutcome",
    "TrainConfig",
    "TrainingGrid",
    "TrainingResult",
    "build_model",
    "figure_grid",
    "load_dataset",
    "run_sweep",
    "run_training",
    "spike_count_loss",
    "train_cell",
    "training_grid",
]
