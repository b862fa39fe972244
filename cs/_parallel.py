"""Threads for the passes over large arrays that release the GIL.

Some passes over a long array are shared among threads, each on its own
chunk: the selection kernel of :func:`cs.threshold.hard` (numba, ``nogil``)
and the Fortran-ordered copy of a C-ordered matrix in :mod:`cs.operators`
(NumPy copies, which release the GIL).  Both are bound by memory bandwidth,
so a few threads suffice.

How many: numba's thread count (``NUMBA_NUM_THREADS``, the CPUs by default;
set it to 1 to keep every pass in the calling thread), at most
:data:`MAX_THREADS`.  One pool per process, made on first use, and again in
a forked child, which inherits the pool but none of its threads.
"""

from __future__ import annotations

import concurrent.futures
import os

import numba

#: Most threads a pass is shared among.
MAX_THREADS = 4

_POOL = None  # (pid, threads, executor)
_LIMIT = None  # set by limit()


def threads():
    """How many threads share a pass: ``NUMBA_NUM_THREADS``, at most :data:`MAX_THREADS`
    and at most what :func:`limit` set in this process."""
    n = min(numba.config.NUMBA_NUM_THREADS, MAX_THREADS)
    return max(1, n if _LIMIT is None else min(n, _LIMIT))


def limit(n_threads):
    """Share no pass among more than ``n_threads`` threads in this process.  The worker
    processes of :func:`cs.experiments.run_study` call ``limit(1)``: the pool of workers
    supplies the parallelism, one per core, as it does for BLAS."""
    global _LIMIT
    _LIMIT = max(1, int(n_threads))


def _pool(n_threads):
    global _POOL
    if _POOL is None or _POOL[0] != os.getpid() or _POOL[1] < n_threads:
        _POOL = (os.getpid(), n_threads,
                 concurrent.futures.ThreadPoolExecutor(n_threads, thread_name_prefix="cs-pass"))
    return _POOL[2]


def run(task, n_tasks):
    """``[task(0), ..., task(n_tasks - 1)]``, the calling thread running task 0 and the
    pool the others (a pool thread would start the first one 1-4 ms late)."""
    futures = [_pool(n_tasks - 1).submit(task, t) for t in range(1, n_tasks)] if n_tasks > 1 else []
    return [task(0)] + [future.result() for future in futures]
