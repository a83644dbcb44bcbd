"""Run a grid of training cells on this machine (a process pool), on a Ray cluster or on SLURM, resumably.

Every finished cell is written atomically as it completes (``cells/<key>.csv`` for its epochs,
``cells/<key>.activity.csv`` for its activity at the start of training), and a rerun skips finished
cells, so an interrupted sweep loses at most the cells in flight. A cell that raises is recorded in
``cells/<key>.error.json`` with its traceback and the sweep goes on; a rerun tries it again. At most
``workers`` cells are in flight at once; if a worker process dies (out of memory, a crash in native
code), the cells it may have been running are recorded as failed and a fresh pool runs the rest.

Backends:

- ``local`` (default): ``concurrent.futures.ProcessPoolExecutor`` with the ``spawn`` start method,
  ``workers`` processes (default: the cores available), each with ``cores // workers`` torch threads.
- ``serial``: one cell after another in this process (debugging, and machines where spawning is costly).
- ``ray``: one Ray task per cell on the cluster at ``address`` (``None`` or ``"local"`` starts a local
  Ray instance), each asking for one CPU (or one GPU with ``device="cuda"``). Needs the ``ray`` extra.
  The driver writes the results, so the workers need the data folder at the same path but no shared
  output folder.
- ``submitit``: the cells as one SLURM job array (:mod:`~snninit_adapters.training.slurm`); each task
  writes its own results into the shared output folder, and is requeued and resumed on a timeout.

Each cell keeps a checkpoint in ``cells/<key>.ckpt`` (every ``checkpoint_every`` epochs) and a rerun
resumes it from there.
"""

from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from snninit_adapters.training.slurm import SlurmResources, run_array
from snninit_adapters.training.store import TrainingStore
from snninit_adapters.training.train import TrainConfig
from snninit_adapters.training.worker import DEFAULT_RUNNER, CellArgs, died, run_cell_safely

__all__ = ["BACKENDS", "SweepOutcome", "available_cores", "run_sweep"]

BACKENDS = ("local", "serial", "ray", "submitit")


def available_cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _initialise_worker(threads: int) -> None:
    torch.set_num_threads(threads)


@dataclass
class SweepOutcome:
    """What a sweep did.

    Attributes:
        cells: The grid, in order.
        epochs: Tidy rows of every finished cell (``EPOCH_COLUMNS``).
        activity: Tidy activity rows of every finished cell (``ACTIVITY_COLUMNS``).
        errors: One dict per failed cell: ``cell``, ``error``, ``traceback``.
        computed: Cells run by this sweep (finished or failed).
        reused: Cells found finished by an earlier run.
    """

    cells: list[dict[str, Any]]
    epochs: list[dict[str, Any]] = field(default_factory=list)
    activity: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    computed: int = 0
    reused: int = 0


Report = Callable[[dict[str, Any], dict[str, Any]], None]
Started = Callable[[dict[str, Any]], None]


