"""Train one cell: build the network, initialise it with one method, measure its activity, train, evaluate.

The recipe is the paper's (Sec. V): BPTT through ``T`` steps with the arctan surrogate, the cross
entropy of the output spike counts, Adam (lr 1e-3) with cosine annealing stepped after every batch.
Train accuracy and loss of an epoch are the means over its mini-batches (in training mode, as the
authors' code computes them); test accuracy and loss come from a full pass over the test split after
the epoch. Row ``epoch = 0`` holds the test metrics of the initialised, untrained network.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch

from snninit_adapters.apply import apply_snn_init
from snninit_adapters.init import available_methods
from snninit_adapters.monitor import measure_activity
from snninit_adapters.training.checkpoint import (
    CheckpointError,
    load_checkpoint,
    restore_rng_states,
    rng_states,
    save_checkpoint,
)
from snninit_adapters.training.data import DATASETS, NMNIST_BIN_US, Dataset, load_dataset
from snninit_adapters.training.models import ModelConfig, SpikingClassifier, build_model, spike_count_loss

__all__ = [
    "ACTIVITY_COLUMNS",
    "CELL_COLUMNS",
    "EPOCH_COLUMNS",
    "CellResult",
    "CheckpointWarning",
    "TrainConfig",
    "data_dir_default",
    "evaluate",
    "train_cell",
    "with_overrides",
]


@dataclass(frozen=True)
class TrainConfig:
    r"""One cell of a sweep: dataset, network, initialisation, seed and training hyper-parameters.

    Attributes:
        dataset: ``"mnist"``, ``"fashion-mnist"``, ``"cifar10"`` or ``"nmnist"``.
        architecture: ``"mlp"`` or ``"cnn"``.
        framework: ``"snntorch"`` (the paper's), ``"spikingjelly"`` or ``"norse"``.
        method: Initialisation method for :func:`~snninit_adapters.apply_snn_init` (``"micheli2024"``,
            ``"kaiming"``, ...).
        seed: Seed of the weights and of the order of the batches.
        depth: See :class:`~snninit_adapters.training.models.ModelConfig` (None: the paper's).
        width: See :class:`~snninit_adapters.training.models.ModelConfig` (None: the paper's).
        beta: Leak :math:`\beta`.
        theta: Threshold :math:`\theta`.
        steps: Time steps :math:`T` (for N-MNIST also the frames per sample).
        epochs: Training epochs.
        batch_size: Mini-batch size (the authors' 64).
        lr: Adam's learning rate.
        weight_decay: Adam's weight decay; None for the authors' choice (1e-4 for the CNN, 0 for the MLP).
        t_max: Period of the cosine annealing in batches; None anneals once over the whole run (the
            authors' code used 10).
        bias: ``"zero"`` (zero every re-initialised layer's bias, as the theory assumes) or ``"keep"``
            (PyTorch's default biases, as the authors' code).
        train_size: Train on a fixed random subset of this many samples (None: the whole split).
        test_size: The same for the test split.
        bin_us: N-MNIST bin width in µs.
        max_batches: Stop each epoch after this many batches (None: all); for smoke tests.
        activity_samples: Training samples given to ``apply_snn_init`` and to the activity monitor.
    """

    dataset: str = "fashion-mnist"
    architecture: str = "mlp"
    framework: str = "snntorch"
    method: str = "micheli2024"
    seed: int = 0
    depth: int | None = None
    width: int | None = None
    beta: float = 0.5
    theta: float = 1.0
    steps: int = 3
    epochs: int = 150
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float | None = None
    t_max: int | None = None
    bias: str = "zero"
    train_size: int | None = None
    test_size: int | None = None
    bin_us: int = NMNIST_BIN_US
    max_batches: int | None = None
    activity_samples: int = 256

    @property
    def model(self) -> ModelConfig:
        """The network's settings."""
        return ModelConfig(self.architecture, self.framework, self.depth, self.width, self.beta, self.theta, self.steps)

    @property
    def resolved_weight_decay(self) -> float:
        """The weight decay, with the authors' default filled in."""
        if self.weight_decay is not None:
            return self.weight_decay
        return 1e-4 if self.architecture == "cnn" else 0.0

    def check(self) -> None:
        """Raise ValueError for an impossible cell (before any data is read).

        Raises:
            ValueError: Naming the bad setting.
        """
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose one of {', '.join(DATASETS)}")
        if self.method not in available_methods():
            raise ValueError(f"unknown method {self.method!r}; choose one of {', '.join(available_methods())}")
        if self.bias not in ("zero", "keep"):
            raise ValueError(f"bias must be 'zero' or 'keep', got {self.bias!r}")
        if self.epochs < 0 or self.batch_size < 1 or self.activity_samples < 1:
            raise ValueError("epochs must be >= 0, batch_size and activity_samples >= 1")
        self.model.check()

    def to_cell(self) -> dict[str, Any]:
        """The plain dict a sweep stores (JSON-serialisable)."""
        return asdict(self)

    @classmethod
    def from_cell(cls, cell: Mapping[str, Any]) -> TrainConfig:
        """Rebuild from :meth:`to_cell`'s dict (unknown keys are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in cell.items() if k in names})


CELL_COLUMNS = (
    "dataset", "architecture", "framework", "method", "seed", "depth", "width", "beta", "theta", "steps",
    "epochs", "batch_size", "train_size", "test_size",
)  # fmt: skip
"""The cell's parameters repeated on every row of the tidy tables."""

EPOCH_COLUMNS = (*CELL_COLUMNS, "epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds")
ACTIVITY_COLUMNS = (*CELL_COLUMNS, "layer", "index", "kind", "step", "neurons", "spikes", "rate", "u_var")


@dataclass
class CellResult:
    """What one cell produced.

    Attributes:
        config: The cell.
        epochs: One row per epoch (``EPOCH_COLUMNS``; epoch 0 is the untrained network's test pass).
        activity: One row per neuron layer and step at the start of training (``ACTIVITY_COLUMNS``).
        batch_losses: The training loss of every batch, in order.
        init_report: ``str`` of :func:`apply_snn_init`'s report.
        source: How the data was read.
    """

    config: TrainConfig
    epochs: list[dict[str, Any]] = field(default_factory=list)
    activity: list[dict[str, Any]] = field(default_factory=list)
    batch_losses: list[float] = field(default_factory=list)
    init_report: str = ""
    source: str = ""


def _cell_fields(config: TrainConfig) -> dict[str, Any]:
    model = config.model
    values = {**asdict(config), "depth": model.resolved_depth, "width": model.resolved_width}
    return {name: "" if values[name] is None else values[name] for name in CELL_COLUMNS}


def evaluate(
    model: SpikingClassifier, data: Dataset, *, split: str = "test", batch_size: int = 1000, device: str = "cpu"
) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on a split, in eval mode, without gradients.

    Args:
        model: The classifier.
        data: The dataset.
        split: ``"test"`` or ``"train"``.
        batch_size: Samples per forward pass.
        device: Where the model runs.

    Returns:
        ``(loss, accuracy)``; the predicted class is the output neuron with most spikes (ties: the lowest index).
    """
    part = data.test if split == "test" else data.train
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(part), batch_size):
            x = data.normalise(part.inputs[start : start + batch_size], device)
            y = part.targets[start : start + batch_size].to(device)
            spikes = model(x)
            total_loss += float(spike_count_loss(spikes, y)) * len(y)
            correct += int((spikes.sum(0).argmax(1) == y).sum())
    model.train(was_training)
    return total_loss / max(len(part), 1), correct / max(len(part), 1)


def _activity_rows(model: SpikingClassifier, example: torch.Tensor, base: dict[str, Any]) -> list[dict[str, Any]]:
    report = measure_activity(model, example)
    order = {name: index for index, name in enumerate(report.layers)}
    return [
        {
            **base,
            "layer": row.layer,
            "index": order[row.layer],
            "kind": row.kind,
            "step": row.step,
            "neurons": row.neurons,
            "spikes": row.spikes,
            "rate": row.rate,
            "u_var": "" if row.u_var is None else row.u_var,
        }
        for row in report.rows
    ]


def _initialise(model: SpikingClassifier, data: Dataset, config: TrainConfig, device: str, result: CellResult) -> None:
    """Initialise the model with the cell's method on a batch of training samples; record its start activity."""
    example = data.normalise(data.train.inputs[: config.activity_samples], device)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    report = apply_snn_init(model, example, method=config.method, bias=config.bias, generator=generator)
    result.init_report = str(report)
    result.activity = _activity_rows(model, example, _cell_fields(config))


class _Epochs:
    """The optimiser, the schedule and the batch order of one cell's training run."""

    def __init__(self, model: SpikingClassifier, data: Dataset, config: TrainConfig, device: str) -> None:
        self.model, self.data, self.config, self.device = model, data, config, device
        batches = math.ceil(len(data.train) / config.batch_size)
        self.batches = batches if config.max_batches is None else min(batches, config.max_batches)
        self.optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.resolved_weight_decay)
        t_max = config.t_max if config.t_max is not None else max(1, self.batches * config.epochs)
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=t_max)
        self.order = torch.Generator().manual_seed(config.seed)

    def row(self, epoch: int, train: tuple[float, float], seconds: float | None) -> dict[str, Any]:
        """Test the model: the epoch's row; ``seconds`` None times the test pass itself (epoch 0)."""
        start = time.perf_counter()
        test_loss, test_acc = evaluate(self.model, self.data, device=self.device)
        seconds = time.perf_counter() - start if seconds is None else seconds
        lr = self.config.lr if epoch == 0 else self.scheduler.get_last_lr()[0]
        return {**_cell_fields(self.config), "epoch": epoch, "train_loss": train[0], "train_acc": train[1],
                "test_loss": test_loss, "test_acc": test_acc, "lr": lr, "seconds": seconds}  # fmt: skip

    def state(self) -> dict[str, Any]:
        """Everything the next epochs depend on: weights, optimiser, schedule, batch order, global RNGs."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "order": self.order.get_state(),
            "rng": rng_states(),
        }

    def load(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state`."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.order.set_state(state["order"])
        restore_rng_states(state["rng"])

    def train(self, losses: list[float]) -> tuple[float, float]:
        """One epoch of BPTT over shuffled mini-batches; the mean training loss and accuracy."""
        config, data = self.config, self.data
        self.model.train()
        order = torch.randperm(len(data.train), generator=self.order)
        loss_sum, correct, seen = 0.0, 0, 0
        for index in range(self.batches):
            chosen = order[index * config.batch_size : (index + 1) * config.batch_size]
            x = data.normalise(data.train.inputs[chosen], self.device)
            y = data.train.targets[chosen].to(self.device)
            spikes = self.model(x)
            loss = spike_count_loss(spikes, y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            self.optimizer.step()
            self.scheduler.step()
            value = float(loss.detach())
            losses.append(value)
            loss_sum += value * len(y)
            correct += int((spikes.detach().sum(0).argmax(1) == y).sum())
            seen += len(y)
        return loss_sum / max(seen, 1), correct / max(seen, 1)


def train_cell(
    config: TrainConfig,
    data_dir: str | os.PathLike[str],
    *,
    device: str = "cpu",
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 1,
) -> CellResult:
    """Train one cell and return its per-epoch metrics and its activity at the start of training.

    Args:
        config: The cell.
        data_dir: The data folder (see :mod:`snninit_adapters.training.data`).
        device: Torch device (``"cuda"`` on a GPU machine).
        on_epoch: Called with each epoch's row as soon as it is measured (progress reports; a resumed
            run calls it for the epochs it runs).
        checkpoint: A file for the cell's full state (see :mod:`~snninit_adapters.training.checkpoint`),
            saved after every ``checkpoint_every``-th epoch (epoch 0 and the last included). If it holds an
            intact checkpoint of this cell, training resumes from it; on the CPU the result then equals an
            uninterrupted run's bit for bit (but for the ``seconds`` column). A damaged one is renamed
            ``*.corrupt`` with a :class:`CheckpointWarning` and the cell starts afresh.
        checkpoint_every: Epochs between checkpoints.

    Returns:
        The result.

    Raises:
        ValueError: For an impossible cell.
        DatasetNotFoundError: If the dataset is not in ``data_dir``.
        CheckpointError: If ``checkpoint`` holds an intact checkpoint of another cell.
    """
    config.check()
    if checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
    data = load_dataset(config.dataset, data_dir, frames=config.steps, bin_us=config.bin_us,
                        train_size=config.train_size, test_size=config.test_size)  # fmt: skip
    torch.manual_seed(config.seed)
    model = build_model(config.model, data.sample_shape, data.classes).to(device)
    result = CellResult(config, source=data.source)
    _initialise(model, data, config, device, result)
    epochs = _Epochs(model, data, config, device)
    path = None if checkpoint is None else Path(checkpoint)
    done = -1 if path is None else _resume(path, config, epochs, result)
    for epoch in range(done + 1, config.epochs + 1):
        start = time.perf_counter()
        train = epochs.train(result.batch_losses) if epoch > 0 else (math.nan, math.nan)
        row = epochs.row(epoch, train, time.perf_counter() - start if epoch > 0 else None)
        result.epochs.append(row)
        if on_epoch is not None:
            on_epoch(row)
        if path is not None and (epoch % checkpoint_every == 0 or epoch == config.epochs):
            _save(path, epoch, config, epochs, result)
    return result


class CheckpointWarning(UserWarning):
    """A training cell's checkpoint was damaged and is ignored: the cell starts from epoch 0."""


def _save(path: Path, epoch: int, config: TrainConfig, epochs: _Epochs, result: CellResult) -> None:
    """Checkpoint the cell after ``epoch``: what :func:`_resume` reads back."""
    rows = {"epochs": result.epochs, "batch_losses": result.batch_losses}
    save_checkpoint(path, epoch, {"cell": config.to_cell(), **epochs.state(), **rows})


def _resume(path: Path, config: TrainConfig, epochs: _Epochs, result: CellResult) -> int:
    """Load ``path`` into a freshly initialised cell; the last epoch it holds, or -1 for none (or a damaged one)."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a writer killed mid-save
        stale.unlink(missing_ok=True)
    if not path.is_file():
        return -1
    try:
        epoch, state = load_checkpoint(path)
    except CheckpointError as error:
        damaged = path.with_name(path.name + ".corrupt")
        path.replace(damaged)
        warnings.warn(f"ignoring the checkpoint {path}: {error}; it is kept as {damaged.name} and the cell "
                      "starts from epoch 0", CheckpointWarning, stacklevel=3)  # fmt: skip
        return -1
    if state.get("cell") != config.to_cell():
        raise CheckpointError(f"{path} is the checkpoint of another cell; give this cell its own file, or delete "
                              "that one to start this cell afresh")  # fmt: skip
    epochs.load(state)
    result.epochs[:] = state["epochs"]
    result.batch_losses[:] = state["batch_losses"]
    return epoch


def with_overrides(config: TrainConfig, **changes: Any) -> TrainConfig:
    """``config`` with some fields changed (``None`` values are ignored).

    Args:
        config: The base cell.
        **changes: Field values.

    Returns:
        The new cell.
    """
    return replace(config, **{k: v for k, v in changes.items() if v is not None})


def data_dir_default() -> Path:
    """The data folder when none is given: ``$SNNINIT_DATA_DIR`` or ``./data``."""
    return Path(os.environ.get("SNNINIT_DATA_DIR", "data"))
