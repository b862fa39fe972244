"""``cs demo``: recover a synthetic low-rank plus sparse matrix from compressive
measurements, report how well each solver did, and save the convergence picture;
then separate the background and foreground of the built-in video scene from a
third of its measurements (``cs video --demo``) and say where the pictures are."""

from __future__ import annotations

import time

import numpy as np

from ._common import Formatter, finite_float, fraction, nonnegative_int, positive_int, unit_interval

def _numba_compilations():
    """How many kernel signatures of the package numba has compiled (not loaded
    from its on-disk cache) in this process so far."""
    import sys

    try:
        from numba.core.dispatcher import Dispatcher
    except ImportError:  # pragma: no cover - numba is a dependency
        return 0
    count = 0
    for name, module in list(sys.modules.items()):
        if name == "cs" or name.startswith("cs."):
            for value in list(vars(module).values()):
                if isinstance(value, Dispatcher):
                    count += len(value.overloads) - sum(value.stats.cache_hits.values())
    return count


def _warm_up(operator):
    """Run every code path of the demo once on a tiny problem, so that numba's
    compilation is not counted in the solvers' times."""
    from ..datasets.synthetic import ls_problem
    from ..datasets.video import scene
    from ..solvers import naht, niht
    from ..video import separate

    prob = ls_problem((12, 12), 0.6, 0.1, 0.1, operator=operator, rng=0)
    for projection in ("accaltproj", "godec"):
        niht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, projection=projection, max_iter=3)
    naht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, max_iter=3)
    separate(scene((16, 16), 8, rng=0).frames, delta=0.6, sparsity=0.05, max_iter=3, rng=0)


def _video_demo(out):
    """``cs video --demo --out OUT --quiet``; returns its exit code."""
    import argparse

    from . import video

    parser = argparse.ArgumentParser(prog="cs")
    video.register(parser.add_subparsers())
    return video.run(parser.parse_args(["video", "--demo", "--out", out, "--quiet"]))


def run(args):
    from .. import metrics
    from ..datasets.synthetic import ls_problem
    from ..solvers import naht, niht

    # numba compiles the kernels on first use and caches them on disk: do it before
    # the solves, so that their times below are the solvers' alone
    from numba.core.event import install_timer

    from .. import threshold

    before = _numba_compilations()
    compiling = [threshold.warm_up(np.float64, size=args.shape[0] * args.shape[1])]  # float32's too
    if _numba_compilations() > before:
        # a cold cache: every other code path of the demo on a tiny problem, counting only
        # what numba compiles there, not the tiny solves (a warm cache skips this: nothing
        # to compile, and the first result comes 0.5-1 s sooner)
        with install_timer("numba:compile", compiling.append):
            _warm_up(args.operator)
        print(f"compiling (first run only): {sum(compiling):.1f} s")
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
        from ..plotting import plot_convergence

        fig = plot_convergence(results, key="error_X")
        fig.axes[0].set_title(f"{m} x {n}, rank {prob.rank} + {prob.sparsity} sparse, "
                              f"{prob.A.n_measurements} {args.operator} measurements")
        fig.savefig(args.plot, dpi=120)
        print(f"wrote {args.plot}: relative error of X against time")
    if args.video_out:
        print("\nvideo: background and foreground of the built-in scene from a third of its measurements")
        _video_demo(args.video_out)
        print(f"pictures: {args.video_out}/montage.png (original, reconstruction, background, foreground); "
              f"videos: {args.video_out}/background.mp4, foreground.mp4")
    return 0 if ok else 1


def register(sub):
    demo = sub.add_parser("demo", help="recover a synthetic low-rank plus sparse matrix",
                          formatter_class=Formatter)
    demo.add_argument("--shape", type=positive_int, nargs=2, default=(100, 100), metavar=("M", "N"))
    demo.add_argument("--delta", type=fraction, default=0.5, help="p / (m n)")
    demo.add_argument("--rho-r", type=unit_interval, default=0.1, help="r (m + n - r) / p")
    demo.add_argument("--rho-s", type=unit_interval, default=0.1, help="s / p")
    demo.add_argument("--operator", default="fjlt", help="gaussian, fjlt, dct, entries, ...")
    demo.add_argument("--tol", type=finite_float, default=1e-6, help="relative residual to stop at")
    demo.add_argument("--seed", type=nonnegative_int, default=0)
    demo.add_argument("--plot", metavar="PNG", default="cs-demo.png",
                      help="where to save the convergence plot ('' for none)")
    demo.add_argument("--video-out", metavar="DIR", default="cs-demo-video",
                      help="folder for the video separation of the built-in scene ('' to skip it)")
    demo.set_defaults(func=run)
