"""cs beside its peers from the package index, and against the floors.

Run:  python benchmarks/bench_peers.py [--large] [--repeat 3]

Peers (optional; each is skipped with a message when not installed):
scikit-learn's ``OrthogonalMatchingPursuit`` (greedy, k steps) and ``spgl1``
(basis pursuit by spectral projected gradient).  The authors' own code is not
on the package index.

Floors, measured in the same process on the same data:
* dense matrix: one ``A @ x`` plus one ``A.T @ y`` (NumPy/BLAS);
* FJLT: one orthonormal DCT-II plus its inverse on the unknown's length;
* L+S: that DCT pair plus one SVD of the m x n unknown (``np.linalg.svd``).
"Per it." is the solver's time per iteration; "/ floor" divides it by the
floor, so 1.0 means an iteration costs one forward-adjoint pair.

Problems (seeded):
1. sparse, 2048 x 4096 Gaussian matrix N(0, 1/p), C-ordered as NumPy makes
   it, k = 410 Gaussian nonzeros; cs also on the Fortran-ordered copy and
   through the row-gather kernel (the C-order path issue 9 asks for);
2. the same vector measured by the FJLT (``cs.operators.fjlt``);
3. L+S 100 x 100, FJLT, delta = 0.5 (p = 5000), r = 3, s = 500;
4. (``--large``) L+S 100 x 100 with a dense 5000 x 10000 Gaussian operator
   (400 MB in float64; about a minute to draw and solve).

Times are medians of ``--repeat`` solves (wall clock, one BLAS thread).
Section 0 times the support-restricted products alone (the kernels of
``cs._kernels``) against the dense floor.

Measured 2026-12-02, this stop (2 cores, load about 1; per iteration /
floor, three runs): 1. NIHT on the C-ordered matrix 0.85-1.05 (Fortran copy
0.68-0.77; the tiled, threaded copy into Fortran order is the rest),
scikit-learn OMP 0.63-0.70 a step but 410 steps, spgl1 1.23-1.36; 2. FJLT
n = 4096: 0.18-0.20 ms an iteration, 3.6-3.9x the DCT pair (the safeguard
5.4-6.3x, a bare NumPy NIHT loop 2.5-3.1x, spgl1 9.5-10.0x) -- Python, not
the transforms, sets the pace at this size (``study_fjlt_floor.py``); at
n = 2^18 2.0-2.2x, the bare loop 2.0-2.1x; 3. L+S FJLT: NIHT 1.03-1.07,
NAHT 1.42-1.46; 4. L+S 5000 x 10000 Gaussian: NIHT 1.39-1.60, NAHT
1.99-2.24 (timed back to back against the operator pair alone, the
previous stop's code gave 1.72 and 2.51 and this stop's 1.73 and 2.64: the
ratios move with the machine, and were 1.29 and 1.80 at the last stop).  NAHT's two gradient steps need two adjoints and the L step two
full forwards an iteration, each the input of the next: at least three
passes over the matrix, 1.5 pairs, whatever products are reused.
"""

import argparse
import math
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy.fft  # noqa: E402
import scipy.fftpack  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cs import _kernels, operators, threshold  # noqa: E402
from cs.solvers import naht, niht  # noqa: E402


def median_time(fn, repeat, number=1):
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            out = fn()
        times.append((time.perf_counter() - start) / number)
    return float(np.median(times)), out


def rel_err(est, true):
    return float(np.linalg.norm(np.ravel(est) - np.ravel(true)) / np.linalg.norm(true))


def header(title):
    print(f"\n{title}")
    print(f"{'method':<34}{'time [s]':>10}{'iters':>7}{'per it. [ms]':>14}{'/ floor':>9}{'rel err':>10}")


def line(name, seconds, iters, floor, err):
    per = seconds / max(iters, 1)
    print(f"{name:<34}{seconds:>10.3f}{iters:>7}{per * 1e3:>14.2f}{per / floor:>9.2f}{err:>10.1e}")


