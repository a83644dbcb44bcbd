"""The SLURM backend of the training sweeps, through submitit: a sweep's cells as one job array.

Each cell is one task of an array (``sbatch --array=0-N%workers`` under the hood) with the resources of
:class:`SlurmResources`. The task trains the cell and writes its checkpoint, then its result or error,
into the sweep's folder itself, so that folder (and the data folder) must be on a filesystem the nodes
share. The driver (the ``snninit experiments training`` process) waits for the array and reports each
cell as it ends; if the driver is stopped, the array goes on, and rerunning the same command once it
has finished collects every cell it wrote (run ``snninit experiments status`` meanwhile: rerunning
while the array runs would submit its unfinished cells a second time).

When SLURM times a task out or preempts it, it signals the task first; submitit then calls
:meth:`CellJob.checkpoint`, which hands back the same cell, and requeues the task (at most
``max_requeues`` times). The requeued task resumes the cell from its last checkpoint, so a timeout
costs at most the epoch in progress. Needs the ``slurm`` extra (``pip install 'snninit-adapters[slurm]'``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snninit_adapters.training.store import TrainingStore
from snninit_adapters.training.worker import CellArgs, died, run_cell_safely

__all__ = ["CellJob", "SlurmResources", "run_array"]


@dataclass(frozen=True)
class SlurmResources:
    """What each cell's task asks SLURM for, and how the array is run.

    Attributes:
        partition: SLURM partition (None: the cluster's default).
        time_min: Wall-clock limit of one task in minutes; a task that reaches it is requeued and resumes.
        gpus: GPUs per task (use with ``device="cuda"``).
        cpus: CPUs per task.
        mem_gb: Memory per task in GB (None: the partition's default).
        max_requeues: Requeues of one task after a timeout or a preemption.
        cluster: ``"slurm"``; ``"local"`` runs every task as a process on this machine, all at once (a
            rehearsal of the array, and the tests); ``"debug"`` runs them in this process; None picks
            SLURM where ``sbatch`` is found and local processes otherwise.
        folder: submitit's folder (job scripts, logs, pickles); None: ``submitit/`` in the sweep's folder.
    """

    partition: str | None = None
    time_min: int = 720
    gpus: int = 0
    cpus: int = 1
    mem_gb: float | None = None
    max_requeues: int = 3
    cluster: str | None = None
    folder: str | None = None

    def executor(self, folder: Path, parallelism: int) -> Any:
        """Submitit's executor of these resources, with at most ``parallelism`` tasks running at once.

        Raises:
            ImportError: If submitit is not installed.
        """
        try:
            import submitit  # type: ignore[import-not-found,unused-ignore]
        except ImportError as error:
            raise ImportError("the submitit backend needs submitit: pip install 'snninit-adapters[slurm]'") from error
        executor = submitit.AutoExecutor(folder=self.folder or folder, cluster=self.cluster,
                                         slurm_max_num_timeout=self.max_requeues,
                                         local_max_num_timeout=self.max_requeues)  # fmt: skip
        executor.update_parameters(name="snninit-cell", timeout_min=self.time_min, cpus_per_task=self.cpus,
                                   gpus_per_node=self.gpus, mem_gb=self.mem_gb, slurm_partition=self.partition,
                                   slurm_array_parallelism=parallelism)  # fmt: skip
        return executor


class CellJob:
    """One cell as a task of the array: it stores its own outcome, and is requeued as it is.

    Args:
        args: What :func:`~snninit_adapters.training.worker.run_cell_safely` takes after the cell.
        sweep: The sweep's folder (its ``cells/`` receives the outcome).
    """

    def __init__(self, args: CellArgs, sweep: str) -> None:
        self.args, self.sweep = args, sweep

    def __call__(self, cell: dict[str, Any]) -> dict[str, Any]:
        """Run the cell on this node, mark it running meanwhile, and store what it gave."""
        store = TrainingStore(Path(self.sweep))
        store.mark_running(cell)
        outcome = run_cell_safely(cell, *self.args)
        store.write_outcome(cell, outcome)
        return {**outcome, "stored": True}

    def checkpoint(self, cell: dict[str, Any]) -> Any:
        """Submitit's hook on a timeout or a preemption: requeue the same cell (it resumes from its checkpoint)."""
        import submitit  # type: ignore[import-not-found,unused-ignore]

        return submitit.helpers.DelayedSubmission(CellJob(self.args, self.sweep), cell)


def run_array(
    todo: list[dict[str, Any]],
    workers: int | None,
    args: CellArgs,
    store: TrainingStore,
    resources: SlurmResources,
    report: Callable[[dict[str, Any], dict[str, Any]], None],
) -> None:
    """Submit the cells as one array and call ``report`` as each task ends (a dead task: as failed)."""
    import submitit  # type: ignore[import-not-found,unused-ignore]

    sweep = store.directory.parent
    executor = resources.executor(sweep / "submitit", workers or len(todo))
    jobs = executor.map_array(CellJob(args, str(sweep)), todo)
    cells = {job.job_id: cell for job, cell in zip(jobs, todo, strict=True)}
    poll = 15.0 if executor.cluster == "slurm" else 0.5
    for job in submitit.helpers.as_completed(jobs, poll_frequency=poll):
        try:
            outcome = job.result()
        except Exception as error:  # the task died: killed, out of memory, or timed out too often
            outcome = died(error, f"cancelled, out of memory, or out of time more than {resources.max_requeues} "
                                  f"times; its log is in {executor.folder}")  # fmt: skip
        report(cells[job.job_id], outcome)
