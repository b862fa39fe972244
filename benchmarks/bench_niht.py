"""NIHT and NAHT speed against their floors.

Run:  python benchmarks/bench_niht.py

1. Sparse NIHT on a Gaussian 2048 x 4096 problem (k = 0.1 m): time per
   iteration against the floor of one iteration of any gradient method, one
   ``A.T @ r`` plus one ``A @ x`` with the same dense matrix.  NIHT needs one
   full adjoint per iteration; its other products are restricted to the
   support (``m k`` each), so it can sit near one product, not two.
2. L+S NIHT (AccAltProj and GoDec projections) and NAHT on the 100 x 100,
   delta = 0.5, rho_r = rho_s = 0.1 FJLT problem of Tanner & Vary: time to
   a relative error of X of 1e-4, iterations, and the split of the time
   between operator products, projections (SVDs, robust PCA, thresholding)
   and the rest.  Optionally the convex program on the same instance
   (``--convex``) as the slow reference.

Before/after a change, in one run:  python benchmarks/bench_niht.py --against /tmp/cs-before
(``/tmp/cs-before`` a checkout of the old tree, e.g. ``git worktree add /tmp/cs-before <commit>``):
both trees run this same script in alternating subprocesses, ``--rounds`` times, and the
ratios new/old of each round's timings are summarised by their median.
"""

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best_of, row  # noqa: E402

from cs.datasets.synthetic import ls_problem, sparse_problem  # noqa: E402
from cs.metrics import relative_error  # noqa: E402
from cs.solvers import naht, niht  # noqa: E402


def bench_sparse():
    prob = sparse_problem(4096, 0.5, 0.1, rng=0)
    M = prob.A.matrix
    r = np.random.default_rng(0).standard_normal(M.shape[0])
    x = np.random.default_rng(1).standard_normal(M.shape[1])
    floor = best_of(lambda: (M.T @ r, M @ x), repeat=20)
    res = niht(prob.A, prob.b, sparsity=prob.sparsity)
    times = [best_of(lambda: niht(prob.A, prob.b, sparsity=prob.sparsity), repeat=5)]
    per_iter = times[0] / res.n_iter
    print(f"sparse NIHT, Gaussian {M.shape[0]} x {M.shape[1]}, k = {prob.sparsity}: "
          f"{res.n_iter} iterations, rel. error {relative_error(res.x, prob.x):.1e}")
    print(f"  time per iteration {per_iter * 1e3:.2f} ms; floor A.T@r + A@x {floor * 1e3:.2f} ms; "
          f"ratio {per_iter / floor:.2f}")
    return {"sparse s/iter": per_iter, "sparse iter/floor": per_iter / floor, "sparse iters": res.n_iter}


def time_to_error(res, target=1e-4):
    err = res.history["error_X"]
    hit = np.flatnonzero(err < target)
    return res.history["time"][hit[0]] if hit.size else np.nan


def profile_split(run):
    """Fractions of a run's time in operator products, SVD/QR, thresholding and the rest.

    Attributed from cProfile's own-time of the functions doing each job, so
    the parts exclude each other (profiling overhead inflates 'rest').
    """
    prof = cProfile.Profile()
    prof.runcall(run)
    stats = pstats.Stats(prof).stats
    parts = {"operator": 0.0, "svd/qr": 0.0, "thresholding": 0.0, "rest": 0.0}  # rest: matrix arithmetic, Python
    for (filename, _, name), (_, _, tottime, _, _) in stats.items():
        if name in ("dct", "idct", "_matvec", "_rmatvec", "forward", "adjoint", "forward_sparse",
                    "columns_matvec", "c2r", "r2c", "r2r", "_r2r") or "fft" in filename:
            parts["operator"] += tottime
        elif name in ("svd", "qr", "eigh", "_umath_linalg.svd_f", "<built-in method numpy.linalg._umath_linalg.svd_f>") \
                or "linalg" in filename or "svd" in name or "qr" in name:
            parts["svd/qr"] += tottime
        elif "_kernels" in filename or name in ("hard", "_select", "_select_flat", "top_k_mask"):
            parts["thresholding"] += tottime
        else:
            parts["rest"] += tottime
    total = sum(parts.values())
    return {k: v / total for k, v in parts.items()}


