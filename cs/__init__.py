"""cs: compressed sensing and sparse recovery.

Submodules load on first use, so ``import cs`` stays cheap:

>>> import cs
>>> prob = cs.datasets.synthetic.ls_problem((40, 40), 0.5, 0.1, 0.1, rng=0)  # doctest: +SKIP
>>> res = cs.solvers.niht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = {"threshold", "operators", "metrics", "solvers", "datasets", "ric", "plotting", "cli",
               "experiments", "video", "dcsc", "activations", "pruning", "nn"}

__all__ = sorted(_SUBMODULES) + ["__version__"]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'cs' has no attribute {name!r}")


def __dir__():
    return __all__
