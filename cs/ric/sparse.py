r"""RICs on k-sparse vectors: sampled supports, then a swap local search (see :mod:`cs.ric`).

The swap scores are the numba kernel :func:`cs._kernels.ric_swap_scores`;
:func:`exact_sparse_ric` visits every support of tiny problems (the tests' reference).
"""

from __future__ import annotations

import math
from itertools import combinations, islice

import numpy as np

from .. import _kernels, threshold
from .._validation import check_int
from ..operators import DenseOperator
from ._common import (RICResult, _child, _entropy_of, _extreme_pair, _extreme_value, _progress,
                      _rayleigh, _real_operator)

__all__ = ["sparse_ric", "exact_sparse_ric"]

# Bytes of one batch of sampled k x p column blocks (keeps memory flat).
_BATCH_BYTES = 1 << 25


def _columns(A):
    """A's columns as the rows of a C-ordered N x p float64 array (``A^T``); no copy for
    the Fortran-ordered float64 matrices of :func:`cs.operators.gaussian`."""
    return np.ascontiguousarray(A.todense().T, dtype=np.float64)


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
        i, j, score = _kernels.ric_swap_scores(state.C, corr, state.v, state.lam, np.diag(state.G).copy(),
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
        # the n_try best scores: a top-k by magnitude of the scores shifted to be >= 0
        # (the -inf of columns already in T become 0, below every candidate's)
        finite = np.isfinite(flat)
        top = threshold.support(np.where(finite, flat - flat[finite].min() + 1.0, 0.0), n_try)
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
        # k uniformly random columns per row: the k largest of uniform keys
        mask = threshold.top_k_mask(rng.random((stop - start, size)), k, axis=1)
        T = np.nonzero(mask)[1].reshape(stop - start, k)
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
    A = _real_operator(A, input_shape)
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
    dense = DenseOperator(Mt.T, A.input_shape, _finite=True)
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
    A = _real_operator(A, input_shape)
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
    dense = DenseOperator(Mt.T, A.input_shape, _finite=True)
    ratio = {sign: _rayleigh(dense, x) for sign, x in elements.items()}
    return RICResult(lower=1.0 - ratio[-1], upper=ratio[1] - 1.0, x_min=elements[-1],
                     x_max=elements[1], structure="sparse",
                     params=dict(k=k, input_shape=A.input_shape, p=A.n_measurements, exact=True),
                     n_evaluations=total, counts=dict(supports=total))

