"""Recovery algorithms; every one returns a :class:`SolveResult`."""

from .result import MESSAGES, SolveResult, Status

__all__ = ["SolveResult", "Status", "MESSAGES"]
