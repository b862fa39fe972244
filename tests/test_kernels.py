"""Support-restricted products M[:, S] @ v and M[:, S].T @ r against the NumPy
references in tests/naive.py, on every layout a user hands in: C- and
Fortran-ordered float32/float64 matrices, and scipy.sparse CSR/CSC."""

import numpy as np
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st

from cs import _kernels

import naive


def _restricted(M, cols, vals, y):
    """(M[:, cols] @ vals, M[:, cols].T @ y) through the kernel for M's layout."""
    cols = np.asarray(cols, dtype=np.int64)
    dtype = M.dtype
    fwd = np.empty(M.shape[0], dtype)
    adj = np.empty(cols.size, dtype)
    if scipy.sparse.issparse(M) and M.format == "csr":
        _kernels.csr_matvec(M.data, M.indices, M.indptr, M.shape[1], cols, vals, fwd)
        _kernels.csr_rmatvec(M.data, M.indices, M.indptr, M.shape[1], cols, y, adj)
    elif scipy.sparse.issparse(M):
        _kernels.csc_matvec(M.data, M.indices, M.indptr, cols, vals, fwd)
        _kernels.csc_rmatvec(M.data, M.indices, M.indptr, cols, y, adj)
    elif M.flags.c_contiguous:
        _kernels.rows_matvec(M, cols, vals, fwd)
        _kernels.rows_rmatvec(M, cols, y, adj)
    else:
        fwd[:] = 0
        _kernels.columns_matvec(M, cols, vals, fwd)
        _kernels.columns_rmatvec(M, cols, y, adj)
    return fwd, adj


@settings(max_examples=120, deadline=None)
@given(p=st.integers(1, 11), n=st.integers(1, 14), layout=st.sampled_from(["C", "F", "csr", "csc"]),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_restricted_products_match_reference(p, n, layout, dtype, seed, data):
    rng = np.random.default_rng(seed)
    dense = rng.standard_normal((p, n)) * (rng.random((p, n)) < 0.6)
    if layout in ("C", "F"):
        M = np.asarray(dense, dtype=dtype, order=layout)
    else:
        M = getattr(scipy.sparse, f"{layout}_matrix")(dense.astype(dtype))
    cols = data.draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n))
    cols = np.array(cols, dtype=np.int64)
    vals = rng.standard_normal(cols.size).astype(dtype)
    y = rng.standard_normal(p).astype(dtype)
    fwd, adj = _restricted(M, cols, vals, y)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert fwd.dtype == dtype and adj.dtype == dtype
    np.testing.assert_allclose(fwd, naive.restricted_matvec(M, cols, vals), rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(adj, naive.restricted_rmatvec(M, cols, y), rtol=tol, atol=tol * 10)


def test_restricted_products_at_solver_size_and_adjoint_identity():
    # a NIHT-sized case: 4-row blocking plus the remainder rows, unsorted support
    rng = np.random.default_rng(7)
    p, n, k = 203, 500, 41
    M = rng.standard_normal((p, n))
    cols = rng.choice(n, k, replace=False).astype(np.int64)
    vals, y = rng.standard_normal(k), rng.standard_normal(p)
    for A in (M, np.asfortranarray(M), scipy.sparse.csr_matrix(M), scipy.sparse.csc_matrix(M)):
        fwd, adj = _restricted(A, cols, vals, y)
        np.testing.assert_allclose(fwd, M[:, cols] @ vals, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(adj, M[:, cols].T @ y, rtol=1e-12, atol=1e-12)
        # <M_S v, y> = <v, M_S^T y>
        assert abs(fwd @ y - vals @ adj) <= 1e-12 * max(abs(fwd @ y), 1.0)
