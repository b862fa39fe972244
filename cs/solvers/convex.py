r"""Convex relaxations: basis pursuit, nuclear-norm minimisation and L+S.

The three programs

.. math::

    \text{sparse:}\quad &\min_X \|X\|_1 \\
    \text{low-rank:}\quad &\min_X \|X\|_* \\
    \text{L+S:}\quad &\min_{L,S} \|L\|_* + \lambda\|S\|_1,\quad X = L + S

subject to :math:`\mathcal{A}(X) = b`, or to :math:`\|\mathcal{A}(X) - b\|_2
\le \varepsilon` (the noisy form, ``eps > 0``).  The L+S program is the convex
relaxation of Tanner & Vary (2023, Section 3), the compressive principal
component pursuit of Wright, Ganesh, Min & Ma (2013); basis pursuit and
nuclear-norm minimisation are its one-component cases.

Two solvers, chosen by ``method``:

* ``"cvxpy"`` builds the program with an explicit ``p x N`` measurement
  matrix and hands it to a conic solver (an SDP for the nuclear norm).
  Exact to the solver's tolerance but only for small problems: the dense
  constraint has ``p N`` entries, and above :data:`MAX_CVXPY_ENTRIES` the
  call is refused before anything is built.
* ``"admm"`` is matrix-free: one ``forward`` and one ``adjoint`` per
  iteration, singular value soft thresholding for ``L`` and soft thresholding
  for ``S`` (both from :mod:`cs.threshold`).  See :func:`convex`.

References
----------
J. Tanner and S. Vary, "Compressed sensing of low-rank plus sparse matrices",
Appl. Comput. Harmon. Anal. 64:254-293, 2023 (arXiv:2007.09457).
J. Wright, A. Ganesh, K. Min and Y. Ma, "Compressive principal component
pursuit", Information and Inference 2(1):32-68, 2013.
E. J. Candès, X. Li, Y. Ma and J. Wright, "Robust principal component
analysis?", J. ACM 58(3), 2011.
S. Boyd, N. Parikh, E. Chu, B. Peleato and J. Eckstein, "Distributed
optimization and statistical learning via the alternating direction method of
multipliers", Found. Trends Mach. Learn. 3(1), 2011 (Sections 3.3, 3.4.1, 7.1).
J. Yang and X. Yuan, "Linearized augmented Lagrangian and alternating
direction methods for nuclear norm minimization", Math. Comp. 82, 2013.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .. import threshold
from .._validation import (check_choice, check_int, check_rank, check_real, check_shape,
                           check_sparsity)
from ..operators import as_operator, norm_squared
from .result import Status, Step, drive, prepare

__all__ = ["convex", "default_lam", "MAX_CVXPY_ENTRIES", "AUTO_CVXPY_ENTRIES"]

#: ``method="cvxpy"`` refuses problems whose dense constraint matrix has more
#: than this many entries (``p * N``): a 40 x 40 L+S program at delta = 0.5
#: (1.3e6 entries) takes minutes and over 1 GiB in an interior-point solver;
#: a 100 x 100 one does not fit in memory.
MAX_CVXPY_ENTRIES = 1_500_000

#: ``method="auto"`` uses cvxpy up to this many entries (e.g. 20 x 20 L+S at
#: delta <= 0.6, a sparse vector of length 400 at delta = 0.5), ADMM above.
AUTO_CVXPY_ENTRIES = 100_000

_KINDS = {"ls", "sparse", "low_rank"}

# ADMM constants.  The penalty beta is rebalanced (Boyd et al. 2011, Sec.
# 3.4.1) every _ADAPT_EVERY iterations when one relative residual exceeds the
# other by _BALANCE, at most _MAX_ADAPT times so that the iteration ends with
# a fixed penalty (the setting of the convergence proofs).
_ADAPT_EVERY = 10
_BALANCE = 5.0
_MAX_ADAPT = 100
_STALL_WINDOW = 500
# Randomised SVT: singular vectors beyond the predicted rank, oversampling and
# power iterations.  The kept singular vectors are accurate to about
# (sigma_{k+p+1}/sigma_r)^(2q+1); q = 2 leaves a floor near 1e-6 in the KKT
# residual on the 100 x 100 benchmark, q = 4 none above 1e-9.
_EXTRA_VECTORS = 5
_OVERSAMPLES = 10
_SVD_POWER_ITER = 4
# Power iteration for ||A||^2, and the safety factor on the linearised step.
_POWER_ITER = 200
_POWER_RTOL = 1e-7
_STEP_SAFETY = 1.05


def default_lam(shape, rank=None, sparsity=None):
    r"""The default weight :math:`\lambda` of the L+S program.

    :math:`\sqrt{r/s}` when the rank ``r`` and sparsity ``s`` are known and
    positive (the weight Tanner & Vary (2023) pair with their convex
    relaxation, also in their published experiments), otherwise
    :math:`1/\sqrt{\max(m, n)}`, the principal component pursuit weight of
    Candès et al. (2011) that Wright et al. (2013) keep for compressive PCP.
    """
    if rank and sparsity:
        return math.sqrt(rank / sparsity)
    return 1.0 / math.sqrt(max(shape))


# --------------------------------------------------------------------------
# Regularisers: the proximal map of each term and its dual norm.
# --------------------------------------------------------------------------

class _L1:
    r"""``weight * ||X||_1``; prox = soft thresholding."""

    def __init__(self, weight):
        self.weight = weight

    def prox(self, V, t):
        return threshold.soft(V, self.weight * t)

    def value(self, X):
        return self.weight * float(np.abs(X).sum())

    def dual_norm(self, Y):
        return float(np.abs(Y).max(initial=0.0)) / self.weight


class _Nuclear:
    r"""``weight * ||X||_*``; prox = singular value soft thresholding.

    Once the rank of the iterate is known, the SVT is computed from a
    randomised SVD of ``rank + _EXTRA_VECTORS`` vectors when that is small
    against ``min(m, n)``; if even the smallest computed singular value is
    above the threshold the rank may have been underestimated, and the exact
    :func:`cs.threshold.svt` is used instead.
    """

    def __init__(self, weight, svd, rank_hint, rng):
        self.weight, self.svd, self.rng = weight, svd, rng
        self.rank = rank_hint
        self.n_randomized = self.n_exact = 0

    def _use_randomized(self, size):
        if self.rank is None or self.svd == "exact":
            return False
        if self.svd == "randomized":
            return True
        return size >= 64 and 4 * (self.rank + _EXTRA_VECTORS + _OVERSAMPLES) <= size

    def prox(self, V, t):
        size = min(V.shape)
        k = min(self.rank + _EXTRA_VECTORS, size) if self._use_randomized(size) else None
        low = threshold.svt(V, self.weight * t, rank_hint=k, n_oversamples=_OVERSAMPLES,
                            n_power_iter=_SVD_POWER_ITER, rng=self.rng)
        self.rank = low.rank
        if k is not None and low.rank < k:
            self.n_randomized += 1
        else:
            self.n_exact += 1
        return low.X

    def value(self, X):
        return self.weight * float(np.linalg.svd(X, compute_uv=False).sum())

    def dual_norm(self, Y):
        return float(np.linalg.norm(Y, 2)) / self.weight


def _regularisers(kind, lam, svd, rank, rng):
    if kind == "ls":
        return [_Nuclear(1.0, svd, rank, rng), _L1(lam)]
    if kind == "low_rank":
        return [_Nuclear(1.0, svd, rank, rng)]
    return [_L1(1.0)]


def _total(parts):
    """X = sum of the parts (the part itself when there is one)."""
    return parts[0] if len(parts) == 1 else sum(parts[1:], parts[0])


def _project_ball(v, b, eps):
    """Euclidean projection onto {z : ||z - b|| <= eps}."""
    if eps == 0.0:
        return b.copy()
    d = v - b
    norm = float(np.linalg.norm(d))
    return v.copy() if norm <= eps else b + (eps / norm) * d


# --------------------------------------------------------------------------
# Constraint steps.  Both hold the dual variable y (A* y is the common
# subgradient of every term at the solution) and expose
#   points() -> (V_1..V_c, t): prox every term i at V_i with threshold w_i t;
#   update(X_1..X_c) -> (A(X), z, A* y): the constraint and dual updates,
# with one forward and one adjoint each.  The iteration loop is shared.
# --------------------------------------------------------------------------

class _ProjectionStep:
    r"""Exact projection, for :math:`\mathcal{A}\mathcal{A}^* = I`.

    ADMM on :math:`\sum_i f_i(X_i) + I_K(\sum_i U_i)` s.t. :math:`X_i = U_i`,
    :math:`K = \{X : \mathcal{A}(X) \in C\}`, :math:`C` the ball of radius
    :math:`\varepsilon` about ``b``.  The ``U``-step projects onto
    :math:`\{U : \sum U_i \in K\}`, in closed form because
    :math:`P_K(Z) = Z + \mathcal{A}^*(P_C(\mathcal{A}Z) - \mathcal{A}Z)` when
    the rows are orthonormal.  All multipliers equal :math:`Y = \mathcal{A}^*y`
    after one step (Boyd et al. 2011, Sec. 7.1, consensus form):

    .. math::

        X_i &= \operatorname{prox}_{f_i/\beta}(U_i - Y/\beta),\quad
        q = \mathcal{A}(\textstyle\sum_i X_i) + c\,y/\beta,\quad
        y^+ = \tfrac{\beta}{c}(q - P_C(q)), \\
        U_i &= X_i + (Y - Y^+)/\beta,\quad Y^+ = \mathcal{A}^*y^+.
    """

    name = "projection"

    def __init__(self, A, b, eps, n_parts, beta):
        self.A, self.b, self.eps, self.beta = A, b, eps, beta
        shape = A.input_shape
        self.U = [np.zeros(shape, b.dtype) for _ in range(n_parts)]
        self.y = np.zeros_like(b)
        self.Y = np.zeros(shape, b.dtype)

    def points(self):
        shift = self.Y / self.beta
        return [U - shift for U in self.U], 1.0 / self.beta

    def update(self, parts):
        c, beta = len(parts), self.beta
        ax = self.A.forward(_total(parts))
        q = ax + (c / beta) * self.y
        z = _project_ball(q, self.b, self.eps)
        y = (beta / c) * (q - z)
        Y = self.A.adjoint(y)
        shift = (self.Y - Y) / beta
        self.U = [X + shift for X in parts]
        self.y, self.Y = y, Y
        return ax, z, Y


class _LinearisedStep:
    r"""Linearised ADMM, for any operator (Yang & Yuan 2013).

    ADMM on :math:`\sum_i f_i(X_i) + I_C(z)` s.t.
    :math:`\mathcal{A}(\sum_i X_i) = z`, with the quadratic term of the
    ``X``-step linearised so that it splits into proximal maps:

    .. math::

        G &= \mathcal{A}^*(\mathcal{A}X - z + y/\beta),\quad
        X_i^+ = \operatorname{prox}_{f_i/(\beta\tau)}(X_i - G/\tau), \\
        z^+ &= P_C(\mathcal{A}X^+ + y/\beta),\quad
        y^+ = y + \beta(\mathcal{A}X^+ - z^+),

    which converges for :math:`\tau > c\,\|\mathcal{A}\|^2` (``c`` terms
    updated together); :math:`\|\mathcal{A}\|^2` is estimated by power
    iteration and the step taken with a safety factor of 1.05.
    """

    name = "linearised"

    def __init__(self, A, b, eps, n_parts, beta, tau):
        self.A, self.b, self.eps, self.beta, self.tau = A, b, eps, beta, tau
        shape = A.input_shape
        self.X = [np.zeros(shape, b.dtype) for _ in range(n_parts)]
        self.y = np.zeros_like(b)
        self.Ay = np.zeros(shape, b.dtype)
        self.D = A.adjoint(-_project_ball(np.zeros_like(b), b, eps))  # A*(A X - z)

    def points(self):
        G = (self.D + self.Ay / self.beta) / self.tau
        return [X - G for X in self.X], 1.0 / (self.beta * self.tau)

    def update(self, parts):
        beta = self.beta
        self.X = parts
        ax = self.A.forward(_total(parts))
        z = _project_ball(ax + self.y / beta, self.b, self.eps)
        y = self.y + beta * (ax - z)
        Ay = self.A.adjoint(y)
        self.D = (Ay - self.Ay) / beta
        self.y, self.Ay = y, Ay
        return ax, z, Ay


def _dual_objective(regs, y, Ay, b, eps):
    r"""Dual value :math:`-\langle y, b\rangle - \varepsilon\|y\|` at ``y`` scaled to dual feasibility."""
    scale = max([1.0] + [reg.dual_norm(Ay) for reg in regs])
    return (-float(np.dot(y, b)) - eps * float(np.linalg.norm(y))) / scale


def _solve_admm(A, b, regs, eps, *, tol, max_iter, rng, kind, driver):
    c = len(regs)
    b_norm = float(np.linalg.norm(b)) or 1.0
    back = A.adjoint(b)
    # beta so that the first proximal step keeps something: 1/beta below the
    # dual norm of A*b, the smallest threshold that zeroes everything
    beta = 2.0 / (max(reg.dual_norm(back) for reg in regs) or 1.0)
    if A.orthonormal_rows:
        step = _ProjectionStep(A, b, eps, c, beta)
        norm2 = 1.0
    else:
        norm2 = norm_squared(A, rng=rng, max_iter=_POWER_ITER, rtol=_POWER_RTOL)
        step = _LinearisedStep(A, b, eps, c, beta, _STEP_SAFETY * c * max(norm2, 1e-300))
    it = {"n_adapt": 0}

    def extras(primal, dual, kkt):
        out = {"primal": primal, "dual": dual, "kkt": kkt}
        if kind != "sparse":
            out["rank"] = regs[0].rank if "parts" in it else 0
        return out

    def first():
        # iteration 0 is the starting point X = 0 (its dual residual is undefined)
        zero = np.zeros(A.input_shape, b.dtype)
        L, S = _components(kind, [zero] * c)
        return Step(1.0, zero, L, S, step=beta,
                    extras=extras(max(b_norm - eps, 0.0) / b_norm, np.nan, np.nan))

    def one(n_iter):
        # rebalance the penalty between the primal and dual residuals (Boyd et al. 2011, 3.4.1)
        if n_iter > 1 and (n_iter - 1) % _ADAPT_EVERY == 0 and it["n_adapt"] < _MAX_ADAPT:
            if it["primal"] > _BALANCE * it["dual"]:
                step.beta *= 2.0
                it["n_adapt"] += 1
            elif it["dual"] > _BALANCE * it["primal"]:
                step.beta /= 2.0
                it["n_adapt"] += 1
        points, t = step.points()
        parts = [reg.prox(V, t) for reg, V in zip(regs, points)]
        ax, z, Ay = step.update(parts)
        # every prox gives a subgradient g_i = (V_i - X_i)/t of f_i at X_i; KKT
        # asks g_i = -A*y for all i and A(X) in C (z is in C)
        stat2 = grad2 = 0.0
        for V, X in zip(points, parts):
            g = (V - X) / t
            gap = g + Ay
            stat2 += float(np.vdot(gap, gap))
            grad2 += float(np.vdot(g, g))
        scale = max(math.sqrt(grad2), math.sqrt(c) * float(np.linalg.norm(Ay)), 1e-300)
        it.update(parts=parts, Ay=Ay, dual=math.sqrt(stat2) / scale,
                  primal=float(np.linalg.norm(ax - z)) / b_norm)
        kkt = max(it["primal"], it["dual"])
        L, S = _components(kind, parts)
        # X = L + S is formed by the driver only when something reads it
        X = parts[0] if len(parts) == 1 else None
        return Step(float(np.linalg.norm(ax - b)) / b_norm, X, L, S, step=step.beta,
                    extras=extras(it["primal"], it["dual"], kkt), measure=kkt)

    run = driver(one, first=first, check_first=False, tol=tol, rate_tol=1.0, max_iter=max_iter,
                 window=_STALL_WINDOW)
    parts = it.get("parts", [np.zeros(A.input_shape, b.dtype)] * c)
    objective = sum(reg.value(P) for reg, P in zip(regs, parts))
    dual_value = _dual_objective(regs, step.y, it.get("Ay", back * 0), b, eps)
    info = {
        "method": "admm", "constraint_step": step.name, "beta": step.beta, "n_beta_changes": it["n_adapt"],
        "norm_A_squared": norm2, "objective": objective, "dual_objective": dual_value,
        "gap": (objective - dual_value) / max(abs(objective), 1e-300), "stop_measure": "kkt",
    }
    if isinstance(step, _LinearisedStep):
        info["tau"] = step.tau
    if kind != "sparse":
        info["svd_randomized"], info["svd_exact"] = regs[0].n_randomized, regs[0].n_exact
    return run, info


def _components(kind, parts):
    if kind == "ls":
        return parts[0], parts[1]
    if kind == "low_rank":
        return parts[0], None
    return None, None


# --------------------------------------------------------------------------
# cvxpy
# --------------------------------------------------------------------------

#: cvxpy's status -> ours; "optimal" counts only when the package's residual check holds.
_CVXPY_STATUS = {"optimal": Status.TOLERANCE, "optimal_inaccurate": Status.NO_PROGRESS,
                 "user_limit": Status.MAX_ITER}


def _solve_cvxpy(A, b, kind, lam, eps, solver, solver_options, tol, driver):
    import cvxpy as cp

    shape = A.input_shape
    M = A.todense()
    if kind == "ls":
        L, S = cp.Variable(shape), cp.Variable(shape)
        X = L + S
        objective = cp.normNuc(L) + lam * cp.sum(cp.abs(S))
    elif kind == "low_rank":
        L, S = cp.Variable(shape), None
        X = L
        objective = cp.normNuc(L)
    else:
        L = S = None
        X = cp.Variable(shape)
        objective = cp.sum(cp.abs(X))
    vec = cp.vec(X, order="C") if len(shape) == 2 else X
    constraint = M @ vec == b if eps == 0.0 else cp.norm(M @ vec - b, 2) <= eps
    problem = cp.Problem(cp.Minimize(objective), [constraint])
    start = time.perf_counter()
    try:
        problem.solve(solver=solver, **solver_options)
        cvx_status = problem.status
    except cp.error.SolverError as err:
        cvx_status = f"solver_error: {err}"

    def value(var):
        if var is None:
            return None
        return (np.full(shape, np.nan) if var.value is None else np.asarray(var.value)).astype(b.dtype)

    def solved(n_iter):
        L_val, S_val = value(L), value(S)
        X_val = value(X) if kind == "sparse" else (L_val + S_val if kind == "ls" else L_val)
        rel = float(np.linalg.norm(A.forward(X_val) - b)) / (float(np.linalg.norm(b)) or 1.0)
        return Step(rel, X_val, L_val, S_val, fixed_point=True)

    # the package checks the constraint itself: ||A X - b|| <= eps + tol ||b||
    run = driver(solved, tol=tol + eps / (float(np.linalg.norm(b)) or 1.0), rate_tol=None, max_iter=1)
    stats = problem.solver_stats
    status = run.status if cvx_status == "optimal" else _CVXPY_STATUS.get(cvx_status, Status.DIVERGED)
    info = {"method": "cvxpy", "cvxpy_status": cvx_status, "objective": problem.value,
            "solver_name": getattr(stats, "solver_name", solver), "seconds": time.perf_counter() - start,
            "solve_time": getattr(stats, "solve_time", None)}
    return run, info, status, int(getattr(stats, "num_iters", None) or 0)


# --------------------------------------------------------------------------
# Public function
# --------------------------------------------------------------------------

def _infer_kind(kind, shape, rank, sparsity):
    if kind is not None:
        kind = check_choice(kind, "kind", _KINDS)
        if len(shape) == 1 and kind != "sparse":
            raise ValueError(f"kind={kind!r} needs a matrix unknown, but the operator's input_shape "
                             f"is {shape}")
        return kind
    if len(shape) == 1:
        return "sparse"
    if rank is not None and sparsity is None:
        return "low_rank"
    if sparsity is not None and rank is None:
        return "sparse"
    return "ls"


def convex(A, b, *, rank=None, sparsity=None, kind=None, lam=None, eps=0.0, method="auto",
           solver=None, solver_options=None, tol=1e-7, max_iter=20000, svd="auto", shape=None,
           callback=None, X_true=None, L_true=None, S_true=None, rng=None):
    r"""Recover a sparse, low-rank or low-rank plus sparse unknown by convex programming.

    Solves one of

    * ``kind="ls"``: :math:`\min \|L\|_* + \lambda\|S\|_1`, the convex
      relaxation of Tanner & Vary (2023) (compressive principal component
      pursuit, Wright et al. 2013);
    * ``kind="low_rank"``: :math:`\min \|X\|_*` (Recht, Fazel & Parrilo 2010);
    * ``kind="sparse"``: :math:`\min \|X\|_1` (basis pursuit; the unknown may
      be a vector or a matrix),

    subject to :math:`\mathcal{A}(X) = b` when ``eps = 0`` and to
    :math:`\|\mathcal{A}(X) - b\|_2 \le \varepsilon` otherwise.

    ``method="admm"`` runs a matrix-free ADMM (one ``forward`` and one
    ``adjoint`` per iteration) whose steps are the proximal maps of the terms:
    singular value soft thresholding for :math:`\|L\|_*` and soft thresholding
    for :math:`\lambda\|S\|_1`, from :mod:`cs.threshold`.  When the operator
    has orthonormal rows (:math:`\mathcal{A}\mathcal{A}^* = I`: FJLT,
    subsampled DCT, entry sampling, identity) the constraint is enforced by
    the exact projection onto :math:`\{X : \mathcal{A}(X) \in C\}`; otherwise
    the quadratic term is linearised with a step :math:`1/\tau`,
    :math:`\tau = 1.05\, c\,\|\mathcal{A}\|^2` from power iteration (``c``
    the number of terms).  The penalty :math:`\beta` starts at
    :math:`2/J(\mathcal{A}^*b)`, with :math:`J` the dual norm of the
    objective, and is rebalanced between the primal and dual residuals every
    10 iterations (at most 100 times).  Once the rank of ``L`` is known and
    small, its SVT uses :func:`cs.threshold.randomized_svd` with 5 vectors
    beyond the predicted rank, falling back to the exact SVT when the smallest
    computed singular value is still above the threshold.

    The iteration stops when the KKT residual
    :math:`\max(\|\mathcal{A}X - z\|/\|b\|,\ \|(g_i + \mathcal{A}^*y)_i\| / \max(\|(g_i)_i\|, \sqrt{c}\|\mathcal{A}^*y\|))`
    falls below ``tol`` (``z`` in the constraint set, ``g_i`` the subgradient
    of term ``i`` certified by its proximal step, ``y`` the multiplier), when
    it has not decreased over 500 iterations (stalled), or after ``max_iter``
    iterations.

    Parameters
    ----------
    A : operator
        A :class:`cs.operators.MeasurementOperator`, a matrix, or anything with
        ``matvec``/``rmatvec``/``shape``; it must have an adjoint.
    b : (p,) array
        The measurements.
    rank, sparsity : int, optional
        Hints: they choose ``kind`` when it is not given (both or neither: L+S;
        rank only: low-rank; sparsity only: sparse), set the default
        :math:`\lambda` (see :func:`default_lam`) and seed the rank prediction
        of the randomised SVT.  They do not constrain the solution.
    kind : {"ls", "low_rank", "sparse"}, optional
        The program; inferred from the hints when None (a vector unknown is
        always "sparse").
    lam : float, optional
        :math:`\lambda > 0` (L+S only); default :func:`default_lam`:
        :math:`\sqrt{r/s}` given both hints (Tanner & Vary), else
        :math:`1/\sqrt{\max(m, n)}` (PCP).
    eps : float
        Noise level :math:`\varepsilon \ge 0` of the constraint.
    method : {"auto", "cvxpy", "admm"}
        ``"auto"``: cvxpy when ``p * N <= AUTO_CVXPY_ENTRIES`` (100 000),
        ADMM otherwise.  ``"cvxpy"`` raises ValueError above
        ``MAX_CVXPY_ENTRIES`` (1.5e6).
    solver : str, optional
        The cvxpy solver (``"CLARABEL"``, ``"SCS"``...); None lets cvxpy
        choose.  For the nuclear norm on 30 x 30 and larger, ``"SCS"`` with
        ``solver_options={"eps_abs": 1e-9, "eps_rel": 1e-9}`` is faster and
        more accurate than the interior-point default.
    solver_options : dict, optional
        Passed to ``cvxpy.Problem.solve``.
    tol : float
        ADMM tolerance on the relative KKT residual (about 1e-5 relative
        error of ``X`` at the default on well-conditioned instances).  For
        cvxpy, ``converged`` needs an "optimal" status *and* the package's
        check :math:`\|\mathcal{A}X - b\| \le \varepsilon + \text{tol}\,\|b\|`.
        Both methods solve with ``b`` (and ``eps``) divided by ``max |b|``,
        so the answer scales with ``b``; float32 data stays float32 in ADMM.
    max_iter : int
        ADMM iteration cap.
    svd : {"auto", "exact", "randomized"}
        SVT computation: ``"auto"`` uses the randomised SVD when the predicted
        rank is small against ``min(m, n) >= 64``.
    shape : tuple, optional
        The unknown's shape, when ``A`` is a plain matrix on flattened
        unknowns (default: the operator's ``input_shape``).
    callback : callable, optional
        ``callback(Iterate)`` after every ADMM iteration; returning True stops.
    X_true, L_true, S_true : arrays, optional
        The truth, for ``error_*`` histories (``X_true`` defaults to
        ``L_true + S_true``).
    rng : seed or Generator
        For the power iteration and the randomised SVDs.

    Returns
    -------
    SolveResult
        ``x``/``X``; ``L`` and ``S`` for L+S, ``L = X`` for low-rank.
        Histories: ``residual`` (:math:`\|\mathcal{A}X - b\|/\|b\|`),
        ``time``, ``step`` (the penalty :math:`\beta`), ``primal``, ``dual``,
        ``kkt`` and ``rank`` (ADMM), ``error_*`` with the truth.  ``info``:
        ``method``, ``kind``, ``lam``, ``eps``, ``objective`` and, for ADMM,
        ``dual_objective`` and the relative duality ``gap``; for cvxpy its
        ``cvxpy_status`` (``"optimal_inaccurate"`` gives status
        ``NO_PROGRESS``, a failure ``DIVERGED``).

    Raises
    ------
    ValueError
        Bad arguments (naming the argument), or ``method="cvxpy"`` on a
        problem above ``MAX_CVXPY_ENTRIES``.
    TypeError
        An operator without an adjoint, or arguments of the wrong type.

    Examples
    --------
    >>> from cs.datasets.synthetic import ls_problem
    >>> prob = ls_problem((30, 30), 0.6, 0.1, 0.1, operator="fjlt", rng=0)
    >>> res = convex(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, method="admm")
    >>> res.converged, bool(np.linalg.norm(res.X - prob.x) < 1e-4 * np.linalg.norm(prob.x))
    (True, True)
    """
    if shape is not None:
        shape, A = check_shape(shape, "shape"), as_operator(A)
        if math.prod(shape) != A.input_size:
            raise ValueError(f"shape={shape} has {math.prod(shape)} entries but the operator acts on "
                             f"{A.input_size}")
        A = A.reshape(shape)
    prob = prepare(A, b, truth={"X_true": X_true, "L_true": L_true, "S_true": S_true},
                   callback=callback, rng=rng)
    A, b = prob.A, prob.b
    if np.iscomplexobj(b) or np.dtype(A.dtype).kind == "c":
        raise TypeError("convex programs here are real: b and A must be real")
    try:
        A.adjoint(np.zeros(A.n_measurements, dtype=A.dtype))
    except (NotImplementedError, AttributeError) as err:
        raise TypeError("A must have an adjoint (rmatvec); the convex solvers use A* "
                        f"({type(A).__name__} has none)") from err
    shape = A.input_shape
    if rank is not None:
        rank = check_rank(rank, shape)
    if sparsity is not None:
        sparsity = check_sparsity(sparsity, A.input_size)
    kind = _infer_kind(kind, shape, rank, sparsity)
    if lam is None:
        lam = default_lam(shape, rank, sparsity) if kind == "ls" else 1.0
    elif kind != "ls":
        raise ValueError(f"lam only weighs the sparse term of kind='ls'; got lam={lam!r} with kind={kind!r}")
    else:
        lam = check_real(lam, "lam", low=0.0, low_open=True)
    eps = check_real(eps, "eps", low=0.0)
    method = check_choice(method, "method", {"auto", "cvxpy", "admm"})
    tol = check_real(tol, "tol", low=0.0, low_open=True)
    max_iter = check_int(max_iter, "max_iter", low=1)
    svd = check_choice(svd, "svd", {"auto", "exact", "randomized"})
    if solver is not None and not isinstance(solver, str):
        raise TypeError(f"solver must be a cvxpy solver name or None, got {solver!r}")
    if solver_options is None:
        solver_options = {}
    elif not isinstance(solver_options, dict):
        raise TypeError(f"solver_options must be a dict, got {type(solver_options).__name__}")
    truth = prob.truth
    if truth["X"] is None and truth["L"] is not None and truth["S"] is not None:
        truth["X"] = truth["L"] + truth["S"]

    entries = A.n_measurements * A.input_size
    if method == "auto":
        method = "cvxpy" if entries <= AUTO_CVXPY_ENTRIES else "admm"
    if method == "cvxpy":
        if entries > MAX_CVXPY_ENTRIES:
            raise ValueError(f"method='cvxpy' would build a dense {A.n_measurements} x {A.input_size} "
                             f"constraint ({entries:.3g} entries, above MAX_CVXPY_ENTRIES = "
                             f"{MAX_CVXPY_ENTRIES:.3g}); use method='admm', which is matrix-free")
        if solver is not None:
            import cvxpy as cp

            solver = solver.upper()
            if solver not in cp.installed_solvers():
                raise ValueError(f"solver={solver!r} is not an installed cvxpy solver "
                                 f"({', '.join(cp.installed_solvers())})")
    elif solver is not None or solver_options:
        raise ValueError("solver and solver_options apply to method='cvxpy' only")

    def driver(step, **options):
        return drive(step, solver=f"convex-{kind}-{method}", truth=truth, callback=callback,
                     scale=prob.scale, **options)

    eps_scaled = eps / prob.scale
    if method == "cvxpy":
        run, info, status, n_iter = _solve_cvxpy(A, b, kind, lam, eps_scaled, solver, solver_options,
                                                 tol, driver)
    else:
        regs = _regularisers(kind, lam, svd, rank, prob.rng)
        run, info = _solve_admm(A, b, regs, eps_scaled, tol=tol, max_iter=max_iter, rng=prob.rng,
                                kind=kind, driver=driver)
        status, n_iter = run.status, run.n_iter
    for key in ("objective", "dual_objective"):
        if info.get(key) is not None:
            info[key] *= prob.scale
    info.update(kind=kind, lam=lam if kind == "ls" else None, eps=eps)
    return run.result(info=info, status=status, n_iter=n_iter)
