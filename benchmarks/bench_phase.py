"""Phase-transition studies: speed of the runner and checks against the literature.

Run one part at a time (the machine's cores are the measurement)::

    python benchmarks/bench_phase.py speed       # trials/s (sparse NIHT n=1024, L+S NIHT 100x100),
                                                 # 1 -> 2 workers speed-up, store overhead per trial
    python benchmarks/bench_phase.py donoho-tanner [--trials 20]
                                                 # l1, n = 400, delta = 0.1..0.9: 50% curve vs rho_W
    python benchmarks/bench_phase.py tanner-vary [--columns 6] [--trials 2]
                                                 # wall time of the tanner-vary-fig1 grid, extrapolated
                                                 # from a sample of its (rho_r, rho_s) columns

Every figure is a ratio or a rate measured in the same run; stores are
written to a temporary folder (``--keep DIR`` keeps them).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from cs.experiments import (Store, Study, donoho_tanner_rho, preset, run_study, run_trial,  # noqa: E402
                            summarise, transition_curve)


def _timed_study(study, path, workers):
    start = time.perf_counter()
    run_study(study, path, workers=workers, progress=False)
    return time.perf_counter() - start


def _solver_seconds(path):
    """The trials' own seconds, summed (inflated when the workers do not get a core each)."""
    with Store(path, readonly=True) as store:
        return sum(r["seconds"] for r in store.rows(("seconds",)))


def speed(out):
    # warm every worker's imports and numba caches outside the timings
    warm = Study("sparse", (64,), deltas=[0.5], rhos=[0.1], trials=4, solver="niht")
    _timed_study(warm, out / "warm.sqlite", 2)

    sparse = Study("sparse", (1024,), operator="gaussian", deltas=[0.3, 0.5, 0.7], rhos=[0.05, 0.15, 0.25],
                   trials=8, values="sign", solver="niht", options={"tol": 1e-4, "max_iter": 500},
                   success="rel_linf:1e-3")
    ls = Study("ls", (100, 100), operator="fjlt", deltas=[0.3, 0.6], rho_r=[0.1], rho_s=[0.1, 0.2],
               trials=8, solver="niht")
    # the machine is shared: 1 and 2 workers alternate `repeats` times and the fastest run of each counts
    repeats = 3
    print(f"study                            workers  trials   wall [s] (best of {repeats})  trials/s")
    rates = {}
    for name, study in (("sparse NIHT n=1024 (gaussian)", sparse), ("L+S NIHT 100x100 (fjlt)", ls)):
        n_trials = len(study.cells()) * study.trials
        walls = {1: [], 2: []}
        for rep in range(repeats):
            for workers in (1, 2):
                walls[workers].append(_timed_study(study, out / f"{name[:3]}-{workers}-{rep}.sqlite", workers))
        for workers in (1, 2):
            best = int(np.argmin(walls[workers]))
            wall = walls[workers][best]
            busy = _solver_seconds(out / f"{name[:3]}-{workers}-{best}.sqlite")
            rates[name, workers] = n_trials / wall
            print(f"{name:<32} {workers:>7} {n_trials:>7} {wall:>10.2f} {' ' * 12} {n_trials / wall:>9.2f}"
                  f"   (all: {', '.join(f'{w:.2f}' for w in walls[workers])}; trials' own seconds "
                  f"{busy:.2f}, i.e. {busy / workers / wall:.0%} of the wall on each worker)")
        print(f"{'':<32} speed-up 1 -> 2 workers: {rates[name, 2] / rates[name, 1]:.2f}x (target >= 1.8)")

    # store overhead: committing a trial row, against the trial itself (sparse NIHT n=1024)
    run_trial(sparse, 4, 0)   # the first call in this process loads the numba caches
    row = run_trial(sparse, 4, 0)
    n = 2000
    with Store(out / "overhead.sqlite", {"bench": "store"}) as store:
        start = time.perf_counter()
        for i in range(n):
            store.add(dict(row, cell=i, trial=0))
        per_row = (time.perf_counter() - start) / n
    print(f"store: {per_row * 1e3:.3f} ms per committed trial (target < 1 ms); "
          f"{per_row / row['seconds'] * 100:.2f}% of one sparse NIHT n=1024 trial ({row['seconds'] * 1e3:.1f} ms)")


