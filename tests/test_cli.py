import textwrap

import pytest

pytest.importorskip("click")
from click.testing import CliRunner

from snninit_adapters.cli import cli


def test_theory_prints_the_papers_numbers():
    result = CliRunner().invoke(cli, ["theory", "--threshold", "1", "--fan-in", "600"])
    assert result.exit_code == 0, result.output
    assert "P(u > theta)                 = 0.158655" in result.output
    assert "std * sqrt(n) = 2.5106" in result.output
    assert "std * sqrt(n) = 1.4142" in result.output
    assert "P(activity survives to layer 100) = 0.8098" in result.output
    assert "collapse below V = 0.5143" in result.output


def test_theory_draws_the_mean_field_map(tmp_path):
    pytest.importorskip("matplotlib")
    result = CliRunner().invoke(cli, ["theory", "--threshold", "0.9", "--plot", str(tmp_path / "map.png")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "map.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "map.pdf").read_bytes()[:5] == b"%PDF-"


def test_propagation_quick_prints_summary_and_paths(tmp_path):
    args = [
        "experiments",
        "propagation",
        "--figure",
        "3",
        "--quick",
        "--runs",
        "1",
        "--no-plot",
        "--out",
        str(tmp_path),
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "# Fig. 3" in result.output
    assert "cells: 1 computed, 0 reused" in result.output
    assert f"table: {tmp_path}" in result.output
    rerun = CliRunner().invoke(cli, args)
    assert "cells: 0 computed, 1 reused" in rerun.output


def test_propagation_rejects_unknown_figures():
    result = CliRunner().invoke(cli, ["experiments", "propagation", "--figure", "9"])
    assert result.exit_code != 0
    assert "'9' is not one of '2', '3', '4', '5', '6', '7', 'T1'" in result.output


def test_figure_t1_refuses_the_exact_backend():
    result = CliRunner().invoke(cli, ["experiments", "propagation", "--figure", "T1", "--backend", "exact"])
    assert result.exit_code != 0
    assert "figure T1 runs on the reference or a framework backend" in result.output


def test_inspect_a_model_from_module_function(tmp_path, monkeypatch, toy_adapter):
    (tmp_path / "my_model.py").write_text(
        textwrap.dedent(
            """
            import torch
            from tests._toy import ToyNeuron

            def build():
                model = torch.nn.Sequential(ToyNeuron(), torch.nn.Linear(8, 8), ToyNeuron())
                return model, torch.randn(4, 8)

            def not_a_pair():
                return 3
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["inspect", "my_model:build"])
    assert result.exit_code == 0, result.output
    assert "would re-initialise (dry run) 1 weight layer(s)" in result.output
    calibrated = CliRunner().invoke(cli, ["inspect", "my_model:build", "--calibrate", "--target", "rate"])
    assert calibrated.exit_code == 0, calibrated.output
    assert "calibrated  target" in calibrated.output
    assert "rate" in calibrated.output
    bad = CliRunner().invoke(cli, ["inspect", "my_model:not_a_pair"])
    assert bad.exit_code != 0
    assert "(model, example_input)" in bad.output


def test_theory_is_bounded_and_says_why():
    result = CliRunner().invoke(cli, ["theory", "--threshold", "10", "--fan-in", "65536", "--depth", "1000"])
    assert result.exit_code == 0, result.output
    assert "none found (no width up to 65536" in result.output
    assert "collapse below V = -" not in result.output
    one = CliRunner().invoke(cli, ["theory", "--fan-in", "1", "--depth", "1", "--threshold", "0"])
    assert "1 layer of 1 neuron," in one.output
    assert "1 layers" not in one.output
    assert CliRunner().invoke(cli, ["theory", "--survival", "1"]).exit_code != 0
