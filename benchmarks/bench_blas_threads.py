"""Small factorisations on one BLAS thread: NIHT-GoDec's 100 x 100 solve with
``cs.threshold``'s one-thread guard on and off, alone and beside one other
busy process (what a shared or laptop machine looks like).

Run:  python benchmarks/bench_blas_threads.py

Reports the median seconds per solve and the ratio off/on, in one process.
Measured on 2 cores beside one busy process: 0.27 s with the guard, 3.5 s
without (threaded LAPACK spins when a core is taken).
"""

import multiprocessing
import statistics
import time

import numpy as np

import cs.threshold as T
from cs.datasets.synthetic import ls_problem
from cs.solvers import niht


def _busy(seconds):
    x = np.random.default_rng(0).random((1500, 1500))
    end = time.time() + seconds
    while time.time() < end:
        x @ x


def _solve(prob):
    start = time.perf_counter()
    niht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, projection="godec", tol=1e-6)
    return time.perf_counter() - start


def main(repeat=3):
    prob = ls_problem((100, 100), 0.5, 0.1, 0.1, operator="fjlt", rng=0)
    niht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, projection="godec", max_iter=3)
    guard = T._ONE_BLAS_THREAD_MAX
    for label, load in (("alone", False), ("beside one busy process", True)):
        other = None
        if load:
            other = multiprocessing.Process(target=_busy, args=(120,), daemon=True)
            other.start()
            time.sleep(1.0)
        times = {"on": [], "off": []}
        for _ in range(repeat):
            for state in ("on", "off"):
                T._ONE_BLAS_THREAD_MAX = guard if state == "on" else 0
                times[state].append(_solve(prob))
        T._ONE_BLAS_THREAD_MAX = guard
        if other is not None:
            other.terminate()
        on, off = statistics.median(times["on"]), statistics.median(times["off"])
        print(f"{label:<26} guard on {on:7.3f} s   guard off {off:7.3f} s   off/on {off / on:6.2f}x")


if __name__ == "__main__":
    main()
