"""The first L+S split of NIHT and NAHT, compared by the 50 % recovery frontier.

Run:  OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/study_ls_init.py [--trials 20]
          [--confirm 80] [--out /tmp/study_ls_init.json] [--load SAVED.json]

Issue 9: where the first sparse component comes from decides part of the
recovery region.  Problems as in Tanner & Vary (ACHA 2023, Figure 1):
100 x 100, FJLT, ``delta = p/(mn) = 0.35``, ``X = L + S`` from
:func:`cs.datasets.synthetic.ls_problem`, success when
``||X_hat - X||_F / ||X||_F < 1e-2`` (the rule of ``cs.experiments.phase``'s
L+S studies).  Two lines: the diagonal ``rho_r = rho_s = rho`` and
``rho_r = 0.05`` (rank 1) with ``rho_s = rho``.  Every cell draws ``--trials``
problems from ``SeedSequence((line, 1000 rho, trial))``, and every start solves
the same problems with the same solver seed (a paired comparison).  Solver
options: ``tol=1e-6`` (relative residual), ``max_iter=300``; the stall test
(rate over 15 iterations above 0.999) ends failures early.

Starts (``start=`` of :func:`cs.solvers.niht` / :func:`cs.solvers.naht`), with
``W = A*b``:

* ``projection``: NIHT's default, the L+S projection of W (AccAltProj from its
  own initialisation to the inner tolerance 0.1: two iterations here);
* ``low_rank_first``: ``L0 = H_r(W)``, ``S0 = H_s(W - L0)`` (NAHT's default);
* ``sparse_first``: the opposite order, ``S0 = H_s(W)``, ``L0 = H_r(W - S0)``;
* ``rpca``: three AccAltProj iterations on W;
* ``projection, rescaled`` (NIHT only, through ``init=(c L0, c S0)``): the
  default start times the least-squares factor
  ``c = <b, A(X0)> / ||A(X0)||^2``.  Every split is positively homogeneous, so
  ``A*b``'s scale (``p/(mn)`` of ``X`` for the FJLT) only shrinks ``X0``; this
  row measures whether that matters.

For each solver and start the table gives the successes per cell, the 50 %
frontier (``cross``: linear interpolation where the rate first falls through
1/2; ``logit``: the 50 % point of a logistic fit,
:func:`cs.experiments.fit_transition`) and, against the solver's default on
the same trials, the trials only this start recovered (``+``) and those only
the default recovered (``-``), with the two-sided sign-test p-value.  The grid
grows by a step at either end while some start has not crossed.  Then, for
each solver and line whose leading start (by ``cross``) is not the default,
``--confirm`` fresh trials a cell (seeds after the first ``--trials``) rerun the
leader and the default on the cells around their crossings: the leader was
picked on the first trials, so only fresh ones test it without selection bias.
Raw per-trial outcomes go to ``--out`` (JSON); ``--load`` reprints (and
confirms) a saved run.

Measured (2 shared cores, load 2-4, one thread each; 20 trials a cell; main
stage 17.5 min at commit 7fa3b1d, confirmation 8.1 min at 261141e, the single
cell check 2.3 min: 28 min in all):

diagonal rho_r = rho_s (delta 0.35): successes per cell
                     rho   0.180   0.190   0.200   0.210   0.220   cross  logit    +   -      p
                  (r, s)   3/630   3/665   4/700   4/735   4/770
        niht projection*      20      20       1       0       0   0.195  0.197    0   0  1.000
    niht low_rank_first       20      20       1       0       0   0.195  0.197    1   1  1.000
      niht sparse_first       20      20       1       0       0   0.195  0.197    1   1  1.000
              niht rpca       20      20       2       0       0   0.196  0.198    2   1  1.000
niht projection, rescaled      20      20       1       0       0   0.195  0.197    1   1  1.000
    naht low_rank_first*      20      20      12       2       0   0.202  0.202    0   0  1.000
      naht sparse_first       20      20      10       1       0   0.200  0.200    4   7  0.549
              naht rpca       20      20       7       1       0   0.198  0.199    1   7  0.070
        naht projection       20      20       9       1       0   0.199  0.200    2   6  0.289

rho_r = 0.05 (rank 1), rho_s = rho (delta 0.35): successes per cell
                     rho   0.230   0.240   0.250   0.260   0.270   0.280   0.290   0.300   cross  logit    +   -      p
                  (r, s)   1/805   1/840   1/875   1/910   1/945   1/980  1/1015  1/1050
        niht projection*      20      20      18       7       1       0       0       0   0.257  0.258    0   0  1.000
    niht low_rank_first       20      20      20       9       0       0       0       0   0.259  0.260    7   4  0.549
      niht sparse_first       20      20      19       8       0       1       0       0   0.258  0.259    7   5  0.774
              niht rpca       20      20      18      12       1       0       0       0   0.262  0.260    9   4  0.267
niht projection, rescaled      20      20      18      11       1       0       0       0   0.261  0.260   10   6  0.454
    naht low_rank_first*      20      20      20      18       8       0       0       0   0.268  0.268    0   0  1.000
      naht sparse_first       20      20      20      20       8       1       0       0   0.268  0.270    5   2  0.453
              naht rpca       20      20      20      18      10       0       0       0   0.270  0.269    5   3  0.727
        naht projection       20      20      20      20       8       0       0       0   0.268  0.269    4   2  0.688

Confirmation of each solver's leader on 80 fresh trials (seeds 20..99) a cell:
    diagonal, niht    rho 0.190/0.200: projection 80/6,  rpca 80/4         +3/-5    p 0.73
    rho_r=0.05, niht  rho 0.250/0.260/0.270: projection 72/34/2, rpca 74/40/6   +28/-16  p 0.10
    rho_r=0.05, naht  rho 0.260/0.270/0.280: low_rank_first 75/37/4, rpca 75/39/3  +23/-22  p 1.00
and 200 more (seeds 100..299) at the one cell that suggested a gain, rho_r = 0.05,
rho_s = 0.26: niht projection 90, rpca 88 (+35/-37, p 0.91), by

    python -c "import sys; sys.path.insert(0, 'benchmarks'); import study_ls_init as st; \
      print(st.run_cell('rho_r=0.05', 0.26, 200, [('niht', 'projection'), ('niht', 'rpca')], first=100))"

Reading: no start reaches beyond the defaults by more than the trial noise.
The 50 % points spread over 0.195-0.196 (NIHT) and 0.198-0.202 (NAHT) on the
diagonal and 0.257-0.262 (NIHT) and 0.268-0.270 (NAHT) on rho_r = 0.05, while
one binomial standard deviation of an interpolated crossing with 20 trials a
cell is about 0.003 on rho_r = 0.05 (a rate's 0.11 against a fall of 0.85 per
0.02); and the one leader that looked better on its selection trials (NIHT
``rpca`` on rho_r = 0.05) fell back on fresh ones.  So both defaults stay:
NIHT's ``projection``, NAHT's ``low_rank_first`` (the paper's).  Rescaling
the start by the least-squares factor changes nothing beyond noise either
(the normalised first step sets the scale).  On the diagonal the integer rank
decides the frontier: every start recovers rank 3 up to rho = 0.19, and at
rho = 0.20 (rank 4, s = 700) NIHT recovers 1-2 of 20 from any start, NAHT
7-12.
"""

