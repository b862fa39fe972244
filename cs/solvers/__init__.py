"""Recovery algorithms; every one returns a :class:`SolveResult`."""

from .convex import convex
from .greedy import cosamp, htp, iht, l1, omp
from .naht import naht
from .niht import niht
from .result import MESSAGES, SolveResult, Status
from .robust_pca import LSSplit, project_ls, rpca
from .sparcs import sparcs

__all__ = ["SolveResult", "Status", "MESSAGES", "niht", "naht", "rpca", "project_ls", "LSSplit",
           "iht", "htp", "cosamp", "omp", "l1", "convex", "sparcs"]
