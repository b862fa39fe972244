"""Keep-the-k-largest and the FJLT against their NumPy/SciPy floors.

Run:  python benchmarks/bench_threshold.py

1. ``cs.threshold.hard(x, k)`` with k = n/10 on 10^6 and 10^7 float64 and
   float32 entries, against the best plain-NumPy ways: ``np.partition`` of
   ``|x|`` then a mask, and ``np.argpartition`` then a scatter.  Both
   baselines produce the same values (checked).  Target: >= 3x faster.
2. The FJLT forward plus adjoint against ``scipy.fft.dct`` alone on the
   same length: one DCT-II (the floor of one product), and one DCT-II plus
   one inverse (the floor of a forward-adjoint pair).  Target: within 1.3x.

All ratios are measured in the same process, best of several runs.
"""

import sys
from pathlib import Path

import numpy as np
import scipy.fft

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best_of, row  # noqa: E402

from cs import operators, threshold  # noqa: E402


def numpy_partition(x, k):
    mag = np.abs(x)
    t = np.partition(mag, x.size - k)[x.size - k]
    return np.where(mag >= t, x, 0)


def numpy_argpartition(x, k):
    idx = np.argpartition(np.abs(x), x.size - k)[x.size - k:]
    out = np.zeros_like(x)
    out[idx] = x[idx]
    return out


def bench_topk():
    print("keep the k = n/10 largest magnitudes (seconds per call, best of 7)")
    row("n", "dtype", "cs.hard", "np.partition", "np.argpart", "speed-up", widths=[10, 9, 12, 14, 12, 10])
    rng = np.random.default_rng(0)
    for n in (10**6, 10**7):
        for dtype in (np.float64, np.float32):
            x = rng.standard_normal(n).astype(dtype)
            k = n // 10
            ours = threshold.hard(x, k)
            assert np.array_equal(ours, numpy_partition(x, k))
            assert np.array_equal(ours, numpy_argpartition(x, k))
            t_cs = best_of(lambda: threshold.hard(x, k))
            t_part = best_of(lambda: numpy_partition(x, k))
            t_arg = best_of(lambda: numpy_argpartition(x, k))
            row(n, np.dtype(dtype).name, t_cs, t_part, t_arg, min(t_part, t_arg) / t_cs,
                widths=[10, 9, 12, 14, 12, 10])


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
    bench_topk()
    bench_fjlt()
