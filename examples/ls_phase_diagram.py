"""Phase transition of NIHT for low-rank plus sparse matrices, drawn as Tanner & Vary (2023), Figure 1.

For each delta = p / (m n), the (rho_r, rho_s) plane: rho_r = r (m + n - r) / p,
rho_s = s / p, the success rate of each cell (white: every trial recovered X
to a relative error of 1e-2), the 50% curve rho_s(rho_r) from a logistic fit,
and the line rho_r + rho_s = 1.

This script runs a reduced grid (50 x 50 matrices, 5 deltas, 4 x 4 (rho_r, rho_s)
cells, 4 trials) in a few minutes on two cores, and can be stopped and
restarted at any time: the store keeps every finished trial.

    python examples/ls_phase_diagram.py [--out DIR] [--workers N]

The paper's full grid (100 x 100, FJLT, deltas 0.02:0.05:1, rho_r and rho_s on a
0.1 grid, 20 trials, columns stopped after 5 fully successful deltas) is the
``tanner-vary-fig1`` preset:

    cs phase run tv-niht.sqlite --preset tanner-vary-fig1
    cs phase plot tv-niht.sqlite --out tv-niht.png
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from cs.experiments import preset, run_study, transition_curve  # noqa: E402
from cs.plotting import plot_ls_plane  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for the store and the PNG")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    # the preset's protocol (FJLT, rel. error 1e-2, walk delta upward per column) on a smaller grid
    study = preset("tanner-vary-fig1", shape=(50, 50), deltas=[0.1, 0.3, 0.5, 0.7, 0.9],
                   rho_r=[0.05, 0.15, 0.25, 0.35], rho_s=[0.05, 0.15, 0.25, 0.35], trials=4,
                   schedule="walk-delta:2")
    store = args.out / "ls_phase_niht.sqlite"
    start = time.perf_counter()
    summary = run_study(study, store, workers=args.workers)
    print(f"{summary.trials_done} trials in {time.perf_counter() - start:.0f} s "
          f"({sum(c.status == 'assumed' for c in summary.cells)} cells settled by the walk) -> {store}")

    print(" delta  rho_r  rho_s_50")
    for row in transition_curve(summary):
        print(f"{row['delta']:6.2f} {row['rho_r']:6.2f} {row['rho_s_50']:9.3f}")
    fig = plot_ls_plane(summary, deltas=[0.3, 0.5, 0.7, 0.9],
                        title="NIHT, 50 x 50 low-rank + sparse, FJLT, 4 trials per cell")
    png = args.out / "ls_phase_niht.png"
    fig.savefig(png, dpi=120)
    print(f"wrote {png}")


if __name__ == "__main__":
    main()
