"""The training experiments with snnTorch (the paper's framework): real learning signals, sweeps end to end."""

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from integration._training import (
    FASHION,
    Interrupted,
    assert_kaiming_cannot_learn,
    assert_learns,
    assert_resumes_bit_for_bit,
    comparable,
    comparable_rows,
    init_report,
    learning_run,
    needs_fashion,
    output_spikes,
    silent_start,
    stop_at,
    tiny_cell,
)
from snninit_adapters.cli import cli
from snninit_adapters.experiments.store import read_csv
from snninit_adapters.training import data as data_module
from snninit_adapters.training import run_training
from snninit_adapters.training.checkpoint import CheckpointError, load_checkpoint, read_header
from snninit_adapters.training.models import ModelConfig, atan_spike, build_model
from snninit_adapters.training.train import CheckpointWarning, TrainConfig, train_cell
from tests.training._files import tiny_cli, write_mnist


@needs_fashion
def test_proposed_mlp_fires_in_its_last_layer_and_kaiming_is_silent():
    spikes = silent_start("snntorch")
    assert spikes["micheli2024"] > 0, spikes
    assert spikes["kaiming"] == 0, spikes


@needs_fashion
def test_proposed_mlp_learns_on_real_fashion_mnist_and_kaiming_does_not():
    assert_learns(learning_run("snntorch"))
    # the paper's 10 x 600 MLP at theta = 1: Kaiming's output layer is silent, so the loss cannot move
    assert_kaiming_cannot_learn(learning_run("snntorch", "kaiming", depth=None, width=None))


@needs_fashion
def test_cnn_learns_on_real_fashion_mnist():
    config = TrainConfig(dataset="fashion-mnist", architecture="cnn", depth=2, width=8, epochs=2, batch_size=32,
                         train_size=320, test_size=500)  # fmt: skip
    result = train_cell(config, FASHION)
    assert output_spikes(result) > 0
    assert_learns(result)


def test_models_have_the_papers_layers():
    mlp = build_model(ModelConfig("mlp", "snntorch"), (1, 28, 28))
    linears = [m for m in mlp.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 600)] + [(600, 600)] * 9 + [(600, 10)]
    assert sum(type(m).__name__ == "Leaky" for m in mlp.modules()) == 12  # encoding, 10 x 600, output
    cnn = build_model(ModelConfig("cnn", "snntorch"), (3, 32, 32))
    convs = [m for m in cnn.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size, m.padding) for m in convs] == (
        [(3, 64, (3, 3), (1, 1))] + [(64, 64, (3, 3), (1, 1))] * 5
    )
    assert next(m for m in cnn.modules() if isinstance(m, torch.nn.Linear)).in_features == 64 * 32 * 32
    assert cnn(torch.randn(2, 3, 32, 32)).shape == (3, 2, 10)
    leaky = next(m for m in mlp.modules() if type(m).__name__ == "Leaky")
    assert (float(leaky.beta), float(leaky.threshold), leaky.reset_mechanism) == (0.5, 1.0, "subtract")


@pytest.mark.parametrize("architecture", ["mlp", "cnn"])
def test_apply_snn_init_reads_every_layer(architecture):
    _, _, report = init_report("snntorch", architecture)
    assert all(layer.downstream and not any(n.probed for n in layer.downstream) for layer in report.layers)
    assert report.layers[0].upstream[0].name == ("body.0" if architecture == "mlp" else "<input>")


def test_arctan_surrogate_matches_snntorch():
    from snntorch import surrogate

    x = torch.linspace(-2, 2, 41, requires_grad=True)
    ours = atan_spike(x)
    ours.sum().backward()
    mine = x.grad.clone()
    x.grad = None
    theirs = surrogate.atan(alpha=2.0)(x)
    theirs.sum().backward()
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(mine, x.grad)
    assert math.isclose(float(mine[20]), 1.0)  # alpha / 2 at the threshold


def test_same_seed_same_run(tmp_path):
    write_mnist(tmp_path / "MNIST" / "raw", n_train=96, n_test=32)
    config = TrainConfig(dataset="mnist", depth=4, width=32, epochs=1, batch_size=32)
    first, second = train_cell(config, tmp_path), train_cell(config, tmp_path)
    assert first.batch_losses == second.batch_losses
    assert [r["test_acc"] for r in first.epochs] == [r["test_acc"] for r in second.epochs]


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    monkeypatch.setattr(data_module, "DEBIAN_DATASETS", tmp_path / "none")
    write_mnist(tmp_path / "data" / "MNIST" / "raw", n_train=96, n_test=32)
    return tmp_path / "data"