def dense_floor(M, repeat):
    x = np.ones(M.shape[1], M.dtype)
    y = np.ones(M.shape[0], M.dtype)
    return median_time(lambda: (M @ x, M.T @ y), repeat, number=5)[0]


def bare_niht(A, b, k, tol, max_iter=500):
    """The least a Python NIHT iteration can do: three products, one argpartition, no
    checks, no safeguard, no history -- the floor of any NumPy loop, beside the DCT floor."""
    n = A.input_size
    b_norm = np.linalg.norm(b)
    g = A.adjoint(b)
    idx = np.argpartition(np.abs(g), n - k)[n - k:]
    x = np.zeros(n)
    x[idx] = g[idx]
    r = b - A.forward(x)
    iters = 0
    while np.linalg.norm(r) > tol * b_norm and iters < max_iter:
        g = A.adjoint(r)
        gs = np.zeros(n)
        gs[idx] = g[idx]
        Ag = A.forward(gs)
        w = x + (gs @ gs) / (Ag @ Ag) * g
        idx = np.argpartition(np.abs(w), n - k)[n - k:]
        x = np.zeros(n)
        x[idx] = w[idx]
        r = b - A.forward(x)
        iters += 1
    return x, iters


def dct_pair_floor(N, repeat, dtype=np.float64):
    """The fastest DCT pair SciPy offers: scipy.fftpack's entry points skip scipy.fft's
    backend dispatch (half the cost at N = 4096), and cs's operators use them too."""
    x = np.random.default_rng(0).standard_normal(N).astype(dtype)
    fast = min(
        median_time(lambda: scipy.fft.idct(scipy.fft.dct(x, norm="ortho"), norm="ortho"), repeat, number=5)[0],
        median_time(lambda: scipy.fftpack.idct(scipy.fftpack.dct(x, norm="ortho"), norm="ortho"), repeat,
                    number=5)[0])
    return fast


def restricted_products(repeat):
    print("0. restricted products y = M[:, S] v and z = M[:, S]^T r, 2048 x 4096, k = 410 "
          "(median seconds; ratio to one A@x + A.T@y)")
    rng = np.random.default_rng(0)
    p, n, k = 2048, 4096, 410
    for dtype in (np.float64, np.float32):
        M = rng.standard_normal((p, n)).astype(dtype)
        F = np.asfortranarray(M)
        S = np.sort(rng.choice(n, k, replace=False)).astype(np.int64)
        v = rng.standard_normal(k).astype(dtype)
        r = rng.standard_normal(p).astype(dtype)
        fwd, adj = np.empty(p, dtype), np.empty(k, dtype)
        floor = dense_floor(M, repeat * 3)

        def fortran():
            fwd[:] = 0
            _kernels.columns_matvec(F, S, v, fwd)
            return _kernels.columns_rmatvec(F, S, r, adj)

        cases = {"C order, row-gather kernels": lambda: (_kernels.rows_matvec(M, S, v, fwd),
                                                         _kernels.rows_rmatvec(M, S, r, adj)),
                 "Fortran order, column kernels": fortran,
                 "C order, NumPy copy M[:, S]": lambda: (M[:, S] @ v, M[:, S].T @ r)}
        print(f"  {np.dtype(dtype).name}: floor {floor * 1e3:.2f} ms")
        for name, fn in cases.items():
            t = median_time(fn, repeat * 3, number=3)[0]
            print(f"    {name:<32}{t * 1e3:>8.2f} ms {t / floor:>6.2f} x floor")


