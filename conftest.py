"""Doctest collection over the package (``--doctest-modules`` in pyproject.toml):
modules that run code on import, or that need an optional extra which is not
installed, are left out."""

import importlib.util

collect_ignore = ["cs/cli/__main__.py", "benchmarks", "examples"]
if importlib.util.find_spec("torch") is None:
    collect_ignore.append("cs/nn")
