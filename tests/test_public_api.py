import importlib.metadata
import inspect
from pathlib import Path

import pytest

import snninit_adapters


def test_all_is_sorted_and_lists_exactly_the_public_names():
    for name in snninit_adapters.__all__:
        getattr(snninit_adapters, name)  # every public name resolves (they are imported on first use)
    public = {name for name in vars(snninit_adapters) if not name.startswith("_")}
    public -= {name for name, value in vars(snninit_adapters).items() if inspect.ismodule(value)}
    public.add("__version__")
    assert snninit_adapters.__all__ == sorted(snninit_adapters.__all__)
    assert set(snninit_adapters.__all__) == public
    assert sorted(dir(snninit_adapters)) == dir(snninit_adapters)
    assert set(snninit_adapters.__all__) <= set(dir(snninit_adapters))


def test_importing_the_package_or_its_command_line_imports_no_torch_scipy_or_framework():
    import subprocess
    import sys

    heavy = ("torch", "scipy", "numpy", "matplotlib", "snntorch", "spikingjelly", "norse")
    code = f"import sys, snninit_adapters, snninit_adapters.cli; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'apply_snn_iint'"):
        snninit_adapters.apply_snn_iint  # noqa: B018


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
