r"""``SolveResult``, the stop messages, and the one iteration driver of every solver.

Modelled on ``scipy.optimize.OptimizeResult`` (named fields, an integer
``status``, a ``reason`` from one table of messages) and on sporco's ADMM
(one loop; variants supply a step, never a copy of the loop).

The driver
----------
A solver validates its arguments, then hands :func:`drive` a *step*: a
function of the iteration number that advances the solver's own state by one
iteration and reports it as a :class:`Step`.  The driver owns everything
else, always in this order, after every iteration:

1. **record** the relative residual, the time, the step size, the
   relative errors against the truth (``truth``) and the step's ``extras``;
2. **stop test**: the rule of Tanner & Vary (2023) on ``Step.measure``
   (default: the residual) -- non-finite or growing ``diverge``-fold
   (``DIVERGED``), below ``tol`` (``TOLERANCE``), mean rate over the last
   ``window`` iterations above ``rate_tol`` (``STALLED``), ``max_iter``
   (``MAX_ITER``); then ``Step.fixed_point`` (``NO_PROGRESS``);
3. **callback** ``callback(Iterate)`` (in the caller's units); a true return
   value stops with ``CALLBACK`` unless the stop test already stopped;
4. **status**: stop, or call the step again.

``first`` (optional) computes iteration 0, which is recorded and (unless
``check_first=False``) stop-tested but not shown to the callback.

Scale: a solver that divides its data by ``scale`` (e.g. ``||b||``) so that
no tolerance or guard depends on the units passes ``scale`` to the driver;
the truth is divided by it once, and the estimates the callback sees and the
result holds are multiplied back.

>>> import numpy as np
>>> from cs.solvers.result import Step, drive
>>> def halve(i, state=[1.0]):        # a toy solver: the residual halves each iteration
...     state[0] /= 2
...     return Step(residual=state[0], X=np.array([state[0]]))
>>> run = drive(halve, solver="toy", tol=1e-3)
>>> run.status == Status.TOLERANCE, run.n_iter
(True, 10)
>>> res = run.result()
>>> res.converged, bool(res.history["residual"][-1] < 1e-3)
(True, True)

``run.result(x=..., L=..., S=..., info=...)`` builds the immutable
:class:`SolveResult` (defaults: the last step's ``X``, ``L``, ``S``).

:func:`prepare` is the argument checker a solver of ``b = A(x)`` starts
with: operator and ``b`` (:func:`cs.operators.check_problem`), ``b`` scaled
to ``max |b| = 1`` in the working precision, the truth (``X_true``...)
checked against the operator's shape, ``callback`` callable, ``rng``
normalised once (pass ``problem.rng`` down, never the seed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np

from .._validation import as_rng, check_callback, check_int, check_like, check_real
from ..operators import check_problem

__all__ = ["SolveResult", "Status", "MESSAGES", "Iterate", "Step", "drive", "Problem", "prepare",
           "default_tol"]


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


@dataclass(frozen=True, repr=False)
class SolveResult:
    """The outcome of a solver (immutable once returned).

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
        True when the package checked that the residual met its tolerance.
    status : int
        A :class:`Status` code; ``reason`` is its message.
    reason : str
        Why it stopped, in words.
    history : dict of str -> ndarray
        Per-iteration records (read-only arrays): ``residual`` (relative
        residual ``||A(X) - b|| / ||b||``), ``time`` (seconds since the
        start), ``step`` (step sizes), and ``error_X``/``error_L``/``error_S``
        when the truth was passed in.  Solvers may add their own (``kkt``...).
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

    def __post_init__(self):
        for values in self.history.values():
            if isinstance(values, np.ndarray):
                values.flags.writeable = False

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


