import json
import socket
import subprocess
import sys
import time

import pytest

from snninit_adapters.training.checkpoint import save_checkpoint
from snninit_adapters.training.status import find_sweeps, format_status, sweep_states
from snninit_adapters.training.store import GRID_FILE, TrainingStore
from snninit_adapters.training.sweep import run_sweep
from snninit_adapters.training.train import TrainConfig

RUNNER = "tests.training._runners:fake_train"


def cells(*methods):
    return [TrainConfig(dataset="mnist", method=m, epochs=1) for m in methods]


def dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_status_reads_every_state_from_the_files(tmp_path):
    sweep = tmp_path / "training" / "fig8-9"
    grid = cells("micheli2024", "crash", "kaiming", "bellec2018", "zenke2021")
    # one job of an array: the first two cells run, the grid is recorded whole
    run_sweep(grid[:2], out=sweep, data_dir="nowhere", backend="serial", runner=RUNNER, whole_grid=grid)
    store = TrainingStore(sweep)
    store.mark_running(grid[2].to_cell())  # handed over by this (live) process
    stale = {"host": socket.gethostname(), "pid": dead_pid(), "started": time.time()}
    store.running_path(grid[3].to_cell()).write_text(json.dumps(stale))
    save_checkpoint(store.checkpoint_path(grid[3].to_cell()), 7, {})
    states = [state.kind for state in sweep_states(sweep)]
    assert states == ["done", "failed", "running", "stopped", "not started"]
    text = format_status(tmp_path)
    assert text.splitlines()[0] == f"{sweep}: 5 cells: 1 done, 1 failed, 1 running, 1 stopped, 1 not started"
    assert "failed: RuntimeError: boom in mnist" in text
    assert f"stopped: pid {stale['pid']} on {socket.gethostname()}" in text
    assert "is gone (checkpoint after epoch 7)" in text
    assert store.key(grid[0].to_cell()) not in text  # done cells are counted, not listed


def test_a_finished_cell_clears_its_running_marker_and_a_failed_one_keeps_its_checkpoint(tmp_path):
    grid = cells("micheli2024", "crash")
    run_sweep(grid, out=tmp_path, data_dir="nowhere", backend="serial", runner=RUNNER)
    assert not list(tmp_path.rglob("*.running.json"))
    store = TrainingStore(tmp_path)
    assert not store.checkpoint_path(grid[0].to_cell()).exists()  # done: its checkpoint is gone
    assert store.state(grid[1].to_cell()) == "failed: RuntimeError: boom in mnist (checkpoint after epoch 1)"
    assert json.loads((tmp_path / GRID_FILE).read_text()) == [c.to_cell() for c in grid]


def test_status_of_a_folder_without_sweeps_says_what_it_looked_for(tmp_path):
    assert find_sweeps(tmp_path) == []
    with pytest.raises(FileNotFoundError, match=r"a sweep writes grid\.json when it starts"):
        format_status(tmp_path)


def test_status_command(tmp_path):
    pytest.importorskip("click")
    from click.testing import CliRunner

    from snninit_adapters.cli import cli

    run_sweep(cells("kaiming"), out=tmp_path / "s", data_dir="nowhere", backend="serial", runner=RUNNER)
    result = CliRunner().invoke(cli, ["experiments", "status", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output == f"{tmp_path / 's'}: 1 cell: 1 done\n"
    empty = CliRunner().invoke(cli, ["experiments", "status", str(tmp_path / "s" / "cells")])
    assert empty.exit_code == 1
    assert empty.output.startswith("Error: no training sweep under")