def donoho_tanner(out, trials, workers):
    study = Study("sparse", (400,), operator="gaussian", deltas=[round(0.1 * i, 2) for i in range(1, 10)],
                  rhos=[round(0.04 * i, 2) for i in range(1, 21)], trials=trials, values="gaussian",
                  solver="l1", success="rel_linf:1e-3", schedule="walk-rho:3")
    path = out / "donoho-tanner-l1.sqlite"
    start = time.perf_counter()
    summary = run_study(study, path, workers=workers)
    wall = time.perf_counter() - start
    curve = transition_curve(summary)
    print(f"l1 (HiGHS), gaussian, n = 400, {trials} trials/cell, rho = 0.04:0.8:0.04 walked upward "
          f"(stop after 3 all-failed cells): {summary.trials_done} trials, {wall:.0f} s wall")
    print("  delta   rho_50   rho_W(delta)   difference")
    worst = 0.0
    for row in curve:
        ref = donoho_tanner_rho(row["delta"])
        worst = max(worst, abs(row["rho_50"] - ref))
        print(f"  {row['delta']:5.2f}   {row['rho_50']:6.4f}   {ref:12.4f}   {row['rho_50'] - ref:+10.4f}")
    print(f"largest |rho_50 - rho_W| = {worst:.4f} (required <= 0.05): {'PASS' if worst <= 0.05 else 'FAIL'}")
    return 0 if worst <= 0.05 else 1


def tanner_vary(out, columns, trials, workers):
    """Run a sample of the grid's (rho_r, rho_s) columns with the preset's walk and fewer trials;
    scale the measured solver seconds to the full grid (all columns, 20 trials) on ``workers`` cores."""
    full = preset("tanner-vary-fig1")
    pairs = sorted({(c.rho_r, c.rho_s) for c in full.cells()})
    rng = np.random.default_rng(0)
    picks = sorted(rng.choice(len(pairs), size=min(columns, len(pairs)), replace=False))
    sample = [pairs[i] for i in picks]
    print(f"tanner-vary-fig1: {len(pairs)} (rho_r, rho_s) columns x {len(full.deltas)} deltas, "
          f"{full.trials} trials; sampling {len(sample)} columns with {trials} trials each")
    seconds, cells, wall = 0.0, 0, 0.0
    for rho_r, rho_s in sample:
        study = preset("tanner-vary-fig1", rho_r=[rho_r], rho_s=[rho_s], trials=trials)
        path = out / f"tv-{rho_r}-{rho_s}.sqlite"
        wall += _timed_study(study, path, workers)
        with Store(path, readonly=True) as store:
            rows = store.rows(("cell", "seconds"))
        summary = summarise(path)
        seconds += sum(r["seconds"] for r in rows)
        cells += sum(c.status == "measured" for c in summary.cells)
        print(f"  rho_r={rho_r:.1f} rho_s={rho_s:.1f}: {sum(c.status == 'measured' for c in summary.cells):2d} "
              f"cells run, {sum(c.status == 'assumed' for c in summary.cells):2d} settled, "
              f"{sum(r['seconds'] for r in rows):7.1f} solver-s")
    per_trial = seconds / max(cells * trials, 1)
    full_seconds = seconds * (len(pairs) / len(sample)) * (full.trials / trials)
    print(f"sample: {cells} cells, {cells * trials} trials, {seconds:.1f} solver-s ({per_trial:.2f} s/trial), "
          f"{wall:.1f} s wall on {workers} workers")
    print(f"full grid estimate: {full_seconds / 3600:.2f} core-hours -> {full_seconds / workers / 60:.0f} min "
          f"on {workers} cores (target < 30 min); fewer trials settle columns sooner, so this is a lower bound")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=["speed", "donoho-tanner", "tanner-vary"])
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--columns", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="folder to keep the stores in")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        if args.part == "speed":
            return speed(out)
        if args.part == "donoho-tanner":
            return donoho_tanner(out, args.trials or 20, args.workers)
        return tanner_vary(out, args.columns, args.trials or 2, args.workers)


if __name__ == "__main__":
    sys.exit(main())
