"""``SolveResult``, the one thing every solver returns, and the shared stopping rule.

Modelled on ``scipy.optimize.OptimizeResult``: named fields, an integer
``status`` and a ``reason`` in words taken from one table of messages.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .._validation import check_int, check_real

__all__ = ["SolveResult", "Status", "MESSAGES", "Recorder", "StoppingRule", "Iterate", "default_tol"]


class Status:
    """Why a solver stopped (``SolveResult.status``)."""

    MAX_ITER = 0
    TOLERANCE = 1
    STALLED = 2
    DIVERGED = 3
    CALLBACK = 4
    NO_PROGRESS = 5


#: One table of stop messages, indexed by status.
MESSAGES = {
    Status.MAX_ITER: "the maximum number of iterations was reached",
    Status.TOLERANCE: "the relative residual fell below tol",
    Status.STALLED: "the convergence rate over the last iterations stalled (above rate_tol)",
    Status.DIVERGED: "the iterates became non-finite or the residual grew without bound",
    Status.CALLBACK: "the callback asked to stop",
    Status.NO_PROGRESS: "the iterate stopped changing before reaching tol",
}

#: Statuses counted as convergence.
CONVERGED = {Status.TOLERANCE}


@dataclass
class SolveResult:
    """The outcome of a solver.

    Attributes
    ----------
    x : ndarray
        The estimate: a vector, or the matrix ``X = L + S``.  ``X`` is the
        same array.
    L, S : ndarray or None
        The low-rank and sparse components (None when not applicable).
    n_iter : int
        Iterations taken.
    converged : bool
        True when the solver met its tolerance.
    status : int
        A :class:`Status` code; ``reason`` is its message.
    reason : str
        Why it stopped, in words.
    history : dict of str -> ndarray
        Per-iteration records: ``residual`` (relative residual
        ``||A(X) - b|| / ||b||``), ``time`` (seconds since the start),
        ``step`` (step sizes), and ``error_X``/``error_L``/``error_S`` when the
        truth was passed in.  Solvers may add their own (e.g. ``gap``).
    solver : str
        Which solver (and variant) produced it.
    info : dict
        Solver-specific extras (timings split by part, inner iterations...).
    """

    x: np.ndarray
    L: np.ndarray | None = None
    S: np.ndarray | None = None
    n_iter: int = 0
    converged: bool = False
    status: int = Status.MAX_ITER
    reason: str = MESSAGES[Status.MAX_ITER]
    history: dict = field(default_factory=dict)
    solver: str = ""
    info: dict = field(default_factory=dict)

    @property
    def X(self):
        return self.x

    @property
    def residual(self):
        """The final relative residual."""
        res = self.history.get("residual")
        return float(res[-1]) if res is not None and len(res) else np.nan

    def __repr__(self):
        shape = getattr(self.x, "shape", None)
        return (f"SolveResult(solver={self.solver!r}, shape={shape}, n_iter={self.n_iter}, "
                f"converged={self.converged}, residual={self.residual:.3g}, reason={self.reason!r})")


class StoppingRule:
    r"""The stopping rule of Tanner & Vary (2023), shared by the iterative solvers.

    Stop when the relative residual falls below ``tol``; when the mean
    convergence rate over the last ``window`` iterations,
    :math:`(r_\ell / r_{\ell - w})^{1/w}`, exceeds ``rate_tol`` (progress has
    stalled); when the residual is non-finite or above ``diverge`` (times the
    first); or after ``max_iter`` iterations.
    """

    def __init__(self, *, tol=1e-9, rate_tol=0.999, max_iter=1000, window=15, diverge=1e6):
        self.tol = check_real(tol, "tol", low=0.0)
        self.rate_tol = check_real(rate_tol, "rate_tol", low=0.0, low_open=True)
        self.max_iter = check_int(max_iter, "max_iter", low=1)
        self.window = check_int(window, "window", low=1)
        self.diverge = check_real(diverge, "diverge", low=1.0)

    def check(self, residuals):
        """Return a :class:`Status` to stop with, or None to go on."""
        it = len(residuals)
        r = residuals[-1]
        if not np.isfinite(r) or r > self.diverge * max(residuals[0], 1.0):
            return Status.DIVERGED
        if r < self.tol:
            return Status.TOLERANCE
        if it > self.window:
            old = residuals[-1 - self.window]
            if old > 0 and (r / old) ** (1.0 / self.window) > self.rate_tol:
                return Status.STALLED
        if it >= self.max_iter:
            return Status.MAX_ITER
        return None


class Recorder:
    """Per-iteration histories, timed from construction.

    ``truth`` maps a name (``"X"``, ``"L"``, ``"S"``) to the true array, so
    that ``record(X=..., L=...)`` also appends the relative errors.  Recording
    never changes what the solver computes.
    """

    def __init__(self, truth=None):
        self.start = time.perf_counter()
        self.truth = {k: np.asarray(v) for k, v in (truth or {}).items() if v is not None}
        self.norms = {k: float(np.linalg.norm(v)) or 1.0 for k, v in self.truth.items()}
        self.history = {"residual": [], "time": [], "step": []}
        for k in self.truth:
            self.history[f"error_{k}"] = []

    def record(self, residual, step=np.nan, **estimates):
        self.history["residual"].append(float(residual))
        self.history["time"].append(time.perf_counter() - self.start)
        self.history["step"].append(float(step))
        for k, true in self.truth.items():
            est = estimates.get(k)
            if est is not None:
                err = np.linalg.norm(np.asarray(est) - true) / self.norms[k]
                self.history[f"error_{k}"].append(float(err))
        for k, v in estimates.items():
            if k.startswith("_"):
                self.history.setdefault(k[1:], []).append(float(v))

    def result(self, x, *, status, n_iter, solver, L=None, S=None, info=None):
        history = {k: np.asarray(v) for k, v in self.history.items()}
        return SolveResult(x=x, L=L, S=S, n_iter=n_iter, converged=status in CONVERGED,
                           status=status, reason=MESSAGES[status], history=history,
                           solver=solver, info=info or {})


class Iterate(NamedTuple):
    """What a ``callback`` sees after every iteration (return True to stop)."""

    n_iter: int
    x: np.ndarray
    L: np.ndarray | None
    S: np.ndarray | None
    residual: float


def default_tol(dtype):
    """The default relative-residual tolerance for a working precision."""
    return 1e-5 if np.dtype(dtype) == np.float32 else 1e-9
