"""``cs phase``: phase-transition studies -- run (resumable), status, plot, export, curve.

::

    cs phase run STORE --preset blanchard-tanner [--trials 3] [--workers N | --scheduler ADDRESS]
    cs phase run STORE --problem sparse --solver l1 --operator gaussian --n 400 \\
                       --deltas 0.1:0.9:0.1 --rhos 0.05:0.6:0.05 --trials 20 --values sign
    cs phase run STORE --problem ls --solver niht --operator fjlt --shape 100x100 \\
                       --deltas 0.02:1:0.05 --rho-r 0.1:0.9:0.1 --rho-s 0.1:0.9:0.1 --trials 20
    cs phase run STORE                 # resume the study the store holds
    cs phase status STORE
    cs phase plot STORE [STORE ...] --out fig.png
    cs phase export STORE --csv cells.csv
    cs phase curve STORE --csv curve.csv

``--preset`` takes a built-in name or a TOML file with the fields of
:class:`cs.experiments.Study`; flags given with it override its fields.
``--solver`` takes the solver's options after a colon:
``niht:tol=1e-4,max_iter=500``.  LIST is ``0.1,0.2`` or ``start:stop:step``.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from ._common import (CLIError, Formatter, choice, float_list, output_file, positive_int, shape)

_DEFINITION_FLAGS = ("problem", "solver", "operator", "n", "shape", "deltas", "rhos", "rho_r", "rho_s",
                     "trials", "values", "success")


def _solver_spec(text):
    """``NAME`` or ``NAME:key=value,...`` -> (name, options); values parsed as JSON when they can be."""
    name, _, rest = text.partition(":")
    options = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise CLIError(f"--solver {text!r}: expected NAME:key=value,..., got {item!r}")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value.strip()
    return name.strip(), options


def _study(args):
    from ..experiments import PRESETS, Study, preset
    from ..experiments.store import Store

    given = {name: getattr(args, name) for name in _DEFINITION_FLAGS if getattr(args, name) is not None}
    if args.n is not None and args.shape is not None:
        raise CLIError("give --n N or --shape MxN, not both")
    fields = {}
    for name, value in given.items():
        if name in ("n", "shape"):
            fields["shape"] = (value,) if name == "n" else tuple(value)
        elif name == "solver":
            fields["solver"], options = _solver_spec(value)
            if options or args.preset is None:
                fields["options"] = options
        else:
            fields[name] = value
    if args.preset is not None:
        if args.preset in PRESETS:
            return preset(args.preset, **fields)
        path = Path(args.preset)
        if path.suffix != ".toml":
            raise CLIError(f"--preset {args.preset!r} is neither a built-in preset "
                           f"({', '.join(sorted(PRESETS))}) nor a .toml file")
        if not path.is_file():
            raise CLIError(f"--preset {args.preset}: no such file")
        base = Study.from_toml(path).to_dict()
        base.update(fields)
        return Study.from_dict(base)
    if not fields:
        if not Path(args.store).exists():
            raise CLIError(f"{args.store} does not exist: declare a study (--preset NAME or "
                           f"--problem ... --solver ... --deltas ...) to start one")
        with Store(args.store, readonly=True) as store:
            return Study.from_dict(store.definition)
    missing = [flag for flag, ok in (("--problem", "problem" in fields), ("--n or --shape", "shape" in fields),
                                     ("--deltas", "deltas" in fields)) if not ok]
    if missing:
        raise CLIError(f"a new study needs {', '.join(missing)} (or --preset NAME)")
    return Study(**fields)


def _run(args):
    from ..experiments import run_study

    from ..experiments.store import Store

    study = _study(args)
    Store(args.store, study.to_dict()).close()  # refuse a bad or foreign store before any compute
    if args.scheduler is not None:
        try:
            import distributed  # noqa: F401 (checked before any compute)
        except ImportError:
            raise CLIError("--scheduler needs the Dask extra: pip install 'cs[distributed]'") from None
    cells = len(study.cells())
    print(f"cs phase: {study.problem} {'x'.join(map(str, study.shape))}, {study.operator}, "
          f"solver {study.solver} {json.dumps(study.options)}, success {study.success}, "
          f"{cells} cells x {study.trials} trials, schedule {study.schedule} -> {args.store}")
    summary = run_study(study, args.store, workers=args.workers, scheduler=args.scheduler)
    print(f"cs phase: {summary.trials_done} trials stored; "
          f"{sum(c.status == 'assumed' for c in summary.cells)} cells settled by the schedule")
    return 0


def _open(path):
    from ..experiments.store import Store

    return Store(path, readonly=True)


def _status(args):
    from collections import Counter

    from ..experiments import summarise

    with _open(args.store) as store:
        summary = summarise(store)
        hosts = store.conn.execute("SELECT host, version, COUNT(*) FROM trials GROUP BY host, version").fetchall()
        seconds = store.conn.execute("SELECT SUM(seconds) FROM trials").fetchone()[0] or 0.0
    st = summary.study
    counts = Counter(c.status for c in summary.cells)
    grid = (f"{len(st.deltas)} deltas x {len(st.rhos)} rhos" if st.problem != "ls"
            else f"{len(st.deltas)} deltas x {len(st.cells()) // len(st.deltas)} (rho_r, rho_s) pairs")
    successes = sum(c.successes for c in summary.cells if c.status != "assumed")
    print(f"store     {args.store}")
    print(f"study     {st.problem} {'x'.join(map(str, st.shape))}, operator {st.operator}, values {st.values}, "
          f"solver {st.solver} {json.dumps(st.options)}, success {st.success}, schedule {st.schedule}")
    print(f"grid      {grid} = {len(summary.cells)} cells, {st.trials} trials each; hash {st.hash[:16]}")
    print(f"trials    {summary.trials_done} stored"
          + (f" of {summary.trials_total}" if summary.trials_total else "")
          + f", {successes} successful, {seconds:.1f} s of solver time")
    print("cells     " + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("measured", "partial", "pending", "assumed")))
    for host, version, n in hosts:
        print(f"ran on    {host} (cs {version}): {n} trials")
    print(f"complete  {'yes' if summary.complete else 'no'}")
    return 0


def _fmt(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows([[_fmt(v) for v in row] for row in rows])


def _export(args):
    from ..experiments import summarise

    out = output_file(args.csv, "--csv")
    with _open(args.store) as store:
        summary = summarise(store)
    ls = summary.study.problem == "ls"
    head = ["delta"] + (["rho_r", "rho_s"] if ls else ["rho"]) + [
        "trials", "successes", "success_rate", "median_iterations", "median_seconds", "status"]
    rows = [[c.delta] + ([c.rho_r, c.rho_s] if ls else [c.rho]) + [
        c.trials, c.successes, c.success_rate, c.median_iterations, c.median_seconds, c.status]
        for c in summary.cells]
    _write_csv(out, head, rows)
    print(f"wrote {out}: {len(rows)} cells")
    return 0


def _curve(args):
    from ..experiments import summarise, transition_curve

    out = output_file(args.csv, "--csv")
    with _open(args.store) as store:
        curve = transition_curve(summarise(store))
    head = list(curve[0]) if curve else ["delta", "rho_50", "intercept", "slope", "cells", "trials"]
    _write_csv(out, head, [[row[k] for k in head] for row in curve])
    print("  ".join(f"{h:>10}" for h in head))
    for row in curve:
        print("  ".join(f"{_fmt(row[h]):>10}" for h in head))
    print(f"wrote {out}: {len(curve)} rows")
    return 0


def _plot(args):
    from ..experiments import summarise
    from ..plotting import plot_ls_plane, plot_phase_curves, plot_phase_study

    out = output_file(args.out, "--out")
    summaries = []
    for path in args.stores:
        with _open(path) as store:
            summaries.append(summarise(store))
    problems = {s.study.problem for s in summaries}
    if len(summaries) == 1:
        s = summaries[0]
        fig = plot_ls_plane(s) if s.study.problem == "ls" else plot_phase_study(s)
    elif "ls" in problems:
        raise CLIError("several stores go on one figure of 50% curves: give sparse or low-rank studies "
                       "(plot an ls store on its own)")
    elif len(problems) > 1:
        raise CLIError(f"the stores mix problem families {sorted(problems)}; give one family")
    else:
        fig = plot_phase_curves(summaries)
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")
    return 0


def run(args):
    return {"run": _run, "status": _status, "plot": _plot, "export": _export, "curve": _curve}[args.action](args)


def register(sub):
    from ..experiments.phase import PROBLEMS

    phase = sub.add_parser("phase", help="phase-transition studies (run, status, plot, export, curve)",
                           description=__doc__, formatter_class=Formatter)
    actions = phase.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = actions.add_parser("run", help="run or resume a study", formatter_class=Formatter)
    p.add_argument("store", metavar="STORE", help="the SQLite results file (created or resumed)")
    p.add_argument("--preset", metavar="NAME", help="blanchard-tanner, tanner-vary-fig1, or a .toml file")
    p.add_argument("--problem", type=choice(PROBLEMS), help="sparse, low_rank or ls")
    p.add_argument("--solver", help="niht, naht, sparcs, convex, l1, iht, htp, cosamp, omp "
                                    "(options after a colon: niht:tol=1e-4,max_iter=500)")
    p.add_argument("--operator", help="gaussian, rademacher, fjlt, dct, entries, expander")
    p.add_argument("--n", type=positive_int, help="length of sparse vectors")
    p.add_argument("--shape", type=shape, help="MxN for matrices")
    p.add_argument("--deltas", type=float_list, metavar="LIST", help="p/N values")
    p.add_argument("--rhos", type=float_list, metavar="LIST", help="k/p (sparse) or r(m+n-r)/p (low_rank)")
    p.add_argument("--rho-r", type=float_list, metavar="LIST", help="r(m+n-r)/p (ls)")
    p.add_argument("--rho-s", type=float_list, metavar="LIST", help="s/p (ls)")
    p.add_argument("--trials", type=positive_int, help="trials per cell")
    p.add_argument("--values", help="nonzeros of sparse vectors: gaussian or sign")
    p.add_argument("--success", metavar="RULE", help="rel_l2:TOL or rel_linf:TOL")
    p.add_argument("--workers", type=positive_int, help="processes (default: all cores)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on this Dask scheduler instead")

    for name, helptext in (("status", "what a store holds and how far it got"),):
        q = actions.add_parser(name, help=helptext, formatter_class=Formatter)
        q.add_argument("store", metavar="STORE")
    q = actions.add_parser("plot", help="success-rate image with its 50%% curve, or several stores' curves",
                           formatter_class=Formatter)
    q.add_argument("stores", metavar="STORE", nargs="+")
    q.add_argument("--out", required=True, metavar="PNG")
    q = actions.add_parser("export", help="one CSV row per cell", formatter_class=Formatter)
    q.add_argument("store", metavar="STORE")
    q.add_argument("--csv", required=True, metavar="OUT")
    q = actions.add_parser("curve", help="the 50%% curve (logistic fit per delta) as CSV",
                           formatter_class=Formatter)
    q.add_argument("store", metavar="STORE")
    q.add_argument("--csv", required=True, metavar="OUT")
    phase.set_defaults(func=run)
