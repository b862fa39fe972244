"""Keep-the-k-largest and the FJLT against their NumPy/SciPy floors.

Run:  python benchmarks/bench_threshold.py [--max-exp 7] [--crossover] [--no-fjlt]

1. ``cs.threshold.hard(x, k)`` with k = n/10 for n = 10^2 .. 10^max-exp
   (10^8 needs about 4 GB for the NumPy baselines), float64 and float32,
   against the best plain-NumPy ways: ``np.partition`` of ``|x|`` then a
   mask, and ``np.argpartition`` then a scatter (all three give the same
   values, checked; ties at the threshold, which a float32 vector of 10^8
   entries has, go to the lowest index).  Target (issue 9): never slower than ``np.argpartition``
   at any size, at least 5x it at 10^7.  ``top_k_mask`` too.
2. ``--crossover``: the selection kernel's two paths alone, the exact one
   (the whole vector as the sample) and the sampled bracket, for
   n = 512 .. 65536, which sets ``cs.threshold._SAMPLED_MIN``.
3. The FJLT forward plus adjoint against ``scipy.fft.dct`` alone on the
   same length: one DCT-II (the floor of one product), and one DCT-II plus
   one inverse (the floor of a forward-adjoint pair).  Target: within 1.3x.

Each ratio is measured in one process, the methods timed in turn, the median
of several repeats (the machine is shared: read ratios, not seconds).

Measured (2 shared cores, idle otherwise; ``--no-fjlt``): speed-up over
``np.argpartition``.  "before": one run of the previous stop's kernels
(commit 2b5abe8, one signature for both precisions; this script's older
warm-up of one call); "now": the lowest and highest of two runs, with
threads sharing the pass from 2^20 entries, the pass's flags bytes read
eight at a time as one word (they were int64 words), the exact selection
(below 2048 entries) one pass after the k-th key where it was the bracket
pass, ``hard``'s 1-D call going straight to the kernels, and the bracket's
arithmetic cached:

=========  ===========  ===========  ===========  ===========
n          f64 before   f64 now      f32 before   f32 now
=========  ===========  ===========  ===========  ===========
10^2       1.28         1.64-1.65    1.30         1.64-1.66
10^3       1.33         1.77-1.99    1.22         1.54-1.80
4096       1.16         1.47-1.49    1.06         1.31-1.41
10^4       1.28         1.55-1.63    1.44         1.72-1.75
3 10^4     1.71         2.01-2.13    1.22         1.37-1.43
10^5       1.97         2.38-2.45    1.42         1.64-1.70
10^6       2.40         3.08-3.58    2.75         3.26-3.41
10^7       4.27         5.63-6.25    3.81         5.46-5.93
10^8                    7.14                      7.37
=========  ===========  ===========  ===========  ===========

Against the ``np.partition`` idiom (``vs part``) the lowest is 1.26 in
float64 and 1.10 in float32 (10^3 entries), where it was 0.87-0.95 at 10^3
and 0.98-1.0 at 4096 in float32 before.
Never slower than ``np.argpartition``.  At 10^7 (two threads on two cores)
the pass runs at about the speed of copying the array (a fresh output's
page faults included), and the first five calls on that much fresh memory
are 3-4x slower for NumPy and cs alike (hence the longer warm-up there).
``--crossover`` (one run, previous stop): the sampled path is 1.03-1.07x the
exact one at 1024 entries, 1.31-1.33x at 2048, 1.45x at 4096, 2.2-2.3x at
65536; hence ``_SAMPLED_MIN = 2048``.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.fft

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _timing import best_of, row  # noqa: E402

from cs import _kernels, operators, threshold  # noqa: E402


def numpy_partition(x, k):
    mag = np.abs(x)
    t = np.partition(mag, x.size - k)[x.size - k]
    return np.where(mag >= t, x, 0)


def numpy_argpartition(x, k):
    idx = np.argpartition(np.abs(x), x.size - k)[x.size - k:]
    out = np.zeros_like(x)
    out[idx] = x[idx]
    return out


def check(ours, x, k):
    """``ours`` keeps exactly the k largest magnitudes, ties at the threshold lowest index
    first; with no tie there it is what both NumPy ways give.  (A float32 vector of 10^8
    Gaussian entries has ties at the threshold: ``numpy_partition`` then keeps them all,
    more than k, and ``numpy_argpartition`` an arbitrary few.)"""
    mag = np.abs(x)
    t = np.partition(mag, x.size - k)[x.size - k]
    kept = ours != 0
    assert kept.sum() == k and np.array_equal(ours[kept], x[kept])
    assert mag[kept].min() >= t and mag[~kept].max(initial=0) <= t
    ties = np.flatnonzero(mag == t)
    assert np.all(np.diff(kept[ties].astype(int)) <= 0)  # the kept ties come first
    if ties.size == 1:
        assert np.array_equal(ours, numpy_partition(x, k))
        assert np.array_equal(ours, numpy_argpartition(x, k))


def medians(fns, n, repeat=15):
    """Median seconds per call of each function, timed in turn (interleaved)."""
    number = max(1, 200_000 // n)
    # warm up: the first few calls on 10^7 entries take 3-4x longer (the process's first
    # page faults on that much fresh memory), for NumPy and cs alike
    for _ in range(1 if n < 10**6 else 5):
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for _ in range(repeat if n < 10**7 else 9):
        for fn, ts in zip(fns, times):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            ts.append((time.perf_counter() - start) / number)
    return [float(np.median(ts)) for ts in times]


def bench_topk(max_exp):
    print("keep the k = n/10 largest magnitudes (median seconds per call)")
    widths = [11, 9, 11, 11, 12, 12, 10, 10]
    row("n", "dtype", "cs.hard", "top_k_mask", "np.partition", "np.argpart", "vs part", "vs argp",
        widths=widths)
    rng = np.random.default_rng(0)
    sizes = [10**e for e in range(2, max_exp + 1)] + [4096, 30_000]
    for n in sorted(sizes):
        for dtype in (np.float64, np.float32):
            x = rng.standard_normal(n).astype(dtype)
            k = n // 10
            check(threshold.hard(x, k), x, k)
            t_cs, t_mask, t_part, t_arg = medians(
                [lambda: threshold.hard(x, k), lambda: threshold.top_k_mask(x, k),
                 lambda: numpy_partition(x, k), lambda: numpy_argpartition(x, k)], n)
            row(n, np.dtype(dtype).name, t_cs, t_mask, t_part, t_arg, t_part / t_cs, t_arg / t_cs,
                widths=widths)


def _kernel_paths(x, k):
    """The selection kernel's exact path (every entry) and its sampled path, as callables."""
    n = x.size
    x32, x64 = _kernels.as_bits(x)
    out = np.empty_like(x)
    out32, out64 = _kernels.as_bits(out)

    def exact():
        n_bins = threshold._bins(n)
        return _kernels.select(x32, x64, k, n, n - k, n - k, n, n_bins,
                               np.empty(2 * n + n_bins + threshold._FLAGS, np.int64), out32, out64)

    def sampled():
        n_sample, i_lo, i_hi, capacity = threshold._bracket(n, k)
        n_bins = threshold._bins(capacity)
        return _kernels.select(x32, x64, k, n_sample, i_lo, i_hi, capacity, n_bins,
                               np.empty(2 * capacity + n_bins + threshold._FLAGS, np.int64), out32, out64)
    return exact, sampled