import argparse
import json
import os
import sys
import time
from math import comb
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cs.datasets.synthetic import ls_problem  # noqa: E402
from cs.experiments import fit_transition  # noqa: E402
from cs.metrics import relative_error  # noqa: E402
from cs.solvers import naht, niht, project_ls  # noqa: E402

SHAPE, DELTA, SUCCESS_TOL = (100, 100), 0.35, 1e-2
OPTIONS = dict(tol=1e-6, max_iter=300)
#: line -> (its id in the seeds, rho -> (rho_r, rho_s), the first grid, its step, the lowest rho allowed)
LINES = {
    "diagonal": (0, lambda rho: (rho, rho), [0.18, 0.19, 0.20, 0.21, 0.22], 0.01, 0.01),
    "rho_r=0.05": (1, lambda rho: (0.05, rho), [0.23, 0.24, 0.25, 0.26, 0.27, 0.28, 0.29, 0.30], 0.01, 0.01),
}
#: (solver, start); the first of each solver is its default
CONFIGS = [("niht", "projection"), ("niht", "low_rank_first"), ("niht", "sparse_first"), ("niht", "rpca"),
           ("niht", "projection, rescaled"),
           ("naht", "low_rank_first"), ("naht", "sparse_first"), ("naht", "rpca"), ("naht", "projection")]
DEFAULT = {"niht": "projection", "naht": "low_rank_first"}
MAX_EXTEND = 4  # grid steps added at either end at most


def solve(solver, start, prob, seed):
    rng = np.random.default_rng(seed)
    kwargs = dict(rank=prob.rank, sparsity=prob.sparsity, rng=rng, **OPTIONS)
    if solver == "naht":
        return naht(prob.A, prob.b, start=start, **kwargs)
    if start == "projection, rescaled":
        W = prob.A.adjoint(prob.b)
        split = project_ls(W, prob.rank, prob.sparsity, tol=0.1, max_iter=50, rng=rng)
        AX = prob.A.forward(split.L + split.S)
        c = float(np.vdot(prob.b, AX)) / max(float(np.vdot(AX, AX)), 1e-300)
        return niht(prob.A, prob.b, init=(c * split.L, c * split.S), **kwargs)
    return niht(prob.A, prob.b, start=start, **kwargs)


