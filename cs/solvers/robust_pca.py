r"""Robust PCA on fully observed data, and the rank-r plus s-sparse projection.

Robust PCA separates a matrix :math:`M = L + S` into a low-rank part
:math:`L` and a sparse part :math:`S`.  Three solvers share the package's
one iteration driver (:func:`cs.solvers.result.drive`) and differ only in
their step:

``"accaltproj"``
    Accelerated alternating projections (Cai, Cai & Wei 2019): the low-rank
    update is a rank-r truncation of the projection onto the tangent space of
    the current iterate, which needs only QR factorisations of ``m x r`` and
    ``n x r`` matrices and the SVD of a ``2r x 2r`` one.
``"godec"``
    GoDec (Zhou & Tao 2011): alternate the best rank-r approximation
    (randomised SVD) and the ``s`` largest entries of the residual.
``"pcp"``
    Principal component pursuit, :math:`\min \|L\|_* + \lambda\|S\|_1` s.t.
    :math:`L + S = M` (Candès, Li, Ma & Wright 2011), solved by the inexact
    augmented Lagrangian method (Lin, Chen & Ma 2010).

:func:`project_ls` is the lean projection onto
:math:`\{L + S : \operatorname{rank} L \le r,\ \|S\|_0 \le s\}` that the L+S
NIHT solver of Tanner & Vary (2023) calls once per outer iteration, with a
warm start from the previous outer iterate.

References
----------
H. Cai, J.-F. Cai and K. Wei, "Accelerated alternating projections for robust
principal component analysis", J. Mach. Learn. Res. 20(20), 2019.
T. Zhou and D. Tao, "GoDec: randomized low-rank & sparse matrix decomposition
in noisy case", ICML 2011.
Z. Lin, M. Chen and Y. Ma, "The augmented Lagrange multiplier method for exact
recovery of corrupted low-rank matrices", arXiv:1009.5055, 2010.
E. J. Candès, X. Li, Y. Ma and J. Wright, "Robust principal component
analysis?", J. ACM 58(3), 2011.
J. Tanner and S. Vary, "Compressed sensing of low-rank plus sparse matrices",
Appl. Comput. Harmon. Anal. 64, 2023 (arXiv:2007.09457).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.linalg import blas

from .._validation import (as_rng, check_array, check_callback, check_choice, check_int, check_like,
                           check_rank, check_real, check_sparsity)
from ..threshold import hard, hard_tau, randomized_svd, soft, svt, truncate_rank
from .result import Step, drive

__all__ = ["rpca", "project_ls", "LSSplit"]

#: Default iteration caps per method: AccAltProj converges in tens of
#: iterations (its authors cap at 100); GoDec's plain alternating projections
#: and the inexact ALM can need a few hundred on harder instances.
_MAX_ITER = {"accaltproj": 100, "godec": 300, "pcp": 500}

#: AccAltProj thresholds (Cai, Cai & Wei 2019): the theory asks for
#: beta = mu r / (2 sqrt(mn)) with the unknown incoherence mu of L; the
#: authors' experiments use beta = 1 / (2 (mn)^(1/4)), beta_init = 4 beta and
#: the decay gamma = 0.5, which need no knowledge of mu.
_BETA_INIT_FACTOR = 4.0
_GAMMA = 0.5

#: Inexact ALM (Lin, Chen & Ma 2010, Section 4): mu_0 = 1.25 / ||M||_2, the
#: growth factor rho = 1.6, and a cap mu_bar = 1e7 mu_0 that keeps the
#: shrinkage thresholds away from zero.
_PCP_MU0 = 1.25
_PCP_RHO = 1.6
_PCP_MU_CAP = 1e7


class LSSplit(NamedTuple):
    """A rank-r plus s-sparse split ``L + S`` with orthonormal factors of ``L``.

    ``U`` (m x r) and ``V`` (n x r) have orthonormal columns spanning the
    column and row spaces of ``L``; ``n_iter`` counts the inner iterations
    that produced the split.
    """

    L: np.ndarray
    S: np.ndarray
    U: np.ndarray
    V: np.ndarray
    n_iter: int


def _add_product(Z, A, B, alpha=1.0):
    """``Z += alpha * A @ B`` in place, in one pass over ``Z`` (BLAS ``gemm``
    with ``beta = 1``) instead of forming the m x n product and adding it.

    For the low-rank terms of L+S iterations (``A`` is m x r, ``B`` r x n
    with small r) on large matrices: the pass over ``Z`` is the whole cost.
    """
    if Z.dtype.kind == "f" and Z.dtype == A.dtype == B.dtype and (Z.flags.f_contiguous or Z.flags.c_contiguous):
        gemm = blas.get_blas_funcs("gemm", (Z,))
        # a C-ordered Z is the Fortran-ordered Z.T, and Z.T += alpha B.T A.T
        target, a, b = (Z, A, B) if Z.flags.f_contiguous else (Z.T, B.T, A.T)
        out = gemm(alpha, a, b, beta=1.0, c=target, overwrite_c=True)
        if np.shares_memory(out, target):
            return Z
        target[...] = out
        return Z
    Z += alpha * (A @ B)
    return Z


def _top_singular_value(X, rng):
    """sigma_1(X) by randomised subspace iteration (enough for a threshold)."""
    return float(randomized_svd(X, 1, rng=rng)[1][0]) if X.size else 0.0


# --------------------------------------------------------------------------
# Steps.  Each holds the current iterate (L, S and, for the projections, the
# factors U, V of L) and advances it by one iteration with ``step()``, which
# returns the residual matrix M - L - S and a dict of per-iteration extras
# (keys starting with "_" become history entries).
# --------------------------------------------------------------------------

class _AccAltProj:
    r"""Accelerated alternating projections (Cai, Cai & Wei 2019, Algorithms 1-2).

    With :math:`L_k = U_k \Sigma_k V_k^T` and :math:`Z = M - S_k`, the
    tangent-space projection :math:`P_{T_k} Z = U U^T Z + Z V V^T - U U^T Z V V^T`
    is written :math:`[U\ Q_1]\, \begin{bmatrix} U^T Z V & R_2^T \\ R_1 & 0
    \end{bmatrix} [V\ Q_2]^T` with the QR factorisations
    :math:`Q_1 R_1 = (I - UU^T) Z V` and :math:`Q_2 R_2 = (I - VV^T) Z^T U`, so
    :math:`L_{k+1} = H_r(P_{T_k} Z)` needs the SVD of a ``2r x 2r`` matrix only.
    The sparse step keeps the entries of :math:`M - L_{k+1}` above
    :math:`\zeta_{k+1} = \beta(\sigma_{r+1}(P_{T_k}Z) + \gamma^{k+1}\sigma_1(P_{T_k}Z))`,
    or, when ``sparsity`` is given, its ``sparsity`` largest entries.  The
    optional trimming step of the paper is not applied (its authors disable it
    in their experiments).
    """

    def __init__(self, M, rank, sparsity, rng, init=None):
        self.M, self.r, self.s, self.rng = M, rank, sparsity, rng
        m, n = M.shape
        self.beta = 1.0 / (2.0 * (m * n) ** 0.25)
        self.k = 0
        self.zeta = np.nan
        if init is not None:
            L, S, U, V = init
            self.L, self.S, self.U, self.V = L, S, U, V
            self.R0 = M - L - S
            return
        # Algorithm 2: two steps of AltProj with thresholds from sigma_1.
        S = hard_tau(M, self.beta * _BETA_INIT_FACTOR * _top_singular_value(M, rng))
        # an initialisation needs no exact SVD: on a tall video matrix (26,600 x 150, rank 1)
        # the randomised one took 0.06 s against 0.35 s, the same sigma_1 to float32 precision
        method = "randomized" if M.size >= 1 << 18 and 4 * (rank + 10) < min(M.shape) else "auto"
        low = truncate_rank(M - S, rank, method=method, rng=rng)
        self.L, self.U, self.V = low.X, low.U, low.Vt.T
        self.zeta = self.beta * float(low.s[0])
        R = M - self.L
        self.S = self._sparse(R, self.zeta)
        R -= self.S
        self.R0 = R

    def _sparse(self, R, zeta):
        return hard(R, self.s) if self.s is not None else hard_tau(R, zeta)

    def step(self):
        M, U, V, r = self.M, self.U, self.V, self.r
        Z = M - self.S
        ZV = Z @ V
        ZtU = Z.T @ U
        del Z  # free m x n before the two allocations below (large videos)
        C = U.T @ ZV
        Q1, R1 = np.linalg.qr(ZV - U @ C)
        Q2, R2 = np.linalg.qr(ZtU - V @ C.T)
        core = np.block([[C, R2.T], [R1, np.zeros_like(C)]])
        # r + 1 singular values: sigma_{r+1} of the projection sets the threshold
        low = truncate_rank(core, r + 1, method="exact")
        self.U = np.hstack([U, Q1]) @ low.U[:, :r]
        self.V = np.hstack([V, Q2]) @ low.Vt[:r].T
        self.L = (self.U * low.s[:r]) @ self.V.T
        self.k += 1
        extras = {}
        if self.s is None:
            self.zeta = self.beta * (float(low.s[r]) + _GAMMA ** self.k * float(low.s[0]))
            extras["zeta"] = self.zeta
        R = M - self.L
        self.S = self._sparse(R, self.zeta)
        R -= self.S
        return R, extras


class _GoDec:
    r"""GoDec (Zhou & Tao 2011, Algorithm 1) with a randomised rank-r SVD.

    :math:`L_t = P_r(M - S_{t-1})` (best rank-r approximation, randomised
    subspace iteration for large matrices) and :math:`S_t = H_s(M - L_t)`
    (the ``s`` largest entries), from :math:`S_0 = 0` or a warm start.
    """

    def __init__(self, M, rank, sparsity, rng, init=None):
        self.M, self.r, self.s, self.rng = M, rank, sparsity, rng
        if init is not None:
            self.L, self.S, self.U, self.V = init
            self.R0 = M - self.L - self.S
        else:
            self.S = np.zeros_like(M)
            self.L, self.U, self.V = np.zeros_like(M), None, None
            self.R0 = M.copy()

    def step(self):
        low = truncate_rank(self.M - self.S, self.r, rng=self.rng)
        self.L, self.U, self.V = low.X, low.U, low.Vt.T
        R = self.M - self.L
        self.S = hard(R, self.s)
        R -= self.S
        return R, {}


class _PCP:
    r"""Principal component pursuit by the inexact ALM (Lin, Chen & Ma 2010, Algorithm 5).

    For :math:`\min \|L\|_* + \lambda \|S\|_1` s.t. :math:`L + S = M`, with
    :math:`Y_0 = M / J(M)`, :math:`J(M) = \max(\|M\|_2, \lambda^{-1}\|M\|_\infty)`:

    .. math::
        L_{k+1} = \mathcal{D}_{1/\mu_k}(M - S_k + Y_k/\mu_k), \quad
        S_{k+1} = \mathcal{S}_{\lambda/\mu_k}(M - L_{k+1} + Y_k/\mu_k),

        Y_{k+1} = Y_k + \mu_k (M - L_{k+1} - S_{k+1}), \quad
        \mu_{k+1} = \min(\rho \mu_k, \bar\mu),

    with :math:`\mathcal{D}` singular value and :math:`\mathcal{S}` entrywise
    soft thresholding.
    """

    def __init__(self, M, lam, rng):
        self.M, self.lam = M, lam
        norm2 = _top_singular_value(M, rng)
        norm_inf = float(np.max(np.abs(M))) if M.size else 0.0
        scale = max(norm2, norm_inf / lam) or 1.0
        self.Y = M / scale
        self.mu = _PCP_MU0 / (norm2 or 1.0)
        self.mu_cap = self.mu * _PCP_MU_CAP
        self.L = np.zeros_like(M)
        self.S = np.zeros_like(M)
        self.rank = 0

    def step(self):
        M, mu = self.M, self.mu
        shifted = M + self.Y / mu
        low = svt(shifted - self.S, 1.0 / mu)
        self.L, self.rank = low.X, low.rank
        self.S = soft(shifted - self.L, self.lam / mu)
        R = M - self.L - self.S
        self.Y += mu * R
        self.mu = min(_PCP_RHO * mu, self.mu_cap)
        return R, {"mu": mu, "rank": self.rank}


# --------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------

def rpca(M, *, rank=None, sparsity=None, method="accaltproj", tol=1e-7, max_iter=None,
         lam=None, rng=None, callback=None, L_true=None, S_true=None):
    r"""Robust PCA: split a fully observed matrix into low-rank plus sparse.

    Finds :math:`L` of rank at most ``rank`` and sparse :math:`S` with
    :math:`M \approx L + S`, by one of three methods (see the module
    docstring for the maths of each):

    * ``"accaltproj"`` (default) -- accelerated alternating projections
      (Cai, Cai & Wei 2019).  Needs ``rank``.  Without ``sparsity`` the sparse
      step keeps the entries of :math:`M - L_{k+1}` above the decreasing
      thresholds :math:`\zeta_{k+1} = \beta(\sigma_{r+1} + \gamma^{k+1}\sigma_1)`
      of :math:`P_{T_k}(M - S_k)`, with :math:`\beta = 1/(2(mn)^{1/4})`,
      :math:`\gamma = 1/2`; with ``sparsity`` it keeps exactly the
      ``sparsity`` largest entries (:func:`cs.threshold.hard`).
    * ``"godec"`` -- GoDec (Zhou & Tao 2011): :math:`L = P_r(M - S)`,
      :math:`S = H_s(M - L)`.  Needs ``rank`` and ``sparsity``.
    * ``"pcp"`` -- principal component pursuit
      :math:`\min \|L\|_* + \lambda\|S\|_1` s.t. :math:`L + S = M` by the
      inexact augmented Lagrangian method (Lin, Chen & Ma 2010).  Uses
      neither ``rank`` nor ``sparsity`` (they are checked, then ignored).

    Each iteration records the relative residual
    :math:`\|M - L - S\|_F / \|M\|_F`; the solver stops by the shared
    rule of :func:`cs.solvers.result.drive`: below ``tol`` (converged), a
    stalled rate over 15 iterations, divergence, or ``max_iter``.  ``M`` is
    divided by ``max |M|`` first, so the answer scales with ``M``.

    Parameters
    ----------
    M : (m, n) array_like
        The observed real matrix; finite.
    rank : int, optional
        The rank ``r`` of ``L``, ``1 <= r <= min(m, n)``; required by
        ``"accaltproj"`` and ``"godec"``.
    sparsity : int, optional
        The number of nonzeros of ``S``, ``0 <= s <= m n``; required by
        ``"godec"``, optional for ``"accaltproj"``.
    method : {"accaltproj", "godec", "pcp"}
    tol : float
        Tolerance on the relative residual.
    max_iter : int, optional
        Iteration cap; default 100 (accaltproj), 300 (godec), 500 (pcp).
    lam : float, optional
        The weight :math:`\lambda > 0` of PCP, default
        :math:`1/\sqrt{\max(m, n)}` (Candès et al. 2011); only for ``"pcp"``.
    rng : None, int, SeedSequence or Generator
        Randomness of the randomised SVDs (accaltproj's initialisation and
        sigma_1 estimates, godec's truncations, pcp's ``||M||_2``).
    callback : callable, optional
        ``callback(Iterate)`` (``n_iter``, ``x``, ``L``, ``S``, ``residual``)
        after every iteration; a true return value stops the solver
        (status ``CALLBACK``).
    L_true, S_true : (m, n) array_like, optional
        The truth, to record ``history["error_L"]``, ``["error_S"]`` (and
        ``["error_X"]`` when both are given) per iteration.

    Returns
    -------
    SolveResult
        ``x`` (= ``L + S``), ``L``, ``S``, ``n_iter``, ``converged``,
        ``status``, ``reason``, ``history`` (``residual``, ``time``,
        ``step``; ``zeta`` for thresholded accaltproj; ``mu`` and ``rank``
        for pcp; errors when the truth is given) and ``info``
        (``method``, ``rank`` of the returned ``L``, ``nnz_S`` the number
        of nonzeros of ``S``, ``lam`` for pcp).

    Notes
    -----
    Thresholded AccAltProj (no ``sparsity``) and PCP do not bound the number
    of nonzeros of ``S``: when the model is wrong (rank too small, ``S`` not
    sparse) they can still drive the residual to zero with a dense ``S``, so
    ``converged`` then means only that ``M = L + S``; check
    ``info["nnz_S"]``, or pass ``sparsity`` (accaltproj, godec) to have
    ``S`` kept ``sparsity``-sparse, in which case a wrong model stalls and
    ends with ``converged=False``.

    Raises
    ------
    ValueError
        Empty, non-2-D or non-finite ``M``; ``rank`` above ``min(m, n)`` or below 1,
        or missing where required; ``sparsity`` above ``m n`` or missing
        where required; unknown ``method``; ``lam`` not positive or given for
        a method other than pcp; truth of another shape.
    TypeError
        A non-integer ``rank``/``sparsity``/``max_iter``, complex ``M``, a
        non-callable ``callback``, an invalid ``rng``.

    References
    ----------
    H. Cai, J.-F. Cai and K. Wei, J. Mach. Learn. Res. 20(20), 2019.
    T. Zhou and D. Tao, ICML 2011.
    Z. Lin, M. Chen and Y. Ma, arXiv:1009.5055, 2010.

    Examples
    --------
    >>> from cs.datasets.synthetic import ls_matrix
    >>> X, L, S = ls_matrix((100, 100), 3, 500, rng=0)
    >>> res = rpca(X, rank=3, method="accaltproj", tol=1e-9, rng=0)
    >>> res.converged, bool(np.linalg.norm(res.L - L) < 1e-6 * np.linalg.norm(L))
    (True, True)
    """
    method = check_choice(method, "method", set(_MAX_ITER))
    M = check_array(M, "M", ndim=2, allow_complex=False)
    shape = M.shape
    if M.size == 0:
        raise ValueError(f"M has shape {shape}; robust PCA needs at least one entry")
    if rank is not None:
        rank = check_rank(rank, shape, "rank")
        if rank < 1:
            raise ValueError(f"rank={rank} must be >= 1")
    elif method != "pcp":
        raise ValueError(f"rank=None: rank is required for method={method!r}")
    if sparsity is not None:
        sparsity = check_sparsity(sparsity, M.size, "sparsity")
    elif method == "godec":
        raise ValueError("sparsity=None: sparsity (the number of nonzeros of S) is required for "
                         "method='godec'")
    if lam is not None:
        if method != "pcp":
            raise ValueError(f"lam={lam!r} applies to method='pcp' only, got method={method!r}")
        lam = check_real(lam, "lam", low=0.0, low_open=True)
    check_callback(callback)
    max_iter = check_int(_MAX_ITER[method] if max_iter is None else max_iter, "max_iter", low=1)
    truth = {"L": check_like(L_true, "L_true", shape, what="M", flat_ok=False),
             "S": check_like(S_true, "S_true", shape, what="M", flat_ok=False)}
    if truth["L"] is not None and truth["S"] is not None:
        truth["X"] = truth["L"] + truth["S"]
    rng = as_rng(rng)

    scale = float(np.max(np.abs(M))) or 1.0
    M = M / M.dtype.type(scale)
    info = {"method": method}
    if method == "pcp":
        info["lam"] = lam = 1.0 / float(np.sqrt(max(shape))) if lam is None else lam
        stepper = _PCP(M, lam, rng)
    elif method == "godec":
        stepper = _GoDec(M, rank, sparsity, rng)
    else:
        stepper = _AccAltProj(M, rank, sparsity, rng)
    norm_M = float(np.linalg.norm(M)) or 1.0

    def step(n_iter):
        R, extras = stepper.step()
        return Step(float(np.linalg.norm(R)) / norm_M, L=stepper.L, S=stepper.S, extras=extras)

    run = drive(step, solver=f"rpca-{method}", tol=tol, max_iter=max_iter, truth=truth,
                callback=callback, scale=scale)
    info["rank"] = stepper.rank if method == "pcp" else rank
    info["nnz_S"] = int(np.count_nonzero(stepper.S))
    return run.result(info=info)


def _warm_start(init, X, rank, rng, factors):
    """(L0, S0, U0, V0) from an LSSplit or an (L0, S0) pair; factors only if asked."""
    if isinstance(init, LSSplit):
        L0, S0, U0, V0 = init.L, init.S, init.U, init.V
    else:
        try:
            L0, S0 = init
        except (TypeError, ValueError) as err:
            raise TypeError(f"init must be an LSSplit or a pair (L0, S0), got {type(init).__name__}") from err
        U0 = V0 = None
        L0 = check_like(L0, "init[0]", X.shape, what="X", flat_ok=False)
        S0 = check_like(S0, "init[1]", X.shape, what="X", flat_ok=False)
    L0, S0 = np.asarray(L0, dtype=X.dtype), np.asarray(S0, dtype=X.dtype)
    m, n = X.shape
    if factors and (U0 is None or V0 is None or U0.shape != (m, rank) or V0.shape != (n, rank)):
        low = truncate_rank(L0, rank, rng=rng)
        U0, V0 = low.U, low.Vt.T
    return L0, S0, U0, V0


def project_ls(X, rank, sparsity, *, method="accaltproj", init=None, tol=1e-6, max_iter=50,
               rng=None):
    r"""Project onto the rank-r plus s-sparse matrices (approximately).

    Seeks :math:`\min \|X - L - S\|_F` over :math:`\operatorname{rank} L \le r`
    and :math:`\|S\|_0 \le s` by alternating projections: accelerated ones
    (``"accaltproj"``, the tangent-space update of Cai, Cai & Wei 2019, with
    the sparse step keeping the ``s`` largest entries) or GoDec's
    (``"godec"``, Zhou & Tao 2011).  This is the projection
    :math:`P_{r,s}` inside the L+S NIHT of Tanner & Vary (2023, Algorithm 1),
    called once per outer iteration, so it keeps no history and checks only
    what is cheap.

    A warm start ``init`` (the previous outer iterate) skips AccAltProj's
    initialisation (two AltProj steps with singular-value thresholds) and
    starts from the factors of the given ``L``; GoDec starts from the given
    ``S``.  The inner loop stops when the relative residual
    :math:`\|X - L - S\|_F / \|X\|_F` or the relative change
    :math:`\|(L + S)_{k} - (L + S)_{k-1}\|_F / \|X\|_F` falls below ``tol``,
    or after ``max_iter`` iterations.

    Parameters
    ----------
    X : (m, n) ndarray
        Real matrix to project.
    rank : int
        ``0 <= r <= min(m, n)``.
    sparsity : int
        ``0 <= s <= m n``.
    method : {"accaltproj", "godec"}
    init : LSSplit or (L0, S0), optional
        Warm start; an :class:`LSSplit` also supplies the factors ``U, V``.
    tol : float
    max_iter : int
    rng : None, int, SeedSequence or Generator
        For the randomised SVDs.

    Returns
    -------
    LSSplit
        ``L`` (rank <= r), ``S`` (at most s nonzeros), ``U`` (m x r) and
        ``V`` (n x r) with orthonormal columns, ``L = U U^T L V V^T``, and
        ``n_iter``.

    References
    ----------
    J. Tanner and S. Vary, Appl. Comput. Harmon. Anal. 64, 2023, Algorithm 1.
    H. Cai, J.-F. Cai and K. Wei, J. Mach. Learn. Res. 20(20), 2019.
    T. Zhou and D. Tao, ICML 2011.
    """
    X = check_array(X, "X", ndim=2, finite=False, allow_complex=False)
    m, n = X.shape
    rank = check_rank(rank, X.shape, "rank")
    sparsity = check_sparsity(sparsity, X.size, "sparsity")
    method = check_choice(method, "method", {"accaltproj", "godec"})
    tol = check_real(tol, "tol", low=0.0)
    max_iter = check_int(max_iter, "max_iter", low=1)
    rng = as_rng(rng)

    # One projection is exact when either part is absent.
    if rank == 0:
        return LSSplit(np.zeros_like(X), hard(X, sparsity), np.zeros((m, 0), X.dtype),
                       np.zeros((n, 0), X.dtype), 1)
    if sparsity == 0:
        low = truncate_rank(X, rank, rng=rng)
        return LSSplit(low.X, np.zeros_like(X), low.U, low.Vt.T, 1)

    start = None if init is None else _warm_start(init, X, rank, rng, method == "accaltproj")
    if method == "godec":
        stepper = _GoDec(X, rank, sparsity, rng, start)
    else:
        stepper = _AccAltProj(X, rank, sparsity, rng, start)
    norm_X = float(np.linalg.norm(X)) or 1.0
    previous = [stepper.R0]

    def step(n_iter):
        R, _ = stepper.step()
        previous[0] -= R  # the change of L + S equals minus the change of the residual
        change = float(np.linalg.norm(previous[0])) / norm_X
        previous[0] = R
        return Step(float(np.linalg.norm(R)) / norm_X, L=stepper.L, S=stepper.S, fixed_point=change < tol)

    run = drive(step, solver="project_ls", tol=tol, rate_tol=None, max_iter=max_iter, diverge=np.inf)
    return LSSplit(stepper.L, stepper.S, stepper.U, stepper.V, run.n_iter)
