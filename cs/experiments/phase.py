r"""Phase-transition studies: declare once, run on every core or a cluster, resume, summarise.

A *study* is a grid of problem sizes -- :math:`\delta = p/N` against
:math:`\rho = k/p` for sparse vectors (or :math:`\rho_r = r(m+n-r)/p` for
low-rank matrices), or :math:`\delta` against the pair
:math:`(\rho_r, \rho_s = s/p)` with :math:`\rho_r + \rho_s \le 1` for low-rank
plus sparse matrices -- times a number of independent trials per cell.  Every
trial draws its problem from its own seed,
``SeedSequence((study_hash, cell, trial))``, so any trial can be re-run alone
and gives the same numbers, and no two cells, studies or machines share a seed.

Results go to a :class:`~cs.experiments.store.Store` (SQLite) one trial at a
time, written only by the coordinating process; running the same study again
skips what is done, so a study survives being killed at any moment.  Work is
sent to any :class:`concurrent.futures.Executor` (a process pool over all
cores by default, or a Dask cluster through
``distributed.Client(address).get_executor()``) in batches of trials.

The 50 % curve of a study is found as Donoho & Tanner do: at each
:math:`\delta`, a logistic regression of success against :math:`\rho`,
:math:`P(\text{success}) = 1 / (1 + e^{-(\beta_0 + \beta_1 \rho)})`, and
:math:`\rho_{50} = -\beta_0/\beta_1`.

References
----------
D. L. Donoho and J. Tanner, "Observed universality of phase transitions in
high-dimensional geometry", Phil. Trans. R. Soc. A 367, 2009 (the logistic
method).
J. D. Blanchard and J. Tanner, "Performance comparisons of greedy algorithms in
compressed sensing", Numer. Linear Algebra Appl. 22(2), 2015.
J. Tanner and S. Vary, "Compressed sensing of low-rank plus sparse matrices",
Appl. Comput. Harmon. Anal. 64, 2023 (arXiv:2007.09457), Figure 1.
D. Amelunxen, M. Lotz, M. B. McCoy and J. A. Tropp, "Living on the edge: phase
transitions in convex programs with random data", Inf. Inference 3(3), 2014.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import functools
import inspect
import json
import math
import os
import socket
import time
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .._validation import check_choice, check_int, check_real
from .store import TRIAL_FIELDS, Store, definition_hash

__all__ = ["Study", "Cell", "PRESETS", "preset", "SOLVERS", "SUCCESS_RULES", "PROBLEMS", "VALUES",
           "trial_seed", "trial_problem", "run_trial", "run_study", "CellSummary", "Summary",
           "summarise", "Transition", "fit_transition", "transition_curve", "donoho_tanner_rho"]

#: Problem families.
PROBLEMS = ("sparse", "low_rank", "ls")
#: Values of the nonzeros of sparse vectors (matrices are always Gaussian-factor, see cs.datasets).
VALUES = ("gaussian", "sign")
#: Success rules: ``rel_l2`` is ||X^ - X||_F / ||X||_F, ``rel_linf`` is max|X^ - X| / max|X|.
SUCCESS_RULES = ("rel_l2", "rel_linf")
#: Solver name -> the problem families it solves.
SOLVERS = {
    "niht": ("sparse", "low_rank", "ls"),
    "naht": ("ls",),
    "sparcs": ("ls",),
    "convex": ("sparse", "low_rank", "ls"),
    "l1": ("sparse",),
    "iht": ("sparse",),
    "htp": ("sparse",),
    "cosamp": ("sparse",),
    "omp": ("sparse",),
}
#: Arguments the runner sets itself (not solver options).
_RUNNER_ARGS = {"A", "b", "sparsity", "rank", "kind", "X_true", "L_true", "S_true", "callback",
                "rng", "x0", "init", "shape"}
#: Schedules: every cell; or walk an axis upward per column, stopping after
#: ``count`` consecutive settled cells (all trials successful when walking
#: delta, all failed when walking rho).
_SCHEDULES = ("full", "walk-delta", "walk-rho")
#: Environment variable of the test-only hook that kills a worker once (see _maybe_die).
_DIE_ONCE_ENV = "CS_PHASE_TEST_DIE_ONCE"


def _solver(name):
    """The solver function (imported on first use: workers import only what they run)."""
    if name == "sparcs":
        from ..solvers.sparcs import sparcs

        return sparcs
    from .. import solvers

    return getattr(solvers, name)


def _float_tuple(values, name, *, low=0.0, high=1.0, low_open=False):
    try:
        values = tuple(values)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of numbers, got {values!r}") from None
    return tuple(round(check_real(v, f"{name}[{i}]", low=low, high=high, low_open=low_open), 12)
                 for i, v in enumerate(values))


def _parse_rule(rule):
    """``"rel_l2:1e-2"`` -> ``("rel_l2", 0.01)``."""
    if not isinstance(rule, str) or ":" not in rule:
        raise ValueError(f"success={rule!r} must be NAME:TOL with NAME one of {list(SUCCESS_RULES)}, "
                         f"e.g. 'rel_l2:1e-2'")
    name, _, tol = rule.partition(":")
    check_choice(name, "success", SUCCESS_RULES)
    try:
        tol = float(tol)
    except ValueError:
        raise ValueError(f"success={rule!r}: the tolerance {tol!r} is not a number") from None
    return name, check_real(tol, "success tolerance", low=0.0, low_open=True)


def _parse_schedule(schedule):
    name, _, count = str(schedule).partition(":")
    check_choice(name, "schedule", _SCHEDULES)
    if name == "full":
        if count:
            raise ValueError(f"schedule={schedule!r}: 'full' takes no count")
        return name, 0
    try:
        count = int(count)
    except ValueError:
        raise ValueError(f"schedule={schedule!r} must be {name}:COUNT, e.g. '{name}:5'") from None
    return name, check_int(count, "schedule count", low=1)


class Cell(NamedTuple):
    """One grid point: its index, ``delta`` and ``rho`` (sparse, low_rank) or ``rho_r``, ``rho_s`` (ls)."""

    index: int
    delta: float
    rho: float | None = None
    rho_r: float | None = None
    rho_s: float | None = None


@dataclass(frozen=True)
class Study:
    r"""The definition of a phase-transition study (everything that decides its numbers).

    Parameters
    ----------
    problem : {"sparse", "low_rank", "ls"}
        Sparse vectors, low-rank matrices, or low-rank plus sparse matrices.
    shape : (n,) or (m, n)
        The unknown's size (an int is taken as ``(n,)``).
    operator : str
        A name from :data:`cs.datasets.synthetic.OPERATORS`.
    deltas : sequence of float in (0, 1]
        :math:`\delta = p/N`.
    rhos : sequence of float >= 0
        :math:`\rho = k/p` (sparse) or :math:`\rho_r = r(m+n-r)/p` (low_rank).
    rho_r, rho_s : sequences of float in [0, 1]
        The L+S grid: every pair with :math:`\rho_r + \rho_s \le 1`.
    trials : int
        Trials per cell.
    values : {"gaussian", "sign"}
        The nonzeros of sparse vectors (``sign`` for ±1).  Matrices are drawn
        by :func:`cs.datasets.synthetic.ls_problem` and take ``"gaussian"``.
    solver : str
        A name from :data:`SOLVERS`.
    options : dict
        Keyword arguments for the solver (e.g. ``{"tol": 1e-4, "max_iter": 500}``).
    success : str, optional
        ``"rel_l2:TOL"`` (relative Frobenius/l2 error of X at most TOL) or
        ``"rel_linf:TOL"`` (relative l_inf error at most TOL).  Default
        ``rel_l2:1e-2`` for matrices (Tanner & Vary) and ``rel_linf:1e-3`` for
        vectors (Blanchard & Tanner).
    schedule : str
        ``"full"`` (every cell), ``"walk-delta:C"`` (per column of fixed rho,
        run delta upward and stop after C consecutive cells in which every
        trial succeeded; the rest of the column counts as success -- Tanner &
        Vary's budget saving) or ``"walk-rho:C"`` (per delta, run rho upward
        and stop after C consecutive cells in which every trial failed).

    The definition is validated when the object is built, so a bad study
    fails before any compute starts.  :meth:`to_dict`/:meth:`from_dict` and
    :meth:`to_toml`/:meth:`from_toml` give the same fields as plain data;
    :attr:`hash` (SHA-256 of the canonical JSON) seeds every trial.
    """

    problem: str
    shape: tuple
    operator: str = "gaussian"
    deltas: tuple = ()
    rhos: tuple = ()
    rho_r: tuple = ()
    rho_s: tuple = ()
    trials: int = 10
    values: str = "gaussian"
    solver: str = "niht"
    options: dict = field(default_factory=dict)
    success: str | None = None
    schedule: str = "full"

    def __post_init__(self):
        from ..datasets.synthetic import OPERATORS

        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        check_choice(self.problem, "problem", PROBLEMS)
        shape = (self.shape,) if isinstance(self.shape, (int, np.integer)) else tuple(self.shape)
        want = 1 if self.problem == "sparse" else 2
        if len(shape) != want:
            raise ValueError(f"shape={self.shape!r} must be {'(n,)' if want == 1 else '(m, n)'} "
                             f"for problem={self.problem!r}")
        put("shape", tuple(check_int(s, "shape", low=1) for s in shape))
        check_choice(self.operator, "operator", set(OPERATORS))
        put("deltas", _float_tuple(self.deltas, "deltas", low_open=True))
        if not self.deltas:
            raise ValueError("deltas is empty: give at least one delta in (0, 1]")
        if self.problem == "ls":
            if self.rhos:
                raise ValueError("rhos is for sparse and low_rank studies; an ls study takes rho_r and rho_s")
            put("rhos", ())
            put("rho_r", _float_tuple(self.rho_r, "rho_r"))
            put("rho_s", _float_tuple(self.rho_s, "rho_s"))
            if not self.rho_r or not self.rho_s:
                raise ValueError("an ls study needs both rho_r and rho_s (non-empty)")
            if not self._pairs():
                raise ValueError(f"the grid is empty: rho_r + rho_s > 1 for every pair "
                                 f"(smallest sum {min(self.rho_r) + min(self.rho_s):g})")
        else:
            if self.rho_r or self.rho_s:
                raise ValueError(f"rho_r and rho_s are for ls studies; a {self.problem} study takes rhos")
            put("rho_r", ())
            put("rho_s", ())
            put("rhos", _float_tuple(self.rhos, "rhos", high=None))
            if not self.rhos:
                raise ValueError("rhos is empty: give at least one rho")
        put("trials", check_int(self.trials, "trials", low=1))
        check_choice(self.values, "values", VALUES if self.problem == "sparse" else ("gaussian",))
        check_choice(self.solver, "solver", set(SOLVERS))
        if self.problem not in SOLVERS[self.solver]:
            able = sorted(n for n, kinds in SOLVERS.items() if self.problem in kinds)
            raise ValueError(f"solver={self.solver!r} does not solve {self.problem} problems; "
                             f"use one of {able}")
        options = dict(self.options or {})
        allowed = self._solver_options()
        for key in options:
            if key not in allowed:
                raise ValueError(f"options has {key!r}, which {self.solver} does not take; "
                                 f"valid options: {sorted(allowed)}")
        put("options", json.loads(json.dumps(options, sort_keys=True)))
        if self.success is None:
            put("success", "rel_linf:1e-3" if self.problem == "sparse" else "rel_l2:1e-2")
        _parse_rule(self.success)
        _parse_schedule(self.schedule)

    def _solver_options(self):
        params = inspect.signature(_solver(self.solver)).parameters
        return {name for name, p in params.items()
                if name not in _RUNNER_ARGS and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}

    def _pairs(self):
        return [(r, s) for r in self.rho_r for s in self.rho_s if r + s <= 1.0 + 1e-9]

    # ---------------------------------------------------------------- data

    def to_dict(self):
        """The definition as plain JSON-able data (lists, not tuples)."""
        data = dataclasses.asdict(self)
        return json.loads(json.dumps(data))

    @classmethod
    def from_dict(cls, data):
        """The inverse of :meth:`to_dict`; unknown keys raise naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown study fields {sorted(unknown)}; valid: {sorted(names)}")
        return cls(**data)

    def to_toml(self):
        """The definition as a TOML document (readable by :meth:`from_toml`)."""
        lines = []
        for key, value in self.to_dict().items():
            if key == "options":
                continue
            if value is None:
                continue
            lines.append(f"{key} = {json.dumps(value)}")
        lines.append("")
        lines.append("[options]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in self.options.items()]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, path):
        """Read a study from a TOML file (the fields of :class:`Study`)."""
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        with open(path, "rb") as fh:
            try:
                data = tomllib.load(fh)
            except tomllib.TOMLDecodeError as err:
                raise ValueError(f"{path}: not valid TOML ({err})") from None
        return cls.from_dict(data)

    @property
    def hash(self):
        """SHA-256 (hex) of the canonical JSON definition."""
        return definition_hash(self.to_dict())

    # ---------------------------------------------------------------- grid

    @property
    def size(self):
        """N, the number of entries of the unknown."""
        return math.prod(self.shape)

    def cells(self):
        """The grid, in index order: delta outermost, then rho (or rho_r, rho_s)."""
        return list(self._cells)

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_cells", None)  # a cache (megabytes for a large grid), remade where it is used
        return state

    @functools.cached_property
    def _cells(self):
        # made once per Study (every trial looks up its cell: 85 ms a time for a grid of
        # 60,000 cells); the fields it depends on are tuples, so it cannot go stale
        if self.problem == "ls":
            points = [(d, None, r, s) for d in self.deltas for r, s in self._pairs()]
        else:
            points = [(d, rho, None, None) for d in self.deltas for rho in self.rhos]
        return tuple(Cell(i, *pt) for i, pt in enumerate(points))

    def columns(self):
        """The cells grouped as the schedule walks them: a list of lists of cell indices."""
        name, _ = _parse_schedule(self.schedule)
        cells = self.cells()
        if name == "full":
            return [[c.index] for c in cells]
        if name == "walk-delta":
            key = (lambda c: (c.rho,)) if self.problem != "ls" else (lambda c: (c.rho_r, c.rho_s))
            order = lambda c: c.delta  # noqa: E731
        else:
            key = (lambda c: (c.delta,)) if self.problem != "ls" else (lambda c: (c.delta, c.rho_r))
            order = (lambda c: c.rho) if self.problem != "ls" else (lambda c: c.rho_s)
        groups = {}
        for c in cells:
            groups.setdefault(key(c), []).append(c)
        return [[c.index for c in sorted(group, key=order)] for group in groups.values()]

    def settle(self):
        """``(count, settled success rate)`` of the walk, or ``(0, None)`` for ``full``."""
        name, count = _parse_schedule(self.schedule)
        return count, {"full": None, "walk-delta": 1.0, "walk-rho": 0.0}[name]


# ---------------------------------------------------------------- presets

def _grid(start, stop, step):
    count = int(math.floor((stop - start) / step + 1e-9)) + 1
    return tuple(round(start + i * step, 12) for i in range(count))


def blanchard_tanner(operator="gaussian", **overrides):
    r"""Sparse vectors as in Blanchard & Tanner (NLAA 2015), for NIHT.

    From the paper: ``n = 1024``; nonzeros ±1 (``values="sign"``); the
    Gaussian ensemble with i.i.d. N(0, 1/m) entries (``operator="gaussian"``,
    see :func:`cs.operators.gaussian`) and the subsampled DCT
    (``operator="dct"``; ``"fjlt"`` adds random signs); success when the
    relative :math:`\ell_\infty` error is below 1e-3; NIHT stopped at a
    relative residual of 1e-4 or after 500 iterations (``options``).

    This package's choices (not the paper's): the grid
    :math:`\delta = 0.05, 0.1, \dots, 1` and :math:`\rho = 0.02, 0.04, \dots, 1`,
    10 trials per cell, and the schedule ``walk-rho:4``, which stops each
    delta after 4 consecutive cells where every trial failed (failed cells
    cost the full 500 iterations; the 50 % curve lies below them).
    """
    spec = dict(problem="sparse", shape=(1024,), operator=operator, deltas=_grid(0.05, 1.0, 0.05),
                rhos=_grid(0.02, 1.0, 0.02), trials=10, values="sign", solver="niht",
                options={"tol": 1e-4, "max_iter": 500}, success="rel_linf:1e-3",
                schedule="walk-rho:4")
    spec.update(overrides)
    return Study(**spec)


def tanner_vary_fig1(**overrides):
    r"""Low-rank plus sparse matrices as in Tanner & Vary (ACHA 2023), Figure 1.

    From the paper: 100 x 100 matrices, the FJLT operator, 20 trials per
    cell, success when the relative error of X is at most 1e-2,
    :math:`\delta = 0.02, 0.07, \dots, 0.97`, :math:`\rho_r` and
    :math:`\rho_s` on a 0.1 grid (here 0.1, ..., 0.9 with
    :math:`\rho_r + \rho_s \le 1`), and the budget saving: for each
    :math:`(\rho_r, \rho_s)` walk delta upward and stop after 5 cells in which
    every trial succeeded (``schedule="walk-delta:5"``).  Solver NIHT with
    its defaults; pass ``solver="naht"``, ``"sparcs"`` or ``"convex"`` to
    compare.
    """
    spec = dict(problem="ls", shape=(100, 100), operator="fjlt", deltas=_grid(0.02, 1.0, 0.05),
                rho_r=_grid(0.1, 0.9, 0.1), rho_s=_grid(0.1, 0.9, 0.1), trials=20, solver="niht",
                success="rel_l2:1e-2", schedule="walk-delta:5")
    spec.update(overrides)
    return Study(**spec)


#: Built-in studies by name.
PRESETS = {"blanchard-tanner": blanchard_tanner, "tanner-vary-fig1": tanner_vary_fig1}


def preset(name, **overrides):
    """A built-in study, with any field overridden (e.g. ``trials=3``)."""
    check_choice(name, "preset", set(PRESETS))
    return PRESETS[name](**overrides)


# ---------------------------------------------------------------- one trial

def trial_seed(study, cell, trial):
    """The trial's ``SeedSequence((study_hash, cell, trial))``."""
    return np.random.SeedSequence((int(study.hash, 16), int(cell), int(trial)))


def trial_problem(study, cell, trial):
    """The trial's problem (a :class:`cs.datasets.synthetic.Problem`) and the solver's Generator."""
    from ..datasets import synthetic

    c = study._cells[cell]
    problem_seed, solver_seed = trial_seed(study, cell, trial).spawn(2)
    rng = np.random.default_rng(problem_seed)
    if study.problem == "sparse":
        prob = synthetic.sparse_problem(study.shape[0], c.delta, c.rho, operator=study.operator,
                                        values=study.values, rng=rng)
    elif study.problem == "low_rank":
        prob = synthetic.low_rank_problem(study.shape, c.delta, c.rho, operator=study.operator, rng=rng)
    else:
        prob = synthetic.ls_problem(study.shape, c.delta, c.rho_r, c.rho_s, operator=study.operator,
                                    rng=rng)
    return prob, np.random.default_rng(solver_seed)


def _errors(estimate, truth):
    """(relative l2 error, relative l_inf error); inf for a non-finite estimate."""
    diff = np.asarray(estimate, dtype=np.float64) - truth
    if not np.all(np.isfinite(diff)):
        return math.inf, math.inf
    norm2, norminf = float(np.linalg.norm(truth)), float(np.max(np.abs(truth), initial=0.0))
    e2, einf = float(np.linalg.norm(diff)), float(np.max(np.abs(diff), initial=0.0))
    return (e2 / norm2 if norm2 else e2), (einf / norminf if norminf else einf)


def run_trial(study, cell, trial):
    """Run one trial; return its row (the fields of :data:`cs.experiments.store.TRIAL_FIELDS`).

    A solver that raises is recorded as a failed trial whose ``reason``
    starts with ``"error:"`` (the grid's corners, rank 0 or sparsity 0, are
    legitimate problems that a solver may reject).
    """
    from .. import __version__

    prob, rng = trial_problem(study, cell, trial)
    func = _solver(study.solver)
    kwargs = dict(study.options)
    params = inspect.signature(func).parameters
    if study.problem in ("sparse", "ls"):
        kwargs["sparsity"] = prob.sparsity
    if study.problem in ("low_rank", "ls"):
        kwargs["rank"] = prob.rank
    if study.solver == "convex":
        kwargs["kind"] = study.problem
    if "rng" in params:
        kwargs["rng"] = rng
    seed = trial_seed(study, cell, trial).generate_state(2, np.uint32)
    row = dict.fromkeys(TRIAL_FIELDS)
    row.update(cell=int(cell), trial=int(trial), seed=str(int(seed[0]) << 32 | int(seed[1])),
               version=__version__, host=socket.gethostname())
    start = time.perf_counter()
    try:
        res = func(prob.A, prob.b, **kwargs)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as err:
        row.update(seconds=time.perf_counter() - start, success=0, converged=0, iterations=0,
                   reason=f"error: {type(err).__name__}: {err}",
                   finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        return row
    row["seconds"] = time.perf_counter() - start
    x = np.asarray(res.x).reshape(prob.x.shape)
    e2, einf = _errors(x, prob.x)
    rule, tol = _parse_rule(study.success)
    if prob.L is not None and res.L is not None and study.problem == "ls":
        row["error_L"] = _errors(res.L, prob.L)[0]
        row["error_S"] = _errors(res.S, prob.S)[0]
    b_norm = float(np.linalg.norm(prob.b)) or 1.0
    rel_res = float(np.linalg.norm(prob.b - prob.A.forward(x))) / b_norm if math.isfinite(e2) else math.inf
    row.update(error_X=e2, rel_residual=rel_res, iterations=int(res.n_iter),
               converged=int(bool(res.converged)),
               success=int((e2 if rule == "rel_l2" else einf) <= tol), reason=str(res.reason),
               finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    return row


def _maybe_die():
    """Test-only hook: with ``CS_PHASE_TEST_DIE_ONCE=PATH`` set, the first
    trial to start anywhere creates PATH and kills its worker process
    (``os._exit``), as a crash mid-trial would; later trials run normally."""
    path = os.environ.get(_DIE_ONCE_ENV)
    if path:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.close(fd)
        os._exit(70)


_STUDIES = {}


def _run_batch(definition, tasks):
    """Worker entry point: run the ``(cell, trial)`` pairs of one batch; return their rows."""
    key = json.dumps(definition, sort_keys=True)
    study = _STUDIES.get(key)
    if study is None:
        study = _STUDIES[key] = Study.from_dict(definition)
    rows = []
    for cell, trial in tasks:
        _maybe_die()
        rows.append(run_trial(study, cell, trial))
    return rows


def _limit_threads():
    """Pool initializer: one BLAS thread per worker, and one thread for cs's own long passes
    (the pool supplies the parallelism)."""
    from .._parallel import limit

    limit(1)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1)


# ---------------------------------------------------------------- the coordinator

class _Plan:
    """Which cells to run next: the first unsettled cell of each column.

    A column is settled once its last ``count`` finished cells (in walk
    order, consecutive) all have success rate ``settle``; its remaining
    cells are then skipped.
    """

    def __init__(self, study, outcomes):
        self.trials = study.trials
        self.count, self.settle = study.settle()
        self.columns = study.columns()
        self.outcomes = dict(outcomes)  # cell -> (stored trials, successes)
        self.position = [0] * len(self.columns)
        for j in range(len(self.columns)):
            self._advance(j)

    def complete(self, cell):
        n, _ = self.outcomes.get(cell, (0, 0))
        return n >= self.trials

    def _settled(self, column, upto):
        if self.settle is None or upto < self.count:
            return False
        recent = column[upto - self.count:upto]
        target = self.settle * self.trials
        return all(self.outcomes[c][1] == target for c in recent)

    def _advance(self, j):
        column = self.columns[j]
        pos = self.position[j]
        while pos < len(column) and self.complete(column[pos]):
            pos += 1
            if self._settled(column, pos):
                pos = len(column)
        self.position[j] = pos

    def ready(self):
        """Cells to run now (the current cell of every unfinished column)."""
        return [self.columns[j][p] for j, p in enumerate(self.position) if p < len(self.columns[j])]

    def record(self, cell, success):
        n, s = self.outcomes.get(cell, (0, 0))
        self.outcomes[cell] = (n + 1, s + int(success))

    def refresh(self):
        for j in range(len(self.columns)):
            self._advance(j)

    def skipped(self):
        """Cells the walk settled without running, with the rate they count as."""
        out = {}
        for j, column in enumerate(self.columns):
            if self.position[j] >= len(column):
                for c in column:
                    if not self.complete(c) and self.outcomes.get(c, (0, 0))[0] == 0:
                        out[c] = self.settle
        return out

    def cells_done(self):
        return sum(self.complete(c) for column in self.columns for c in column) + len(self.skipped())

    @property
    def finished(self):
        return all(p >= len(col) for p, col in zip(self.position, self.columns))


def _executor_slots(executor, workers):
    if workers:
        return workers
    for attr in ("_max_workers",):
        if getattr(executor, attr, None):
            return int(getattr(executor, attr))
    client = getattr(executor, "_client", None)
    if client is not None:
        try:
            return max(1, sum(client.nthreads().values()))
        except Exception:  # noqa: BLE001 (any client failure: fall back to one slot per core)
            pass
    return os.cpu_count() or 1


def run_study(study, store, *, executor=None, workers=None, scheduler=None, batch_size=None,
              progress=True, retries=3):
    """Run (or resume) a study, committing each trial to ``store`` as it arrives.

    Parameters
    ----------
    study : Study
    store : str, Path or Store
        The results file; created when absent.  A file holding another study
        is refused (:class:`~cs.experiments.store.StoreError` naming the
        field that differs).
    executor : concurrent.futures.Executor, optional
        Where trials run.  Default: a process pool of ``workers`` processes
        (all cores when None), shut down at the end.  A pool of ours whose
        worker dies is rebuilt and the lost trials are sent again.
    workers : int, optional
        Pool size, and the number of batches kept in flight per slot.
    scheduler : str, optional
        The address of a Dask scheduler: runs on its cluster through
        ``distributed.Client(scheduler).get_executor()`` (needs the
        ``distributed`` extra).
    batch_size : int, optional
        Trials per task (default: enough to keep per-task overhead small,
        at most 16 and at most a cell's trials).
    progress : bool
        Show a tqdm bar: cells done, trials per second, time left.
    retries : int
        How many times a trial whose task failed (its worker died) is sent
        again before the run stops with ``RuntimeError``.

    Returns
    -------
    Summary
        :func:`summarise` of the store once the study is done.

    Notes
    -----
    Only this process writes the store.  A trial is a pure function of the
    study and its ``(cell, trial)``, so the rows do not depend on the
    executor, the number of workers, the batch size or interruptions.
    """
    if not isinstance(study, Study):
        raise TypeError(f"study must be a Study, got {type(study).__name__}")
    if workers is not None:
        workers = check_int(workers, "workers", low=1)
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", low=1)
    retries = check_int(retries, "retries", low=0)
    own_store = not isinstance(store, Store)
    store = Store(store, study.to_dict()) if own_store else store
    client = None
    try:
        if executor is None and scheduler is not None:
            try:
                import distributed
            except ImportError:
                raise ImportError("scheduler= needs the Dask extra: pip install 'cs[distributed]'") from None
            client = distributed.Client(scheduler)
            executor = client.get_executor()
        new_pool = None
        if executor is None:
            n_workers = workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                    else os.cpu_count() or 1)
            new_pool = lambda: cf.ProcessPoolExecutor(n_workers, initializer=_limit_threads)  # noqa: E731
            slots = n_workers
        else:
            slots = _executor_slots(executor, workers)
        _coordinate(study, store, executor, new_pool, slots, batch_size, progress, retries)
        return summarise(store)
    finally:
        if client is not None:
            client.close()
        if own_store:
            store.close()


def _coordinate(study, store, executor, new_pool, slots, batch_size, progress, retries):
    from tqdm.auto import tqdm

    definition = study.to_dict()
    if new_pool is not None:
        executor = new_pool()
    done = store.done()
    plan = _Plan(study, store.cell_outcomes())
    in_flight = {}        # future -> list of (cell, trial)
    attempts = {}         # (cell, trial) -> failed attempts
    queued = set(done)    # trials stored or sent
    queue = []            # batches waiting for a slot
    n_cells = len(study.cells())
    start, new_trials = time.perf_counter(), 0
    bar = tqdm(total=n_cells, initial=plan.cells_done(), unit="cell", disable=not progress,
               desc="cells", dynamic_ncols=True)

    def enqueue():
        for cell in plan.ready():
            pending = [(cell, t) for t in range(study.trials) if (cell, t) not in queued]
            if not pending:
                continue
            size = batch_size or max(1, min(16, study.trials, -(-len(pending) // 2)))
            for i in range(0, len(pending), size):
                queue.append(pending[i:i + size])
            queued.update(pending)

    def submit():
        while queue and len(in_flight) < 2 * slots:
            batch = queue.pop(0)
            in_flight[executor.submit(_run_batch, definition, batch)] = batch

    enqueue()
    submit()
    try:
        while in_flight:
            finished, _ = cf.wait(list(in_flight), return_when=cf.FIRST_COMPLETED)
            broken = False
            for future in finished:
                batch = in_flight.pop(future)
                try:
                    rows = future.result()
                except Exception as err:  # noqa: BLE001 (a lost worker, whatever the executor says)
                    broken |= isinstance(err, cf.process.BrokenProcessPool)
                    for task in batch:
                        attempts[task] = attempts.get(task, 0) + 1
                        if attempts[task] > retries:
                            raise RuntimeError(f"trial (cell {task[0]}, trial {task[1]}) failed "
                                               f"{attempts[task]} times; last error: "
                                               f"{type(err).__name__}: {err}") from err
                    queue[:0] = [[task] for task in batch]  # again, one trial per task
                    continue
                before = plan.cells_done()
                for row in rows:
                    if store.add(row):
                        plan.record(row["cell"], row["success"])
                        new_trials += 1
                plan.refresh()
                bar.update(plan.cells_done() - before)
                elapsed = time.perf_counter() - start
                bar.set_postfix_str(f"{new_trials / elapsed:.2f} trials/s", refresh=False)
            if broken and new_pool is not None:
                # every future of a broken pool fails: send them all again to a new pool
                for future, batch in list(in_flight.items()):
                    queue[:0] = [[task] for task in batch]
                    in_flight.pop(future)
                executor.shutdown(wait=False, cancel_futures=True)
                executor = new_pool()
            enqueue()
            submit()
    finally:
        bar.close()
        for future in in_flight:
            future.cancel()
        if new_pool is not None:
            # a clean end waits for the workers; an interrupted one does not
            executor.shutdown(wait=not in_flight, cancel_futures=True)


# ---------------------------------------------------------------- summaries

@dataclass
class CellSummary:
    """One cell's outcome.  ``status``: ``measured``, ``partial``, ``pending``,
    or ``assumed`` (skipped by the walk; ``success_rate`` is the settled rate)."""

    index: int
    delta: float
    rho: float | None
    rho_r: float | None
    rho_s: float | None
    trials: int
    successes: int
    success_rate: float
    median_iterations: float
    median_seconds: float
    status: str


@dataclass
class Summary:
    """Per-cell outcomes of a study (see :func:`summarise`)."""

    study: Study
    cells: list
    trials_done: int
    trials_total: int | None

    @property
    def complete(self):
        return all(c.status in ("measured", "assumed") for c in self.cells)

    def grid(self, delta=None):
        """Success rates as a 2-D array.

        Sparse/low_rank: ``(rhos, deltas, rates)`` with ``rates[i, j]`` for
        ``rhos[i]``, ``deltas[j]``.  L+S at one ``delta``: ``(rho_r, rho_s,
        rates)`` with ``rates[i, j]`` for ``rho_s[i]``, ``rho_r[j]`` (NaN
        outside the grid or not yet run).
        """
        st = self.study
        if st.problem != "ls":
            rhos, deltas = np.array(st.rhos), np.array(st.deltas)
            rates = np.full((rhos.size, deltas.size), np.nan)
            for c in self.cells:
                rates[st.rhos.index(c.rho), st.deltas.index(c.delta)] = c.success_rate
            return rhos, deltas, rates
        if delta is None:
            raise ValueError("an ls study's grid is taken at one delta: give delta=")
        delta = min(st.deltas, key=lambda d: abs(d - delta))
        rr, rs = np.array(st.rho_r), np.array(st.rho_s)
        rates = np.full((rs.size, rr.size), np.nan)
        for c in self.cells:
            if c.delta == delta:
                rates[st.rho_s.index(c.rho_s), st.rho_r.index(c.rho_r)] = c.success_rate
        return rr, rs, rates


def summarise(store):
    """The success rate of every cell of a store (a path or an open :class:`Store`).

    Cells the walk skipped count as ``assumed`` with the settled rate and
    ``trials`` equal to the study's, so that fits and pictures see the
    whole grid.
    """
    own = not isinstance(store, Store)
    store = Store(store, readonly=True) if own else store
    try:
        study = Study.from_dict(store.definition)
        rows = store.rows(("cell", "iterations", "seconds", "success"))
    finally:
        if own:
            store.close()
    by_cell = {}
    for row in rows:
        by_cell.setdefault(row["cell"], []).append(row)
    plan = _Plan(study, {c: (len(r), sum(x["success"] for x in r)) for c, r in by_cell.items()})
    skipped = plan.skipped()
    cells = []
    for c in study.cells():
        rs = by_cell.get(c.index, [])
        n, s = len(rs), sum(r["success"] for r in rs)
        if c.index in skipped:
            status, n_eff, s_eff = "assumed", study.trials, int(round(skipped[c.index] * study.trials))
        else:
            status = "measured" if n >= study.trials else "partial" if n else "pending"
            n_eff, s_eff = n, s
        iters = [r["iterations"] for r in rs if r["iterations"] is not None]
        secs = [r["seconds"] for r in rs if r["seconds"] is not None]
        cells.append(CellSummary(c.index, c.delta, c.rho, c.rho_r, c.rho_s, n_eff, s_eff,
                                 s_eff / n_eff if n_eff else math.nan,
                                 float(np.median(iters)) if iters else math.nan,
                                 float(np.median(secs)) if secs else math.nan, status))
    total = None if study.schedule != "full" else len(cells) * study.trials
    return Summary(study, cells, len(rows), total)


# ---------------------------------------------------------------- the 50 % curve

class Transition(NamedTuple):
    """A logistic fit :math:`P = 1/(1 + e^{-(\\beta_0 + \\beta_1 x)})` and its 50 % point ``x50``."""

    x50: float
    intercept: float
    slope: float
    cells: int
    trials: int


def fit_transition(x, trials, successes, *, ridge=1e-6):
    r"""Fit success probability against ``x`` by logistic regression; return the 50 % point.

    Maximises the binomial log-likelihood of ``successes`` out of
    ``trials`` at each ``x`` under
    :math:`P(x) = 1/(1 + e^{-(\beta_0 + \beta_1 x)})` (Donoho & Tanner's
    method), with a small ridge ``ridge * sum(trials) * b^2`` on the slope
    in standardised units so that a perfectly sharp transition (complete
    separation) still gives a finite fit, centred in the gap.
    ``x50 = -beta_0/beta_1``; NaN when every trial succeeded or every
    trial failed, or when the fitted 50 % point lies outside the range of
    ``x`` (an extrapolation, not a transition seen in the data).
    """
    from scipy.optimize import minimize
    from scipy.special import log_expit

    x = np.asarray(x, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    s = np.asarray(successes, dtype=np.float64)
    keep = n > 0
    x, n, s = x[keep], n[keep], s[keep]
    total = float(n.sum())
    if x.size == 0 or s.sum() == 0 or s.sum() == total or np.ptp(x) == 0:
        return Transition(math.nan, math.nan, math.nan, int(x.size), int(total))
    mu, sd = float(np.average(x, weights=n)), float(np.std(x)) or 1.0
    z = (x - mu) / sd

    def loss(beta):
        eta = beta[0] + beta[1] * z
        nll = -(s * log_expit(eta) + (n - s) * log_expit(-eta)).sum()
        return nll / total + ridge * beta[1] ** 2

    def grad(beta):
        eta = beta[0] + beta[1] * z
        p = np.exp(log_expit(eta))
        r = (n * p - s) / total
        return np.array([r.sum(), (r * z).sum() + 2 * ridge * beta[1]])

    fit = minimize(loss, np.zeros(2), jac=grad, method="BFGS", options={"gtol": 1e-10, "maxiter": 500})
    b0, b1 = fit.x
    slope = b1 / sd
    intercept = b0 - b1 * mu / sd
    x50 = -intercept / slope if slope != 0 else math.nan
    if not x.min() <= x50 <= x.max():  # an extrapolation, not a transition seen in the data
        x50 = math.nan
    return Transition(float(x50), float(intercept), float(slope), int(x.size), int(total))


def transition_curve(summary):
    """The 50 % curve of a study: a list of dicts, one per delta (and rho_r for ls).

    Sparse/low_rank: ``{"delta", "rho_50", "intercept", "slope", "cells",
    "trials"}`` from :func:`fit_transition` of success against rho at each
    delta.  L+S: ``{"delta", "rho_r", "rho_s_50", ...}`` against rho_s at
    each (delta, rho_r).
    """
    if not isinstance(summary, Summary):
        summary = summarise(summary)
    groups = {}
    ls = summary.study.problem == "ls"
    for c in summary.cells:
        if c.status == "pending":
            continue
        groups.setdefault((c.delta, c.rho_r) if ls else (c.delta,), []).append(c)
    out = []
    for key, cells in sorted(groups.items()):
        xs = [c.rho_s if ls else c.rho for c in cells]
        fit = fit_transition(xs, [c.trials for c in cells], [c.successes for c in cells])
        row = {"delta": key[0]}
        if ls:
            row["rho_r"] = key[1]
        row[("rho_s_50" if ls else "rho_50")] = fit.x50
        row.update(intercept=fit.intercept, slope=fit.slope, cells=fit.cells, trials=fit.trials)
        out.append(row)
    return out


def _l1_statistical_dimension(eps):
    r""":math:`\psi(\epsilon)`, the normalised statistical dimension of the l1 descent cone
    at an :math:`\epsilon N`-sparse point (Amelunxen et al. 2014, Prop. 4.5):
    :math:`\inf_{\tau \ge 0}\ \epsilon(1+\tau^2) + (1-\epsilon)\,2[(1+\tau^2)Q(\tau) - \tau\varphi(\tau)]`."""
    from scipy.optimize import minimize_scalar
    from scipy.special import ndtr

    def value(tau):
        tail, density = ndtr(-tau), math.exp(-tau * tau / 2) / math.sqrt(2 * math.pi)
        return eps * (1 + tau ** 2) + (1 - eps) * 2 * ((1 + tau ** 2) * tail - tau * density)

    return minimize_scalar(value, bounds=(0.0, 12.0), method="bounded", options={"xatol": 1e-12}).fun


def donoho_tanner_rho(delta):
    r"""The weak phase transition :math:`\rho_W(\delta)` of l1 minimisation (signed, Gaussian).

    Recovery of a k-sparse vector by basis pursuit from :math:`p = \delta N`
    Gaussian measurements succeeds with high probability below
    :math:`\rho = k/p = \rho_W(\delta)` and fails above it (Donoho & Tanner
    2009).  Computed from the statistical dimension of the l1 descent cone:
    :math:`\delta = \psi(\rho\,\delta)` (Amelunxen, Lotz, McCoy & Tropp 2014),
    which equals the polytope-angle formulas; :math:`\rho_W(0.5) = 0.3857`.
    """
    from scipy.optimize import brentq

    deltas = np.atleast_1d(np.asarray(delta, dtype=np.float64))
    out = np.empty_like(deltas)
    for i, d in enumerate(deltas):
        if not 0 < d <= 1:
            raise ValueError(f"delta={d} must be in (0, 1]")
        if d == 1:
            out[i] = 1.0
            continue
        out[i] = brentq(lambda rho: _l1_statistical_dimension(rho * d) - d, 1e-9, 1 - 1e-12, xtol=1e-12)
    return out if np.ndim(delta) else float(out[0])
