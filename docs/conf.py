"""Sphinx configuration of fastgmm's documentation site.

Build it (warnings are errors, every gallery example runs):

    pip install ".[docs]"
    python -m sphinx -W -b html docs docs/_build/html

The user guide is Markdown (MyST) in ``guide/``; its Python blocks run in the tests
(``tests/test_docs.py``). The API reference is generated from the docstrings
(numpydoc, autosummary); the gallery from ``examples/plot_*.py`` (sphinx-gallery), which
run in the build and make their own figures.
"""

import os

import fastgmm

project = "fastgmm"
author = "the fastgmm developers"
copyright = "2026, the fastgmm developers"  # noqa: A001  (Sphinx's name)
version = release = fastgmm.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "examples/data", "**/GALLERY_HEADER.rst"]
templates_path = ["_templates"]

# Every reference must resolve: a broken one is a warning, and -W makes it an error.
nitpicky = True
# Names outside fastgmm that docstrings mention by role (no intersphinx: the build runs
# without network, so these render as plain names).
nitpick_ignore_regex = [
    ("py:.*", r"(numpy|np|sklearn|scipy|dask|distributed|matplotlib|pandas|pathlib|os)\..*"),
]

# API reference: one page per public name, members documented on the class's page.
autosummary_generate = True
autodoc_typehints = "none"  # the numpydoc sections give the types
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
numpydoc_class_members_toctree = False

# MyST: heading anchors for links within the guide ([...](page.md#heading)).
myst_heading_anchors = 3

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    # An example that raises fails the build.
    "only_warn_on_example_error": False,
    "abort_on_example_error": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "matplotlib_animations": False,
}
# Figures to files only, whatever the machine's default backend.
os.environ.setdefault("MPLBACKEND", "Agg")

html_theme = "pydata_sphinx_theme"
html_title = f"fastgmm {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
}
html_static_path = []
html_show_sourcelink = False
