"""``cs dcsc sweep``: success of layered thresholding in a deep convolutional sparse model
against density, with the uniform (Papyan et al.) and average-case bounds; writes
``sweep.csv`` (each grid point as it ends; a rerun resumes), ``sweep.json`` and ``sweep.png``."""

from __future__ import annotations

import argparse

from ._common import (CLIError, Formatter, choice, finite_float, float_list, nonnegative_int, output_dir,
                      positive_int)


def _int_list(text):
    """``2`` or ``2,4,4`` (one per layer)."""
    try:
        values = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _name_list(text):
    return [p.strip() for p in text.split(",") if p.strip()]


def run(args):
    from .. import dcsc

    out = output_dir(args.out)
    for d in args.densities:
        if not 0 <= d <= 1:
            raise CLIError(f"--densities: {d} is not in [0, 1]")
    signal = args.signal_length if args.signal_length is not None else 8 * max(args.filter_length)
    model = dcsc.DCSCModel.random(signal, args.filters, args.filter_length, kind=args.kind,
                                  nnz=args.nnz, nonneg=args.signs == "positive", rng=args.seed)
    mu = model.mu()
    print(f"cs dcsc: {model.n_layers} layer(s), channels {model.channels}, filter lengths "
          f"{[s[0] for s in model.filter_shapes]}, signal length {signal}; coherence "
          + ", ".join(f"{m:.3f}" for m in mu))
    amplitude = {"pm1": "pm1", "uniform": ("uniform", 1.0, 2.0), "gaussian": ("gaussian", 0.5)}[args.amplitude]
    result = dcsc.sweep(model, args.densities, trials=args.trials, batch=args.batch, rule=args.rule,
                        thresholds=args.thresholds, amplitude=amplitude, signs=args.signs, mode=args.mode,
                        noise=args.noise, constant=args.constant, seed=args.seed, out=out,
                        progress=not args.quiet)
    png = out / "sweep.png"
    dcsc.plot_sweep(result, png, title=f"{model.n_layers} layer(s), m = {list(model.channels[1:])}, "
                    f"n = {[s[0] for s in model.filter_shapes]}, N = {signal}, {args.rule} thresholding, "
                    f"{args.trials} trials")
    print(f"{'density':>9}{'layer':>7}{'stripe':>9}{'success':>9}{'1-avg bound':>13}{'uniform ok':>12}")
    for r in result.rows:
        print(f"{r['density']:>9.4g}{str(r['layer']):>7}{r['mean_stripe']:>9.2f}{r['success']:>9.3f}"
              f"{r['avg_bound_success']:>13.3f}{r['uniform_ok']:>12.3f}")
    layers = list(range(1, model.n_layers + 1)) + (["path"] if model.n_layers > 1 else [])
    for layer in layers:
        x = result.crossing(0.5, layer=layer)
        bound = result.column("uniform_bound", layer)
        print(f"layer {layer}: 50% success at stripe sparsity {x:.2f} "
              f"(uniform bound {bound[0]:.2f} nonzeros per stripe)")
    print(f"wrote {result.path}, {out / 'sweep.json'} and {png}")
    return 0


def register(sub):
    parser = sub.add_parser("dcsc", help="deep convolutional sparse coding: layered thresholding sweeps",
                            formatter_class=Formatter, description=__doc__)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sw = actions.add_parser("sweep", help="success against density, with the bounds",
                            formatter_class=Formatter, description=__doc__)
    sw.add_argument("--out", required=True, metavar="DIR", help="folder for sweep.csv/json/png (resumes)")
    sw.add_argument("--filters", type=_int_list, default=[2], metavar="M[,M...]",
                    help="filters per layer (the number of entries sets the number of layers)")
    sw.add_argument("--filter-length", type=_int_list, default=[256], metavar="N[,N...]",
                    help="filter length per layer")
    sw.add_argument("--signal-length", type=positive_int, default=None,
                    help="signal length (default 8 x the longest filter)")
    sw.add_argument("--kind", type=_name_list, default=["gaussian"], metavar="KIND[,KIND...]",
                    help="filters per layer: gaussian, sparse_gaussian, sparse_sign")
    sw.add_argument("--nnz", type=_int_list, default=None, metavar="K[,K...]",
                    help="nonzeros per filter of the sparse kinds")
    sw.add_argument("--densities", type=float_list, default=float_list("0.001:0.02:0.001"),
                    metavar="LIST", help="top-layer densities: a,b,c or start:stop:step")
    sw.add_argument("--trials", type=positive_int, default=200)
    sw.add_argument("--batch", type=positive_int, default=200, help="trials vectorised together")
    sw.add_argument("--rule", type=choice(["hard", "soft", "relu", "topk"]), default="hard")
    sw.add_argument("--thresholds", type=choice(["oracle_mid", "theory", "oracle"]), default="oracle_mid",
                    help="|Gamma_min|/2, the midpoint of the uniform window, or (topk) the true counts")
    sw.add_argument("--amplitude", type=choice(["pm1", "uniform", "gaussian"]), default="pm1",
                    help="magnitudes 1, U[1, 2], or |N(0,1)| + 0.5")
    sw.add_argument("--signs", type=choice(["rademacher", "positive"]), default="rademacher",
                    help="positive also makes the filters non-negative (the ReLU model)")
    sw.add_argument("--mode", type=choice(["nested", "per_layer_random"]), default="nested")
    sw.add_argument("--noise", type=finite_float, default=0.0, help="noise standard deviation")
    sw.add_argument("--constant", type=finite_float, default=8.0, help="constant of the average-case bound")
    sw.add_argument("--seed", type=nonnegative_int, default=0)
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
