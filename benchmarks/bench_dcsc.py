"""The D-CSC forward pass: FFT path against direct path against the cost model's pick.

Run:  python benchmarks/bench_dcsc.py [--quick]

A 3-layer model (32 filters a layer, the first over one input channel, the
others over 32), a batch of 64 signals of length N = 1024, layered hard
thresholding (``cs.dcsc.layered_threshold``) with ``method="fft"``,
``method="direct"`` and the path the cost model picks
(``ConvDictionary.choose_method``), for several filter lengths.  Reported as
times and as the ratio pick / faster path (the three are timed in interleaved
rounds, so load on a shared machine hits them alike); target: the pick is
never more than 1.2x the faster path.  Also the cost model's own ratio direct / fft, which
should order the paths the same way the clock does.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best_of, row  # noqa: E402

from cs import dcsc  # noqa: E402
from cs.convolution import ConvDictionary  # noqa: E402


def forward_pass_model(n, method, N=1024, m=32, seed=0):
    base = dcsc.DCSCModel.random(N, [m, m, m], n, rng=seed, method="fft")
    return dcsc.DCSCModel(tuple(ConvDictionary(D.filters, N, method=method, normalize=False)
                                for D in base.dictionaries))


def interleaved_best(fns, rounds):
    """Best time of each function over ``rounds`` rounds that run them in turn (fair under load)."""
    for fn in fns.values():
        fn()  # warm up (numba compilation, FFT plans)
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            best[name] = min(best[name], best_of(fn, repeat=1))
    return best


def main(quick=False):
    B, N = 64, 1024
    lengths = [2, 4, 8] if quick else [2, 3, 4, 6, 8, 12, 16]
    Y = np.random.default_rng(1).standard_normal((B, 1, N))
    thresholds = [2.0, 2.0, 2.0]
    widths = [6, 10, 12, 14, 11, 11]
    print(f"forward pass: 3 layers x 32 filters, batch {B}, N = {N}; best of 5 interleaved rounds, seconds")
    row("n", "fft [s]", "direct [s]", "pick (layers)", "pick/best", "model d/f", widths=widths)
    worst = 0.0
    for n in lengths:
        models = {method: forward_pass_model(n, method) for method in ("fft", "direct", "auto")}
        times = interleaved_best({m: (lambda model=model: dcsc.layered_threshold(model, Y, thresholds))
                                  for m, model in models.items()}, rounds=3 if quick else 5)
        ratio = times["auto"] / min(times["fft"], times["direct"])
        worst = max(worst, ratio)
        pick = ",".join(D.method[0] for D in models["auto"].dictionaries)
        cost = models["auto"].dictionaries[1].cost(B)
        row(n, times["fft"], times["direct"], pick, ratio, cost["direct"] / cost["fft"], widths=widths)
    print(f"worst pick / faster path: {worst:.2f} (target <= 1.2); pick: f = FFT, d = direct, per layer")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
