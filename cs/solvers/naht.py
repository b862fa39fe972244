r"""Normalised Alternating Hard Thresholding (NAHT) for low-rank plus sparse matrices.

References
----------
J. Tanner and S. Vary, "Compressed sensing of low-rank plus sparse matrices",
Appl. Comput. Harmon. Anal. 64:254-293, 2023 (arXiv:2007.09457), Algorithm 2.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_rank, check_sparsity
from .niht import _STARTS, _first_split, _gradient_step, _LowRankModel, _setup, _SparseModel
from .result import Step, drive

__all__ = ["naht"]


def naht(A, b, *, rank, sparsity, tol=None, rate_tol=0.999, rate_window=15, max_iter=1000, svd="auto",
         start="low_rank_first", callback=None, X_true=None, L_true=None, S_true=None, rng=None):
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
    support of :math:`S_j`.  :math:`\mathcal{A}(L)`, :math:`\mathcal{A}(S)`
    and the residual are kept (:math:`r = b - \mathcal{A}(L) - \mathcal{A}(S)`,
    formed once per half-step from the kept images), so one iteration costs
    exactly two adjoints, two full forward products
    (:math:`\mathcal{A}(U_jU_j^TG)` and :math:`\mathcal{A}(L_{j+1})`) and at
    most two forward products restricted to the support
    (:math:`\mathcal{A}(P_{\Omega_j}G')` and :math:`\mathcal{A}(S_{j+1})`; while
    the support stays put :math:`S_{j+1} = S_j + \alpha_S P_{\Omega_j}G'` and
    its image is updated from the first, as in :func:`cs.solvers.niht`), and
    no robust PCA: NAHT's iterations are cheaper than NIHT's, though it
    usually needs more of them.

    That is about twice the floor of one forward plus one adjoint product,
    and it is the least this algorithm allows: the four full products form a
    chain in which each input depends on the previous output
    (:math:`G \to \mathcal{A}(U_jU_j^TG) \to \alpha_L \to L_{j+1} \to
    \mathcal{A}(L_{j+1}) \to G' \to S_{j+1} \to` the next :math:`G`), and none
    is a linear combination of products already made
    (:math:`L_{j+1} = H_r(L_j + \alpha_L G)` is not linear in :math:`G`), so
    none can be reused or batched with another.  (For a dense matrix, one
    contraction with :math:`U_{j+1}` would give both rank-r products of the
    next half-step, but with ``r = 3`` it costs 2.3 matrix-vector products.)

    Initialisation (``start="low_rank_first"``, the paper's):
    :math:`L_0 = H_r(\mathcal{A}^*b)`, :math:`S_0 = H_s(\mathcal{A}^*b - L_0)`.

    Parameters
    ----------
    A, b : operator and measurements (see :func:`cs.solvers.niht`).
    rank, sparsity : int
        ``r`` and ``s``.
    start : {"low_rank_first", "sparse_first", "rpca", "projection"}
        The split of :math:`W = \mathcal{A}^*b` into :math:`(L_0, S_0)`:
        ``"low_rank_first"`` (default) :math:`L_0 = H_r(W)`,
        :math:`S_0 = H_s(W - L_0)`; ``"sparse_first"`` :math:`S_0 = H_s(W)`,
        :math:`L_0 = H_r(W - S_0)`; ``"rpca"`` three AccAltProj iterations on
        :math:`W` (:func:`~cs.solvers.project_ls`, ``max_iter=3``);
        ``"projection"`` NIHT's default start, robust PCA to NIHT's default
        inner tolerance 0.1 (two AccAltProj iterations on :math:`\mathcal{A}^*b`).
        ``benchmarks/study_ls_init.py`` compares them by the 50 % frontier
        (100 x 100, FJLT, :math:`\delta = 0.35`, 20 trials a cell): on
        :math:`\rho_r = \rho_s` at 0.202 (low_rank_first), 0.200
        (sparse_first), 0.198 (rpca), 0.199 (projection); on
        :math:`\rho_r = 0.05` at :math:`\rho_s` = 0.268, 0.268, 0.270, 0.268
        -- within the noise (``rpca`` tied the default on 80 fresh trials a
        cell), so the paper's start stays.  ``"sparse_first"`` can stall far
        inside the region when the sparse entries are small beside those of
        :math:`L` (:math:`H_s(W)` then picks peaks of :math:`L`): 3 of 4 seeds
        at 50 x 50, :math:`\delta = 0.5`, :math:`\rho_r = \rho_s = 0.1`.
    tol, rate_tol, rate_window, max_iter, svd, callback, X_true, L_true, S_true, rng
        As for :func:`cs.solvers.niht`.

    Returns
    -------
    SolveResult
        ``X = L + S``, ``L``, ``S``; ``history['step']`` holds
        :math:`\alpha_L` and ``history['step_S']`` :math:`\alpha_S`.
    """
    prob, options, timer = _setup(A, b, tol=tol, rate_tol=rate_tol, rate_window=rate_window,
                                  max_iter=max_iter, X_true=X_true,
                                  L_true=L_true, S_true=S_true, callback=callback, rng=rng)
    A, b = prob.A, prob.b
    rank = check_rank(rank, A.input_shape)
    sparsity = check_sparsity(sparsity, A.input_size)
    svd = check_choice(svd, "svd", {"auto", "exact", "randomized"})
    start = check_choice(start, "start", _STARTS)
    low, sparse = _LowRankModel(A, rank, svd, prob.rng), _SparseModel(A, sparsity)
    b_norm = float(np.linalg.norm(b)) or 1.0
    # each component with its subspace and image (L, U, AL; S, support, AS) and the residual
    # r = b - AL - AS: the images are kept and the residual formed from them (p operations),
    # so every product below is one the algorithm needs (see the count in the docstring)
    it = {}

    def half_step(model, X, aux, AX, AX_other):
        """One normalised gradient step of ``model`` from ``X``, then its projection; the
        residual ``it["r"]`` is renewed from the new image and the other component's."""
        G, alpha, AZ = _gradient_step(model, A, it["r"], aux, timer)
        with timer("projection"):
            X_new, aux_new = model.project(X + alpha * G, aux)
        with timer("operator"):
            AX_new = model.image(X_new, aux_new, aux, AX, alpha, AZ)
        it["r"] = b - AX_new - AX_other
        return X_new, aux_new, AX_new, alpha

    def accept(alpha_L=np.nan, alpha_S=np.nan):
        rel = float(np.linalg.norm(it["r"])) / b_norm
        if sparse.reused and rel < options["tol"]:
            # A(S) was updated, not measured: the stop test gets the measured residual
            with timer("operator"):
                it["AS"] = sparse.measure(it["S"], it["support"])
            it["r"] = b - it["AL"] - it["AS"]
            rel = float(np.linalg.norm(it["r"])) / b_norm
        # X = L + S is formed only when something needs it (Step.estimate)
        return Step(rel, None, it["L"], it["S"], step=alpha_L, extras={"step_S": alpha_S})

    def first():
        with timer("operator"):
            G = A.adjoint(b)
        with timer("projection"):
            split, support = _first_split(G, rank, sparsity, start, svd, prob.rng)
            L, U, S = split.L, split.U, split.S
        with timer("operator"):
            it.update(L=L, U=U, AL=low.measure(L, U), S=S, support=support, AS=sparse.measure(S, support))
        it["r"] = b - it["AL"] - it["AS"]
        return accept()

    def step(n_iter):
        L, U, AL, alpha_L = half_step(low, it["L"], it["U"], it["AL"], it["AS"])
        it.update(L=L, U=U, AL=AL)
        S, support, AS, alpha_S = half_step(sparse, it["S"], it["support"], it["AS"], it["AL"])
        it.update(S=S, support=support, AS=AS)
        return accept(alpha_L, alpha_S)

    run = drive(step, first=first, solver="naht", **options)
    return run.result(info={"seconds": timer.split(run.seconds)})
