"""Phase diagram of the convex L+S relaxation beside NIHT, on the same problems.

For a fixed delta = p/(mn), every cell of a (rho_r, rho_s) grid draws
``--trials`` low-rank plus sparse matrices with
``ls_problem((n, n), delta, rho_r, rho_s, operator="fjlt")``, measures them,
and recovers each one twice: by the convex program
min ||L||_* + lam ||S||_1 s.t. A(L + S) = b (matrix-free ADMM,
lam = sqrt(r/s), Tanner & Vary 2023) and by L+S NIHT told the rank and the
sparsity.  A trial succeeds when the relative error of X is below 1e-3
(``cs.metrics.is_success``).  Both solvers see the same problem: its seed
is ``SeedSequence([seed, i, j, trial])`` for cell (i, j).  Saves two panels
of success fractions (convex left, NIHT right) as a PNG.

Reduced grid (30 x 30, a 6 x 6 grid of rho in [0.05, 0.5], 3 trials; under a
minute on 2 cores)::

    python examples/convex_phase.py convex_phase.png

The full grid, at the scale of Tanner & Vary's experiments (100 x 100,
delta = 0.5, a 20 x 20 grid of rho in [0.025, 0.5], 10 trials per cell;
hours)::

    python examples/convex_phase.py convex_phase_full.png --size 100 --delta 0.5 \\
        --rho-min 0.025 --rho-max 0.5 --points 20 --trials 10

If ``cs.solvers.niht`` is not available the convex panel is drawn alone.
"""

import argparse
import os
import time

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402

from cs.datasets.synthetic import ls_problem  # noqa: E402
from cs.metrics import is_success  # noqa: E402
from cs.solvers.convex import convex  # noqa: E402


def solvers(tol):
    """The solvers to compare, by name: ``f(problem) -> estimate of X``."""
    runs = {"convex (ADMM)": lambda prob: convex(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity,
                                                 method="admm", tol=tol, rng=0).X}
    try:
        from cs.solvers import niht
    except ImportError:
        print("cs.solvers.niht is not available: drawing the convex panel only")
        return runs
    runs["NIHT"] = lambda prob: niht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity).X
    return runs


def phase_grid(size, delta, rhos, trials, seed, runs):
    """Success fractions, shape (len(runs), len(rhos) [rho_s], len(rhos) [rho_r])."""
    success = np.zeros((len(runs), len(rhos), len(rhos)))
    for i, rho_s in enumerate(rhos):
        for j, rho_r in enumerate(rhos):
            for trial in range(trials):
                rng = np.random.default_rng(np.random.SeedSequence([seed, i, j, trial]))
                prob = ls_problem((size, size), delta, rho_r, rho_s, operator="fjlt", rng=rng)
                for k, run in enumerate(runs.values()):
                    success[k, i, j] += is_success(run(prob), prob.x) / trials
        print(f"  rho_s = {rho_s:.3f}: " + "  ".join(
            f"{name} {' '.join(f'{v:.1f}' for v in success[k, i])}" for k, name in enumerate(runs)))
    return success


def plot(success, rhos, names, title, path):
    from matplotlib.figure import Figure

    from cs.plotting import plot_phase

    fig = Figure(figsize=(5.0 * len(names), 4.2), layout="constrained")
    for k, (frac, name) in enumerate(zip(success, names)):
        ax = fig.add_subplot(1, len(names), k + 1)
        plot_phase(rhos, rhos, frac, ax=ax)
        ax.set_title(name)
        ax.set_xlabel(r"$\rho_r = r(m+n-r)/p$")
        ax.set_ylabel(r"$\rho_s = s/p$")
    fig.suptitle(title)
    fig.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="where to save the PNG")
    parser.add_argument("--size", type=int, default=30, help="n for n x n matrices")
    parser.add_argument("--delta", type=float, default=0.5, help="p / (mn)")
    parser.add_argument("--rho-min", type=float, default=0.05)
    parser.add_argument("--rho-max", type=float, default=0.5)
    parser.add_argument("--points", type=int, default=6, help="grid points per axis")
    parser.add_argument("--trials", type=int, default=3, help="problems per cell")
    parser.add_argument("--seed", type=int, default=0, help="study seed")
    parser.add_argument("--tol", type=float, default=1e-6, help="ADMM KKT tolerance")
    args = parser.parse_args(argv)

    rhos = np.linspace(args.rho_min, args.rho_max, args.points)
    runs = solvers(args.tol)
    print(f"{args.size} x {args.size}, delta = {args.delta}, {args.points} x {args.points} grid, "
          f"{args.trials} trials per cell; success fractions along rho_r = {np.round(rhos, 3)}")
    start = time.perf_counter()
    success = phase_grid(args.size, args.delta, rhos, args.trials, args.seed, runs)
    title = (f"{args.size} x {args.size}, $\\delta$ = {args.delta}, FJLT, {args.trials} trials per cell")
    plot(success, rhos, list(runs), title, args.output)
    print(f"wrote {args.output} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
