"""The ``cs`` command.

``cs demo``   recover a synthetic low-rank plus sparse matrix from compressive
              measurements and report how well it was recovered.
``cs ric``    estimate restricted isometry constants (see ``cs ric --help``).
"""

from __future__ import annotations

import argparse
import sys


def _demo(args):
    from . import metrics
    from .datasets.synthetic import ls_problem
    from .solvers import naht, niht

    m, n = args.shape
    prob = ls_problem((m, n), args.delta, args.rho_r, args.rho_s, operator=args.operator, rng=args.seed)
    print(f"cs demo: a {m} x {n} matrix X = L + S of rank {prob.rank} plus {prob.sparsity} sparse "
          f"entries,\n         measured by {prob.A.n_measurements} {args.operator} measurements "
          f"(delta = {args.delta}, rho_r = {args.rho_r}, rho_s = {args.rho_s}, seed {args.seed})")
    truth = dict(X_true=prob.x, L_true=prob.L, S_true=prob.S)
    solvers = {
        "NIHT (AccAltProj)": lambda: niht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity,
                                          tol=args.tol, **truth),
        "NIHT (GoDec)": lambda: niht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity,
                                     projection="godec", tol=args.tol, **truth),
        "NAHT": lambda: naht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, tol=args.tol, **truth),
    }
    ok = True
    results = {}
    print(f"{'solver':<20}{'iters':>7}{'time [s]':>10}{'rel err X':>12}{'rel err L':>12}"
          f"{'rel err S':>12}  stopped because")
    for name, run in solvers.items():
        res = results[name] = run()
        errs = [metrics.relative_error(est, true) for est, true in
                ((res.X, prob.x), (res.L, prob.L), (res.S, prob.S))]
        ok &= errs[0] < 1e-3
        print(f"{name:<20}{res.n_iter:>7}{res.history['time'][-1]:>10.2f}"
              + "".join(f"{e:>12.2e}" for e in errs) + f"  {res.reason}")
    print("recovered" if ok else "NOT recovered", "(success rule: relative error of X below 1e-3)")
    if args.plot:
        from .plotting import plot_convergence

        fig = plot_convergence(results, key="error_X")
        fig.axes[0].set_title(f"{m} x {n}, rank {prob.rank} + {prob.sparsity} sparse, "
                              f"{prob.A.n_measurements} {args.operator} measurements")
        fig.savefig(args.plot, dpi=120)
        print(f"wrote {args.plot}: relative error of X against time")
    return 0 if ok else 1


def _ric(args):
    import math
    import time

    from . import ric
    from .datasets.synthetic import OPERATORS

    shape = tuple(args.shape)
    size = math.prod(shape)
    factory = OPERATORS.get(args.operator)
    try:
        if factory is None:
            raise ValueError(f"--operator must be one of {sorted(OPERATORS)}, got {args.operator!r}")
        if len(shape) not in (1, 2):
            raise ValueError(f"--shape takes N (vectors) or M N (matrices), got {len(shape)} numbers")
        sparse = args.rank is None
        options = (dict(n_samples=args.samples, n_starts=args.starts) if sparse else
                   dict(n_starts=args.starts, max_iter=args.iters))

        def estimate(delta, progress):
            p = max(1, round(delta * size))
            A = factory(p, shape, rng=args.seed)
            return ric.ric(A, sparsity=args.sparsity, rank=args.rank, rng=args.seed,
                           progress=progress, **options)

        def bounds(res):
            # the BCT bounds hold for Gaussian matrices on sparse vectors, with k <= p
            k, p = res.params.get("k"), res.params["p"]
            if args.operator != "gaussian" or k is None or k > p:
                return None
            return ric.bct_bounds(p / size, k / p)

        start = time.perf_counter()
        res = estimate(args.delta, not args.no_progress)
        what = (f"{args.sparsity}-sparse" if sparse else
                f"rank-{args.rank}" + (f" plus {args.sparsity}-sparse" if args.sparsity else ""))
        print(f"cs ric: {what} {' x '.join(map(str, shape))} unknowns, {res.params['p']} "
              f"{args.operator} measurements (delta = {args.delta}, seed {args.seed})")
        print(f"  lower RIC  L >= {res.lower:.6f}")
        print(f"  upper RIC  U >= {res.upper:.6f}")
        print(f"  symmetric  delta = max(L, U) >= {res.delta:.6f}")
        print(f"  each attained by an explicit element ({res.n_evaluations} evaluations, "
              f"{time.perf_counter() - start:.1f} s)")
        bound = bounds(res)
        if bound is not None:
            print(f"  Gaussian asymptotic bounds (Blanchard-Cartis-Tanner): L <= {bound.L:.6f}, "
                  f"U <= {bound.U:.6f}")
        if args.plot:
            from .plotting import plot_ric

            deltas = sorted(set(args.plot_deltas) | {args.delta})
            results = [res if d == args.delta else estimate(d, not args.no_progress) for d in deltas]
            found = [bounds(r) for r in results]
            both = None if any(b is None for b in found) else ([b.L for b in found], [b.U for b in found])
            fig = plot_ric(deltas, results, bounds=both, title=f"RICs of {what} unknowns, {args.operator}")
            fig.savefig(args.plot, dpi=120)
            print(f"wrote {args.plot}")
    except (ValueError, TypeError) as err:
        print(f"cs ric: error: {err}", file=sys.stderr)
        return 2
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="cs", description="Compressed sensing and sparse recovery.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="recover a synthetic low-rank plus sparse matrix",
                          formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    demo.add_argument("--shape", type=int, nargs=2, default=(100, 100), metavar=("M", "N"))
    demo.add_argument("--delta", type=float, default=0.5, help="p / (m n)")
    demo.add_argument("--rho-r", type=float, default=0.1, help="r (m + n - r) / p")
    demo.add_argument("--rho-s", type=float, default=0.1, help="s / p")
    demo.add_argument("--operator", default="fjlt", help="gaussian, fjlt, dct, entries, ...")
    demo.add_argument("--tol", type=float, default=1e-6, help="relative residual to stop at")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--plot", metavar="PNG", default="cs-demo.png",
                      help="where to save the convergence plot ('' for none)")
    demo.set_defaults(func=_demo)

    # --- further sub-commands register below ---
    ric = sub.add_parser("ric", help="estimate restricted isometry constants (certified lower bounds)",
                         formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ric.add_argument("--operator", default="gaussian", help="gaussian, rademacher, fjlt, dct, ...")
    ric.add_argument("--shape", type=int, nargs="+", default=(100,), metavar="N",
                     help="N for vectors, M N for matrices")
    ric.add_argument("--delta", type=float, default=0.5, help="p / (number of entries)")
    ric.add_argument("--sparsity", type=int, help="k (sparse vectors) or s (sparse part of L + S)")
    ric.add_argument("--rank", type=int, help="r (low-rank part)")
    ric.add_argument("--starts", type=int, default=4, help="local searches per side")
    ric.add_argument("--samples", type=int, default=200, help="random supports screened (sparse)")
    ric.add_argument("--iters", type=int, default=50, help="ascent/descent iterations (matrices)")
    ric.add_argument("--seed", type=int, default=0)
    ric.add_argument("--plot", metavar="PNG",
                     help="also plot the estimates against delta here (the set kept fixed)")
    ric.add_argument("--plot-deltas", type=float, nargs="+", default=(0.25, 0.5, 0.75),
                     metavar="DELTA", help="the deltas of the plot")
    ric.add_argument("--no-progress", action="store_true", help="no progress bar")
    ric.set_defaults(func=_ric)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
