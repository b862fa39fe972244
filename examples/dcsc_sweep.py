"""How dense can the activations of one layer be before one-step thresholding fails?

Run:  python examples/dcsc_sweep.py [--quick] [--out DIR]

One convolutional layer with two Gaussian filters of length n and signals of
length 8 n, codes with random signs and unit magnitudes at a range of
densities, hard thresholding at half the smallest magnitude (the forward pass
of one CNN layer with the oracle bias).  For n = 256 and n = 512 it prints
where the success rate crosses 50 % (in nonzeros per stripe), the uniform
bound of Papyan, Romano & Elad (nonzeros per stripe their theorem allows), and
checks that the measured success never falls below one minus the average-case
(random-sign) bound.  Each sweep is written (CSV, JSON, PNG) under ``--out``
and resumes if interrupted.  The same from the command line:

    cs dcsc sweep --out runs/n256 --filters 2 --filter-length 256 --signal-length 2048 \\
        --densities 0.0005:0.012:0.0005 --trials 400
"""

import argparse
from pathlib import Path

import numpy as np

from cs import dcsc


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="n = 64 and 128, fewer trials")
    parser.add_argument("--out", default="dcsc-sweep", help="folder for the sweeps")
    args = parser.parse_args()
    lengths, trials = ((64, 128), 100) if args.quick else ((256, 512), 400)
    densities = np.round(np.arange(0.0005, 0.0121, 0.0005), 6)
    results = {}
    for n in lengths:
        model = dcsc.DCSCModel.random(8 * n, 2, n, rng=0)
        result = dcsc.sweep(model, densities, trials=trials, seed=0, out=Path(args.out) / f"n{n}",
                            progress=True)
        dcsc.plot_sweep(result, Path(args.out) / f"n{n}" / "sweep.png",
                        title=f"one layer, 2 Gaussian filters of length {n}, N = {8 * n}")
        results[n] = result
        success, floor = result.column("success", 1), result.column("avg_bound_success", 1)
        print(f"n = {n}: coherence {result.column('mu', 1)[0]:.3f}; uniform bound "
              f"{result.column('uniform_bound', 1)[0]:.2f} nonzeros per stripe; 50 % success at "
              f"{result.crossing(0.5, layer=1):.2f} nonzeros per stripe (density "
              f"{result.crossing(0.5, layer=1, x='density'):.4f}); success - (1 - average-case bound) "
              f">= {np.min(success - floor):.3f}")
    a, b = lengths
    ratio = results[b].crossing(0.5, layer=1) / results[a].crossing(0.5, layer=1)
    print(f"50 % point grows by {ratio:.2f}x from n = {a} to n = {b} (linear growth would be 2x, "
          "less a log factor)")


if __name__ == "__main__":
    main()
