"""Timing helpers shared by the benchmark scripts (not part of the package)."""

import time


def best_of(fn, repeat=7, number=1):
    """The fastest of ``repeat`` timings of ``number`` calls, in seconds per call."""
    fn()  # warm up (numba compilation, caches, page faults)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def row(*cells, widths=None):
    widths = widths or [14] * len(cells)
    print("".join(f"{c:>{w}}" if not isinstance(c, float) else f"{c:>{w}.4g}" for c, w in zip(cells, widths)))