def run_cell(line, rho, trials, configs=CONFIGS, first=0):
    """Per config: the list of per-trial successes, iterations and seconds; and (r, s)."""
    line_id, params, *_ = LINES[line]
    rho_r, rho_s = params(rho)
    out = {f"{s} {t}": {"success": [], "iterations": [], "seconds": []} for s, t in configs}
    for trial in range(first, first + trials):
        problem_seed, solver_seed = np.random.SeedSequence((line_id, round(1000 * rho), trial)).spawn(2)
        prob = ls_problem(SHAPE, DELTA, rho_r, rho_s, operator="fjlt", rng=np.random.default_rng(problem_seed))
        for solver, start in configs:
            t0 = time.perf_counter()
            res = solve(solver, start, prob, solver_seed)
            rec = out[f"{solver} {start}"]
            rec["seconds"].append(time.perf_counter() - t0)
            rec["success"].append(bool(relative_error(res.X, prob.x) < SUCCESS_TOL))
            rec["iterations"].append(int(res.n_iter))
    return out, (prob.rank, prob.sparsity)


def crossing(rhos, rates):
    """rho where the success rate first falls through 1/2 (linear interpolation)."""
    for (r0, s0), (r1, s1) in zip(zip(rhos, rates), zip(rhos[1:], rates[1:])):
        if s0 >= 0.5 > s1:
            return r0 + (s0 - 0.5) / (s0 - s1) * (r1 - r0)
    return float("nan")


