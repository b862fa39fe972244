r"""RICs on rank-r and rank-r plus s-sparse matrices: projected Rayleigh-quotient
ascent and descent from random starts (see :mod:`cs.ric`)."""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_int, check_rank, check_real, check_sparsity
from ..threshold import LowRank, hard, truncate_rank
from ._common import RICResult, _child, _entropy_of, _extreme_pair, _progress, _rayleigh, _real_operator

__all__ = ["low_rank_ric", "ls_ric"]


class _LowRankSet:
    """Rank-r matrices: project by truncated SVD, tangent space of the manifold."""

    structure = "low_rank"

    def __init__(self, shape, rank):
        self.shape, self.rank = shape, rank

    def random(self, rng):
        m, n = self.shape
        P = rng.standard_normal((m, self.rank))
        Q = rng.standard_normal((n, self.rank))
        return self.project(P @ Q.T, None, rng)

    def project(self, Y, state, rng):
        return truncate_rank(Y, self.rank, rng=rng)

    @staticmethod
    def tangent(G, state):
        U, Vt = state.U, state.Vt
        UtG = U.T @ G
        GV = G @ Vt.T
        return U @ UtG + GV @ Vt - U @ (UtG @ Vt.T) @ Vt

    @staticmethod
    def scaled(state, c):
        return LowRank(state.X * c, state.U, None if state.s is None else state.s * c, state.Vt)


class _LSState:
    __slots__ = ("L", "S")

    def __init__(self, L, S):
        self.L, self.S = L, S

    @property
    def X(self):
        return self.L.X + self.S


class _LowRankSparseSet:
    """Rank-r plus s-sparse matrices: GoDec's alternating projections (:func:`cs.solvers.project_ls`)."""

    structure = "low_rank+sparse"

    def __init__(self, shape, rank, sparsity, n_alternations=2):
        self.shape, self.rank, self.sparsity = shape, rank, sparsity
        self.low_rank = _LowRankSet(shape, rank)
        self.n_alternations = n_alternations

    def random(self, rng):
        m, n = self.shape
        L = self.low_rank.random(rng) if self.rank else truncate_rank(np.zeros(self.shape), 0)
        S = hard(rng.standard_normal((m, n)), self.sparsity)
        scale_L = 1.0 / max(np.linalg.norm(L.X), 1e-300) if self.rank else 0.0
        scale_S = 1.0 / max(np.linalg.norm(S), 1e-300)
        return _LSState(self.low_rank.scaled(L, scale_L), S * scale_S)

    def project(self, Y, state, rng):
        from ..solvers import project_ls  # the solvers are only needed for this set

        # alternate L = P_r(Y - S), S = H_s(Y - L) from the current sparse part
        split = project_ls(Y, self.rank, self.sparsity, method="godec", init=(state.L.X, state.S),
                           tol=0.0, max_iter=self.n_alternations, rng=rng)
        return _LSState(LowRank(split.L, split.U, None, split.V.T), split.S)

    def tangent(self, G, state):
        # the tangent space of the rank-r manifold at L, plus the entries of G on the support
        # of S and on the s largest entries of what the low-rank part leaves outside it (so
        # that the support can move, as in the support expansion of CoSaMP)
        D = self.low_rank.tangent(G, state.L) if self.rank else np.zeros_like(G)
        on_support = state.S != 0
        grow = hard(np.where(on_support, 0.0, G - D), self.sparsity, return_mask=True)[1]
        keep = on_support | grow
        D[keep] = G[keep]
        return D

    def scaled(self, state, c):
        return _LSState(self.low_rank.scaled(state.L, c), state.S * c)


