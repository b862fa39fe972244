"""First-call cost: numba compilation in a fresh environment, and the cached second run.

Run:  python benchmarks/bench_compile.py [--repeat 3]

Each measurement is a fresh Python process.  "cold" gets an empty
``NUMBA_CACHE_DIR`` (what a new install sees on its first ``cs demo``); "warm"
reuses the cache the cold run wrote (every later run).  A process does what
``cs demo`` does:

1. ``import cs`` and its solvers;
2. ``cs.threshold.warm_up(np.float64, size=100 * 100)``: compile (cold) or
   load (warm) the float64 kernels the solve uses -- the "compiling (first
   run only)" line;
3. the first solve: NIHT on the demo's 100 x 100 rank-3 plus sparse problem
   measured by the FJLT (delta 0.5, rho_r = rho_s = 0.1, seed 0) -- any
   compilation warm_up missed would show up here;
4. a second identical solve (the steady-state solve time, for comparison).

Wall-clock and CPU seconds are both printed: on a shared machine the wall
clock includes waiting for a core, the process CPU time much less so.
Medians over ``--repeat`` cold/warm pairs.  Targets (issue 9): compilation
under 3 s in all; warm: import + warm_up + first solve under 0.5 s beyond
the solve itself.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = r"""
import json, os, time
wall, cpu = time.perf_counter, time.process_time
marks = {}
def mark(name, t0, c0):
    marks[name] = (wall() - t0, cpu() - c0)
t0, c0 = wall(), cpu()
import numpy as np
import cs
from cs import threshold
from cs.solvers import niht
from cs.datasets.synthetic import ls_problem
mark("import", t0, c0)
t0, c0 = wall(), cpu()
threshold.warm_up(np.float64, size=100 * 100)
mark("warm_up", t0, c0)
prob = ls_problem((100, 100), 0.5, 0.1, 0.1, operator="fjlt", rng=0)
for name in ("first solve", "second solve"):
    t0, c0 = wall(), cpu()
    res = niht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, tol=1e-6)
    mark(name, t0, c0)
marks["rel_err"] = (float(np.linalg.norm(res.X - prob.x) / np.linalg.norm(prob.x)), 0.0)
print(json.dumps(marks))
"""

STEPS = ("import", "warm_up", "first solve", "second solve")


def run_child(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    repo = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = {"cold": [], "warm": []}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as cache:
            runs["cold"].append(run_child(cache))
            runs["warm"].append(run_child(cache))
    print(f"seconds, median of {args.repeat} fresh processes each (wall / CPU)")
    print(f"{'':6}" + "".join(f"{s:>22}" for s in STEPS))
    for kind, marks in runs.items():
        cells = []
        for step in STEPS:
            w = np.median([m[step][0] for m in marks])
            c = np.median([m[step][1] for m in marks])
            cells.append(f"{w:>12.2f} / {c:<7.2f}")
        print(f"{kind:6}" + "".join(cells))
    err = max(m["rel_err"][0] for ms in runs.values() for m in ms)
    print(f"largest relative error of X over the runs: {err:.1e}")
    cold_compile = np.median([m["warm_up"][0] + m["first solve"][0] - m["second solve"][0]
                              for m in runs["cold"]])
    warm_first = np.median([m["import"][0] + m["warm_up"][0] + m["first solve"][0]
                            for m in runs["warm"]])
    print(f"cold: compilation (warm_up + first solve - second solve) {cold_compile:.2f} s wall")
    print(f"warm: import + warm_up + first solve {warm_first:.2f} s wall")


if __name__ == "__main__":
    main()