def test_cli_sweep_on_a_process_pool_writes_tables_figures_and_resumes(tmp_path, tiny_mnist):
    args = ["experiments", "training", "--figure", "8", "--dataset", "mnist", "--architecture", "mlp",
            "--method", "micheli2024", "--method", "kaiming", "--epochs", "1", "--depth", "4", "--width", "32",
            "--data-dir", str(tiny_mnist), "--out", str(tmp_path / "out"), "--workers", "2"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "cells: 2 run, 0 reused" in result.output
    folder = tmp_path / "out" / "training" / "fig8-9"
    for name in ("training.csv", "activity.csv", "fig8.png", "fig9.pdf", "fig8.md", "fig9.md", "errors.json"):
        assert (folder / name).is_file(), name
    assert "| mlp | mnist | snntorch | micheli2024 | 1 | 1 |" in (folder / "fig8.md").read_text()
    again = CliRunner().invoke(cli, args)
    assert "cells: 0 run, 2 reused" in again.output


def test_a_failing_cell_does_not_stop_the_sweep(tmp_path, tiny_mnist):
    # SpikingJelly's LIFNode cannot take beta = 0: that cell fails (or its framework is missing), snnTorch's runs
    result = run_training(8, data_dir=tiny_mnist, out=tmp_path, backend="serial", methods=["micheli2024"],
                          frameworks=["snntorch", "spikingjelly"], panels=[("mlp", "mnist")], epochs=1, depth=3,
                          width=16, beta=0.0, plot=False, progress=False)  # fmt: skip
    assert {r["framework"] for r in result.outcome.epochs} == {"snntorch"}
    assert [e["cell"]["framework"] for e in result.outcome.errors] == ["spikingjelly"]
    assert "## Failed cells (1)" in result.summary


def test_figure_10_end_to_end(tmp_path, tiny_mnist):
    result = run_training(10, data_dir=tiny_mnist, out=tmp_path, backend="serial", epochs=1, width=16,
                          train_size=64, test_size=32, progress=False)  # fmt: skip
    assert not result.outcome.errors
    assert {p.name for p in result.figures} == {"fig10.png", "fig10.pdf"}
    assert "| depth | 20 | kaiming |" in result.summary


def test_two_processes_run_one_cell_each_into_one_folder_at_once(tmp_path):
    write_mnist(tmp_path / "data" / "MNIST" / "raw")
    command = [sys.executable, "-c", "from snninit_adapters.cli import main; main()"]
    jobs = [subprocess.Popen([*command, *tiny_cli(tmp_path, "--cell", str(i))], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for i in (0, 1)]  # fmt: skip
    outputs = [job.communicate(timeout=300)[0] for job in jobs]
    assert [job.returncode for job in jobs] == [0, 0], outputs
    assert all(f"cell {i}: done: " in out for i, out in enumerate(outputs))
    listed = CliRunner().invoke(cli, tiny_cli(tmp_path, "--list-cells")).output.splitlines()
    assert [line.split()[1] for line in listed[:2]] == ["done", "done"]
    assert not list((tmp_path / "out").rglob("*.tmp"))
    assert not list((tmp_path / "out").rglob("*.ckpt"))  # a done cell leaves no checkpoint behind
    # the same command without --cell reruns nothing and collects both cells into the tables
    collected = CliRunner().invoke(cli, tiny_cli(tmp_path, "--no-plot"))
    assert collected.exit_code == 0, collected.output
    assert "cells: 0 run, 2 reused from an earlier run, 0 failed" in collected.output
    rows = read_csv(tmp_path / "out" / "training" / "fig8-9" / "training.csv")
    assert sorted({row["method"] for row in rows}) == ["kaiming", "micheli2024"]
    assert len(rows) == 4  # epochs 0 and 1 of each cell


@pytest.mark.parametrize("architecture", ["mlp", "cnn"])
def test_a_cell_interrupted_in_epoch_3_resumes_to_the_uninterrupted_result(tmp_path, architecture):
    write_mnist(tmp_path / "MNIST" / "raw")
    assert_resumes_bit_for_bit(tiny_cell("snntorch", architecture), tmp_path, tmp_path / "cell.ckpt")


KILLED = """
import os, signal, sys
from snninit_adapters.training import checkpoint
from snninit_adapters.training.train import train_cell
from integration._training import tiny_cell
where, data, path = sys.argv[1:]
saves = []
if where == "saving":  # killed between writing the third checkpoint's temporary file and renaming it
    replace = os.replace
    def killed_third_time(*args):
        saves.append(args)
        if len(saves) == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        replace(*args)
    checkpoint.os.replace = killed_third_time
def on_epoch(row):
    if where == "epoch" and row["epoch"] == 3:
        os.kill(os.getpid(), signal.SIGKILL)
train_cell(tiny_cell("snntorch"), data, checkpoint=path, on_epoch=on_epoch)
"""


@pytest.mark.parametrize(("where", "saved"), [("epoch", 2), ("saving", 1)])
def test_kill_9_loses_at_most_one_epoch_and_the_resumed_result_is_exact(tmp_path, where, saved):
    write_mnist(tmp_path / "MNIST" / "raw")
    path = tmp_path / "cells" / "cell.ckpt"
    killed = subprocess.run([sys.executable, "-c", KILLED, where, str(tmp_path), str(path)], capture_output=True,
                            text=True, timeout=300, cwd=Path(__file__).parents[1])  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert load_checkpoint(path)[0] == saved
    assert len(list(path.parent.glob("*.tmp"))) == (where == "saving")  # the write it was killed in
    resumed = train_cell(tiny_cell("snntorch"), tmp_path, checkpoint=path)
    assert not list(path.parent.glob("*.tmp"))  # the resumed run clears what the killed writer left
    assert comparable(resumed) == comparable(train_cell(tiny_cell("snntorch"), tmp_path))


def test_a_damaged_checkpoint_is_reported_kept_aside_and_the_cell_starts_afresh(tmp_path):
    write_mnist(tmp_path / "MNIST" / "raw")
    config, path = tiny_cell("snntorch"), tmp_path / "cell.ckpt"
    with pytest.raises(Interrupted):
        train_cell(config, tmp_path, checkpoint=path, on_epoch=stop_at(3))
    path.write_bytes(path.read_bytes()[:-1])  # a partial file, as a full disk leaves it
    rows = []
    with pytest.warns(CheckpointWarning, match=r"partial .* starts from epoch 0"):
        result = train_cell(config, tmp_path, checkpoint=path, on_epoch=rows.append)
    assert [row["epoch"] for row in rows] == [0, 1, 2, 3, 4]
    assert (tmp_path / "cell.ckpt.corrupt").is_file()
    assert load_checkpoint(path)[0] == 4
    assert comparable(result) == comparable(train_cell(config, tmp_path))


def test_another_cells_checkpoint_is_refused_before_training(tmp_path):
    write_mnist(tmp_path / "MNIST" / "raw")
    path = tmp_path / "cell.ckpt"
    train_cell(tiny_cell("snntorch", epochs=1), tmp_path, checkpoint=path)
    with pytest.raises(CheckpointError, match="checkpoint of another cell"):
        train_cell(tiny_cell("snntorch", seed=1, epochs=1), tmp_path, checkpoint=path, on_epoch=pytest.fail)
    assert load_checkpoint(path)[1]["cell"]["seed"] == 0  # left as it was


def test_the_submitit_backend_runs_the_grid_as_an_array_with_the_serial_backends_results(tmp_path):
    pytest.importorskip("submitit")
    write_mnist(tmp_path / "data" / "MNIST" / "raw")
    runs = {}
    for backend in ("serial", "submitit"):
        out = tmp_path / backend
        args = [*tiny_cli(tmp_path, "--backend", backend, "--slurm-cluster", "local", "--no-plot")]
        args[args.index("--out") + 1] = str(out)
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert "cells: 2 run, 0 reused from an earlier run, 0 failed" in result.output
        runs[backend] = read_csv(out / "training" / "fig8-9" / "training.csv")
    assert comparable_rows(runs["submitit"]) == comparable_rows(runs["serial"])


def test_a_preempted_slurm_task_is_requeued_and_its_cell_ends_as_if_never_stopped(tmp_path):
    pytest.importorskip("submitit")
    import json

    from snninit_adapters.training.slurm import CellJob, SlurmResources
    from snninit_adapters.training.store import TrainingStore

    write_mnist(tmp_path / "MNIST" / "raw")
    config = tiny_cell("snntorch", epochs=40)
    store, cell = TrainingStore(tmp_path / "sweep"), config.to_cell()
    args = (str(tmp_path), "cpu", "snninit_adapters.training.train:train_cell", str(store.directory), 1)
    job = (
        SlurmResources(cluster="local")
        .executor(tmp_path / "submitit", 1)
        .submit(CellJob(args, str(tmp_path / "sweep")), cell)
    )
    path, start = store.checkpoint_path(cell), time.monotonic()
    while (read_header(path) or {}).get("epoch", -1) < 2:
        assert time.monotonic() - start < 120, "no checkpoint after epoch 2"
        assert not job.done(), "the task ended before epoch 2's checkpoint was seen"
        time.sleep(0.02)
    saved = load_checkpoint(path)[1]["epochs"]  # epochs 0 to 2 or later, with their timings
    os.kill(json.loads(store.running_path(cell).read_text())["pid"], signal.SIGUSR2)  # as SLURM before a timeout
    outcome = job.result()
    assert "Requeued job" in job.stdout() + job.stderr()
    assert outcome["ok"], outcome
    # the requeued task resumed: the epochs it did not rerun keep the timings measured before the signal
    assert [row["seconds"] for row in outcome["epochs"][: len(saved)]] == [row["seconds"] for row in saved]
    uninterrupted = train_cell(config, tmp_path)
    assert comparable_rows(outcome["epochs"]) == comparable_rows(uninterrupted.epochs)
    assert outcome["activity"] == uninterrupted.activity
