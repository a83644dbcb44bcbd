"""The API reference page documents every public name, so a new export cannot be left out of the docs."""

import re
from pathlib import Path

import pytest

import snninit_adapters
import snninit_adapters.theory

API = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
DOCUMENTED = set(re.findall(r"^\.\. (?:auto\w+|py:\w+):: (snninit_adapters[\w.]*)", API, flags=re.MULTILINE))


@pytest.mark.parametrize("name", sorted(set(snninit_adapters.__all__) - {"__version__"}))
def test_every_public_name_is_in_the_api_reference(name):
    assert f"snninit_adapters.{name}" in DOCUMENTED, f"add snninit_adapters.{name} to docs/api.md"


@pytest.mark.parametrize("name", sorted(snninit_adapters.theory.__all__))
def test_every_theory_name_is_in_the_api_reference(name):
    assert {f"snninit_adapters.{name}", f"snninit_adapters.theory.{name}"} & DOCUMENTED, (
        f"add snninit_adapters.theory.{name} to docs/api.md"
    )