class Iterate:
    """What a ``callback`` sees after every iteration (return True to stop).

    Fields ``n_iter``, ``x``, ``L``, ``S`` and ``residual``, read by name or
    unpacked like a tuple.  The estimates are put back in the caller's units
    only when a callback reads them: a progress bar that shows the residual
    costs no pass over a large unknown.  Read (or copy) them inside the
    callback: an ``Iterate`` kept for later reads the solver's state then.
    """

    _fields = ("n_iter", "x", "L", "S", "residual")
    __slots__ = ("n_iter", "residual", "_step", "_run", "_cache")

    def __init__(self, n_iter, step, run, residual):
        self.n_iter, self.residual = n_iter, residual
        self._step, self._run, self._cache = step, run, {}

    def _scaled(self, name):
        if name not in self._cache:
            value = self._step.estimate() if name == "x" else getattr(self._step, name)
            self._cache[name] = self._run.scaled(value)
        return self._cache[name]

    x = property(lambda self: self._scaled("x"), doc="The estimate (``L + S`` for L+S problems).")
    L = property(lambda self: self._scaled("L"), doc="The low-rank component, or None.")
    S = property(lambda self: self._scaled("S"), doc="The sparse component, or None.")

    def __iter__(self):
        return iter(getattr(self, name) for name in self._fields)

    def __getitem__(self, index):
        return tuple(self)[index] if isinstance(index, slice) else getattr(self, self._fields[index])

    def __len__(self):
        return len(self._fields)

    def __repr__(self):
        return f"Iterate(n_iter={self.n_iter}, residual={self.residual:.3g})"


class Step(NamedTuple):
    """What one iteration reports to :func:`drive`.

    ``X`` may be None when ``L`` and ``S`` are given (``X = L + S`` is then
    formed only when something needs it).  ``extras`` maps history names to
    numbers; ``measure`` is what the stop test watches when it is not the
    residual (ADMM's KKT residual); ``fixed_point`` says the next iteration
    would change nothing.
    """

    residual: float
    X: np.ndarray | None = None
    L: np.ndarray | None = None
    S: np.ndarray | None = None
    step: float = np.nan
    extras: dict | None = None
    measure: float | None = None
    fixed_point: bool = False

    def estimate(self):
        return self.L + self.S if self.X is None and self.L is not None else self.X


def default_tol(dtype):
    """The default relative-residual tolerance for a working precision."""
    return 1e-5 if np.dtype(dtype) == np.float32 else 1e-9


def _stop_test(measures, tol, rate_tol, window, diverge):
    """The stopping rule of Tanner & Vary (2023): a :class:`Status`, or None to go on."""
    r = measures[-1]
    if not np.isfinite(r) or r > diverge * max(measures[0], 1.0):
        return Status.DIVERGED
    if r < tol:
        return Status.TOLERANCE
    if rate_tol is not None and len(measures) > window:
        old = measures[-1 - window]
        if old > 0 and (r / old) ** (1.0 / window) > rate_tol:
            return Status.STALLED
    return None


class Run:
    """A finished :func:`drive`: ``status``, ``n_iter``, ``last`` (a :class:`Step`),
    ``history``, ``seconds`` (since the driver started) and :meth:`result`."""

    def __init__(self, solver, scale, start):
        self.solver, self.scale, self.start = solver, scale, start
        self.history = {"residual": [], "time": [], "step": []}
        self.status, self.n_iter, self.last = None, 0, None

    @property
    def seconds(self):
        return time.perf_counter() - self.start

    def scaled(self, value):
        return value if value is None or self.scale == 1.0 else value * self.scale

    def result(self, *, x=None, L=None, S=None, info=None, status=None, reason=None, n_iter=None):
        """The :class:`SolveResult`; estimates default to the last step's, in the caller's units."""
        last = self.last
        if L is None:
            L = self.scaled(last.L)
        if S is None:
            S = self.scaled(last.S)
        if x is None:
            # X = L + S exactly in the caller's units; a component that is X stays the same array
            x = (L + S if last.X is None else L if last.X is last.L else S if last.X is last.S
                 else self.scaled(last.X))
        status = self.status if status is None else status
        return SolveResult(
            x=x, L=L, S=S, n_iter=self.n_iter if n_iter is None else n_iter,
            converged=status in CONVERGED,
            status=status, reason=MESSAGES[status] if reason is None else reason,
            history={k: np.asarray(v) for k, v in self.history.items()}, solver=self.solver,
            info={} if info is None else info)


