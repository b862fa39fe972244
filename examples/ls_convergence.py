"""Relative error against time for NIHT(AccAltProj), NIHT(GoDec) and NAHT.

The experiment of Tanner & Vary (ACHA 2023), Figure 2: a 100 x 100 matrix of
rank r plus s sparse entries with delta = p/(mn) = 0.5 and
rho_r = rho_s = 0.1, measured by the FJLT (or a Gaussian operator), recovered
by the three non-convex algorithms.  Saves the figure as a PNG.

Run:  python examples/ls_convergence.py [--operator gaussian] [--out ls_convergence.png]
"""

import argparse

from cs.datasets.synthetic import ls_problem
from cs.plotting import plot_convergence
from cs.solvers import naht, niht


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operator", default="fjlt")
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="ls_convergence.png")
    args = parser.parse_args(argv)

    prob = ls_problem((args.size, args.size), 0.5, 0.1, 0.1, operator=args.operator, rng=args.seed)
    truth = dict(X_true=prob.x, L_true=prob.L, S_true=prob.S)
    r, s = prob.rank, prob.sparsity
    results = {
        "NIHT (AccAltProj)": niht(prob.A, prob.b, rank=r, sparsity=s, **truth),
        "NIHT (GoDec)": niht(prob.A, prob.b, rank=r, sparsity=s, projection="godec", **truth),
        "NAHT": naht(prob.A, prob.b, rank=r, sparsity=s, **truth),
    }
    for name, res in results.items():
        print(f"{name:<18} {res.n_iter:4d} iterations  {res.history['time'][-1]:6.2f} s  "
              f"error {res.history['error_X'][-1]:.1e}  ({res.reason})")
    fig = plot_convergence(results, key="error_X")
    fig.axes[0].set_title(f"{args.size} x {args.size}, rank {r} + {s} sparse, "
                          f"p = {prob.A.n_measurements} ({args.operator})")
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
