import json
import os
import signal
import time

import pytest

pytest.importorskip("submitit")

from snninit_adapters.training.checkpoint import read_header
from snninit_adapters.training.slurm import CellJob, SlurmResources
from snninit_adapters.training.store import TrainingStore
from snninit_adapters.training.sweep import run_sweep
from snninit_adapters.training.train import TrainConfig

RUNNER = "tests.training._runners:fake_train"
LOCAL = SlurmResources(cluster="local", time_min=10)


def _wait_for(condition, what, timeout=120):
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, f"waited {timeout} s for {what}"
        time.sleep(0.05)


def test_the_array_stores_every_cell_and_a_dead_task_as_failed(tmp_path):
    cells = [TrainConfig(dataset="mnist", method=m, epochs=2) for m in ("micheli2024", "crash", "die")]
    outcome = run_sweep(cells, out=tmp_path, data_dir="nowhere", backend="submitit", runner=RUNNER, slurm=LOCAL)
    assert outcome.computed == 3
    store = TrainingStore(tmp_path)
    states = [store.state(c.to_cell()) for c in cells]
    assert states[0] == "done"
    assert states[1] == "failed: RuntimeError: boom in mnist (checkpoint after epoch 1)"
    assert states[2].startswith("failed: worker process died")  # os._exit in the task: the driver records it
    assert states[2].endswith(f"out of time more than 3 times; its log is in {tmp_path / 'submitit'}")
    assert len(outcome.epochs) == 3
    assert (tmp_path / "submitit").is_dir()  # submitit's scripts and logs, beside cells/


def test_a_preempted_task_is_requeued_and_resumes_from_its_checkpoint(tmp_path):
    store = TrainingStore(tmp_path)
    cell = TrainConfig(dataset="mnist", method="slow", epochs=8).to_cell()
    executor = LOCAL.executor(tmp_path / "submitit", 1)
    job = executor.submit(CellJob(("nowhere", "cpu", RUNNER, str(store.directory), 1), str(tmp_path)), cell)
    path = store.checkpoint_path(cell)
    _wait_for(lambda: (read_header(path) or {}).get("epoch", -1) >= 2, "the task's checkpoint after epoch 2")
    # what SLURM does ahead of a timeout or a preemption (sbatch --signal=USR2@90): signal the task
    os.kill(json.loads(store.running_path(cell).read_text())["pid"], signal.SIGUSR2)
    outcome = job.result()
    assert outcome["ok"], outcome
    resumed = int(outcome["source"].rsplit("resumed after epoch ", 1)[1].rstrip(")"))
    assert resumed >= 2
    assert "Requeued job" in job.stdout() + job.stderr()
    assert [row["epoch"] for row in store.read(cell)] == list(range(9))
    assert not path.exists()  # done: its checkpoint is gone


def test_the_resources_become_the_array_scripts_sbatch_lines(tmp_path, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "srun").write_text("#!/bin/sh\nexit 0\n")
    (fake / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    resources = SlurmResources(partition="gpu", time_min=600, gpus=1, cpus=8, mem_gb=32, cluster="slurm")
    executor = resources.executor(tmp_path / "submitit", 16)
    script = executor._executor._make_submission_file_text("python -m job", "uid")  # the file sbatch is given
    lines = set(script.splitlines())
    expected = ["--partition=gpu", "--time=600", "--gpus-per-node=1", "--cpus-per-task=8", "--mem=32GB",
                "--signal=USR2@90"]  # fmt: skip
    assert all(f"#SBATCH {line}" in lines for line in expected), script
    assert executor._executor.parameters["array_parallelism"] == 16
    assert executor._executor.max_num_timeout == resources.max_requeues


def test_without_submitit_the_backend_says_what_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_submitit(name, *args, **kwargs):
        if name == "submitit":
            raise ImportError("No module named 'submitit'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_submitit)
    with pytest.raises(ImportError, match=r"pip install 'snninit-adapters\[slurm\]'"):
        LOCAL.executor(None, 1)
