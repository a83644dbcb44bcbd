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


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["inspect", "nosuchmod:build"], "Invalid value for TARGET: no module named 'nosuchmod'"),
        (["inspect", "nosuchmod"], "Invalid value for TARGET: expected module:function (e.g. my_models:build)"),
        (["inspect", "json:nosuch"], "Invalid value for TARGET: module 'json' has no function 'nosuch' (it has: "),
        (["theory", "--target-variance", "0"], "Invalid value for '--target-variance': 0.0 is not in the range x>0"),
        (["experiments", "inspect", "my:build"], "inspect is a top-level command: snninit inspect my:build"),
    ],
)
def test_mistakes_end_in_one_line_naming_the_fix_not_a_traceback(arguments, message):
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert message in result.output.splitlines()[-1]


def _commands(group, path=()):
    for name, command in group.commands.items():
        if command.hidden:
            continue
        yield (*path, name), command
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))


def test_every_help_text_is_whole_plain_and_complete():
    for path, command in [((), cli), *_commands(cli)]:
        result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=100)
        assert result.exit_code == 0, result.output
        assert "``" not in result.output, path  # no literal reST markup
        commands = result.output.partition("Commands:")[2]
        assert "..." not in commands, (path, commands)  # no cut-off summary
        for parameter in command.params:
            if isinstance(parameter, __import__("click").Option):
                assert parameter.help, (path, parameter.name)


def test_inspect_says_what_it_measures_and_compares_with_the_plan(tmp_path, monkeypatch, toy_adapter):
    (tmp_path / "side_model.py").write_text(
        textwrap.dedent(
            """
            import torch
            from tests._toy import ToyNeuron

            def build():
                torch.manual_seed(0)
                model = torch.nn.Sequential(ToyNeuron(), torch.nn.Linear(50, 50), ToyNeuron())
                torch.nn.init.zeros_(model[1].weight)  # silent now: the plan makes it fire
                return model, torch.randn(64, 50)
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    alone = CliRunner().invoke(cli, ["inspect", "side_model:build"])
    assert alone.exit_code == 0, alone.output
    assert "The planned initialisation (a dry run: the model is not changed):" in alone.output
    assert "Activity under the model's current weights (--compare adds the planned initialisation):" in alone.output
    both = CliRunner().invoke(cli, ["inspect", "side_model:build", "--compare"])
    assert both.exit_code == 0, both.output
    row = next(line for line in both.output.splitlines() if line.startswith("2 "))
    now, planned = map(float, row.split()[1:3])
    assert now == 0.0  # zero weights: no spike downstream
    assert 0.05 < planned < 0.35  # the plan: P(u > 1) = 0.159 per neuron, 3200 draws
