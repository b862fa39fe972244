"""The numba kernels are compiled with cache=True: a cold cache must compile
and store them, and a second process must load them and give the same
answers (the check ARCHITECTURE.md asks for before caching is relied on).
The selection kernels have one signature for float32 and float64 alike
(what keeps a fresh install's first ``cs demo`` compiling in ~2.5 s):
a second precision must compile nothing more."""

import os
import subprocess
import sys

SCRIPT = """
import numpy as np
import scipy.sparse
from cs import _kernels, threshold
x = np.random.default_rng(0).standard_normal(200_000)
values = threshold.hard(x, 20_000)
small = threshold.hard(x[:500], 50)
rows = threshold.hard(x.reshape(-1, 8), 2, axis=1)
soft = threshold.soft(x, 0.5, level=1.0)
M = x[:6000].reshape(60, 100)
cols = np.arange(0, 100, 7, dtype=np.int64)
dense = _kernels.rows_matvec(M, cols, x[:cols.size], np.empty(60))
S = scipy.sparse.csr_matrix(M)
sparse = _kernels.csr_matvec(S.data, S.indices, S.indptr, 100, cols, x[:cols.size], np.empty(60))
assert np.allclose(dense, sparse)
x32 = x.astype(np.float32)
assert np.array_equal(threshold.hard(x32, 20_000), values.astype(np.float32))
threshold.hard(x32[:500], 50)
threshold.hard_tau(x32, 0.5)
threshold.hard_tau(x, 0.5)
signatures = {k.py_func.__name__: len(k.signatures) for k in (_kernels.select, _kernels._kth_key, _kernels._finite_bits)}
assert max(signatures.values()) == 1, signatures  # (a callee loaded with its caller from the cache: 0)
print(int(np.count_nonzero(values)), int(np.count_nonzero(rows)), int(np.count_nonzero(small)),
      float(np.abs(soft).sum()), float(dense.sum()))
"""


def test_cold_cache_compiles_then_warm_cache_loads(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    cold = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                          check=True)
    cached = [f for _, _, files in os.walk(tmp_path) for f in files if f.endswith((".nbi", ".nbc"))]
    assert cached, "no numba cache files were written"
    warm = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                          check=True)
    assert cold.stdout == warm.stdout
    assert cold.stdout.split()[:3] == ["20000", str(200_000 // 8 * 2), "50"]