def bench_crossover():
    print("\nthe selection kernel's two paths, k = n/10 (median microseconds per call)")
    widths = [9, 9, 12, 12, 10]
    row("n", "dtype", "exact", "sampled", "ratio", widths=widths)
    rng = np.random.default_rng(2)
    for dtype in (np.float64, np.float32):
        for n in (512, 1024, 2048, 4096, 8192, 16384, 65536):
            x = rng.standard_normal(n).astype(dtype)
            exact, sampled = _kernel_paths(x, n // 10)
            assert exact() == 0 and sampled() == 0
            t_exact, t_sampled = medians([exact, sampled], n, repeat=25)
            row(n, np.dtype(dtype).name, t_exact * 1e6, t_sampled * 1e6, t_exact / t_sampled, widths=widths)


def bench_fjlt():
    print("\nFJLT forward + adjoint vs scipy.fft.dct on the same length (seconds, best of 7)")
    row("N", "dtype", "fwd+adj", "dct", "dct+idct", "vs dct", "vs pair", widths=[10, 9, 11, 11, 11, 9, 9])
    rng = np.random.default_rng(1)
    for shape in ((1000, 1000), (2000, 2000)):
        for dtype in (np.float64, np.float32):
            N = shape[0] * shape[1]
            A = operators.fjlt(N // 2, shape, rng=0, dtype=dtype)
            x = rng.standard_normal(N).astype(dtype)
            y = A.matvec(x)
            t_op = best_of(lambda: A.rmatvec(A.matvec(x)))
            t_dct = best_of(lambda: scipy.fft.dct(x, norm="ortho"))
            t_pair = best_of(lambda: scipy.fft.idct(scipy.fft.dct(x, norm="ortho"), norm="ortho"))
            assert y.dtype == dtype
            row(N, np.dtype(dtype).name, t_op, t_dct, t_pair, t_op / t_dct, t_op / t_pair,
                widths=[10, 9, 11, 11, 11, 9, 9])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-exp", type=int, default=7, help="largest size 10^max-exp (8: ~4 GB)")
    parser.add_argument("--crossover", action="store_true", help="also time the two kernels alone")
    parser.add_argument("--no-fjlt", action="store_true")
    args = parser.parse_args()
    print(f"compiling (first run only): {threshold.warm_up(np.float64) + threshold.warm_up(np.float32):.2f} s")
    bench_topk(args.max_exp)
    if args.crossover:
        bench_crossover()
    if not args.no_fjlt:
        bench_fjlt()
