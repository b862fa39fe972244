"""CoSaMP and NAHT time per iteration against the floor of one gradient step.

Run:  OPENBLAS_NUM_THREADS=1 python benchmarks/bench_greedy.py [--delta 0.5] [--quick]

The floor of any gradient method is one ``A @ x`` plus one ``A.T @ y`` with
the same dense matrix, measured here in the same run; every figure is a
ratio to it.

1. CoSaMP on a C-ordered (as NumPy makes it) 2048 x 4096 Gaussian matrix,
   k = 410: time per iteration of a whole solve, and, in the same run, the
   one least-squares solve on a support of 3k columns both ways -- the old
   LAPACK gelsy on the copied columns, and the new normal equations by
   Cholesky (``cs.solvers.greedy._least_squares``) -- so the change reads as
   one before/after ratio.
2. IHT's default (power-iteration) step on the same matrix: its one-off cost
   in floors.
3. NAHT on a 100 x 100 low-rank plus sparse matrix (r = 3, s = 500) measured
   by a dense Gaussian operator (``cs.operators.gaussian``, p = delta * 10^4):
   time per iteration over a fixed number of iterations against the floor.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.linalg import lstsq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best_of, row  # noqa: E402  (best_of: the one-off costs)

from cs import operators as ops  # noqa: E402
from cs.datasets.synthetic import ls_problem  # noqa: E402
from cs.metrics import relative_error  # noqa: E402
from cs.solvers import cosamp, iht, naht  # noqa: E402
from cs.solvers.greedy import _least_squares, _norm_squared  # noqa: E402


def floor_fn(M):
    x = np.random.default_rng(0).standard_normal(M.shape[1])
    y = np.random.default_rng(1).standard_normal(M.shape[0])
    return lambda: (M @ x, M.T @ y)


def interleaved(fns, rounds):
    """The fastest of ``rounds`` timings of each of ``fns``, taken in turn (round robin), so that
    a noisy neighbour on a shared machine slows them alike; seconds per call."""
    best = [np.inf] * len(fns)
    for fn in fns:
        fn()  # warm up
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def bench_cosamp(repeat):
    m, n, k = 2048, 4096, 410
    rng = np.random.default_rng(0)
    M = rng.standard_normal((m, n)) / np.sqrt(m)          # C-ordered
    x = np.zeros(n)
    x[rng.choice(n, k, replace=False)] = rng.standard_normal(k)
    b = M @ x
    res = cosamp(M, b, sparsity=k)
    where = np.sort(rng.choice(n, 3 * k, replace=False))
    A = ops.as_operator(M)
    floor, solve, gelsy, chol = interleaved(
        [floor_fn(M), lambda: cosamp(M, b, sparsity=k),
         lambda: lstsq(M[:, where], b, lapack_driver="gelsy", check_finite=False),
         lambda: _least_squares(A, b, where, None)], repeat)
    per_iter = solve / res.n_iter
    print(f"CoSaMP, C-ordered Gaussian {m} x {n}, k = {k}; floor (A@x + A.T@y) = {floor * 1e3:.2f} ms")
    print(f"  solve: {res.n_iter} iterations, error {relative_error(res.x, x):.1e}, "
          f"least squares {res.info['least_squares']}")
    row("", "ms/iter", "x floor", widths=[34, 12, 10])
    row("  CoSaMP iteration", per_iter * 1e3, per_iter / floor, widths=[34, 12, 10])
    row(f"  LS on |T| = {3 * k}: gelsy (before)", gelsy * 1e3, gelsy / floor, widths=[34, 12, 10])
    row("  LS by Cholesky (now)", chol * 1e3, chol / floor, widths=[34, 12, 10])
    print(f"  least squares speed-up, gelsy / Cholesky: {gelsy / chol:.2f}x")
    power = best_of(lambda: _norm_squared(A, np.random.default_rng(0)), repeat=max(1, repeat // 3))
    row("  IHT default step (one-off)", power * 1e3, power / floor, widths=[34, 12, 10])
    k_iht = k // 2
    x_iht = np.zeros(n)
    x_iht[rng.choice(n, k_iht, replace=False)] = rng.standard_normal(k_iht)
    res = iht(M, M @ x_iht, sparsity=k_iht, rng=0)
    print(f"  IHT, default step mu = {res.info['mu']:.4f} (||A||^2 ~ {res.info['norm_estimate']:.3f}), "
          f"k = {k_iht}: {res.reason} after {res.n_iter} iterations, error {relative_error(res.x, x_iht):.1e}")


def bench_naht(delta, n_iter, repeat):
    prob = ls_problem((100, 100), delta, 0.1, 0.1, operator="gaussian", rng=11)
    M = prob.A.matrix
    print(f"\nNAHT, 100 x 100, r = {prob.rank}, s = {prob.sparsity}, Gaussian p = {M.shape[0]} "
          f"({'F' if M.flags.f_contiguous else 'C'}-ordered)")
    floor_once, runs = floor_fn(M), []

    def one_iteration():
        # per iteration: the fastest of iterations 2..n_iter (iteration 0 includes A*b)
        res = naht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, max_iter=n_iter,
                   rate_tol=None, tol=0)
        runs.append(float(np.min(np.diff(res.history["time"][1:]))))
        return res

    floor, _ = interleaved([lambda: [floor_once() for _ in range(n_iter)], one_iteration],
                           max(1, repeat // 3))
    floor /= n_iter
    res = one_iteration()
    per_iter = min(runs)
    print(f"  floor (A@x + A.T@y) = {floor * 1e3:.2f} ms")
    row("", "ms/iter", "x floor", widths=[34, 12, 10])
    row("  NAHT iteration", per_iter * 1e3, per_iter / floor, widths=[34, 12, 10])
    seconds = res.info["seconds"]
    total = sum(seconds.values())
    print("  split: " + ", ".join(f"{k} {v / total:.0%}" for k, v in seconds.items()))
    full = naht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, X_true=prob.x)
    print(f"  full solve: {full.n_iter} iterations, {full.reason}, error {relative_error(full.x, prob.x):.1e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delta", type=float, default=0.5, help="NAHT's p / 10^4 (0.5: 5000 x 10000)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats, NAHT at delta 0.2")
    args = parser.parse_args()
    repeat = 3 if args.quick else 7
    bench_cosamp(repeat)
    bench_naht(0.2 if args.quick else args.delta, 10 if args.quick else 20, repeat)


if __name__ == "__main__":
    main()
