"""Every Python block in README.md runs, and the two set-up commands stay as documented."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text(encoding="utf-8")
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, flags=re.DOTALL)


@pytest.mark.parametrize("source", PYTHON_BLOCKS, ids=lambda s: s.splitlines()[0][:40])
def test_python_blocks_run(source, capsys):
    exec(compile(source, str(README), "exec"), {})
    out = capsys.readouterr().out
    if "firing_probability(1.0)" in source:  # the quick example prints what its comments promise
        assert "P(u > 1) = 0.1587" in out
        std = float(re.search(r"std \* sqrt\(n\) = ([0-9.]+)", out).group(1))
        assert abs(std - 2.51) < 0.02


def test_there_are_python_blocks():
    assert PYTHON_BLOCKS


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"^\s*(python3 -m venv .*)$", TEXT, flags=re.MULTILINE)
    assert len(commands) == 2, commands
    ci_script = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1].strip() in ci_script
