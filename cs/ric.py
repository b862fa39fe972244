r"""Restricted isometry constants: certified numerical estimates and Gaussian bounds.

For a linear map :math:`\mathcal{A}` and a set :math:`\Sigma` that is a cone
(k-sparse vectors, rank-r matrices, rank-r plus s-sparse matrices) the
asymmetric restricted isometry constants are

.. math::

    L = 1 - \min_{x \in \Sigma} \frac{\|\mathcal{A}x\|^2}{\|x\|^2}, \qquad
    U = \max_{x \in \Sigma} \frac{\|\mathcal{A}x\|^2}{\|x\|^2} - 1, \qquad
    \delta = \max(L, U).

Computing them is combinatorial (NP-hard for the sparse set), so the
estimators here search the set and report the most extreme Rayleigh quotients
they meet.  Every reported value is the Rayleigh quotient of an explicit
element of the set, returned with it (``x_min``, ``x_max``): the estimates are
therefore certified *lower bounds* on the true constants, never more.  For
Gaussian matrices the asymptotic *upper* bounds of Blanchard, Cartis & Tanner
(:func:`bct_bounds`) close the sandwich from above.

Functions
---------
sparse_ric          k-sparse vectors: sampled supports, then swap local search
exact_sparse_ric    every support (tiny problems; the reference the tests use)
low_rank_ric        rank-r matrices: projected Rayleigh-quotient ascent/descent
ls_ric              rank-r plus s-sparse matrices, the same search
ric                 one entry point choosing among the three by its arguments
bct_bounds          Blanchard-Cartis-Tanner upper bounds L(delta, rho), U(delta, rho)

References
----------
J. D. Blanchard, C. Cartis and J. Tanner, "Compressed sensing: how sharp is the
restricted isometry property?", SIAM Review 53(1), 105-125, 2011.
C. Dossal, G. Peyré and J. Fadili, "A numerical exploration of compressed
sampling recovery", Linear Algebra Appl. 432(7), 2010.
J. Tanner and S. Vary, "Compressed sensing of low-rank plus sparse matrices",
Appl. Comput. Harmon. Anal. 64, 2023 (arXiv:2007.09457).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations, islice
from typing import NamedTuple

import numba
import numpy as np
import scipy.linalg
import scipy.optimize
from scipy.special import xlogy

from . import operators as _ops
from ._kernels import JIT
from ._validation import as_rng, check_int, check_rank, check_real, check_sparsity
from .threshold import LowRank, hard, truncate_rank

__all__ = ["RICResult", "BCTBounds", "sparse_ric", "exact_sparse_ric", "low_rank_ric", "ls_ric",
           "ric", "bct_bounds"]

# Bytes of one batch of sampled k x p column blocks (keeps memory flat).
_BATCH_BYTES = 1 << 25


@dataclass
class RICResult:
    """Certified estimates of the restricted isometry constants over a set.

    Attributes
    ----------
    lower : float
        :math:`1 - \\|A x_{\\min}\\|^2` for the unit-norm ``x_min``: a lower
        bound on the lower RIC ``L``.
    upper : float
        :math:`\\|A x_{\\max}\\|^2 - 1` for the unit-norm ``x_max``: a lower
        bound on the upper RIC ``U``.
    x_min, x_max : ndarray
        Unit-norm elements of the set (shaped as the operator's
        ``input_shape``) attaining ``lower`` and ``upper``.
    structure : str
        ``"sparse"``, ``"low_rank"`` or ``"low_rank+sparse"``.
    params : dict
        The set (``k`` / ``rank`` / ``sparsity``), ``input_shape`` and ``p``.
    n_evaluations : int
        Rayleigh quotients evaluated (eigen-decompositions of Gram matrices
        for the sparse set, applications of the operator otherwise).
    counts : dict
        The evaluations split by kind (samples, swaps, eigh, forward, ...).
    components : dict
        For ``low_rank+sparse``: ``L_min``, ``S_min``, ``L_max``, ``S_max``,
        the parts of ``x_min`` and ``x_max``.
    """

    lower: float
    upper: float
    x_min: np.ndarray
    x_max: np.ndarray
    structure: str
    params: dict = field(default_factory=dict)
    n_evaluations: int = 0
    counts: dict = field(default_factory=dict)
    components: dict = field(default_factory=dict)

    @property
    def delta(self):
        """The symmetric constant :math:`\\max(L, U)` (a lower bound on it)."""
        return max(self.lower, self.upper)

    def __repr__(self):
        return (f"RICResult(structure={self.structure!r}, lower={self.lower:.6g}, "
                f"upper={self.upper:.6g}, delta={self.delta:.6g}, params={self.params}, "
                f"n_evaluations={self.n_evaluations})")


def _rayleigh(A, X):
    """||A(X)||^2 / ||X||^2 computed with the operator itself (float64 sums)."""
    AX = np.asarray(A.forward(X), dtype=np.float64)
    return float(AX @ AX) / float(np.vdot(X, X).real)


def _resolve(A, input_shape):
    """The operator, reshaped to ``input_shape`` when that is given."""
    A = _ops.as_operator(A, input_shape)
    if np.dtype(A.dtype).kind == "c":
        raise TypeError(f"A must be a real operator, got dtype {A.dtype}")
    if input_shape is not None and _ops._check_shape(input_shape) != A.input_shape:
        A = _ops.WrappedOperator(A, input_shape)
    return A


def _progress(total, desc, enabled):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, leave=False, dynamic_ncols=True)


def _entropy_of(rng):
    """One integer drawn from ``rng``: the root of every per-start generator."""
    return int(as_rng(rng).integers(2**63))


def _child(entropy, *key):
    """The generator of one task (sampling, start i, ...): it depends only on
    the root and its key, so adding starts never changes the earlier ones."""
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=key))


# --------------------------------------------------------------------------- sparse vectors


def _columns(A):
    """A's columns as the rows of a C-ordered N x p float64 array (``A^T``).

    No copy for the Fortran-ordered float64 matrices of
    :func:`cs.operators.gaussian`; implicit operators are materialised.
    """
    if isinstance(A, _ops.DenseOperator):
        return np.ascontiguousarray(A.matrix.T, dtype=np.float64)
    p, size = A.shape
    if isinstance(A, _ops.SparseMatrixOperator):
        return np.ascontiguousarray(A.matrix.T.toarray(), dtype=np.float64)
    _ops._check_dense_fits(p, size, np.float64, "materialised")
    Mt = np.empty((size, p))
    step = max(1, (1 << 22) // max(p, 1))
    for start in range(0, size, step):
        stop = min(size, start + step)
        block = np.zeros((size, stop - start))
        block[np.arange(start, stop), np.arange(stop - start)] = 1.0
        Mt[start:stop] = A.matmat(block).T
    return Mt


@numba.njit(**JIT)
def _swap_scores(C, corr, v, lam, gram_diag, col_norm2, in_support, sign, scores):
    """Score every swap (support row i out, column j in) by a 2 x 2 Rayleigh-Ritz value.

    With ``x`` the extreme unit eigenvector (entries ``v`` on the support T)
    of ``G = A_T^T A_T`` and eigenvalue ``lam``, removing ``T[i]`` leaves
    ``w = x - v_i e_{T_i}`` and adding column ``j`` spans ``{w, e_j}``; the
    extreme eigenvalue of ``A^T A`` compressed to that plane is

        a = ||A w||^2 / ||w||^2 = (lam (1 - 2 v_i^2) + v_i^2 G_ii) / (1 - v_i^2)
        b = <A w, a_j> / ||w|| = (corr_j - v_i C_ij) / sqrt(1 - v_i^2)
        d = ||a_j||^2,   score = (a + d)/2 + sign sqrt(((a - d)/2)^2 + b^2).

    Being a Ritz value on a subspace of the swapped support's span, the
    score is a guaranteed lower bound on the new ``lambda_max`` (sign = +1),
    or upper bound on the new ``lambda_min`` (sign = -1).  ``C = A_T^T A``
    (k x N) and ``corr = A^T A x`` (length N) make it O(1) per candidate.

    Writes ``sign * score`` (larger is better; ``-inf`` for j in T) into
    ``scores`` unless it has size 0, and returns the best ``(i, j, score)``.
    """
    k, n = C.shape
    want = scores.size > 0
    best, best_i, best_j = -np.inf, -1, -1
    for i in range(k):
        vi2 = v[i] * v[i]
        rest = 1.0 - vi2
        degenerate = rest <= 1e-13
        a = 0.0
        inv = 0.0
        if not degenerate:
            a = (lam * (1.0 - 2.0 * vi2) + vi2 * gram_diag[i]) / rest
            inv = 1.0 / np.sqrt(rest)
        for j in range(n):
            if in_support[j]:
                if want:
                    scores[i, j] = -np.inf
                continue
            d = col_norm2[j]
            if degenerate:
                s = sign * d
            else:
                b = (corr[j] - v[i] * C[i, j]) * inv
                h = 0.5 * (a - d)
                s = sign * 0.5 * (a + d) + np.sqrt(h * h + b * b)
            if want:
                scores[i, j] = s
            if s > best:
                best, best_i, best_j = s, i, j
    return best_i, best_j, sign * best


def _extreme_pair(G, sign):
    """The largest (sign=+1) or smallest (sign=-1) eigenpair of a symmetric matrix.

    LAPACK's ``syevr`` restricted to one eigenpair: about four times cheaper
    than the full decomposition at k = 50.
    """
    i = G.shape[0] - 1 if sign > 0 else 0
    w, V = scipy.linalg.eigh(G, subset_by_index=[i, i], check_finite=False)
    return float(w[0]), V[:, 0]


def _extreme_value(G, sign):
    i = G.shape[0] - 1 if sign > 0 else 0
    return float(scipy.linalg.eigh(G, eigvals_only=True, subset_by_index=[i, i],
                                   check_finite=False)[0])


class _SparseState:
    """A support with its Gram data: ``C = A_T^T A``, ``G = C[:, T]``, extreme pair."""

    def __init__(self, Mt, col_norm2, support, sign, counts):
        self.Mt, self.col_norm2, self.sign, self.counts = Mt, col_norm2, sign, counts
        self.T = np.array(support, dtype=np.int64)
        self.in_T = np.zeros(Mt.shape[0], dtype=np.bool_)
        self.in_T[self.T] = True
        self.C = Mt[self.T] @ Mt.T
        self.G = self.C[:, self.T].copy()
        self.lam, self.v = _extreme_pair(self.G, sign)
        counts["eigh"] += 1

    def swapped_gram(self, i, j):
        """The Gram matrix after replacing T[i] by j (a row/column replacement, no products)."""
        G = self.G.copy()
        G[i, :] = self.C[:, j]
        G[:, i] = self.C[:, j]
        G[i, i] = self.col_norm2[j]
        return G

    def swap(self, i, j, G_new, lam_new, v_new):
        self.in_T[self.T[i]] = False
        self.in_T[j] = True
        self.T[i] = j
        self.C[i] = self.Mt @ self.Mt[j]
        self.G, self.lam, self.v = G_new, lam_new, v_new
        self.counts["swaps"] += 1


def _local_search(state, max_swaps, n_exact, scores):
    """Swap one support column at a time while the extreme eigenvalue improves.

    Candidates are ranked by :func:`_swap_scores`; the best one whose Ritz
    score already improves is accepted (its exact eigenpair then comes from
    one k x k ``eigh``).  When no score improves, the ``n_exact`` best-scored
    swaps are evaluated exactly (row/column-replaced Gram, ``eigvalsh``)
    before giving up.  Every accepted swap strictly improves the exact value.
    """
    sign, counts = state.sign, state.counts
    k = state.T.size
    want_scores = n_exact > 0
    for _ in range(max_swaps):
        corr = state.C.T @ state.v
        i, j, score = _swap_scores(state.C, corr, state.v, state.lam, np.diag(state.G).copy(),
                                   state.col_norm2, state.in_T, float(sign),
                                   scores if want_scores else scores[:0])
        counts["scored"] += k * (state.in_T.size - k)
        if i < 0:
            return
        tol = 1e-12 * max(1.0, abs(state.lam))
        if sign * (score - state.lam) > tol:
            G_new = state.swapped_gram(i, j)
            lam_new, v_new = _extreme_pair(G_new, sign)
            counts["eigh"] += 1
            if sign * (lam_new - state.lam) > 0:
                state.swap(i, j, G_new, lam_new, v_new)
                continue
        if not want_scores:
            return
        # the Ritz scores see no improvement: try the most promising swaps exactly
        flat = scores.reshape(-1)
        n_try = min(n_exact, k * (state.in_T.size - k))
        top = np.argpartition(flat, flat.size - n_try)[flat.size - n_try:]
        best_val, best = state.lam, None
        for idx in top:
            ti, tj = divmod(int(idx), flat.size // k)
            G_try = state.swapped_gram(ti, tj)
            val = _extreme_value(G_try, sign)
            counts["eigh"] += 1
            if sign * (val - best_val) > tol:
                best_val, best = val, (ti, tj, G_try)
        if best is None:
            return
        ti, tj, G_try = best
        lam_new, v_new = _extreme_pair(G_try, sign)
        counts["eigh"] += 1
        state.swap(ti, tj, G_try, lam_new, v_new)


def _greedy_support(Mt, col_norm2, first, k, sign, counts):
    """Grow a support from column ``first``, each time adding the column whose
    2 x 2 Ritz value with the current extreme eigenvector is most extreme
    (the greedy search of Dossal, Peyré & Fadili 2010)."""
    T = [int(first)]
    in_T = np.zeros(Mt.shape[0], dtype=bool)
    in_T[first] = True
    lam, v = float(col_norm2[first]), np.ones(1)
    while len(T) < k:
        corr = Mt @ (Mt[T].T @ v)
        h = 0.5 * (lam - col_norm2)
        score = sign * 0.5 * (lam + col_norm2) + np.sqrt(h * h + corr * corr)
        score[in_T] = -np.inf
        j = int(np.argmax(score))
        T.append(j)
        in_T[j] = True
        rows = Mt[T]
        lam, v = _extreme_pair(rows @ rows.T, sign)
        counts["eigh"] += 1
    return np.array(T, dtype=np.int64)


def _kick(T, n_replace, size, rng):
    """``T`` with ``n_replace`` random entries replaced by random columns outside it."""
    T = T.copy()
    outside = np.setdiff1d(np.arange(size), T, assume_unique=True)
    n_replace = min(n_replace, outside.size)
    T[rng.choice(T.size, n_replace, replace=False)] = rng.choice(outside, n_replace, replace=False)
    return T


def _batch_size(k, p):
    return max(1, _BATCH_BYTES // (8 * k * max(p, 1)))


def _gram_extremes(Mt, supports):
    """Smallest and largest eigenvalues of the Gram matrices of a batch of supports."""
    blocks = Mt[supports]                               # (batch, k, p)
    eig = np.linalg.eigvalsh(blocks @ blocks.transpose(0, 2, 1))
    return eig[:, 0], eig[:, -1]


def _sample_supports(Mt, k, n_samples, rng, counts, bar):
    """Extreme eigenvalues of the Gram matrices of ``n_samples`` random supports."""
    size, p = Mt.shape
    supports = np.empty((n_samples, k), dtype=np.int64)
    lam_min = np.empty(n_samples)
    lam_max = np.empty(n_samples)
    batch = _batch_size(k, p)
    for start in range(0, n_samples, batch):
        stop = min(n_samples, start + batch)
        keys = rng.random((stop - start, size))
        T = np.sort(np.argpartition(keys, k - 1, axis=1)[:, :k] if k < size else
                    np.tile(np.arange(size), (stop - start, 1)), axis=1)
        supports[start:stop] = T
        lam_min[start:stop], lam_max[start:stop] = _gram_extremes(Mt, T)
        counts["samples"] += stop - start
        bar.update(stop - start)
    return supports, lam_min, lam_max


def _distinct_best(supports, values, n):
    """Indices of the ``n`` best (largest) values with distinct supports."""
    chosen, seen = [], set()
    for idx in np.argsort(-values, kind="stable"):
        if len(chosen) == n:
            break
        key = supports[idx].tobytes()
        if key not in seen:
            seen.add(key)
            chosen.append(int(idx))
    return chosen


def _sparse_vector(A, T, v):
    x = np.zeros(A.input_size)
    x[T] = v / np.linalg.norm(v)
    return x.reshape(A.input_shape)


def sparse_ric(A, k, *, n_samples=1000, n_starts=10, n_greedy=5, n_kicks=5, kick_size=None,
               max_swaps=None, n_exact=16, input_shape=None, rng=None, progress=False):
    r"""Estimate the restricted isometry constants of ``A`` on ``k``-sparse vectors.

    The numerical lower bounds of Blanchard, Cartis & Tanner (2011, Section 3)
    with a local search in the spirit of Dossal, Peyré & Fadili (2010):

    1. draw ``n_samples`` supports uniformly and take the extreme eigenvalues
       of their ``k x k`` Gram matrices :math:`A_T^T A_T`;
    2. from the ``n_starts`` most extreme supports (separately for the largest
       and the smallest eigenvalue), plus ``n_greedy`` supports grown greedily,
       swap one column out and one in while the extreme eigenvalue improves,
       then kick and repeat (``n_kicks``).
       Every candidate swap is scored in O(1) by a 2 x 2 Rayleigh-Ritz value
       built from the current extreme eigenvector and the maintained product
       :math:`A_T^T A` (no factorisation per candidate); an accepted swap
       replaces one row/column of the Gram matrix and costs one ``A^T a_j``
       and one ``k x k`` eigendecomposition.

    Parameters
    ----------
    A : operator
        Anything :func:`cs.operators.as_operator` accepts; implicit operators
        are materialised as a dense matrix (``p x N`` float64).
    k : int
        Sparsity, ``1 <= k <= N`` (the number of entries of the unknown).
    n_samples : int
        Random supports screened in step 1.
    n_starts : int
        Local searches started from the best screened supports (per side).
    n_greedy : int
        Local searches started from greedily grown supports (per side), each
        from a random first column.
    n_kicks : int
        Iterated local search: after a search stops, restart it ``n_kicks``
        times from its support with ``kick_size`` random columns replaced,
        keeping the better end point (escapes single-swap local optima).
    kick_size : int, optional
        Columns replaced by a kick (default ``max(2, ceil(k / 4))``, at most k).
    max_swaps : int, optional
        Cap on accepted swaps per local search (default ``10 * k + 100``).
    n_exact : int
        Swaps evaluated exactly when no Ritz score improves (0 disables).
    input_shape : tuple, optional
        Shape of the unknown (the elements are returned with it).
    rng : seed or Generator
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    RICResult
        ``lower`` and ``upper`` with the unit-norm ``k``-sparse ``x_min`` and
        ``x_max`` attaining them (computed as :math:`\|Ax\|^2` with A's
        matrix in float64): certified lower bounds on ``L(k)`` and ``U(k)``.

    Examples
    --------
    >>> from cs.operators import gaussian
    >>> res = sparse_ric(gaussian(50, 100, rng=0), 5, rng=0)   # doctest: +SKIP
    >>> res.lower, res.upper, res.delta                          # doctest: +SKIP
    """
    A = _resolve(A, input_shape)
    size = A.input_size
    k = check_int(k, "k", low=1, high=size, high_what=f"the number of entries of the unknown ({size})")
    n_samples = check_int(n_samples, "n_samples", low=1)
    n_starts = check_int(n_starts, "n_starts", low=0)
    n_greedy = check_int(n_greedy, "n_greedy", low=0)
    max_swaps = 10 * k + 100 if max_swaps is None else check_int(max_swaps, "max_swaps", low=0)
    n_exact = check_int(n_exact, "n_exact", low=0)
    n_kicks = check_int(n_kicks, "n_kicks", low=0)
    kick_size = (min(k, max(2, -(-k // 4))) if kick_size is None else
                 check_int(kick_size, "kick_size", low=1, high=k, high_what=f"k ({k})"))
    entropy = _entropy_of(rng)

    Mt = _columns(A)
    col_norm2 = np.einsum("ij,ij->i", Mt, Mt)
    counts = dict(samples=0, eigh=0, swaps=0, scored=0, starts=0, kicks=0)
    scores = np.empty((k, size))
    with _progress(n_samples + 2 * (n_starts + n_greedy), "RIC sparse", progress) as bar:
        supports, lam_min, lam_max = _sample_supports(Mt, k, n_samples, _child(entropy, 0), counts,
                                                      bar)
        best = {}
        for side, (sign, values) in enumerate(((1, lam_max), (-1, lam_min))):
            i0 = int(np.argmax(sign * values))
            best[sign] = (float(values[i0]), supports[i0], None)
            starts = [(supports[i], _child(entropy, 1, side, n))
                      for n, i in enumerate(_distinct_best(supports, sign * values, n_starts))]
            for n in range(n_greedy):
                child = _child(entropy, 2, side, n)
                starts.append((_greedy_support(Mt, col_norm2, child.integers(size), k, sign, counts),
                               child))
            for T, child in starts:
                state = _SparseState(Mt, col_norm2, T, sign, counts)
                _local_search(state, max_swaps, n_exact, scores)
                for _ in range(n_kicks):
                    trial = _SparseState(Mt, col_norm2, _kick(state.T, kick_size, size, child),
                                         sign, counts)
                    _local_search(trial, max_swaps, n_exact, scores)
                    counts["kicks"] += 1
                    if sign * (trial.lam - state.lam) > 0:
                        state = trial
                counts["starts"] += 1
                if sign * (state.lam - best[sign][0]) > 0:
                    best[sign] = (state.lam, state.T.copy(), state.v.copy())
                bar.update(1)
            bar.update(n_starts + n_greedy - len(starts))
    elements = {}
    for sign, (_, T, v) in best.items():
        if v is None:  # the best sampled support was never improved: its eigenvector
            v = _extreme_pair(Mt[T] @ Mt[T].T, sign)[1]
            counts["eigh"] += 1
        elements[sign] = _sparse_vector(A, T, v)
    dense = _ops.DenseOperator(Mt.T, A.input_shape)
    ratio = {sign: _rayleigh(dense, x) for sign, x in elements.items()}
    return RICResult(lower=1.0 - ratio[-1], upper=ratio[1] - 1.0, x_min=elements[-1],
                     x_max=elements[1], structure="sparse",
                     params=dict(k=k, input_shape=A.input_shape, p=A.n_measurements),
                     n_evaluations=counts["samples"] + counts["eigh"], counts=counts)


def exact_sparse_ric(A, k, *, max_supports=200_000, input_shape=None):
    """The exact constants on ``k``-sparse vectors, by visiting every support.

    Costs ``binom(N, k)`` eigendecompositions of ``k x k`` Gram matrices, so
    it is refused (ValueError) above ``max_supports`` supports.  The
    reference against which the local search is tested.
    """
    A = _resolve(A, input_shape)
    size = A.input_size
    k = check_int(k, "k", low=1, high=size, high_what=f"the number of entries of the unknown ({size})")
    max_supports = check_int(max_supports, "max_supports", low=1)
    total = math.comb(size, k)
    if total > max_supports:
        raise ValueError(f"k={k} gives binom({size}, {k}) = {total} supports, more than "
                         f"max_supports={max_supports}")
    Mt = _columns(A)
    best = {1: (-np.inf, None), -1: (-np.inf, None)}
    all_supports = combinations(range(size), k)
    batch = _batch_size(k, A.n_measurements)
    while supports := list(islice(all_supports, batch)):
        supports = np.array(supports, dtype=np.int64)
        for sign, values in zip((-1, 1), _gram_extremes(Mt, supports)):
            idx = int(np.argmax(sign * values))
            if sign * values[idx] > best[sign][0]:
                best[sign] = (sign * values[idx], supports[idx])
    elements = {sign: _sparse_vector(A, T, _extreme_pair(Mt[T] @ Mt[T].T, sign)[1])
                for sign, (_, T) in best.items()}
    dense = _ops.DenseOperator(Mt.T, A.input_shape)
    ratio = {sign: _rayleigh(dense, x) for sign, x in elements.items()}
    return RICResult(lower=1.0 - ratio[-1], upper=ratio[1] - 1.0, x_min=elements[-1],
                     x_max=elements[1], structure="sparse",
                     params=dict(k=k, input_shape=A.input_shape, p=A.n_measurements, exact=True),
                     n_evaluations=total, counts=dict(supports=total))


# --------------------------------------------------------------------------- matrix sets


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
        return LowRank(state.X * c, state.U, state.s * c, state.Vt)


class _LSState:
    __slots__ = ("L", "S")

    def __init__(self, L, S):
        self.L, self.S = L, S

    @property
    def X(self):
        return self.L.X + self.S


class _LowRankSparseSet:
    """Rank-r plus s-sparse matrices: alternating projections (truncate_rank, hard)."""

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
        # alternate L = P_r(Y - S), S = H_s(Y - L) from the current sparse part
        S = state.S
        for _ in range(self.n_alternations):
            L = truncate_rank(Y - S, self.rank, rng=rng)
            S = hard(Y - L.X, self.sparsity)
        return _LSState(L, S)

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
    A = _resolve(A, input_shape)
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
    A = _resolve(A, input_shape)
    rank = check_rank(rank, A.input_shape, "rank")
    sparsity = check_sparsity(sparsity, A.input_size, "sparsity")
    if rank == 0 and sparsity == 0:
        raise ValueError("rank=0 and sparsity=0 leave only the zero matrix; raise one of them")
    n_starts, max_iter, tol = _check_search(n_starts, max_iter, tol)
    family = _LowRankSparseSet(A.input_shape, rank, sparsity)
    params = dict(rank=rank, sparsity=sparsity, input_shape=A.input_shape, p=A.n_measurements)
    return _matrix_ric(A, family, params, n_starts, max_iter, tol, rng, progress)


def ric(A, *, sparsity=None, rank=None, input_shape=None, rng=None, progress=False, **options):
    """Estimate restricted isometry constants over the set the arguments name.

    ``sparsity`` alone: k-sparse vectors (:func:`sparse_ric`, on the
    flattened unknown); ``rank`` alone: rank-r matrices
    (:func:`low_rank_ric`); both: rank-r plus s-sparse matrices
    (:func:`ls_ric`).  ``options`` go to that function.
    """
    if sparsity is None and rank is None:
        raise ValueError("give sparsity, rank or both to choose the set")
    if rank is None:
        A = _resolve(A, input_shape)
        sparsity = check_sparsity(sparsity, A.input_size, "sparsity")
        if sparsity < 1:
            raise ValueError(f"sparsity={sparsity} must be >= 1")
        return sparse_ric(A, sparsity, rng=rng, progress=progress, **options)
    if sparsity is None:
        return low_rank_ric(A, rank, input_shape=input_shape, rng=rng, progress=progress, **options)
    return ls_ric(A, rank, sparsity, input_shape=input_shape, rng=rng, progress=progress, **options)


# --------------------------------------------------------------------------- Gaussian bounds


def _entropy(p):
    """Shannon entropy with natural logarithms, H(0) = H(1) = 0."""
    return -(xlogy(p, p) + xlogy(1.0 - p, 1.0 - p))


def _psi_min(lam, rho):
    return _entropy(rho) + 0.5 * ((1.0 - rho) * np.log(lam) + 1.0 - rho + xlogy(rho, rho) - lam)


def _psi_max(lam, rho):
    return 0.5 * ((1.0 + rho) * np.log(lam) + 1.0 + rho - xlogy(rho, rho) - lam)


def _lambda_min(delta, rho):
    """The root lambda <= 1 - rho of delta psi_min(lambda, rho) + H(rho delta) = 0."""
    if rho >= 1.0:
        return 0.0
    h = _entropy(rho * delta)

    def gap(lam):
        return delta * _psi_min(lam, rho) + h

    hi = 1.0 - rho  # gap(hi) = delta H(rho) / 2 + h > 0, and gap increases on (0, hi]
    lo = 0.5 * hi
    while gap(lo) > 0:
        lo *= 0.5
        if lo < 1e-300:
            return 0.0
    return scipy.optimize.brentq(gap, lo, hi, xtol=1e-15, rtol=1e-14)


def _lambda_max(delta, rho):
    """The root lambda >= 1 + rho of delta psi_max(lambda, rho) + H(rho delta) = 0."""
    h = _entropy(rho * delta)

    def gap(lam):
        return delta * _psi_max(lam, rho) + h

    lo = 1.0 + rho  # gap(lo) > 0, and gap decreases on [lo, inf)
    hi = 2.0 * lo
    while gap(hi) > 0:
        lo, hi = hi, 2.0 * hi
    return scipy.optimize.brentq(gap, lo, hi, xtol=1e-14, rtol=1e-14)


def _upper_bound(delta, rho):
    """min over nu in [rho, 1] of lambda_max(delta, nu), minus 1."""
    if rho >= 1.0:
        return _lambda_max(delta, 1.0) - 1.0
    grid = np.linspace(rho, 1.0, 41)
    values = np.array([_lambda_max(delta, nu) for nu in grid])
    i = int(np.argmin(values))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    best = values[i]
    if b > a:
        opt = scipy.optimize.minimize_scalar(lambda nu: _lambda_max(delta, nu), bounds=(a, b),
                                             method="bounded", options=dict(xatol=1e-10))
        best = min(best, float(opt.fun))
    return best - 1.0


class BCTBounds(NamedTuple):
    """Upper bounds on the lower and upper RICs of Gaussian matrices."""

    L: float | np.ndarray
    U: float | np.ndarray


def bct_bounds(delta, rho):
    r"""Blanchard-Cartis-Tanner upper bounds :math:`\mathcal{L}(\delta,\rho)`, :math:`\mathcal{U}(\delta,\rho)`.

    For an ``n x N`` matrix with i.i.d. :math:`N(0, 1/n)` entries, as
    :math:`k/n \to \rho` and :math:`n/N \to \delta`, the RICs on k-sparse
    vectors satisfy :math:`L(k,n,N) < \mathcal{L}(\delta,\rho) + \epsilon`
    and :math:`U(k,n,N) < \mathcal{U}(\delta,\rho) + \epsilon` with
    probability tending to one, for every :math:`\epsilon > 0`
    (Blanchard, Cartis & Tanner 2011, Definition 2.2 and Theorem 2.3).  With
    the Shannon entropy :math:`H(p) = -p\ln p - (1-p)\ln(1-p)`,

    .. math::

        \psi_{\min}(\lambda,\rho) &= H(\rho) + \tfrac12\left[(1-\rho)\ln\lambda + 1 - \rho
            + \rho\ln\rho - \lambda\right],\\
        \psi_{\max}(\lambda,\rho) &= \tfrac12\left[(1+\rho)\ln\lambda + 1 + \rho
            - \rho\ln\rho - \lambda\right],

    :math:`\lambda_{\min}(\delta,\rho) \le 1-\rho` solves
    :math:`\delta\,\psi_{\min}(\lambda,\rho) + H(\rho\delta) = 0` and
    :math:`\lambda_{\max}(\delta,\rho) \ge 1+\rho` solves
    :math:`\delta\,\psi_{\max}(\lambda,\rho) + H(\rho\delta) = 0` (the
    exponents of Edelman's tail bounds on the extreme eigenvalues of a
    Wishart matrix, balanced against the :math:`\binom{N}{k} \approx
    e^{N H(\rho\delta)}` supports of the union bound); then

    .. math::

        \mathcal{L}(\delta,\rho) = 1 - \lambda_{\min}(\delta,\rho), \qquad
        \mathcal{U}(\delta,\rho) = \min_{\nu\in[\rho,1]} \lambda_{\max}(\delta,\nu) - 1.

    Normalisation: the bounds are for entries of variance ``1 / n`` with
    ``n`` the number of measurements, which is the variance ``1/p`` of
    :func:`cs.operators.gaussian` (``p`` measurements): so for
    ``gaussian(p, N)`` and sparsity ``k`` use ``delta = p / N`` and
    ``rho = k / p``.  For other variances ``s^2``, the ratios scale by
    ``s^2 n``.

    Parameters
    ----------
    delta : float or array_like, in (0, 1]
        Undersampling ratio ``p / N``.
    rho : float or array_like, in (0, 1]
        Oversampling ratio ``k / p``; broadcast against ``delta``.

    Returns
    -------
    BCTBounds
        ``(L, U)``, floats or arrays of the broadcast shape.
    """
    delta_arr = np.asarray(delta, dtype=np.float64)
    rho_arr = np.asarray(rho, dtype=np.float64)
    for name, arr in (("delta", delta_arr), ("rho", rho_arr)):
        if not np.all(np.isfinite(arr)) or np.any(arr <= 0) or np.any(arr > 1):
            raise ValueError(f"{name} must lie in (0, 1], got {arr if arr.ndim else float(arr)}")
    d, r = np.broadcast_arrays(delta_arr, rho_arr)
    L = np.empty(d.shape)
    U = np.empty(d.shape)
    for idx in np.ndindex(d.shape):
        L[idx] = 1.0 - _lambda_min(float(d[idx]), float(r[idx]))
        U[idx] = _upper_bound(float(d[idx]), float(r[idx]))
    if d.ndim == 0:
        return BCTBounds(float(L), float(U))
    return BCTBounds(L, U)