def sign_test(plus, minus):
    """Two-sided sign-test p-value of ``plus`` against ``minus`` discordant trials."""
    n = plus + minus
    if n == 0:
        return 1.0
    tail = sum(comb(n, k) for k in range(min(plus, minus) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def study_line(line, trials, cells):
    _, _, grid, step, low = LINES[line]
    grid = list(grid)

    def ensure(rho):
        rho = round(rho, 4)
        if rho not in cells:
            t0 = time.perf_counter()
            cells[rho] = run_cell(line, rho, trials)
            print(f"  {line} rho={rho:.3f} (r, s) = {cells[rho][1]}: {time.perf_counter() - t0:.0f} s", flush=True)
        return rho

    grid = [ensure(rho) for rho in grid]
    for _ in range(MAX_EXTEND):  # some start still above 1/2 at the top: one step further
        if not any(np.mean(cells[grid[-1]][0][f"{s} {t}"]["success"]) >= 0.5 for s, t in CONFIGS):
            break
        grid.append(ensure(grid[-1] + step))
    for _ in range(MAX_EXTEND):  # some start already below 1/2 at the bottom: one step back
        if grid[0] - step < low or all(np.mean(cells[grid[0]][0][f"{s} {t}"]["success"]) >= 0.5
                                       for s, t in CONFIGS):
            break
        grid.insert(0, ensure(grid[0] - step))
    return grid


def table(line, grid, cells, trials):
    rows = []
    print(f"\n{line}, delta {DELTA}, {trials} trials a cell: successes per cell")
    print(f"{'rho':>30} " + " ".join(f"{rho:>7.3f}" for rho in grid) + "   cross  logit    +   -      p")
    print(f"{'(r, s)':>30} " + " ".join(f"{'%d/%d' % cells[rho][1]:>7}" for rho in grid))
    for solver, start in CONFIGS:
        key = f"{solver} {start}"
        wins = [int(sum(cells[rho][0][key]["success"])) for rho in grid]
        cross = crossing(grid, [w / trials for w in wins])
        logit = fit_transition(grid, [trials] * len(grid), wins).x50
        base = f"{solver} {DEFAULT[solver]}"
        plus, minus = paired(cells, grid, key, base)
        mark = "*" if start == DEFAULT[solver] else " "
        print(f"{key + mark:>30} " + " ".join(f"{w:>7d}" for w in wins)
              + f"  {cross:6.3f} {logit:6.3f} {plus:4d}{minus:4d} {sign_test(plus, minus):6.3f}")
        rows.append(dict(solver=solver, start=start, rho=grid, successes=wins, trials=trials, cross=cross,
                         logit=logit, plus=plus, minus=minus, p=sign_test(plus, minus)))
    return rows


def paired(cells, grid, key, base):
    """(trials only ``key`` recovered, trials only ``base`` recovered) over the cells ``grid``."""
    pairs = [(a, d) for rho in grid for a, d in zip(cells[rho][0][key]["success"], cells[rho][0][base]["success"])]
    return sum(a and not d for a, d in pairs), sum(d and not a for a, d in pairs)


def bracket(row, trials):
    """The two cells around the first fall of a table row's successes through half the trials."""
    wins, rhos = row["successes"], row["rho"]
    for i in range(len(wins) - 1):
        if wins[i] >= trials / 2 > wins[i + 1]:
            return [rhos[i], rhos[i + 1]]
    return []


def confirm(line, rows, trials, extra):
    """Fresh trials (``trials`` .. ``trials + extra - 1``) for each solver whose leading start
    crossed later than its default, on the cells around the two crossings.  The leader was
    picked on the first trials, so only the fresh ones test it without selection bias."""
    found = []
    for solver in DEFAULT:
        mine = {r["start"]: r for r in rows if r["solver"] == solver}
        base = mine[DEFAULT[solver]]
        keyword = [r for r in mine.values() if r["start"] != "projection, rescaled"]  # start= values only
        lead = max(keyword, key=lambda r: (np.nan_to_num(r["cross"], nan=-1), r["logit"]))
        if lead is base:
            continue
        near = sorted(set(bracket(base, trials)) | set(bracket(lead, trials)))
        configs = [(solver, DEFAULT[solver]), (solver, lead["start"])]
        cells = {}
        for rho in near:
            t0 = time.perf_counter()
            cells[rho] = run_cell(line, rho, extra, configs, first=trials)
            print(f"  confirm {line} rho={rho:.3f}: {time.perf_counter() - t0:.0f} s", flush=True)
        keys = [f"{s} {t}" for s, t in configs]
        plus, minus = paired(cells, near, keys[1], keys[0])
        counts = {k: [int(sum(cells[rho][0][k]["success"])) for rho in near] for k in keys}
        found.append(dict(line=line, solver=solver, start=lead["start"], rho=near, trials=extra, first=trials,
                          successes=counts, plus=plus, minus=minus, p=sign_test(plus, minus), cells={
                              f"{rho:.3f}": cells[rho][0] for rho in near}))
    return found


def print_confirmed(found):
    for f in found:
        print(f"\nconfirmation, {f['line']}, {f['solver']}: {f['trials']} fresh trials "
              f"(seeds {f['first']}..{f['first'] + f['trials'] - 1}) a cell")
        print(f"{'rho':>30} " + " ".join(f"{rho:>7.3f}" for rho in f["rho"]) + "    +   -      p")
        for k, wins in f["successes"].items():
            tail = f" {f['plus']:4d}{f['minus']:4d} {f['p']:6.3f}" if not k.endswith(DEFAULT[f["solver"]]) else ""
            print(f"{k:>30} " + " ".join(f"{w:>7d}" for w in wins) + "  " + tail)


def load(path):
    """The cells of a saved run: ``{line: (grid, {rho: (configs, (r, s))})}``."""
    with open(path) as f:
        saved = json.load(f)
    out = {}
    for line, data in saved["lines"].items():
        cells = {float(rho): (c["configs"], (c["rank"], c["sparsity"])) for rho, c in data["cells"].items()}
        out[line] = (sorted(cells), cells)
    return saved, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--out", default="/tmp/study_ls_init.json")
    parser.add_argument("--confirm", type=int, default=80,
                        help="fresh trials a cell for a start that crossed later than the default (0: none)")
    parser.add_argument("--load", help="print the table of a saved run (its --out) instead of solving")
    args = parser.parse_args()
    start = time.perf_counter()
    report = {"shape": SHAPE, "delta": DELTA, "success_tol": SUCCESS_TOL, "options": OPTIONS,
              "trials": args.trials, "lines": {}}
    tables = []
    if args.load:
        saved, loaded = load(args.load)
        report.update(trials=saved["trials"], lines={k: {"cells": v["cells"]} for k, v in saved["lines"].items()})
        args.trials = saved["trials"]
        tables = [(line, grid, cells) for line, (grid, cells) in loaded.items()]
    for line in LINES if not args.load else ():
        cells = {}
        grid = study_line(line, args.trials, cells)
        tables.append((line, grid, cells))
        report["lines"][line] = {"cells": {f"{rho:.3f}": {"rank": cells[rho][1][0], "sparsity": cells[rho][1][1],
                                                          "configs": cells[rho][0]} for rho in grid}}
        with open(args.out, "w") as f:  # after every line: an interrupted run keeps what it finished
            json.dump(report, f)
    found = []
    for line, grid, cells in tables:
        report["lines"][line]["frontiers"] = rows = table(line, grid, cells, args.trials)
        if args.confirm:
            found += confirm(line, rows, args.trials, args.confirm)
    report["confirmation"] = found
    print_confirmed(found)
    seconds = time.perf_counter() - start
    report["seconds"] = seconds
    with open(args.out, "w") as f:
        json.dump(report, f)
    print(f"\n* the solver's default; + / -: trials only this start / only the default recovered "
          f"(p: two-sided sign test).  Total {seconds / 60:.1f} min; raw counts in {args.out}")


if __name__ == "__main__":
    main()