def _rayleigh_search(A, family, state, sign, max_iter, tol, rng, counts):
    """Projected (Riemannian-style) ascent (sign=+1) or descent (-1) of ||A(X)||^2/||X||^2.

    At the unit-norm ``X`` with ``f = ||A X||^2`` the sphere gradient is
    ``2 G`` with ``G = A^*(A X) - f X``; its projection ``D`` onto the tangent
    space of the set is the search direction.  As in LOBPCG, the previous
    step ``P = X - X_prev`` (whose image is known, ``AX - AX_prev``) joins it:
    the exact extremum of the Rayleigh quotient on ``span{X, D, P}`` (a 3 x 3
    eigenproblem, one more application of A) gives the step
    ``cos t X + sin t Z`` (``Z`` a unit vector orthogonal to ``X``), which is
    projected back onto the set; the angle ``t`` is halved until the
    projected point improves ``f``, and the search stops when it no longer
    does.  Every iterate is an element of the set, so ``f`` is attained.
    """
    X = state.X
    state = family.scaled(state, 1.0 / np.linalg.norm(X))
    X = state.X
    AX = np.asarray(A.forward(X), dtype=np.float64)
    f = float(AX @ AX)
    counts["forward"] += 1
    P = AP = None
    for _ in range(max_iter):
        G = A.adjoint(AX) - f * X
        counts["adjoint"] += 1
        D = family.tangent(G, state)
        norm_D = np.linalg.norm(D)
        if not norm_D > 1e-14:
            break
        D /= norm_D
        AD = np.asarray(A.forward(D), dtype=np.float64)
        counts["forward"] += 1
        # orthonormal basis X, Z_1, Z_2 of span{X, D, P}, with the images under A
        directions, images = [], []
        for V, AV in ((D, AD), (P, AP)):
            if V is None:
                continue
            for B, AB in [(X, AX)] + list(zip(directions, images)):
                c = float(np.vdot(B, V).real)
                V, AV = V - c * B, AV - c * AB
            norm_V = np.linalg.norm(V)
            if norm_V > 1e-10:
                directions.append(V / norm_V)
                images.append(AV / norm_V)
        if not directions:
            break
        W = np.column_stack([AX] + images)
        _, c = _extreme_pair(W.T @ W, sign)
        if c[0] < 0:
            c = -c
        Z = sum(ci * V for ci, V in zip(c[1:], directions))
        norm_Z = np.linalg.norm(Z)
        if not norm_Z > 0:
            break
        Z /= norm_Z
        angle = math.atan2(norm_Z, c[0])
        improved = False
        for _ in range(8):
            trial = family.project(math.cos(angle) * X + math.sin(angle) * Z, state, rng)
            counts["projections"] += 1
            norm_T = np.linalg.norm(trial.X)
            if norm_T > 0:
                trial = family.scaled(trial, 1.0 / norm_T)
                X_T = trial.X
                AX_T = np.asarray(A.forward(X_T), dtype=np.float64)
                counts["forward"] += 1
                f_T = float(AX_T @ AX_T) / float(np.vdot(X_T, X_T).real)
                if sign * (f_T - f) > tol * max(abs(f), 1e-300):
                    P, AP = X_T - X, AX_T - AX
                    state, X, AX, f, improved = trial, X_T, AX_T, f_T, True
                    break
            angle *= 0.5
        if not improved:
            break
    return state, f


def _matrix_ric(A, family, params, n_starts, max_iter, tol, rng, progress):
    counts = dict(forward=0, adjoint=0, projections=0, starts=0)
    best = {1: (-np.inf, None), -1: (np.inf, None)}
    with _progress(2 * n_starts, f"RIC {family.structure}", progress) as bar:
        entropy = _entropy_of(rng)
        for child in (_child(entropy, i) for i in range(n_starts)):
            start = family.random(child)
            for sign in (1, -1):
                state, f = _rayleigh_search(A, family, start, sign, max_iter, tol, child, counts)
                counts["starts"] += 1
                if sign * (f - best[sign][0]) > 0:
                    best[sign] = (f, state)
                bar.update(1)
    elements, components = {}, {}
    for sign, (_, state) in best.items():
        X = state.X
        elements[sign] = X / np.linalg.norm(X)
        if isinstance(state, _LSState):
            c = 1.0 / np.linalg.norm(X)
            tag = "max" if sign > 0 else "min"
            components[f"L_{tag}"], components[f"S_{tag}"] = state.L.X * c, state.S * c
            elements[sign] = components[f"L_{tag}"] + components[f"S_{tag}"]
    ratio = {sign: _rayleigh(A, x) for sign, x in elements.items()}
    counts["forward"] += 2
    return RICResult(lower=1.0 - ratio[-1], upper=ratio[1] - 1.0, x_min=elements[-1],
                     x_max=elements[1], structure=family.structure, params=params,
                     n_evaluations=counts["forward"], counts=counts, components=components)


