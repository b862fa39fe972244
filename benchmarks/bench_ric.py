"""One local-search sweep of the sparse RIC search: Gram updates against recomputation.

Run:  python benchmarks/bench_ric.py [--full]

A sweep scores every swap (one support column out, one column in) of a
k-sparse support and accepts the best, at k = 50, p = 500 measurements,
N = 1000 columns (Gaussian), for the largest eigenvalue (the upper RIC).

* ``cs.ric`` (Gram updates): the numba kernel scores all k (N - k) swaps by
  a 2 x 2 Rayleigh-Ritz value from the current extreme eigenvector and the
  maintained ``A_T^T A``; the accepted swap replaces one row/column of the
  Gram matrix (one ``A^T a_j``) and takes one k x k extreme eigenpair.
* baseline "from scratch": per candidate, form ``A_T'`` and its Gram matrix
  and take its eigenvalues (the obvious search).
* baseline "row-replaced Gram + eigvalsh": per candidate, replace the row and
  column in the Gram matrix (no products with A) but still take the k x k
  eigenvalues.

The baselines are timed on a random subset of the candidates and scaled to
all of them (``--full`` times every candidate: minutes).  Target: the Gram
update sweep at least 10x faster than from scratch.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best_of  # noqa: E402

from cs import operators  # noqa: E402
from cs._kernels import ric_swap_scores as _swap_scores  # noqa: E402
from cs.ric._common import _extreme_pair  # noqa: E402
from cs.ric.sparse import _SparseState  # noqa: E402

K, P, N = 50, 500, 1000


def sweep_gram_update(M, Mt, col_norm2, T0):
    """One sweep as cs.ric does it: score all swaps, accept the best."""
    counts = dict(eigh=0, swaps=0)
    state = _SparseState(Mt, col_norm2, T0, 1, counts)
    start = time.perf_counter()
    corr = state.C.T @ state.v
    i, j, score = _swap_scores(state.C, corr, state.v, state.lam, np.diag(state.G).copy(),
                               col_norm2, state.in_T, 1.0, np.empty((0, 0)))
    G_new = state.swapped_gram(i, j)
    lam_new, v_new = _extreme_pair(G_new, 1)
    state.swap(i, j, G_new, lam_new, v_new)
    return time.perf_counter() - start, (i, j), lam_new


def candidates(T):
    outside = np.setdiff1d(np.arange(N), T)
    return [(i, j) for i in range(T.size) for j in outside]


def time_from_scratch(Mt, T, cand):
    start = time.perf_counter()
    best = -np.inf
    for i, j in cand:
        S = T.copy()
        S[i] = j
        rows = Mt[S]
        best = max(best, np.linalg.eigvalsh(rows @ rows.T)[-1])
    return (time.perf_counter() - start) / len(cand), best


def time_row_replaced(state, cand):
    start = time.perf_counter()
    best = -np.inf
    for i, j in cand:
        best = max(best, np.linalg.eigvalsh(state.swapped_gram(i, j))[-1])
    return (time.perf_counter() - start) / len(cand), best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="time the baselines on every candidate")
    parser.add_argument("--subset", type=int, default=400, help="baseline candidates timed")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    M = operators.gaussian(P, N, rng=0).matrix
    Mt = np.ascontiguousarray(M.T)
    col_norm2 = (M * M).sum(axis=0)
    T0 = np.sort(rng.choice(N, K, replace=False))
    cand = candidates(T0)
    n_cand = len(cand)
    print(f"one sweep over the {n_cand} swaps of a k = {K} support, p = {P}, N = {N} (Gaussian)")

    sweep_gram_update(M, Mt, col_norm2, T0)  # compile the kernel
    t_ours = best_of(lambda: sweep_gram_update(M, Mt, col_norm2, T0), repeat=7)
    _, (i, j), lam_ours = sweep_gram_update(M, Mt, col_norm2, T0)
    counts = dict(eigh=0, swaps=0)
    state = _SparseState(Mt, col_norm2, T0, 1, counts)
    print(f"  start lambda_max = {state.lam:.6f}; Gram-update sweep accepts swap ({i}, {j}) -> "
          f"{lam_ours:.6f}")

    subset = cand if args.full else [cand[c] for c in rng.choice(n_cand, min(args.subset, n_cand),
                                                                  replace=False)]
    repeat = 1 if args.full else 2
    per_scratch, best_exact = min(time_from_scratch(Mt, T0, subset) for _ in range(repeat))
    per_row = min(time_row_replaced(state, subset)[0] for _ in range(repeat))
    t_scratch = per_scratch * n_cand
    t_row = per_row * n_cand
    how = "all candidates" if args.full else f"{len(subset)} candidates, scaled to {n_cand}"
    if args.full:
        print(f"  the best swap by exact recomputation reaches lambda_max = {best_exact:.6f}")
    print(f"  {'Gram updates (cs.ric)':<38}{t_ours * 1e3:>10.2f} ms")
    print(f"  {'from scratch per candidate':<38}{t_scratch * 1e3:>10.1f} ms   ({how})")
    print(f"  {'row-replaced Gram + eigvalsh':<38}{t_row * 1e3:>10.1f} ms   ({how})")
    ratio = t_scratch / t_ours
    print(f"speed-up over from scratch: {ratio:.0f}x (target >= 10x); "
          f"over row-replaced Gram + eigvalsh: {t_row / t_ours:.0f}x")
    return 0 if ratio >= 10 else 1


if __name__ == "__main__":
    sys.exit(main())
