r"""Normalised Alternating Hard Thresholding (NAHT) for low-rank plus sparse matrices.

References
----------
J. Tanner and S. Vary, "Compressed sensing of low-rank plus sparse matrices",
Appl. Comput. Harmon. Anal. 64:254-293, 2023 (arXiv:2007.09457), Algorithm 2.
"""

from __future__ import annotations

import time

import numpy as np

from .._validation import check_choice, check_rank, check_sparsity
from .niht import _LowRankModel, _prepare, _SparseModel, _stop_or_callback
from .result import Iterate

__all__ = ["naht"]


def _half_step(model, A, residual, X, aux, timer):
    """One normalised gradient step of ``model`` from ``X`` then its projection."""
    with timer("operator"):
        G = A.adjoint(residual)
        AZ, gz = model.direction(G, aux)
    denom = float(np.vdot(AZ, AZ).real)
    alpha = gz / denom if denom > 0 else 0.0
    with timer("projection"):
        X_new, aux_new = model.project(X + alpha * G, aux)
    with timer("operator"):
        AX_new = model.measure(X_new, aux_new)
    return X_new, aux_new, AX_new, alpha


def naht(A, b, *, rank, sparsity, tol=None, rate_tol=0.999, max_iter=1000, svd="auto",
         callback=None, X_true=None, L_true=None, S_true=None):
    r"""Normalised Alternating Hard Thresholding (Tanner & Vary 2023, Algorithm 2).

    Alternates a normalised gradient step in each component, each followed by
    its own projection:

    .. math::

        G = \mathcal{A}^*(b - \mathcal{A}(L_j) - \mathcal{A}(S_j)),\quad
        \alpha_L = \frac{\|U_j^T G\|^2}{\|\mathcal{A}(U_jU_j^TG)\|^2},\quad
        L_{j+1} = H_r(L_j + \alpha_L G),

    .. math::

        G' = \mathcal{A}^*(b - \mathcal{A}(L_{j+1}) - \mathcal{A}(S_j)),\quad
        \alpha_S = \frac{\|P_{\Omega_j} G'\|^2}{\|\mathcal{A}(P_{\Omega_j}G')\|^2},\quad
        S_{j+1} = H_s(S_j + \alpha_S G'),

    with :math:`U_j` the column space of :math:`L_j` and :math:`\Omega_j` the
    support of :math:`S_j`.  :math:`\mathcal{A}(L)` and :math:`\mathcal{A}(S)`
    are kept, so each half-step costs one adjoint and two forward products
    (the sparse ones restricted to the support for explicit matrices) and no
    robust PCA: NAHT's iterations are cheaper than NIHT's, though it usually
    needs more of them.  Initialisation: :math:`L_0 = H_r(\mathcal{A}^*b)`,
    :math:`S_0 = H_s(\mathcal{A}^*b - L_0)`.

    Parameters
    ----------
    A, b : operator and measurements (see :func:`cs.solvers.niht`).
    rank, sparsity : int
        ``r`` and ``s``.
    tol, rate_tol, max_iter, svd, callback, X_true, L_true, S_true
        As for :func:`cs.solvers.niht`.

    Returns
    -------
    SolveResult
        ``X = L + S``, ``L``, ``S``; ``history['step']`` holds
        :math:`\alpha_L` and ``history['step_S']`` :math:`\alpha_S`.
    """
    A, b, stop, recorder, timer, b_norm = _prepare(
        A, b, tol=tol, rate_tol=rate_tol, max_iter=max_iter,
        truth={"X": X_true, "L": L_true, "S": S_true})
    rank = check_rank(rank, A.input_shape)
    sparsity = check_sparsity(sparsity, A.input_size)
    svd = check_choice(svd, "svd", {"auto", "exact", "randomized"})
    low, sparse = _LowRankModel(A, rank, svd), _SparseModel(A, sparsity)

    with timer("operator"):
        G = A.adjoint(b)
    with timer("projection"):
        L, U = low.project(G)
        S, support = sparse.project(G - L)
    with timer("operator"):
        AL, AS = low.measure(L, U), sparse.measure(S, support)
    rel = float(np.linalg.norm(b - AL - AS)) / b_norm
    recorder.record(rel, X=L + S, L=L, S=S, _step_S=np.nan)
    n_iter, status = 0, stop.check(recorder.history["residual"])
    while status is None:
        L, U, AL, alpha_L = _half_step(low, A, b - AL - AS, L, U, timer)
        S, support, AS, alpha_S = _half_step(sparse, A, b - AL - AS, S, support, timer)
        rel = float(np.linalg.norm(b - AL - AS)) / b_norm
        n_iter += 1
        X = L + S
        recorder.record(rel, step=alpha_L, X=X, L=L, S=S, _step_S=alpha_S)
        status = _stop_or_callback(stop, recorder, callback, Iterate(n_iter, X, L, S, rel))

    return recorder.result(L + S, status=status, n_iter=n_iter, solver="naht", L=L, S=S,
                           info={"seconds": timer.split(time.perf_counter() - recorder.start)})
