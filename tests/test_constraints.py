"""constraints/all.txt pins one consistent PyTorch set for the `[all]` extra."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests._torch_set import mismatches

ALL = Path(__file__).parents[1] / "constraints" / "all.txt"


def _pins() -> dict[str, str]:
    pins = {}
    for line in ALL.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", f"{line}: pin an exact version"
            pins[req.name] = spec.version
    return pins


def test_constraints_pin_exactly_the_three_pytorch_packages() -> None:
    assert sorted(_pins()) == ["torch", "torchaudio", "torchvision"]


def test_constraints_pin_one_pytorch_release() -> None:
    pins = _pins()
    assert mismatches(pins["torch"], pins["torchvision"], pins["torchaudio"]) == []


@pytest.mark.parametrize(
    ("versions", "problem"),
    [
        (("2.14.1+cu130", "0.29.1+cu130", "2.11.1+cu132"), "torchaudio 2.11.1+cu132 is not the release"),
        (("2.13.0+cpu", "0.28.0", "2.13.0"), "the builds differ"),
        (("2.11.0", "0.27.0", "2.11.0"), "torchvision 0.27.0 is not the release of torch 2.11.0"),
    ],
)
def test_mismatches_names_what_breaks_the_set(versions: tuple[str, str, str], problem: str) -> None:
    assert any(problem in p for p in mismatches(*versions))


def test_mismatches_accepts_a_release_in_either_build() -> None:
    assert mismatches("2.11.0+cpu", "0.26.0+cpu", "2.11.0+cpu") == []
    assert mismatches("2.14.1", "0.29.1", "2.14.0") == []
