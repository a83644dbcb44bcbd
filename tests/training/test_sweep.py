import importlib.util
import json
import os

import pytest

from snninit_adapters.training.store import TrainingStore
from snninit_adapters.training.sweep import run_sweep
from snninit_adapters.training.train import EPOCH_COLUMNS, TrainConfig
from snninit_adapters.training.worker import run_cell_safely

RUNNER = "tests.training._runners:fake_train"


def grid(*methods, epochs=2):
    return [TrainConfig(dataset="mnist", method=m, seed=s, epochs=epochs) for m in methods for s in (0, 1)]


def test_serial_sweep_writes_every_cell_and_a_rerun_reuses_them(tmp_path):
    cells = grid("micheli2024", "kaiming")
    first = run_sweep(cells, out=tmp_path, data_dir="nowhere", backend="serial", runner=RUNNER)
    assert (first.computed, first.reused, first.errors) == (4, 0, [])
    assert len(first.epochs) == 4 * 3
    assert len(first.activity) == 4
    assert set(first.epochs[0]) == set(EPOCH_COLUMNS)
    store = TrainingStore(tmp_path)
    assert all(store.done(c.to_cell()) and store.activity_path(c.to_cell()).is_file() for c in cells)
    again = run_sweep(cells, out=tmp_path, data_dir="nowhere", backend="serial", runner=RUNNER)
    assert (again.computed, again.reused) == (0, 4)
    assert again.epochs == first.epochs


def test_a_crashing_cell_is_recorded_with_its_traceback_and_the_others_finish(tmp_path):
    cells = grid("micheli2024", "crash", "kaiming")
    outcome = run_sweep(cells, out=tmp_path, data_dir="nowhere", backend="serial", runner=RUNNER)
    assert outcome.computed == 6
    assert len(outcome.errors) == 2
    error = outcome.errors[0]
    assert error["error"] == "RuntimeError: boom in mnist"
    assert "fake_train" in error["traceback"]
    assert error["cell"]["method"] == "crash"
    assert {r["method"] for r in outcome.epochs} == {"micheli2024", "kaiming"}
    # a rerun tries the failed cells again (and only them)
    rerun = run_sweep(cells, out=tmp_path, data_dir="nowhere", backend="serial", runner=RUNNER)
    assert (rerun.computed, rerun.reused, len(rerun.errors)) == (2, 4, 2)


def test_run_cell_safely_never_raises():
    result = run_cell_safely(TrainConfig(method="crash").to_cell(), "nowhere", "cpu", RUNNER)
    assert result["ok"] is False
    assert "boom" in result["error"]
    bad = run_cell_safely(TrainConfig().to_cell(), "nowhere", "cpu", "tests.training._runners:missing")
    assert bad["ok"] is False
    assert "AttributeError" in bad["error"]


def test_process_pool_survives_a_dying_worker(tmp_path):
    # the pool runs one cell at a time, so the death is pinned on the cell that caused it
    cells = [*grid("micheli2024", epochs=1), TrainConfig(dataset="mnist", method="die"), *grid("kaiming", epochs=1)]
    outcome = run_sweep(cells, out=tmp_path, data_dir="nowhere", backend="local", workers=1, runner=RUNNER)
    assert outcome.computed == 5
    assert [e["cell"]["method"] for e in outcome.errors] == ["die"]
    assert "worker process died" in outcome.errors[0]["error"]
    assert {(r["method"], r["seed"]) for r in outcome.epochs} == {
        ("micheli2024", 0),
        ("micheli2024", 1),
        ("kaiming", 0),
        ("kaiming", 1),
    }


def test_process_pool_runs_cells_in_parallel_and_writes_them_atomically(tmp_path):
    cells = grid("micheli2024", "kaiming", epochs=1)
    outcome = run_sweep(cells, out=tmp_path, data_dir="nowhere", backend="local", workers=2, runner=RUNNER)
    assert outcome.computed == 4
    assert not outcome.errors
    leftovers = [p for p in (tmp_path / "cells").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_error_file_is_removed_once_the_cell_succeeds(tmp_path):
    cell = TrainConfig(method="micheli2024", epochs=1)
    store = TrainingStore(tmp_path)
    store.write_error(cell.to_cell(), "RuntimeError: earlier", "trace")
    assert json.loads(store.error_path(cell.to_cell()).read_text())["error"] == "RuntimeError: earlier"
    outcome = run_sweep([cell], out=tmp_path, data_dir="nowhere", backend="serial", runner=RUNNER)
    assert not outcome.errors
    assert not store.error_path(cell.to_cell()).exists()


def test_unknown_backend_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown backend"):
        run_sweep([], out=tmp_path, data_dir="x", backend="slurm")


def _files(folder):
    """Every file a sweep wrote, but submitit's own scripts and logs."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file() and "submitit" not in path.relative_to(folder).parts}  # fmt: skip


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed (the 'ray' extra)")
@pytest.mark.skipif(importlib.util.find_spec("submitit") is None, reason="no submitit (the 'slurm' extra)")
def test_every_backend_runs_the_same_cell_function_and_writes_the_same_files(tmp_path, monkeypatch):
    import ray

    from snninit_adapters.training.slurm import SlurmResources

    cells = [*grid("micheli2024", epochs=1), TrainConfig(dataset="mnist", method="crash")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")])))
    written = {}
    for backend in ("serial", "local", "ray", "submitit"):
        if backend == "ray":
            ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
        try:
            outcome = run_sweep(cells, out=tmp_path / backend, data_dir="nowhere", backend=backend, workers=1,
                                runner=RUNNER, slurm=SlurmResources(cluster="local", time_min=10))  # fmt: skip
        finally:
            if backend == "ray":
                ray.shutdown()
        assert outcome.computed == 3, backend
        assert [e["error"] for e in outcome.errors] == ["RuntimeError: boom in mnist"], backend
        written[backend] = _files(tmp_path / backend)
    assert len(written["serial"]) == 2 * 2 + 2 + 1  # epochs and activity of 2 cells; the error and checkpoint; grid
    for backend in ("local", "ray", "submitit"):
        assert written[backend] == written["serial"], backend


def test_cells_checkpoint_into_the_store_unless_told_not_to(tmp_path):
    crash = [TrainConfig(dataset="mnist", method="crash")]
    run_sweep(crash, out=tmp_path / "on", data_dir="nowhere", backend="serial", runner=RUNNER)
    assert TrainingStore(tmp_path / "on").checkpoint_path(crash[0].to_cell()).is_file()
    run_sweep(crash, out=tmp_path / "off", data_dir="nowhere", backend="serial", runner=RUNNER, checkpoint_every=0)
    assert not list((tmp_path / "off").rglob("*.ckpt"))
    with pytest.raises(ValueError, match="checkpoint_every must be >= 0"):
        run_sweep(crash, out=tmp_path / "bad", data_dir="nowhere", backend="serial", runner=RUNNER,
                  checkpoint_every=-1)  # fmt: skip
    assert not (tmp_path / "bad").exists()  # refused before anything is written