def drive(step: Callable[[int], Step], *, solver: str, tol: float, rate_tol: float | None = 0.999,
          max_iter: int = 1000, window: int = 15, diverge: float = 1e6,
          first: Callable[[], Step] | None = None, check_first: bool = True, truth=None,
          callback=None, scale: float = 1.0) -> Run:
    """Run ``step(n_iter)`` for n_iter = 1, 2, ... until the stop test or the callback stops it.

    See the module docstring for the order of the work.  ``rate_tol=None``
    turns the stall test off; ``truth`` maps ``"X"``/``"L"``/``"S"`` to the
    true arrays (None entries ignored) in the caller's units.
    """
    tol = check_real(tol, "tol", low=0.0)
    if rate_tol is not None:
        rate_tol = check_real(rate_tol, "rate_tol", low=0.0, low_open=True)
    max_iter = check_int(max_iter, "max_iter", low=1)
    run = Run(solver, float(scale), time.perf_counter())
    history, measures = run.history, []
    truth = {k: np.asarray(v) / scale if scale != 1.0 else np.asarray(v)
             for k, v in (truth or {}).items() if v is not None}
    norms = {k: float(np.linalg.norm(v)) or 1.0 for k, v in truth.items()}
    for k in truth:
        history[f"error_{k}"] = []

    def record(s, checked):
        history["residual"].append(float(s.residual))
        history["time"].append(run.seconds)
        history["step"].append(float(s.step))
        for k, true in truth.items():
            est = s.estimate() if k == "X" else getattr(s, k)
            if est is not None:
                history[f"error_{k}"].append(float(np.linalg.norm(est - true)) / norms[k])
        for k, v in (s.extras or {}).items():
            history.setdefault(k, []).append(float(v))
        run.last = s
        if not checked:
            return None
        measures.append(float(s.residual if s.measure is None else s.measure))
        status = _stop_test(measures, tol, rate_tol, window, diverge)
        if status is None and s.fixed_point:
            status = Status.NO_PROGRESS
        if status is None and run.n_iter >= max_iter:
            status = Status.MAX_ITER
        return status

    status = record(first(), check_first) if first is not None else None
    while status is None:
        run.n_iter += 1
        s = step(run.n_iter)
        status = record(s, True)
        if callback is not None:
            shown = Iterate(run.n_iter, s, run, float(s.residual))
            if callback(shown) and status is None:
                status = Status.CALLBACK
    run.status = status
    return run


Problem = NamedTuple("Problem", [("A", object), ("b", np.ndarray), ("scale", float), ("truth", dict),
                                 ("rng", np.random.Generator)])


def prepare(A, b, *, truth=None, callback=None, rng=None, input_shape=None):
    """The checks every solver of ``b = A(x)`` shares, in one place.

    Returns a :class:`Problem`: the operator, ``b / scale`` in the working
    precision (float32 stays float32) with ``scale = max |b|`` (1 when
    ``b = 0``) so that no tolerance depends on the units, the truth checked
    against ``A.input_shape`` (``truth`` maps the argument names
    ``X_true``/``L_true``/``S_true`` to arrays), ``callback`` checked and
    ``rng`` normalised once.
    """
    A, b = check_problem(A, b, input_shape=input_shape)
    dtype = np.result_type(A.dtype, b.dtype, np.float32)
    scale = float(np.max(np.abs(b), initial=0.0)) or 1.0
    b = (b / scale).astype(dtype, copy=False)
    checked = {name[0]: check_like(value, name, A.input_shape) for name, value in (truth or {}).items()}
    check_callback(callback)
    return Problem(A, b, scale, checked, as_rng(rng))
