"""First-call cost: numba compilation in a fresh environment, and the cached second run.

Run:  python benchmarks/bench_compile.py [--repeat 3]

Each measurement is a fresh Python process.  "cold" gets an empty
``NUMBA_CACHE_DIR`` (what a new install sees on its first ``cs demo``); "warm"
reuses the cache the cold run wrote (every later run).  A process does what
``cs demo`` does:

1. ``import cs`` and its solvers;
2. ``cs.threshold.warm_up(np.float64, size=100 * 100)``: compile (cold) or
   load (warm) the kernels the solve uses -- the "compiling (first run
   only)" line; numba's one-off set-up on the first compile or cache load
   (its type and lowering registries, 0.3-0.8 s) is part of it;
3. "float32": the first float32 top-k and ``hard_tau`` at the size of
   ``cs video --demo`` (72 x 96 pixels x 60 frames), as the demo's video part
   does -- anything compiled per precision would show up here;
4. the first solve: NIHT on the demo's 100 x 100 rank-3 plus sparse problem
   measured by the FJLT (delta 0.5, rho_r = rho_s = 0.1, seed 0) -- any
   compilation warm_up missed would show up here;
5. a second identical solve (the steady-state solve time, for comparison).

Wall-clock and CPU seconds are both printed: on a shared machine the wall
clock includes waiting for a core, the process CPU time much less so.
Medians over ``--repeat`` cold/warm pairs.  Targets (issue 9): compilation
under 3 s in all; warm: warm_up + first solve under 0.5 s beyond the imports.

Measured (2 shared cores, load 0.7-1.5, ``--repeat 2`` and ``3``, the old
code timed with this script in a worktree of commit 261141e, runs alternated):

=====================================  ==============  ===============
seconds (wall)                         before          after
=====================================  ==============  ===============
cold warm_up (float64)                 3.67            2.52
cold float32 (first top-k, hard_tau)   2.54            0.02
cold compilation in all                5.2 - 6.2       2.2 - 3.1 (median 2.6)
warm warm_up + first solve             0.41 - 0.44     0.40 - 0.57
warm imports (numpy, scipy, numba, cs) 0.8 - 1.1       0.9 - 1.1
=====================================  ==============  ===============

What the compilation was, and what changed (each measured cold, CPU seconds
of one process, numba 0.68): numba's cost is its front end and LLVM per
kernel *and per signature*, so the float32 half of the old cost went by
giving the kernels one signature for both precisions (the data as its bits,
int32 and int64 views, one of them empty); ``np.empty`` inside a kernel cost
0.3-0.4 s of compilation of its own, builtins such as ``min`` a compilation
each, slicing 0.6 s more than offsets into one work array; five selection
kernels (exact, sampled, radix fallback, candidates, hard_tau) became one.
``cs demo`` cold: 15.4 s -> 8.5 s in all, its video part 3.8 s -> 1.1-1.4 s
(its float32 compilation had been counted as solving).
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
t0, c0 = wall(), cpu()
x32 = np.random.default_rng(1).standard_normal(72 * 96 * 60).astype(np.float32)  # cs video --demo's size
threshold.hard(x32, x32.size // 20)
threshold.hard_tau(x32, 1.0)
mark("float32", t0, c0)
prob = ls_problem((100, 100), 0.5, 0.1, 0.1, operator="fjlt", rng=0)
for name in ("first solve", "second solve"):
    t0, c0 = wall(), cpu()
    res = niht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, tol=1e-6)
    mark(name, t0, c0)
marks["rel_err"] = (float(np.linalg.norm(res.X - prob.x) / np.linalg.norm(prob.x)), 0.0)
print(json.dumps(marks))
"""

STEPS = ("import", "warm_up", "float32", "first solve", "second solve")


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
    print(f"{'':6}" + "".join(f"{s:>20}" for s in STEPS))
    for kind, marks in runs.items():
        cells = []
        for step in STEPS:
            w = np.median([m[step][0] for m in marks])
            c = np.median([m[step][1] for m in marks])
            cells.append(f"{w:>11.2f} / {c:<6.2f}")
        print(f"{kind:6}" + "".join(cells))
    err = max(m["rel_err"][0] for ms in runs.values() for m in ms)
    print(f"largest relative error of X over the runs: {err:.1e}")
    cold_compile = np.median([m["warm_up"][0] + m["float32"][0] + m["first solve"][0] - m["second solve"][0]
                              for m in runs["cold"]])
    warm_first = np.median([m["warm_up"][0] + m["first solve"][0] for m in runs["warm"]])
    warm_import = np.median([m["import"][0] for m in runs["warm"]])
    print(f"cold: compilation (warm_up + float32 + first solve - second solve) {cold_compile:.2f} s wall")
    print(f"warm: warm_up + first solve {warm_first:.2f} s wall, after the imports' {warm_import:.2f} s")


if __name__ == "__main__":
    main()