def bench_ls(with_convex, profile=True):
    prob = ls_problem((100, 100), 0.5, 0.1, 0.1, operator="fjlt", rng=0)
    truth = dict(X_true=prob.x, L_true=prob.L, S_true=prob.S)
    runs = {
        "NIHT(AccAltProj)": lambda: niht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, **truth),
        "NIHT(GoDec)": lambda: niht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity,
                                    projection="godec", **truth),
        "NAHT": lambda: naht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, **truth),
    }
    print(f"\nL+S, 100 x 100, rank {prob.rank}, {prob.sparsity} sparse, p = {prob.A.n_measurements} "
          "FJLT measurements (best of 3 runs each)")
    row("solver", "iters", "t(1e-4) s", "total s", "operator", "projection", "other", "final err",
        widths=[18, 7, 11, 10, 10, 11, 8, 11])
    results = {}
    for name, run in runs.items():
        run()  # warm-up: numba compilation
        res = min((run() for _ in range(3)), key=lambda r: r.history["time"][-1])
        results[name] = res
        sec = res.info["seconds"]
        total = res.history["time"][-1]
        row(name, res.n_iter, time_to_error(res), total, sec["operator"] / total, sec["projection"] / total,
            sec["other"] / total, relative_error(res.X, prob.x), widths=[18, 7, 11, 10, 10, 11, 8, 11])
    print("  (operator/projection/other: fractions of the total time)")
    if profile:
        print("profiled split (cProfile own-time; rest = dense matrix arithmetic in the steps and Python)")
    for name, run in runs.items() if profile else ():
        split = profile_split(run)
        print(f"  {name:<18}" + "  ".join(f"{k} {v:.0%}" for k, v in split.items()))
    if with_convex:
        from cs.solvers.convex import convex

        res = convex(prob.A, prob.b, shape=prob.A.input_shape, X_true=prob.x)
        t_convex = time_to_error(res)
        fastest = min(time_to_error(r) for r in results.values())
        print(f"convex program: {res.n_iter} iterations, {res.history['time'][-1]:.2f} s total, "
              f"t(1e-4) = {t_convex:.2f} s, {t_convex / fastest:.0f}x the fastest NIHT/NAHT")
    return prob, results


def measure():
    """The numbers compared by --against (no profiling, no printing)."""
    sys.stdout = open(os.devnull, "w")
    out = bench_sparse()
    _, results = bench_ls(False, profile=False)
    for name, res in results.items():
        out[f"{name} total s"] = float(res.history["time"][-1])
        out[f"{name} iters"] = res.n_iter
    sys.stdout = sys.__stdout__
    print(json.dumps(out))


def against(old_tree, rounds):
    """This tree and ``old_tree`` in alternating subprocesses; medians of the ratios new/old."""
    trees = {"old": str(Path(old_tree).resolve()), "new": str(Path(__file__).resolve().parents[1])}
    ratios = {}
    with tempfile.TemporaryDirectory() as cwd:  # not the repository: PYTHONPATH picks the tree
        for r in range(rounds):
            got = {}
            for label, tree in trees.items():
                env = dict(os.environ, PYTHONPATH=tree)
                run = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--measure"], cwd=cwd,
                                     env=env, capture_output=True, text=True, check=True)
                got[label] = json.loads(run.stdout.strip().splitlines()[-1])
            print(f"round {r + 1}: " + ", ".join(f"{k} {got['old'][k]:.4g} -> {got['new'][k]:.4g}"
                                                  for k in got["new"]))
            for k in got["new"]:
                ratios.setdefault(k, []).append(got["new"][k] / got["old"][k])
    print("median ratio new/old over the rounds:")
    for k, v in ratios.items():
        print(f"  {k:<28} {np.median(v):.3f}   (rounds: {', '.join(f'{x:.2f}' for x in v)})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--convex", action="store_true", help="also time the convex program")
    parser.add_argument("--against", metavar="OLD_TREE", help="compare with the package at this path")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure()
    elif args.against:
        against(args.against, args.rounds)
    else:
        bench_sparse()
        bench_ls(args.convex)
