"""``cs ric``: estimate restricted isometry constants (certified lower bounds)."""

from __future__ import annotations

from ._common import CLIError, Formatter, choice, fraction, nonnegative_int, output_file, positive_int

#: The operator names of cs.datasets.synthetic.OPERATORS (listed here so that
#: building the parser imports nothing heavy; a test keeps the two equal).
OPERATOR_NAMES = ("dct", "entries", "expander", "fjlt", "fjlt2d", "gaussian", "rademacher")


def run(args):
    import math
    import time

    from .. import ric
    from ..datasets.synthetic import OPERATORS

    shape = tuple(args.shape)
    if len(shape) not in (1, 2):
        raise CLIError(f"--shape takes N (vectors) or M N (matrices), got {len(shape)} numbers")
    size = math.prod(shape)
    factory = OPERATORS[args.operator]
    if args.sparsity is None and args.rank is None:
        raise CLIError("give --sparsity, --rank or both to choose the set")
    if args.sparsity is not None and args.sparsity > size:
        raise CLIError(f"--sparsity {args.sparsity} exceeds the {size} entries of the unknown")
    if args.rank is not None and (len(shape) != 2 or args.rank > min(shape)):
        raise CLIError(f"--rank {args.rank} needs --shape M N with min(M, N) >= {args.rank}")
    plot = None if args.plot is None else output_file(args.plot, "--plot")
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
    if plot is not None:
        from ..plotting import plot_ric

        deltas = sorted(set(args.plot_deltas) | {args.delta})
        results = [res if d == args.delta else estimate(d, not args.no_progress) for d in deltas]
        found = [bounds(r) for r in results]
        both = None if any(b is None for b in found) else ([b.L for b in found], [b.U for b in found])
        fig = plot_ric(deltas, results, bounds=both, title=f"RICs of {what} unknowns, {args.operator}")
        fig.savefig(plot, dpi=120)
        print(f"wrote {plot}")
    return 0


def register(sub):
    ric = sub.add_parser("ric", help="estimate restricted isometry constants (certified lower bounds)",
                         formatter_class=Formatter)
    ric.add_argument("--operator", default="gaussian", type=choice(OPERATOR_NAMES),
                     help=", ".join(OPERATOR_NAMES))
    ric.add_argument("--shape", type=positive_int, nargs="+", default=(100,), metavar="N",
                     help="N for vectors, M N for matrices")
    ric.add_argument("--delta", type=fraction, default=0.5, help="p / (number of entries)")
    ric.add_argument("--sparsity", type=nonnegative_int, help="k (sparse vectors) or s (sparse part of L + S)")
    ric.add_argument("--rank", type=nonnegative_int, help="r (low-rank part)")
    ric.add_argument("--starts", type=positive_int, default=4, help="local searches per side")
    ric.add_argument("--samples", type=positive_int, default=200, help="random supports screened (sparse)")
    ric.add_argument("--iters", type=positive_int, default=50, help="ascent/descent iterations (matrices)")
    ric.add_argument("--seed", type=nonnegative_int, default=0)
    ric.add_argument("--plot", metavar="PNG",
                     help="also plot the estimates against delta here (the set kept fixed)")
    ric.add_argument("--plot-deltas", type=fraction, nargs="+", default=(0.25, 0.5, 0.75),
                     metavar="DELTA", help="the deltas of the plot")
    ric.add_argument("--no-progress", action="store_true", help="no progress bar")
    ric.set_defaults(func=run)
