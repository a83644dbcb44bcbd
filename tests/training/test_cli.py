import pytest

pytest.importorskip("click")

from click.testing import CliRunner

from snninit_adapters.cli import cli
from snninit_adapters.training import data as data_module
from tests.training._files import tiny_cli, write_mnist


def test_data_command_lists_found_and_missing_datasets(tmp_path, monkeypatch):
    monkeypatch.setattr(data_module, "DEBIAN_DATASETS", tmp_path / "none")
    write_mnist(tmp_path / "MNIST" / "raw")
    result = CliRunner().invoke(cli, ["experiments", "data", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"mnist: found in {tmp_path / 'MNIST' / 'raw'}" in result.output
    assert "cifar10: missing" in result.output
    assert "cifar-10-batches-py" in result.output


def test_training_help_lists_the_options():
    result = CliRunner().invoke(cli, ["experiments", "training", "--help"])
    assert result.exit_code == 0
    for option in (
        "--figure",
        "--data-dir",
        "--backend",
        "--address",
        "--epochs",
        "--batch-size",
        "--depth",
        "--width",
        "--beta",
        "--theta",
        "--steps",
        "--framework",
        "--method",
        "--seeds",
        "--checkpoint-every",
    ):
        assert option in result.output


def test_training_rejects_panels_that_do_not_exist(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "experiments",
            "training",
            "--figure",
            "8",
            "--dataset",
            "nmnist",
            "--architecture",
            "cnn",
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code != 0
    assert "no panel" in result.output


def test_list_cells_prints_the_grid_with_indices_and_states(tmp_path):
    write_mnist(tmp_path / "data" / "MNIST" / "raw")
    result = CliRunner().invoke(cli, tiny_cli(tmp_path, "--list-cells"))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[:3] for line in lines[:2]] == [["0", "not", "started"], ["1", "not", "started"]]
    assert "mnist_mlp_snntorch_kaiming_seed0" in lines[0]
    assert "mnist_mlp_snntorch_micheli2024_seed0" in lines[1]
    assert lines[2].startswith("2 cells in ")
    assert not (tmp_path / "out").exists()  # listing runs nothing


def test_cell_out_of_range_names_the_valid_indices(tmp_path):
    write_mnist(tmp_path / "data" / "MNIST" / "raw")
    result = CliRunner().invoke(cli, tiny_cli(tmp_path, "--cell", "2"))
    assert result.exit_code == 2
    assert "this grid has 2 cells: 0 to 1" in result.output
