import importlib.metadata
import inspect
from pathlib import Path

import snninit_adapters


def test_all_is_sorted_and_lists_exactly_the_public_names():
    public = {name for name in vars(snninit_adapters) if not name.startswith("_")}
    public -= {name for name, value in vars(snninit_adapters).items() if inspect.ismodule(value)}
    public.add("__version__")
    assert snninit_adapters.__all__ == sorted(snninit_adapters.__all__)
    assert set(snninit_adapters.__all__) == public


def test_version_comes_from_installed_metadata():
    assert snninit_adapters.__version__ == importlib.metadata.version("snninit-adapters")


def test_ships_py_typed():
    assert Path(inspect.getfile(snninit_adapters)).with_name("py.typed").is_file()


def test_public_functions_have_type_hints_and_google_docstrings():
    for name in snninit_adapters.__all__:
        obj = getattr(snninit_adapters, name)
        if inspect.isfunction(obj):
            hints = inspect.get_annotations(obj)
            assert "return" in hints, f"{name} lacks a return annotation"
            assert inspect.getdoc(obj), f"{name} lacks a docstring"
            if inspect.signature(obj).parameters:
                assert "Args:" in obj.__doc__, f"{name}'s docstring has no Args: section"
