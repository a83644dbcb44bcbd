"""Every Python block in README.md and docs/ runs; the README's two commands stay true."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [
    pytest.param(path, source, id=f"{path.name}:{n}")
    for path in DOCUMENTS
    for n, source in enumerate(re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.DOTALL))
]


@pytest.mark.parametrize(("path", "source"), BLOCKS)
def test_python_blocks_run(path, source, capsys):
    for framework in ("snntorch", "spikingjelly", "norse"):
        if f"import {framework}" in source:
            pytest.importorskip(framework)  # runs in that framework's tox env
    exec(compile(source, str(path), "exec"), {"__name__": "__docs__"})
    out = capsys.readouterr().out
    if "firing_probability(1.0)" in source:  # the quick example prints what its comments promise
        assert "P(u > 1) = 0.1587" in out
        std = float(re.search(r"std \* sqrt\(n\) = ([0-9.]+)", out).group(1))
        assert abs(std - 2.51) < 0.02
    if "HalfGainAdapter" in source:
        assert out.strip() == "0.5"


def test_there_are_python_blocks():
    assert len(BLOCKS) >= 3


def test_ci_runs_the_readme_test_command():
    text = README.read_text(encoding="utf-8")
    commands = re.findall(r"^\s*(python3 -m venv .*)$", text, flags=re.MULTILINE)
    assert len(commands) == 2, commands
    ci_script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1].strip() in ci_script
