"""Time per layer of DSnoT and SparseGPT against Wanda's, as ratios.

Run:  OPENBLAS_NUM_THREADS=1 python benchmarks/bench_pruning.py [--size 4096] [--tokens 2048] [--repeat 3]

One square layer ``d_in = d_out = size`` (4096: a LLaMA-7B attention
projection) with ``tokens`` calibration inputs of heterogeneous, non-zero-mean
channels.  Timed, each best of ``repeat`` after a warm-up, from the same
statistics (collecting them is timed separately):

* Wanda at 50 %: scores and the per-row mask (the baseline, ratio 1);
* DSnoT: the refinement of that mask alone, and Wanda + DSnoT;
* SparseGPT at 50 % and 2:4 from the Gram matrix (blocks of 128).

Wall time and this process's CPU time are both reported (best of
``repeat`` each); on a shared machine the CPU-time ratios are the stable ones.

Also printed: each method's relative reconstruction error on held-out tokens,
so that the time buys something visible.  SparseGPT fits the calibration
tokens: with fewer tokens than inputs its Gram matrix is singular (only the
damping holds it) and its held-out error can exceed Wanda's; use
``--tokens`` of a few times ``--size`` for a fair error column.  The DSnoT paper reports its total
pruning time close to Wanda's on LLaMA; an OpenReview reviewer quotes ~15x.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best_of, row  # noqa: E402

from cs import pruning as P  # noqa: E402


def best_cpu(fn, repeat):
    """Fewest CPU seconds of this process over ``repeat`` calls: robust to other
    processes sharing the cores (run with one BLAS thread so it matches wall time)."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="d_in = d_out (default 4096)")
    parser.add_argument("--tokens", type=int, default=2048, help="calibration tokens (default 2048)")
    parser.add_argument("--repeat", type=int, default=3, help="timings per method, best kept")
    args = parser.parse_args(argv)
    n, tokens = args.size, args.tokens
    rng = np.random.default_rng(0)
    sigma = np.exp(rng.normal(0.0, 1.0, n))
    mu = rng.normal(0.0, 1.0, n) * sigma
    W = (rng.standard_normal((n, n)) / np.sqrt(n)).astype(np.float32)
    X = (mu + sigma * rng.standard_normal((tokens, n))).astype(np.float32)
    held = (mu + sigma * rng.standard_normal((min(tokens, 2048), n))).astype(np.float32)

    stats_time = best_of(lambda: P.ActivationStats.from_array(X), repeat=args.repeat)
    gram_time = best_of(lambda: P.ActivationStats.from_array(X, gram=True), repeat=1)
    stats = P.ActivationStats.from_array(X, gram=True)

    def wanda():
        return P.mask_from_scores(P.wanda_scores(W, stats), 0.5)

    mask = wanda()
    runs = {
        "wanda": wanda,
        "dsnot (refine only)": lambda: P.dsnot(W, stats, mask),
        "wanda+dsnot": lambda: P.dsnot(W, stats, wanda()),
        "sparsegpt 50%": lambda: P.sparsegpt(W, stats, 0.5),
        "sparsegpt 2:4": lambda: P.sparsegpt(W, stats, nm=(2, 4)),
    }
    weights = {
        "wanda": np.where(mask, W, 0),
        "dsnot (refine only)": None,
        "wanda+dsnot": P.dsnot(W, stats, mask).weight,
        "sparsegpt 50%": P.sparsegpt(W, stats, 0.5).weight,
        "sparsegpt 2:4": P.sparsegpt(W, stats, nm=(2, 4)).weight,
    }
    print(f"one {n} x {n} layer, {tokens} calibration tokens, float32 weights (best of {args.repeat})")
    print(f"statistics: mean/var/norm {stats_time:.3g} s, with Gram {gram_time:.3g} s (once)")
    widths = [22, 10, 10, 10, 10, 14]
    row("method", "wall s", "x wanda", "cpu s", "x wanda", "held-out err", widths=widths)
    base = None
    for name, fn in runs.items():
        wall = best_of(fn, repeat=args.repeat)
        cpu = best_cpu(fn, repeat=args.repeat)
        base = base or (wall, cpu)
        err = "" if weights[name] is None else f"{P.reconstruction_error(W, weights[name], held):.4f}"
        row(name, wall, wall / base[0], cpu, cpu / base[1], err, widths=widths)


if __name__ == "__main__":
    main()