def _local(todo: list[dict[str, Any]], workers: int, args: CellArgs, report: Report, started: Started) -> None:
    threads = max(1, available_cores() // workers)
    pending = list(todo)
    context = multiprocessing.get_context("spawn")
    while pending:
        with futures.ProcessPoolExecutor(workers, mp_context=context, initializer=_initialise_worker,
                                         initargs=(threads,)) as pool:  # fmt: skip
            running: dict[futures.Future[dict[str, Any]], dict[str, Any]] = {}
            broken = False
            while (pending or running) and not broken:
                while pending and len(running) < workers:
                    cell = pending.pop(0)
                    running[pool.submit(run_cell_safely, cell, *args)] = cell
                    started(cell)
                done, _ = futures.wait(running, return_when=futures.FIRST_COMPLETED)
                for future in done:
                    cell = running.pop(future)
                    try:
                        outcome = future.result()
                    except futures.process.BrokenProcessPool as error:
                        broken = True
                        outcome = died(error)
                    report(cell, outcome)
            if broken:  # the pool is unusable: the cells it was running are lost with it
                for cell in running.values():
                    report(cell, died(futures.process.BrokenProcessPool("the pool broke while this cell ran")))


def _ray(
    todo: list[dict[str, Any]],
    workers: int | None,
    args: CellArgs,
    address: str | None,
    report: Report,
    started: Started,
) -> None:
    try:
        import ray  # type: ignore[import-not-found,unused-ignore]
    except ImportError as error:
        raise ImportError("the ray backend needs Ray: pip install 'snninit-adapters[ray]'") from error
    if not ray.is_initialized():
        if address in (None, "local"):
            ray.init(num_cpus=workers or available_cores(), include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    gpu = args[1].startswith("cuda")
    task = ray.remote(num_cpus=1, num_gpus=1 if gpu else 0, max_retries=0)(run_cell_safely)
    pending = list(todo)
    running: dict[Any, dict[str, Any]] = {}
    if workers is None:  # as many cells in flight as the cluster can run at once
        workers = int(ray.cluster_resources().get("GPU" if gpu else "CPU", 1))  # type: ignore[no-untyped-call,unused-ignore]
    limit = max(workers, 1)
    while pending or running:
        while pending and len(running) < limit:
            cell = pending.pop(0)
            running[task.remote(cell, *args)] = cell
            started(cell)
        ready, _ = ray.wait(list(running), num_returns=1)
        for reference in ready:
            cell = running.pop(reference)
            try:
                outcome = ray.get(reference)
            except Exception as error:  # the worker died (ray.exceptions.WorkerCrashedError, ...)
                outcome = died(error)
            report(cell, outcome)


def run_sweep(
    cells: Sequence[TrainConfig | Mapping[str, Any]],
    *,
    out: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    device: str = "cpu",
    runner: str = DEFAULT_RUNNER,
    progress: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
    whole_grid: Sequence[TrainConfig | Mapping[str, Any]] | None = None,
    checkpoint_every: int = 1,
    slurm: SlurmResources | None = None,
) -> SweepOutcome:
    """Run every unfinished cell of a grid and collect all finished cells' rows.

    Args:
        cells: The grid (TrainConfig or its dict).
        out: The sweep's folder (cells go to ``out/cells``).
        data_dir: The data folder (the same path on every worker).
        backend: ``"local"``, ``"serial"``, ``"ray"`` or ``"submitit"`` (a SLURM job array).
        workers: Cells at once (default: the cores available, at most the cells to run; Ray: the
            cluster's CPUs, or GPUs with ``device="cuda"``).
        address: Ray only: the cluster's address (None or ``"local"``: a local instance).
        device: Torch device of the cells.
        runner: ``module:function`` a worker calls per cell (see :func:`run_cell_safely`).
        progress: Called with ``(cell, outcome)`` as each cell finishes.
        whole_grid: The grid that ``cells`` are part of (one job's cell of an array), recorded in
            ``out/grid.json`` for ``snninit experiments status``; default ``cells``.
        checkpoint_every: Each cell saves its full state to ``cells/<key>.ckpt`` every this many epochs
            and resumes from it when rerun (0: no checkpoints).
        slurm: The submitit backend only: each task's resources (default :class:`SlurmResources`'s).

    Returns:
        The rows of all finished cells (earlier runs' included) and the errors.

    Raises:
        ValueError: For an unknown backend or a negative ``checkpoint_every``.
    """
    store = TrainingStore(Path(out))
    args = _cell_args(backend, data_dir, device, runner, store.directory if checkpoint_every else None,
                      checkpoint_every)  # fmt: skip
    grid = [_as_cell(c) for c in cells]
    outcome = SweepOutcome(grid)
    store.write_grid(grid if whole_grid is None else [_as_cell(c) for c in whole_grid])
    todo = [cell for cell in grid if not store.done(cell)]
    outcome.reused = len(grid) - len(todo)

    if todo:
        report = _reporter(store, outcome, progress)
        _dispatch(backend, todo, workers, args, report, store, address=address, slurm=slurm)
    _collect(store, outcome)
    return outcome


def _reporter(store: TrainingStore, outcome: SweepOutcome, progress: Report | None) -> Report:
    """What to do with each cell's outcome as it arrives: store it (unless its task did), count it, tell."""

    def report(cell: dict[str, Any], result: dict[str, Any]) -> None:
        if not result.get("stored"):  # a submitit task stores its own outcome
            store.write_outcome(cell, result)
        outcome.computed += 1
        if progress is not None:
            progress(cell, result)

    return report


def _cell_args(
    backend: str, data_dir: str | os.PathLike[str], device: str, runner: str, cells: Path | None, every: int
) -> CellArgs:
    """Check the sweep's options (before anything is written); what every cell is run with."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if every < 0:
        raise ValueError(f"checkpoint_every must be >= 0 (0: no checkpoints), got {every}")
    return str(Path(data_dir)), device, runner, None if cells is None else str(cells), max(every, 1)


def _dispatch(
    backend: str,
    todo: list[dict[str, Any]],
    workers: int | None,
    args: CellArgs,
    report: Report,
    store: TrainingStore,
    *,
    address: str | None,
    slurm: SlurmResources | None,
) -> None:
    """Run the cells on the backend, marking each running as it is handed over and reporting each as it ends.

    A submitit task marks its cell itself, on its node, once SLURM starts it.
    """
    if backend == "serial":
        for cell in todo:
            store.mark_running(cell)
            report(cell, run_cell_safely(cell, *args))
    elif backend == "local":
        _local(todo, min(workers or available_cores(), len(todo)), args, report, store.mark_running)
    elif backend == "ray":
        _ray(todo, workers, args, address, report, store.mark_running)
    else:
        run_array(todo, workers, args, store, slurm or SlurmResources(), report)


def _as_cell(cell: TrainConfig | Mapping[str, Any]) -> dict[str, Any]:
    return cell.to_cell() if isinstance(cell, TrainConfig) else dict(cell)


def _collect(store: TrainingStore, outcome: SweepOutcome) -> None:
    """Read every finished cell's rows of the grid, earlier runs' included, and every failed cell's error."""
    for cell in outcome.cells:
        if store.done(cell):
            outcome.epochs.extend(store.read(cell))
            outcome.activity.extend(store.read_activity(cell))
        else:
            error = store.read_error(cell)
            if error is not None:
                outcome.errors.append(error)
