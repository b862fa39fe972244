"""Recovery algorithms; every one returns a :class:`SolveResult`."""

from .naht import naht
from .niht import niht
from .result import MESSAGES, SolveResult, Status
from .rpca import LSSplit, project_ls, rpca

__all__ = ["SolveResult", "Status", "MESSAGES", "niht", "naht", "rpca", "project_ls", "LSSplit"]
