"""Direct-path convolutional dictionaries: synthesis and analysis times.

Run:  python benchmarks/bench_convolution.py

Median of 9 calls of ``ConvDictionary(..., method="direct")`` on batches of
seeded Gaussian codes/signals, for a 1-D and two 2-D dictionaries.  Measured
2026-12-02 (shared 2-core machine): before and after the four direct kernels
became one (``cs._kernels.circular_conv``), synthesis / analysis in ms:
1-D 16x3x7 on 1024, batch 8: 1.26 / 0.43 before, 1.30 / 0.46 after;
2-D 16x3x5x5 on 64x64, batch 4: 10.9 / 4.9 before, 11.2 / 4.5 after;
2-D 32x16x3x3 on 32x32, batch 4: 11.2 / 4.8 before, 12.5 / 4.7 after.
"""

import time

import numpy as np

from cs.convolution import ConvDictionary


def main():
    rng = np.random.default_rng(0)
    for fshape, spatial, batch in [((16, 3, 7), (1024,), 8), ((16, 3, 5, 5), (64, 64), 4),
                                   ((32, 16, 3, 3), (32, 32), 4)]:
        D = ConvDictionary(rng.standard_normal(fshape), spatial, method="direct")
        G = rng.standard_normal((batch,) + D.code_shape)
        V = rng.standard_normal((batch,) + D.signal_shape)
        times = {}
        for name, fn in (("synthesis", lambda: D.synthesis(G)), ("analysis", lambda: D.analysis(V))):
            fn()
            runs = []
            for _ in range(9):
                start = time.perf_counter()
                fn()
                runs.append(time.perf_counter() - start)
            times[name] = 1e3 * float(np.median(runs))
        print(f"filters {fshape} on {spatial}, batch {batch}: synthesis {times['synthesis']:.2f} ms, "
              f"analysis {times['analysis']:.2f} ms")


if __name__ == "__main__":
    main()
