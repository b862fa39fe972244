r"""SpaRCS: recovery of sparse and low-rank matrices from compressive measurements.

A CoSaMP/ADMiRA-style greedy method for :math:`b = \mathcal{A}(L + S)` with
:math:`\operatorname{rank} L \le r` and :math:`\|S\|_0 \le s`, the L+S
baseline of Tanner & Vary's phase-transition experiments.

References
----------
A. E. Waters, A. C. Sankaranarayanan and R. G. Baraniuk, "SpaRCS: Recovering
low-rank and sparse matrices from compressive measurements", NIPS 24, 2011,
Algorithm 1.
K. Lee and Y. Bresler, "ADMiRA: Atomic decomposition for minimum rank
approximation", IEEE Trans. Inf. Theory 56(9), 2010 (the low-rank atoms).
D. Needell and J. A. Tropp, "CoSaMP", Appl. Comput. Harmon. Anal. 26(3), 2009
(the sparse part).
"""

from __future__ import annotations

import time

import numpy as np
from scipy.sparse.linalg import lsqr

from .. import threshold
from .._validation import check_choice, check_int, check_rank, check_sparsity
from .result import Step, default_tol, drive, prepare

__all__ = ["sparcs"]


def sparcs(A, b, *, rank, sparsity, atoms=2, tol=None, rate_tol=0.999, max_iter=1000, ls_max_iter=50,
           svd="auto", callback=None, X_true=None, L_true=None, S_true=None, rng=None):
    r"""SpaRCS (Waters, Sankaranarayanan & Baraniuk 2011, Algorithm 1).

    From :math:`L_0 = S_0 = 0`, each iteration updates the low-rank part,
    then the sparse part against the new low-rank one (Gauss-Seidel order):

    1. *identify*: with the proxy :math:`P_L = \mathcal{A}^*(b - \mathcal{A}(L_j + S_j))`,
       its top :math:`2r` singular pairs as rank-one atoms :math:`u_i v_i^T`;
       with the renewed proxy :math:`P_S = \mathcal{A}^*(b - \mathcal{A}(L_{j+1} + S_j))`,
       its :math:`2s` largest entries;
    2. *merge* them with the atoms of :math:`L_j` and the support of
       :math:`S_j` (at most :math:`3r` atoms, :math:`3s` entries);
    3. *least squares* on the merged sets:
       :math:`B_L = \arg\min_{c}\|b - \mathcal{A}(S_j) - \mathcal{A}(\sum_i c_i u_i v_i^T)\|_2`,
       :math:`B_S = \arg\min_{\operatorname{supp} Z \subseteq \Omega}\|b - \mathcal{A}(L_{j+1}) - \mathcal{A}(Z)\|_2`;
    4. *prune*: :math:`L_{j+1}` the best rank-r approximation of :math:`B_L`,
       :math:`S_{j+1} = H_s(B_S)`.

    The renewed proxy costs a second adjoint an iteration; the sparse part
    then sees the residual the new :math:`L_{j+1}` leaves, not the one it
    replaced.

    The low-rank least squares has one unknown per atom (the measured atoms
    form a ``p x 3r`` matrix); the sparse one is solved by LSQR on the
    columns of :math:`\Omega` (``forward_sparse``/``adjoint_at``),
    warm-started from :math:`S_j`.  The rank-r truncation of
    :math:`B_L = Q_U C Q_V^T` is that of the small core :math:`C`.  Stopping
    is the shared rule on the relative residual (see
    :mod:`cs.solvers.result`).

    Parameters
    ----------
    A : operator
        A :class:`cs.operators.MeasurementOperator` on ``m x n`` matrices.
    b : (p,) array
    rank, sparsity : int
        ``r`` and ``s``.
    tol : float, optional
        Relative residual to stop at (default 1e-9 in float64, 1e-5 in float32).
    rate_tol : float
        Stop when the mean convergence rate over 15 iterations exceeds it.
    max_iter : int
    ls_max_iter : int
        LSQR iterations of the sparse least squares per outer iteration.
    svd : {"auto", "exact", "randomized"}
        How the top-2r singular pairs of the proxy are computed.
    callback, X_true, L_true, S_true
        As for :func:`cs.solvers.niht`.
    rng : seed or Generator
        For randomised SVDs.

    Returns
    -------
    SolveResult
        ``X = L + S``, ``L``, ``S`` and histories; ``solver="sparcs"``;
        ``info["seconds"]``.

    Examples
    --------
    >>> from cs.datasets.synthetic import ls_problem
    >>> prob = ls_problem((40, 40), 0.6, 0.05, 0.05, operator="fjlt", rng=0)
    >>> res = sparcs(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity)
    >>> res.converged, bool(abs(res.X - prob.x).max() < 1e-6)
    (True, True)
    """
    prob = prepare(A, b, truth={"X_true": X_true, "L_true": L_true, "S_true": S_true},
                   callback=callback, rng=rng)
    A, b = prob.A, prob.b
    rank = check_rank(rank, A.input_shape)
    sparsity = check_sparsity(sparsity, A.input_size)
    atoms = check_int(atoms, "atoms", low=1)
    ls_max_iter = check_int(ls_max_iter, "ls_max_iter", low=1)
    svd = check_choice(svd, "svd", {"auto", "exact", "randomized"})
    max_iter = check_int(max_iter, "max_iter", low=1)
    m, n = A.input_shape
    N, p = A.input_size, A.n_measurements
    dtype = b.dtype
    b_norm = float(np.linalg.norm(b)) or 1.0
    start = time.perf_counter()

    zeros = np.zeros((m, n), dtype=dtype)
    it = dict(L=zeros, S=zeros.copy(), U=np.zeros((m, 0), dtype), V=np.zeros((n, 0), dtype),
              support=np.zeros(0, dtype=np.intp), AL=np.zeros(p, dtype), AS=np.zeros(p, dtype))

    def low_rank_part(P, target):
        """Least squares over the merged atoms, then the rank-r truncation."""
        if rank == 0:
            return zeros, it["U"], it["V"]
        top = threshold.truncate_rank(P, min(atoms * rank, m, n), method=svd, rng=prob.rng)
        U = np.hstack([top.U, it["U"]])
        V = np.hstack([top.Vt.T, it["V"]])
        basis = np.einsum("ik,jk->ijk", U, V).reshape(N, -1)          # column i: vec(u_i v_i^T)
        measured = A.matmat(basis)                                     # p x (number of atoms)
        coef = np.linalg.lstsq(measured, target, rcond=None)[0]
        Qu, Ru = np.linalg.qr(U)
        Qv, Rv = np.linalg.qr(V)
        core = threshold.truncate_rank((Ru * coef) @ Rv.T, rank, method="exact")
        return Qu @ core.X @ Qv.T, Qu @ core.U, Qv @ core.Vt.T

    def sparse_part(P, target):
        """Least squares on the merged support, then the s largest entries."""
        if sparsity == 0:
            return zeros, it["support"]
        omega = np.union1d(threshold.support(P, min(atoms * sparsity, N)), it["support"])
        values = lsqr(A.restricted(omega), target, x0=it["S"].reshape(-1)[omega], atol=1e-14, btol=1e-14,
                      iter_lim=ls_max_iter)[0]
        B = np.zeros(N, dtype=dtype)
        B[omega] = values
        S, mask = threshold.hard(B, sparsity, return_mask=True)
        return S.reshape(m, n), np.flatnonzero(mask)

    def first():
        return Step(1.0 if float(np.linalg.norm(b)) > 0 else 0.0, None, it["L"], it["S"])

    def step(n_iter):
        # the low-rank half-step against S_j, then the sparse one against the new L
        if rank:
            L, U, V = low_rank_part(A.adjoint(b - it["AL"] - it["AS"]), b - it["AS"])
            it.update(L=L, U=U, V=V, AL=A.forward(L))
        if sparsity:
            S, support = sparse_part(A.adjoint(b - it["AL"] - it["AS"]), b - it["AL"])
            it.update(S=S, support=support, AS=A.forward_sparse(S.reshape(-1)[support], support))
        rel = float(np.linalg.norm(b - it["AL"] - it["AS"])) / b_norm
        return Step(rel, None, it["L"], it["S"])

    tol = default_tol(dtype) if tol is None else tol
    run = drive(step, first=first, solver="sparcs", tol=tol, rate_tol=rate_tol, max_iter=max_iter,
                truth=prob.truth, callback=callback, scale=prob.scale)
    return run.result(info={"seconds": time.perf_counter() - start})
