"""Every Python block in README.md and docs/ runs; the README's two commands stay true.

The rules, for whoever writes the docs:

- Every ```python block of README.md and of every Markdown page under docs/ (recursively; folders whose
  name starts with ``_``, such as ``_build`` and ``_generated``, are left out) is one test, named
  ``<page>:<n>`` with ``n`` counting the page's Python blocks from 0.
- The blocks of one page run in order in one namespace, so a block may use what an earlier block of
  the same page defined (a recipe builds its model once and then inspects it). Selecting a single block
  (``-k``) runs the blocks before it first.
- A block that imports snntorch, spikingjelly, norse or torchvision is skipped where that module is not
  installed; it runs in that framework's tox env. So is a block that stops on one of them missing
  (SpikingJelly's model zoo imports torchvision, which the spikingjelly env has). A block that uses a
  name only a skipped block of its page defines is skipped with it, so a framework-free block never
  depends on a framework block before it.
- A ```text block directly after a Python block (only blank lines between) is that block's printed
  output, and what the block prints must match it: runs of whitespace compare equal, ``...`` matches
  any text (doctest's NORMALIZE_WHITESPACE and ELLIPSIS), and otherwise the text must be the same
  except numbers, which may differ by 2% (or 0.002): spike counts of a seeded run can move by a spike
  between CPUs and BLAS builds, a changed format or a changed result cannot hide.
- Keep every block fast: small widths, few steps.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import doctest
import importlib.util
import io
import math
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FRAMEWORKS = ("snntorch", "spikingjelly", "norse")
OPTIONAL = (*FRAMEWORKS, "torchvision")  # a block that stops on one of these missing is skipped


def _documents() -> list[Path]:
    pages = (
        path
        for path in (ROOT / "docs").rglob("*.md")
        if not any(part.startswith("_") for part in path.relative_to(ROOT / "docs").parts)
    )
    return [README, *sorted(pages)]


DOCUMENTS = _documents()
FENCE = re.compile(r"^[ \t]*```(\w*)[^\n]*\n(.*?)^[ \t]*```[ \t]*$", flags=re.DOTALL | re.MULTILINE)


@dataclass
class Block:
    source: str
    output: str | None  # the ```text block that follows it, if any


def _blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    fences = list(FENCE.finditer(text))
    blocks = []
    for index, fence in enumerate(fences):
        if fence.group(1) != "python":
            continue
        output = None
        if index + 1 < len(fences):
            following = fences[index + 1]
            if following.group(1) == "text" and not text[fence.end() : following.start()].strip():
                output = following.group(2)
        blocks.append(Block(textwrap.dedent(fence.group(2)), output))  # a block may sit in a list item
    return blocks


PAGES = {path: _blocks(path) for path in DOCUMENTS}
BLOCKS = [
    pytest.param(path, n, id=f"{path.relative_to(ROOT).as_posix().removeprefix('docs/')}:{n}")
    for path, blocks in PAGES.items()
    for n in range(len(blocks))
]


def _names(source: str) -> tuple[set[str], set[str], set[str]]:
    """The names a block binds, the names it reads, and the top-level modules it imports."""
    bound: set[str] = set()
    read: set[str] = set()
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Import):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            bound.update(alias.asname or alias.name for alias in node.names)
            modules.add((node.module or "").split(".")[0])
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return bound, read - bound - set(dir(builtins)), modules


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@dataclass
class Page:
    """One page's shared namespace, and the names its skipped blocks would have defined."""

    path: Path
    namespace: dict[str, Any] = field(default_factory=lambda: {"__name__": "__docs__"})
    missing: dict[str, str] = field(default_factory=dict)  # name -> why the block defining it was skipped
    results: list[tuple[str | None, str]] = field(default_factory=list)  # (skip reason, output) per block

    def run(self, n: int) -> tuple[str | None, str]:
        """Run the page's blocks up to block ``n``, each once; return block ``n``'s skip reason and output."""
        while len(self.results) <= n:
            block = PAGES[self.path][len(self.results)]
            bound, read, modules = _names(block.source)
            reason = next((f"needs {name}" for name in OPTIONAL if name in modules and not _has(name)), None)
            if reason is None and read & self.missing.keys():
                name = min(read & self.missing.keys())
                reason = f"uses {name!r} from a skipped block ({self.missing[name]})"
            output = io.StringIO()
            if reason is None:
                try:
                    with contextlib.redirect_stdout(output):
                        exec(compile(block.source, str(self.path), "exec"), self.namespace)
                except ModuleNotFoundError as error:
                    if (error.name or "").partition(".")[0] not in OPTIONAL:
                        raise
                    reason = f"needs {error.name}"
            if reason is None:
                for name in bound:
                    self.missing.pop(name, None)
            else:
                self.missing.update(dict.fromkeys(bound - self.namespace.keys(), reason))
            self.results.append((reason, output.getvalue()))
        return self.results[n]


NUMBER = re.compile(r"(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)")


def _close(expected: str, got: str, rel: float = 0.02, absolute: float = 0.002) -> bool:
    """The same text, whitespace aside, with every number within ``rel`` (or ``absolute``) of the expected one."""
    want, have = NUMBER.split(" ".join(expected.split())), NUMBER.split(" ".join(got.split()))
    if len(want) != len(have):
        return False
    for index, (a, b) in enumerate(zip(want, have, strict=True)):
        if index % 2 == 0:  # text between numbers
            if a != b:
                return False
        elif not math.isclose(float(a), float(b), rel_tol=rel, abs_tol=absolute):
            return False
    return True


_STATE: dict[Path, Page] = {}


@pytest.mark.parametrize(("path", "n"), BLOCKS)
def test_python_blocks_run(path, n):
    page = _STATE.setdefault(path, Page(path))
    reason, out = page.run(n)
    if reason is not None:
        pytest.skip(f"{reason}; runs in that framework's tox env")
    block = PAGES[path][n]
    source = block.source
    if block.output is not None:
        checker = doctest.OutputChecker()
        flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
        assert checker.check_output(block.output, out, flags) or _close(block.output, out), checker.output_difference(
            doctest.Example("", block.output), out, flags
        )
    if path == README and "firing_probability(1.0)" in source:  # the quick example prints what its comments promise
        assert "P(u > 1) = 0.1587" in out
        std = float(re.search(r"std \* sqrt\(n\) = ([0-9.]+)", out).group(1))
        assert abs(std - 2.51) < 0.02
    if "HalfGainAdapter" in source:
        assert out.strip() == "0.5"


def test_there_are_python_blocks():
    assert len(BLOCKS) >= 3


def test_every_page_is_collected():
    recipes = {path.name for path in DOCUMENTS if path.parent.name == "recipes"}
    assert {"snntorch.md", "spikingjelly.md", "norse.md"} <= recipes
    assert not [path for path in DOCUMENTS if "_build" in path.parts]


def test_ci_runs_the_readme_test_command():
    text = README.read_text(encoding="utf-8")
    commands = re.findall(r"^\s*(python3 -m venv .*)$", text, flags=re.MULTILINE)
    assert len(commands) == 2, commands
    ci_script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1].strip() in ci_script
