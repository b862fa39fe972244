r"""Classic sparse-recovery baselines: IHT, HTP, CoSaMP, OMP and basis pursuit.

Each solver recovers a ``k``-sparse unknown :math:`x` from measurements
:math:`b = \mathcal{A}x` and returns a :class:`~cs.solvers.result.SolveResult`:

========  ==============================================================  =========================
solver    one iteration                                                   reference
========  ==============================================================  =========================
iht       :math:`x \leftarrow H_k(x + \mu\mathcal{A}^*(b - \mathcal{A}x))`  Blumensath & Davies 2009
htp       support of that point, then least squares on it                  Foucart 2011
cosamp    2k-proxy merged with supp(x), least squares, prune to k          Needell & Tropp 2009
omp       add the column most correlated with the residual, least squares  Pati et al. 1993
l1        :math:`\min \|x\|_1` s.t. :math:`\mathcal{A}x = b` as one LP      Chen, Donoho & Saunders 1998
========  ==============================================================  =========================

They share one signature, ``f(A, b, *, sparsity, tol, max_iter, x0,
callback, X_true)`` (``callback`` receives a :class:`~cs.solvers.result.Iterate`
after every iteration and may return True to stop), and all run on the
package's one iteration driver (:func:`cs.solvers.result.drive`) with its
stopping rule: relative residual :math:`\|\mathcal{A}x - b\|_2 / \|b\|_2`
below ``tol``, a stalled convergence rate over 15 iterations, or
``max_iter``.  ``b`` is divided by ``max |b|`` first, so the answer scales
with ``b``.  HTP and CoSaMP also
stop (status ``NO_PROGRESS``) when the support they solve least squares on
repeats, since the next iterate would be the same.

Least squares on a support ``T`` gather the ``p x |T|`` submatrix of an
explicit matrix once and solve the normal equations by Cholesky (LAPACK
gelsy when ``|T| > p`` or the Gram matrix is ill-conditioned); the same
block then gives the new residual.  Any other operator runs LSQR on its
restriction to ``T`` (``forward_sparse`` / ``adjoint_at``), so no method
forms a ``p x N`` matrix except :func:`l1`, whose linear program needs one.

Unknowns of any ``input_shape`` are handled as flat vectors; the estimate
comes back in ``input_shape``.

References
----------
T. Blumensath and M. E. Davies, "Iterative hard thresholding for compressed
sensing", Appl. Comput. Harmon. Anal. 27(3), 265-274, 2009.
S. Foucart, "Hard thresholding pursuit: an algorithm for compressive
sensing", SIAM J. Numer. Anal. 49(6), 2543-2563, 2011.
D. Needell and J. A. Tropp, "CoSaMP: Iterative signal recovery from
incomplete and inaccurate samples", Appl. Comput. Harmon. Anal. 26(3),
301-321, 2009.
Y. C. Pati, R. Rezaiifar and P. S. Krishnaprasad, "Orthogonal matching
pursuit: recursive function approximation with applications to wavelet
decomposition", Asilomar Conf. Signals, Systems and Computers, 1993;
J. A. Tropp and A. C. Gilbert, "Signal recovery from random measurements via
orthogonal matching pursuit", IEEE Trans. Inf. Theory 53(12), 2007.
S. S. Chen, D. L. Donoho and M. A. Saunders, "Atomic decomposition by basis
pursuit", SIAM J. Sci. Comput. 20(1), 33-61, 1998.
D. L. Donoho and J. Tanner, "Counting faces of randomly projected polytopes
when the projection radically lowers dimension", J. AMS 22(1), 2009.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
from scipy.linalg import LinAlgError, cho_factor, cho_solve, lstsq, solve_triangular
from scipy.sparse.linalg import lsqr

from .._validation import check_int, check_like, check_real, check_sparsity
from ..operators import DenseOperator, SparseMatrixOperator, norm_squared
from ..threshold import hard, support, top_k_mask
from .result import MESSAGES, Status, Step, default_tol, drive, prepare

__all__ = ["iht", "htp", "cosamp", "omp", "l1"]

#: LSQR's atol/btol for least squares on a support of a matrix-free operator.
_LSQR_TOL = 1e-12
#: A new OMP column whose part orthogonal to the chosen ones is below this
#: fraction of its norm is treated as linearly dependent.
_DEPENDENT = 1e-10
#: The Cholesky least squares are used while the Gram matrix's condition
#: estimate is below this times ``1/sqrt(eps)``: the normal
#: equations then lose at most about ``0.1 * sqrt(eps)`` relative accuracy
#: (6.7e6, i.e. ``cond(A_T) < 2600``, in float64); above it, gelsy.
_GRAM_COND = 0.1


# ---------------------------------------------------------------- checks

def _setup(A, b, sparsity, x0, X_true, callback, rng=None):
    """Validate the common arguments; return ``(problem, k, x_init)``.

    ``x_init`` is the flat, k-sparse starting point ``H_k(x0)`` (in the units
    of the scaled ``b``), or zero.
    """
    prob = prepare(A, b, truth={"X_true": X_true}, callback=callback, rng=rng)
    k = check_sparsity(sparsity, prob.A.input_size)
    x0 = check_like(x0, "x0", prob.A.input_shape, dtype=prob.b.dtype)
    x_init = (np.zeros(prob.A.input_size, prob.b.dtype) if x0 is None else
              hard(x0.reshape(-1) / prob.b.dtype.type(prob.scale), k))
    return prob, k, x_init


# ---------------------------------------------------------------- shared pieces

def _residual(A, b, x, where):
    """``b - A x`` for ``x`` zero off the flat indices ``where`` (costs p * |where|)."""
    return b - A.forward_sparse(x[where], where)


def _cholesky_solve(columns, b):
    r"""Least squares by the normal equations :math:`A_T^*A_T z = A_T^*b`, or None.

    One Cholesky factorisation :math:`A_T^*A_T = R^*R` (``scipy.linalg.cho_factor``)
    costs :math:`p|T|^2 + |T|^3/3`, several times less than a pivoted QR of the
    same block.  The normal equations square the condition number, so the
    factor is checked first: None (use a stable solver instead) when it fails
    or when :math:`(\max_i R_{ii} / \min_i R_{ii})^2`, a cheap lower bound on
    :math:`\kappa(A_T^*A_T)` (:math:`R_{ii}^2` lies between the extreme
    eigenvalues), exceeds :data:`_GRAM_COND` times the precision's
    ``1/sqrt(eps)``.  The solution gets one step of iterative refinement.
    """
    p, n = columns.shape
    if n > p:
        return None              # rank-deficient for sure: the minimum-norm solution is needed
    # (BLAS syrk would halve the flops, but OpenBLAS's is no faster than this gemm)
    gram = columns.T.conj() @ columns
    try:
        factor = cho_factor(gram, lower=False, check_finite=False)
    except LinAlgError:
        return None
    diag = np.abs(np.diagonal(factor[0]))
    limit = _GRAM_COND / np.sqrt(np.finfo(gram.dtype).eps)
    if not (np.all(np.isfinite(diag)) and diag.min() > 0 and (diag.max() / diag.min()) ** 2 <= limit):
        return None
    adjoint = columns.T.conj()
    z = cho_solve(factor, adjoint @ b, check_finite=False)
    # one step of iterative refinement (two products with the block, p |T| each) recovers
    # most of the accuracy the squared condition number costs, in float32 above all
    return z + cho_solve(factor, adjoint @ (b - columns @ z), check_finite=False)


def _least_squares(A, b, where, warm, info=None, keep=None):
    r"""The coefficients on ``where`` of :math:`\arg\min_{\operatorname{supp} z \subseteq T}\|b - Az\|_2`.

    An explicit matrix gathers its ``p x |T|`` column block once and solves
    the normal equations by Cholesky (:func:`_cholesky_solve`), falling back
    to LAPACK gelsy (pivoted QR, minimum-norm) when ``|T| > p``, the factor
    fails or the Gram matrix is ill-conditioned; any other operator runs
    LSQR on its restriction to ``T`` (``forward_sparse`` / ``adjoint_at``),
    warm-started at ``warm``.  ``info`` (a dict) counts ``"cholesky"`` and
    ``"fallback"`` solves; ``keep`` (a list) receives the gathered block, or
    None for a matrix-free operator.
    """
    if keep is not None:
        keep[:] = [None]
    if where.size == 0:
        return np.zeros(0, b.dtype)
    if isinstance(A, (DenseOperator, SparseMatrixOperator)):
        if scipy.sparse.issparse(A.matrix):
            columns = A.matrix[:, where].toarray()
        else:
            # np.take gathers the columns of a C-ordered matrix ~6x faster than M[:, where]
            columns = np.take(A.matrix, where, axis=1)
        if keep is not None:
            keep[:] = [columns]
        z = _cholesky_solve(columns, b)
        if info is not None:
            key = "fallback" if z is None else "cholesky"
            info[key] = info.get(key, 0) + 1
        if z is not None:
            return z
        # gelsy (pivoted QR) gives the minimum-norm solution, much faster than gelsd's SVD
        return lstsq(columns, b, lapack_driver="gelsy", check_finite=False)[0]
    return lsqr(A.restricted(where), b, atol=_LSQR_TOL, btol=_LSQR_TOL, x0=warm)[0]


class _FitOnSupport:
    """Least squares on a support, and whether that support repeats the last one.

    ``fit(x, where)`` returns the least-squares fit supported on ``where``
    (warm-started from ``x``), or None when ``where`` is the support of the
    previous call: the fit, hence the next iterate, would not change.
    """

    def __init__(self, A, b):
        self.A, self.b, self.last = A, b, None
        self.solves = {}      # how many least squares went by Cholesky / by the fallback
        self.columns = [None]  # the last gathered column block (explicit matrices)

    def __call__(self, x, where):
        if self.last is not None and np.array_equal(where, self.last):
            return None
        self.last = where
        z = np.zeros_like(x)
        z[where] = _least_squares(self.A, self.b, where, x[where], self.solves, self.columns)
        return z

    def residual(self, x):
        """``b - A x`` for ``x`` zero off the last support: one product with the
        gathered block when there is one (no second gather), else restricted."""
        columns = self.columns[0]
        if columns is None:
            return _residual(self.A, self.b, x, np.flatnonzero(x))
        return self.b - columns @ x[self.last]


def _iterate(solver, prob, x, step, *, tol, rate_tol, max_iter, callback, step_size=np.nan,
             info=None, diverge=1e6):
    """Run ``step`` on the one driver.

    ``step(x, r)`` maps the flat iterate and its residual ``b - A x`` to
    ``(x, r, repeated)``, where ``repeated`` says the iterate is a fixed
    point (the next step would change nothing: status ``NO_PROGRESS``).
    """
    A, b = prob.A, prob.b
    b_norm = float(np.linalg.norm(b)) or 1.0
    it = [x, _residual(A, b, x, np.flatnonzero(x))]

    def one(n_iter):
        x, r, repeated = step(*it)
        it[:] = x, r
        return Step(float(np.linalg.norm(r)) / b_norm, x.reshape(A.input_shape), step=step_size,
                    fixed_point=repeated)

    run = drive(one, solver=solver, tol=default_tol(x.dtype) if tol is None else tol, rate_tol=rate_tol,
                max_iter=max_iter, truth=prob.truth, callback=callback, scale=prob.scale,
                diverge=diverge)
    return run.result(info=dict(info or {}, support=np.flatnonzero(it[0])))


# ---------------------------------------------------------------- IHT, HTP, CoSaMP

#: Power iterations for the estimate of ||A||_2^2 behind IHT's default step.
_POWER_ITERATIONS = 20
#: IHT's default step is 1 / (_STEP_MARGIN * estimate): the power iteration
#: underestimates ||A||^2, by a few per cent after 20 iterations on a Gaussian matrix.
_STEP_MARGIN = 1.1
#: IHT with a fixed step reports DIVERGED once the relative residual exceeds
#: this many times that of x = 0 (which is 1): a step that large overshoots.
_IHT_DIVERGE = 10.0


def iht(A, b, *, sparsity, mu=None, tol=None, rate_tol=0.999, max_iter=1000, x0=None, callback=None,
        X_true=None, rng=None):
    r"""Iterative hard thresholding with a fixed step.

    .. math:: x^{n+1} = H_k\bigl(x^n + \mu\,\mathcal{A}^*(b - \mathcal{A}x^n)\bigr)

    where :math:`H_k` keeps the ``k`` largest magnitudes
    (:func:`cs.threshold.hard`).  Blumensath & Davies (2009) prove
    convergence for :math:`\mu\|\mathcal{A}\|_2^2 < 1` and recovery under a
    restricted isometry condition.  The default step is that safe one,
    :math:`\mu = 1 / (1.1\,\hat\lambda)` with :math:`\hat\lambda \le
    \|\mathcal{A}\|_2^2` from 20 power iterations on
    :math:`\mathcal{A}^*\mathcal{A}` (started from ``rng``; 40 products).
    The unit step of the paper diverges on matrices with unit-norm columns
    such as :func:`cs.operators.gaussian` once :math:`p/N` is small
    (:math:`\|\mathcal{A}\|^2 \approx (1 + \sqrt{N/p})^2`, 5.8 at
    :math:`p/N = 1/2`).  For an adaptive step see NIHT.

    A fixed step that overshoots makes the residual grow: once it exceeds
    10 times :math:`\|b\|` (the residual of :math:`x = 0`), or becomes
    non-finite, the run stops with status ``DIVERGED``.

    Parameters
    ----------
    A : operator
        Anything :func:`cs.operators.as_operator` accepts, ``p x N``.
    b : (p,) array_like
        The measurements.
    sparsity : int
        ``k``, the number of nonzeros kept, ``0 <= k <= N``.
    mu : float, optional
        The fixed step size, ``> 0``; default the safe step above.
    tol : float, optional
        Stop when :math:`\|\mathcal{A}x - b\|_2 / \|b\|_2 <` ``tol``
        (default 1e-9 in float64, 1e-5 in float32).
    rate_tol : float
        Stop when the mean convergence rate over the last 15 iterations,
        :math:`(r_j / r_{j-15})^{1/15}`, exceeds it.
    max_iter : int
        Most iterations.
    x0 : array_like, optional
        Starting point (projected onto k-sparse vectors); default zero.
    callback : callable, optional
        ``callback(Iterate)`` after every iteration (:class:`~cs.solvers.result.Iterate`:
        ``n_iter``, ``x``, ``L = S = None``, ``residual``); returning True stops.
    X_true : array_like, optional
        The truth, for ``history["error_X"]``.
    rng : int or Generator, optional
        Seeds the power iteration of the default step (None: seed 0, so that
        ``iht(A, b)`` is reproducible and its step depends on ``A`` alone).

    Returns
    -------
    SolveResult
        ``x``, ``n_iter``, ``converged``, ``status``/``reason``, ``history``
        (``residual``, ``time``, ``step`` = ``mu``, ``error_X``),
        ``info["support"]``, ``info["mu"]`` and ``info["norm_estimate"]``
        (:math:`\hat\lambda`, None when ``mu`` was given).

    Examples
    --------
    >>> from cs.datasets.synthetic import sparse_problem
    >>> prob = sparse_problem(400, 0.5, 0.05, rng=0)
    >>> iht(prob.A, prob.b, sparsity=prob.sparsity).converged
    True
    """
    prob, k, x = _setup(A, b, sparsity, x0, X_true, callback, rng)
    A, b = prob.A, prob.b
    estimate = None
    if mu is None:
        # rng=None starts the power iteration from seed 0: the default run is reproducible
        estimate = norm_squared(A, rng=prob.rng if rng is not None else np.random.default_rng(0),
                                max_iter=_POWER_ITERATIONS)
        mu = 1.0 / (_STEP_MARGIN * estimate) if estimate > 0 else 1.0
    mu = check_real(mu, "mu", low=0.0, low_open=True)

    def step(x, r):
        x, kept = hard(x + mu * A.rmatvec(r), k, return_mask=True)
        return x, _residual(A, b, x, np.flatnonzero(kept)), False

    return _iterate("iht", prob, x, step, tol=tol, rate_tol=rate_tol, max_iter=max_iter,
                    callback=callback, step_size=mu, diverge=_IHT_DIVERGE,
                    info={"mu": mu, "norm_estimate": estimate})


def htp(A, b, *, sparsity, mu=1.0, tol=None, rate_tol=0.999, max_iter=1000, x0=None, callback=None,
        X_true=None):
    r"""Hard thresholding pursuit (Foucart 2011).

    .. math::
        T^{n+1} &= \operatorname{supp} H_k\bigl(x^n + \mu\,\mathcal{A}^*(b - \mathcal{A}x^n)\bigr),\\
        x^{n+1} &= \arg\min\{\|b - \mathcal{A}z\|_2 : \operatorname{supp} z \subseteq T^{n+1}\}.

    Stops when :math:`T^{n+1} = T^n` (status ``NO_PROGRESS`` unless the
    residual already met ``tol``), which Foucart shows happens after finitely
    many iterations; otherwise by the shared :class:`StoppingRule`.  The
    least squares use the ``p x k`` submatrix of an explicit matrix, or LSQR
    on the restricted operator.  Parameters and result as :func:`iht`
    (``mu = 1`` is Foucart's HTP; other values his HTP with step ``mu``).

    Examples
    --------
    >>> from cs.datasets.synthetic import sparse_problem
    >>> prob = sparse_problem(400, 0.5, 0.1, rng=0)
    >>> htp(prob.A, prob.b, sparsity=prob.sparsity).converged
    True
    """
    prob, k, x = _setup(A, b, sparsity, x0, X_true, callback)
    A, b = prob.A, prob.b
    mu = check_real(mu, "mu", low=0.0, low_open=True)
    fit = _FitOnSupport(A, b)

    def step(x, r):
        where = support(x + mu * A.rmatvec(r), k)
        z = fit(x, where)
        if z is None:
            return x, r, True
        return z, fit.residual(z), False

    return _iterate("htp", prob, x, step, tol=tol, rate_tol=rate_tol, max_iter=max_iter,
                    callback=callback, step_size=mu,
                    info={"mu": mu, "least_squares": fit.solves})


def cosamp(A, b, *, sparsity, tol=None, rate_tol=0.999, max_iter=1000, x0=None, callback=None,
           X_true=None):
    r"""Compressive sampling matching pursuit (Needell & Tropp 2009, Algorithm 2.1).

    One iteration:

    1. proxy :math:`y = \mathcal{A}^*(b - \mathcal{A}x)`;
    2. :math:`\Omega` = the ``2k`` largest entries of ``y``;
    3. :math:`T = \Omega \cup \operatorname{supp} x`;
    4. :math:`z = \arg\min\{\|b - \mathcal{A}z\|_2 : \operatorname{supp} z \subseteq T\}`;
    5. :math:`x = H_k(z)`.

    When :math:`|T| > p` the least squares take the minimum-norm solution.
    Stops by the shared :class:`StoppingRule`, or with ``NO_PROGRESS`` when
    :math:`T` repeats (the iterate would too).  Parameters and result as
    :func:`iht`.

    Examples
    --------
    >>> from cs.datasets.synthetic import sparse_problem
    >>> prob = sparse_problem(400, 0.5, 0.1, rng=0)
    >>> cosamp(prob.A, prob.b, sparsity=prob.sparsity).converged
    True
    """
    prob, k, x = _setup(A, b, sparsity, x0, X_true, callback)
    A, b = prob.A, prob.b
    n_proxy = min(2 * k, A.input_size)
    fit = _FitOnSupport(A, b)

    def step(x, r):
        z = fit(x, np.flatnonzero(top_k_mask(A.rmatvec(r), n_proxy) | (x != 0)))
        if z is None:
            return x, r, True
        x = hard(z, k)          # supported inside the least-squares support
        return x, fit.residual(x), False

    return _iterate("cosamp", prob, x, step, tol=tol, rate_tol=rate_tol, max_iter=max_iter,
                    callback=callback, info={"least_squares": fit.solves})


# ---------------------------------------------------------------- OMP

class _IncrementalQR:
    """The thin QR factorisation ``A_T = Q R`` of the chosen columns, grown one column at a time.

    Adding a column costs ``O(p |T|)`` (classical Gram-Schmidt with one
    reorthogonalisation, "twice is enough"), and keeps the residual
    ``r = b - Q Q^* b`` and ``z = Q^* b``, so the least-squares coefficients
    are one triangular solve ``R^{-1} z``.
    """

    def __init__(self, b, capacity, dtype):
        self.Q = np.zeros((b.size, capacity), dtype)
        self.R = np.zeros((capacity, capacity), dtype)
        self.z = np.zeros(capacity, dtype)
        self.r = b.astype(dtype, copy=True)
        self.size = 0

    def add(self, column):
        """Append ``column``; return False (and change nothing) if it is dependent."""
        j = self.size
        Q = self.Q[:, :j]
        coef = Q.conj().T @ column
        v = column - Q @ coef
        again = Q.conj().T @ v
        v -= Q @ again
        coef += again
        norm = np.linalg.norm(v)
        if not norm > _DEPENDENT * np.linalg.norm(column):
            return False
        q = v / norm
        self.Q[:, j] = q
        self.R[:j, j] = coef
        self.R[j, j] = norm
        self.z[j] = np.vdot(q, self.r)
        self.r -= q * self.z[j]
        self.size = j + 1
        return True

    def coefficients(self):
        j = self.size
        return solve_triangular(self.R[:j, :j], self.z[:j]) if j else self.z[:0]


def omp(A, b, *, sparsity, tol=None, rate_tol=0.999, max_iter=None, x0=None, callback=None,
        X_true=None):
    r"""Orthogonal matching pursuit (Pati et al. 1993; Tropp & Gilbert 2007).

    Each iteration adds to the support ``T`` the column most correlated with
    the residual, :math:`j = \arg\max_{i \notin T} |(\mathcal{A}^* r)_i|`, and
    sets ``x`` to the least-squares fit on ``T``.  The fit is updated, not
    recomputed: an incremental QR factorisation of the chosen columns costs
    ``O(p |T|)`` per column (plus one adjoint for the correlations).

    Stops when the relative residual falls below ``tol``, when the support
    holds ``sparsity`` columns (status ``MAX_ITER``), when the rate over 15
    iterations stalls, when ``max_iter`` columns have been added, or with
    ``NO_PROGRESS`` when the chosen column depends on the others.

    Parameters
    ----------
    max_iter : int, optional
        Most columns to add; default (and at most) ``sparsity`` minus the
        size of ``x0``'s support.
    x0 : array_like, optional
        Its support (of :math:`H_k(x_0)`) starts ``T``; its values are not used.

    The other parameters are as in :func:`iht`; the result too, with
    ``info["order"]``, the columns in the order they were chosen.

    Examples
    --------
    >>> from cs.datasets.synthetic import sparse_problem
    >>> prob = sparse_problem(400, 0.5, 0.05, rng=0)
    >>> omp(prob.A, prob.b, sparsity=prob.sparsity).converged
    True
    """
    prob, k, x = _setup(A, b, sparsity, x0, X_true, callback)
    A, b = prob.A, prob.b
    chosen = [int(j) for j in np.flatnonzero(x)]
    qr = _IncrementalQR(b, k, x.dtype)
    unit = np.ones(1, x.dtype)
    for j in chosen:
        if not qr.add(A.forward_sparse(unit, [j])):
            raise ValueError(f"x0's support holds linearly dependent columns (column {j})")
    budget = k - len(chosen)
    if max_iter is not None:
        budget = min(budget, check_int(max_iter, "max_iter", low=1))

    def fitted():
        x = np.zeros(A.input_size, qr.r.dtype)
        x[chosen] = qr.coefficients()
        return x

    def add_column(x, r):
        correlation = A.rmatvec(qr.r)
        correlation[chosen] = 0
        j = int(support(correlation, 1)[0])
        if not qr.add(A.forward_sparse(unit, [j])):
            return x, r, True
        chosen.append(j)
        return fitted(), qr.r.copy(), False

    step = add_column
    if budget == 0:
        # nothing to add: report the fit on the given support as one (repeated) iteration
        step, budget = (lambda x, r: (x, r, True)), 1
    return _iterate("omp", prob, fitted(), step, tol=tol, rate_tol=rate_tol, max_iter=budget,
                    callback=callback, info={"order": chosen})


# ---------------------------------------------------------------- basis pursuit

#: linprog's status -> ours: 1 iteration or time limit; 2-4 (infeasible, unbounded,
#: numerical trouble) have no closer code than NO_PROGRESS.  Status 0 (solved)
#: counts as converged only when the package's own residual check holds.
_LP_STATUS = {1: Status.MAX_ITER}
#: HiGHS's default primal and dual feasibility tolerance.
_HIGHS_FEASIBILITY = 1e-7


def l1(A, b, *, sparsity=None, tol=None, max_iter=None, presolve=False, x0=None, callback=None,
       X_true=None):
    r"""Basis pursuit, :math:`\min \|x\|_1` subject to :math:`\mathcal{A}x = b`, as a linear program.

    With :math:`x = u - v`, :math:`u, v \ge 0` it is the LP

    .. math:: \min \mathbf{1}^T(u + v) \quad\text{s.t.}\quad [A, -A]\,[u; v] = b,\ u, v \ge 0,

    solved by HiGHS through ``scipy.optimize.linprog(method="highs")``
    (Chen, Donoho & Saunders 1998).  For Gaussian ``A`` with
    :math:`\delta = p/N` it recovers a ``k``-sparse vector with high
    probability when :math:`\rho = k/p` is below the Donoho-Tanner weak phase
    transition :math:`\rho_W(\delta)` (0.386 at :math:`\delta = 1/2`) and
    fails above it.

    The LP needs the ``p x N`` matrix: an explicit (dense or sparse) one is
    used as is; any other operator is materialised from ``p`` adjoints.  The
    noisy form :math:`\|\mathcal{A}x - b\|_2 \le \varepsilon` is a
    second-order cone program, not an LP; it lives in :mod:`cs.solvers.convex`.

    Parameters
    ----------
    A, b : as in :func:`iht`; real only.
    sparsity : int, optional
        Not needed by basis pursuit; checked (``<= N``) and kept in ``info``
        so that every baseline takes ``f(A, b, sparsity)``.
    tol : float, optional
        HiGHS's primal and dual feasibility tolerances (``>= 1e-10``;
        default HiGHS's own, 1e-7), on ``b`` scaled to ``max |b| = 1``.
    max_iter : int, optional
        HiGHS's simplex iteration limit; default its own.
    presolve : bool
        Run HiGHS's presolve.  Off by default: on the dense random matrices
        of compressed sensing it removes nothing and costs several times the
        solve; worth turning on for sparse, structured ``A``.
    x0 : array_like, optional
        Checked, then ignored (``linprog`` takes no starting point).
    callback : callable, optional
        Called once with the :class:`~cs.solvers.result.Iterate` of the
        solution (HiGHS exposes no iterates); its return value is ignored.
    X_true : array_like, optional
        The truth, for ``history["error_X"]``.

    Returns
    -------
    SolveResult
        ``converged`` is True when HiGHS solved the LP *and* the package
        checked that every equation holds to the feasibility tolerance
        (``||Ax - b|| <= tol sqrt(p)`` with ``b`` scaled to ``max |b| = 1``;
        status ``TOLERANCE``); a solved LP failing that check gives
        ``NO_PROGRESS``;
        an iteration or time limit gives ``MAX_ITER``, infeasibility or
        numerical trouble ``NO_PROGRESS``.  ``reason`` ends with linprog's own
        status and message; ``info`` holds ``lp_status``, ``lp_message``,
        ``objective`` (:math:`\|x\|_1`), ``sparsity`` and ``support``;
        ``n_iter`` counts simplex iterations; ``history`` has one entry.

    Examples
    --------
    >>> from cs.datasets.synthetic import sparse_problem
    >>> prob = sparse_problem(200, 0.5, 0.1, values="sign", rng=0)
    >>> res = l1(prob.A, prob.b)
    >>> res.converged, bool(abs(res.x - prob.x).max() < 1e-6)
    (True, True)
    """
    prob = prepare(A, b, truth={"X_true": X_true}, callback=callback)
    A, b = prob.A, prob.b
    n = A.input_size
    if sparsity is not None:
        sparsity = check_sparsity(sparsity, n)
    check_like(x0, "x0", A.input_shape)
    if np.iscomplexobj(b) or np.dtype(A.dtype).kind == "c":
        raise TypeError("l1 solves real problems only; A and b must be real")
    feasibility = _HIGHS_FEASIBILITY if tol is None else check_real(tol, "tol", low=1e-10)
    options = {"presolve": bool(presolve), "primal_feasibility_tolerance": feasibility,
               "dual_feasibility_tolerance": feasibility}
    if max_iter is not None:
        options["maxiter"] = check_int(max_iter, "max_iter", low=1)

    from scipy.optimize import linprog  # here: importing scipy.optimize costs every solver 0.1 s

    matrix = A.todense()
    stacked = (scipy.sparse.hstack([matrix, -matrix], format="csc") if scipy.sparse.issparse(matrix)
               else np.hstack([matrix, -matrix]))
    lp = []

    def solve(n_iter):
        lp.append(linprog(np.ones(2 * n), A_eq=stacked, b_eq=b, bounds=(0, None), method="highs",
                          options=options))
        x = (lp[0].x[:n] - lp[0].x[n:] if lp[0].x is not None else np.zeros(n)).astype(b.dtype)
        rel = float(np.linalg.norm(b - A.matvec(x))) / (float(np.linalg.norm(b)) or 1.0)
        return Step(rel, x.reshape(A.input_shape), fixed_point=True)

    # HiGHS bounds each equation's residual by the feasibility tolerance, and
    # max |b| = 1 after scaling: the package checks that bound itself
    run = drive(solve, solver="l1", tol=feasibility * np.sqrt(A.n_measurements), rate_tol=None,
                max_iter=1, truth=prob.truth, callback=callback, scale=prob.scale)
    lp = lp[0]
    status = run.status if lp.status == 0 else _LP_STATUS.get(lp.status, Status.NO_PROGRESS)
    x = run.scaled(run.last.X)
    info = {"lp_status": int(lp.status), "lp_message": lp.message,
            "objective": None if lp.fun is None else float(lp.fun) * prob.scale,
            "sparsity": sparsity, "support": np.flatnonzero(x)}
    return run.result(x=x, info=info, status=status, n_iter=int(lp.nit or 0),
                      reason=f"{MESSAGES[status]} (linprog status {lp.status}: {lp.message})")