class _RowGather(operators.DenseOperator):
    """A C-ordered matrix whose restricted products use the row-gather kernels:
    what operators.py does once it dispatches on the layout (issue 9)."""

    def forward_sparse(self, values, support):
        support = np.asarray(support, dtype=np.int64)
        out = np.empty(self.n_measurements, self.dtype)
        return _kernels.rows_matvec(self.matrix, support, np.asarray(values, self.dtype), out)

    def adjoint_at(self, y, support):
        support = np.asarray(support, dtype=np.int64)
        out = np.empty(support.size, self.dtype)
        return _kernels.rows_rmatvec(self.matrix, support, np.asarray(y, self.dtype), out)


def sparse_cases(repeat):
    rng = np.random.default_rng(1)
    p, n, k = 2048, 4096, 410
    x0 = np.zeros(n)
    x0[rng.choice(n, k, replace=False)] = rng.standard_normal(k)
    M = rng.standard_normal((p, n)) / math.sqrt(p)  # C-ordered, as NumPy makes it
    b = M @ x0
    floor = dense_floor(M, repeat * 3)
    header(f"1. sparse, {p} x {n} Gaussian (C-ordered), k = {k}; floor one A@x + A.T@y = "
           f"{floor * 1e3:.2f} ms")
    t, res = median_time(lambda: niht(M, b, sparsity=k, tol=1e-6), repeat)
    line("cs niht (C-ordered matrix)", t, res.n_iter, floor, rel_err(res.x, x0))
    F = np.asfortranarray(M)
    t, res = median_time(lambda: niht(F, b, sparsity=k, tol=1e-6), repeat)
    line("cs niht (Fortran copy)", t, res.n_iter, floor, rel_err(res.x, x0))
    t, res = median_time(lambda: niht(_RowGather(M), b, sparsity=k, tol=1e-6), repeat)
    line("cs niht (C-ordered, row kernels)", t, res.n_iter, floor, rel_err(res.x, x0))
    peers_dense(M, b, x0, k, floor, repeat)

    A = operators.fjlt(p, (n,), rng=2)
    b = A.matvec(x0)
    floor = dct_pair_floor(n, repeat * 3)
    header(f"2. sparse, FJLT {p} x {n}, k = {k}; floor one DCT pair = {floor * 1e3:.3f} ms")
    t, res = median_time(lambda: niht(A, b, sparsity=k, tol=1e-6), repeat)
    line("cs niht (plain step, the default)", t, res.n_iter, floor, rel_err(res.x, x0))
    t, res = median_time(lambda: niht(A, b, sparsity=k, tol=1e-6, safeguard=(0.01, 2.0)), repeat)
    line("cs niht, safeguard=(0.01, 2.0)", t, res.n_iter, floor, rel_err(res.x, x0))
    t, (x, iters) = median_time(lambda: bare_niht(A, b, k, 1e-6), repeat)
    line("bare NumPy NIHT loop (reference)", t, iters, floor, rel_err(x, x0))
    peer_spgl1("spgl1 spg_bp (LinearOperator)", A, b, x0, floor, repeat)
    print("  scikit-learn OMP needs an explicit matrix: not run on the FJLT")
    # the same proportions at n = 2^18, where the transforms, not Python, set the pace
    n_big = 1 << 18
    A = operators.fjlt(n_big // 2, (n_big,), rng=3)
    x_big = np.zeros(n_big)
    x_big[rng.choice(n_big, n_big // 10, replace=False)] = rng.standard_normal(n_big // 10)
    b = A.matvec(x_big)
    floor = dct_pair_floor(n_big, repeat)
    print(f"  n = {n_big}, p = {n_big // 2}, k = {n_big // 10}: floor one DCT pair = {floor * 1e3:.3f} ms")
    t, res = median_time(lambda: niht(A, b, sparsity=n_big // 10, tol=1e-6), repeat)
    line("cs niht (plain step, the default)", t, res.n_iter, floor, rel_err(res.x, x_big))
    t, res = median_time(lambda: niht(A, b, sparsity=n_big // 10, tol=1e-6, safeguard=(0.01, 2.0)), repeat)
    line("cs niht, safeguard=(0.01, 2.0)", t, res.n_iter, floor, rel_err(res.x, x_big))
    t, (x, iters) = median_time(lambda: bare_niht(A, b, n_big // 10, 1e-6), repeat)
    line("bare NumPy NIHT loop (reference)", t, iters, floor, rel_err(x, x_big))


def peer_spgl1(name, A, b, x0, floor, repeat):
    try:
        import spgl1
    except ImportError:
        print("  spgl1 not installed: skipped (pip install spgl1)")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, out = median_time(lambda: spgl1.spg_bp(A, b, opt_tol=1e-6, iter_lim=5000, verbosity=0),
                             repeat)
    line(name, t, out[3]["niters"], floor, rel_err(out[0], x0))


def peers_dense(M, b, x0, k, floor, repeat):
    try:
        from sklearn.linear_model import OrthogonalMatchingPursuit
    except ImportError:
        print("  scikit-learn not installed: skipped (pip install scikit-learn)")
    else:
        omp = OrthogonalMatchingPursuit(n_nonzero_coefs=k, fit_intercept=False)
        t, fitted = median_time(lambda: omp.fit(M, b), repeat)
        line("scikit-learn OMP (k steps)", t, k, floor, rel_err(fitted.coef_, x0))
    peer_spgl1("spgl1 spg_bp", M, b, x0, floor, repeat)


def ls_instance(A, shape, r, s, rng):
    m, n = shape
    L = rng.standard_normal((m, r)) @ rng.standard_normal((r, n))
    S = np.zeros(m * n)
    S[rng.choice(m * n, s, replace=False)] = rng.standard_normal(s) * np.abs(L).max()
    X = L + S.reshape(shape)
    return L, S.reshape(shape), X, A.forward(X)


def ls_case(title, A, shape, r, s, repeat, pair_floor):
    rng = np.random.default_rng(3)
    L, S, X, b = ls_instance(A, shape, r, s, rng)
    Z = rng.standard_normal(shape)
    svd = median_time(lambda: np.linalg.svd(Z, full_matrices=False), repeat * 3, number=3)[0]
    floor = pair_floor + svd
    header(f"{title}; floor = operator pair {pair_floor * 1e3:.2f} ms + one SVD "
           f"{svd * 1e3:.2f} ms")
    for name, solve in (("cs niht (AccAltProj)", lambda: niht(A, b, rank=r, sparsity=s, tol=1e-6)),
                        ("cs niht (GoDec)", lambda: niht(A, b, rank=r, sparsity=s, projection="godec",
                                                         tol=1e-6)),
                        ("cs naht", lambda: naht(A, b, rank=r, sparsity=s, tol=1e-6))):
        t, res = median_time(solve, repeat)
        line(name, t, res.n_iter, floor, rel_err(res.x, X))
    print("  no peer on the package index solves L+S from compressive measurements")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--large", action="store_true",
                        help="also the 5000 x 10000 Gaussian L+S case (400 MB, about a minute)")
    args = parser.parse_args()
    print(f"compiling (first run only): {threshold.warm_up(np.float64):.2f} s")
    restricted_products(args.repeat)
    sparse_cases(args.repeat)
    shape = (100, 100)
    A = operators.fjlt(5000, shape, rng=4)
    ls_case("3. L+S 100 x 100, FJLT p = 5000, r = 3, s = 500", A, shape, 3, 500, args.repeat,
            dct_pair_floor(10_000, args.repeat * 3))
    if args.large:
        A = operators.gaussian(5000, shape, rng=5)
        ls_case("4. L+S 100 x 100, Gaussian 5000 x 10000, r = 3, s = 500", A, shape, 3, 500,
                args.repeat, dense_floor(A.matrix, args.repeat * 3))
    else:
        print("\n4. L+S with the 5000 x 10000 Gaussian operator: pass --large (400 MB)")


if __name__ == "__main__":
    main()
