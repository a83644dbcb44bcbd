"""Sphinx configuration: MyST Markdown pages, API reference from the Google docstrings, CLI reference from click.

Build: ``tox run -e docs`` (or ``sphinx-build -E -W --keep-going -b html docs docs/_build/html``). The figures
and the measured tables of the concepts and reproduction pages are computed by the library's own
experiments at build time (``_ext/generated.py``), into ``docs/_generated/``.
"""

import sys
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

project = "snninit-adapters"
author = "snninit-adapters developers"
copyright = "snninit-adapters developers"
release = metadata.version("snninit-adapters")
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_click",
    "generated",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_generated", "_ext"]
highlight_language = "none"

# MyST: $...$ and $$...$$ maths, ::: fences, anchors for the headings of levels 1-3 (links like apply.md#bias).
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# API reference: Google-style docstrings throughout, signatures with their annotations.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True
napoleon_attr_annotations = True
napoleon_use_rtype = False  # "Returns: The report: per layer ..." reads as prose, not as a type and a description

html_theme = "furo"
html_title = f"snninit-adapters {release}"
html_static_path: list[str] = []