def _check_search(n_starts, max_iter, tol):
    return (check_int(n_starts, "n_starts", low=1), check_int(max_iter, "max_iter", low=0),
            check_real(tol, "tol", low=0.0))


def low_rank_ric(A, rank, *, n_starts=10, max_iter=100, tol=1e-10, input_shape=None, rng=None,
                 progress=False):
    r"""Estimate the restricted isometry constants of ``A`` on rank-``r`` matrices.

    Maximises and minimises the Rayleigh quotient
    :math:`\|\mathcal{A}(X)\|^2/\|X\|_F^2` over rank-``r`` matrices by
    Riemannian-style ascent/descent (tangent-space gradient, an exact 3 x 3
    Rayleigh-Ritz step on the span of the iterate, the direction and the
    previous step as in LOBPCG, retraction by
    :func:`cs.threshold.truncate_rank`) from ``n_starts``
    random starts.  Start ``i`` depends only on ``rng`` and ``i``, so more
    starts can only give larger estimates.

    Parameters
    ----------
    A : operator with a matrix ``input_shape`` (m, n)
    rank : int, ``1 <= rank <= min(m, n)``
    n_starts : int
    max_iter : int
        Iterations of each ascent/descent.
    tol : float
        Stop when a step improves the quotient by less than ``tol`` (relative).
    input_shape : (m, n), optional
        Reshape the operator's unknown to this matrix shape.
    rng : seed or Generator
    progress : bool

    Returns
    -------
    RICResult
        ``x_min``, ``x_max`` unit-norm matrices of rank at most ``rank``.
    """
    A = _real_operator(A, input_shape)
    rank = check_rank(rank, A.input_shape, "rank")
    if rank < 1:
        raise ValueError("rank=0 must be >= 1 (the zero matrix has no Rayleigh quotient)")
    n_starts, max_iter, tol = _check_search(n_starts, max_iter, tol)
    family = _LowRankSet(A.input_shape, rank)
    params = dict(rank=rank, input_shape=A.input_shape, p=A.n_measurements)
    return _matrix_ric(A, family, params, n_starts, max_iter, tol, rng, progress)


def ls_ric(A, rank, sparsity, *, n_starts=10, max_iter=100, tol=1e-10, input_shape=None, rng=None,
           progress=False):
    r"""Estimate the restricted isometry constants of ``A`` on rank-r plus s-sparse matrices.

    The set :math:`\{L + S : \operatorname{rank} L \le r, \|S\|_0 \le s\}` of
    Tanner & Vary (2023) (without their incoherence constraint).  The search
    is that of :func:`low_rank_ric` with the direction restricted to the
    tangent space at ``L`` plus the support of ``S`` and the ``s`` largest
    gradient entries outside it (so the support can move), and the projection
    ``L = P_r(Y - S)``, ``S = H_s(Y - L)`` alternated twice
    (:func:`cs.threshold.truncate_rank`, :func:`cs.threshold.hard`).  The
    returned elements are exactly ``L + S`` with the parts in
    ``result.components``.

    Parameters are those of :func:`low_rank_ric`, and ``sparsity`` (``s``,
    ``0 <= s <= m n``); ``rank`` may be 0 (then the set is the s-sparse
    matrices) but not together with ``sparsity = 0``.
    """
    A = _real_operator(A, input_shape)
    rank = check_rank(rank, A.input_shape, "rank")
    sparsity = check_sparsity(sparsity, A.input_size, "sparsity")
    if rank == 0 and sparsity == 0:
        raise ValueError("rank=0 and sparsity=0 leave only the zero matrix; raise one of them")
    n_starts, max_iter, tol = _check_search(n_starts, max_iter, tol)
    family = _LowRankSparseSet(A.input_shape, rank, sparsity)
    params = dict(rank=rank, sparsity=sparsity, input_shape=A.input_shape, p=A.n_measurements)
    return _matrix_ric(A, family, params, n_starts, max_iter, tol, rng, progress)
