import numpy as np
import pytest
import scipy.fft
import scipy.sparse
from scipy.sparse.linalg import LinearOperator, aslinearoperator, lsqr

from cs import operators as ops

FACTORIES = {
    "gaussian": lambda shape, dtype: ops.gaussian(30, shape, rng=1, dtype=dtype),
    "rademacher": lambda shape, dtype: ops.rademacher(30, shape, rng=2, dtype=dtype),
    "fjlt": lambda shape, dtype: ops.fjlt(30, shape, rng=3, dtype=dtype),
    "dct": lambda shape, dtype: ops.subsampled_dct(30, shape, rng=4, dtype=dtype),
    "entries": lambda shape, dtype: ops.entry_sampling(30, shape, rng=5, dtype=dtype),
    "expander": lambda shape, dtype: ops.sparse_expander(30, shape, 4, rng=6, dtype=dtype),
    "identity": lambda shape, dtype: ops.identity(shape, dtype=dtype),
    # an explicit C-ordered matrix takes the gather path of forward_sparse/adjoint_at
    "matrix": lambda shape, dtype: ops.as_operator(
        np.random.default_rng(7).standard_normal((30, 72)).astype(dtype), shape),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
@pytest.mark.parametrize("shape", [(72,), (8, 9)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_operator_passes_the_dot_test(name, shape, dtype):
    A = FACTORIES[name](shape, dtype)
    assert A.input_shape == shape
    assert A.shape == (A.n_measurements, 72)
    for seed in range(3):
        passed, (lhs, rhs) = ops.dot_test(A, rng=seed, return_values=True)
        assert passed, (lhs, rhs)
    X = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    y = A.forward(X)
    assert y.shape == (A.n_measurements,)
    assert A.adjoint(y).shape == shape
    assert A.forward(X).dtype == dtype and A.adjoint(y).dtype == dtype


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_forward_agrees_with_the_explicit_matrix(name):
    A = FACTORIES[name]((6, 12), np.float64)
    M = np.column_stack([A.matvec(e) for e in np.eye(72)])
    x = np.random.default_rng(1).standard_normal(72)
    np.testing.assert_allclose(A.matvec(x), M @ x, atol=1e-12)
    np.testing.assert_allclose(A.rmatvec(A.matvec(x)), M.T @ (M @ x), atol=1e-12)
    support = np.array([3, 10, 40, 71])
    np.testing.assert_allclose(A.forward_sparse(x[support], support), M[:, support] @ x[support], atol=1e-12)
    np.testing.assert_allclose(A.adjoint_at(M @ x, support), (M.T @ (M @ x))[support], atol=1e-12)
    if A.orthonormal_rows:
        np.testing.assert_allclose(M @ M.T, np.eye(A.n_measurements), atol=1e-12)


def test_fjlt_is_signs_dct_rows():
    A = ops.fjlt(20, (4, 16), rng=7)
    x = np.random.default_rng(2).standard_normal((4, 16))
    expected = scipy.fft.dct(x.ravel() * A.signs, norm="ortho")[A.rows]
    np.testing.assert_allclose(A.forward(x), expected, atol=1e-12)
    assert len(np.unique(A.rows)) == 20 and set(np.unique(A.signs)) == {-1.0, 1.0}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 7, 4096])
def test_dct_entry_point_is_scipys_bit_for_bit(dtype, n):
    # the FJLT's 1-D transforms call pocketfft directly: the same numbers as scipy.fft,
    # dtype kept; complex input takes scipy's public functions
    x = np.random.default_rng(n).standard_normal(n).astype(dtype)
    for inverse, reference in ((False, scipy.fft.dct), (True, scipy.fft.idct)):
        out = ops._dct_inplace(x.copy(), inverse)
        assert out.dtype == dtype
        np.testing.assert_array_equal(out, reference(x, norm="ortho"))
    z = x + 1j * x[::-1]
    np.testing.assert_allclose(ops._dct_inplace(z.copy(), False), scipy.fft.dct(z, norm="ortho"),
                               rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
@pytest.mark.parametrize("shape", [(1, 1), (3, 300), (300, 3), (129, 257)])
def test_fortran_copy_is_asfortranarray(dtype, shape):
    # the tiled copy a C-ordered matrix gets (tiles of 128 and their ragged ends), also from a strided view
    rng = np.random.default_rng(shape[0])
    M = rng.standard_normal((shape[0], 2 * shape[1])).astype(dtype)
    for source in (M[:, :shape[1]], M[:, ::2], np.ascontiguousarray(M[:, :shape[1]])):
        copy = ops._fortran_copy(source)
        assert copy.flags.f_contiguous and copy.dtype == dtype
        np.testing.assert_array_equal(copy, source)
    A = ops.DenseOperator(np.ascontiguousarray(M))
    assert A.matrix.flags.f_contiguous and np.array_equal(A.matrix, M)


@pytest.mark.parametrize("threads", [2, 3])
def test_fortran_copy_shared_among_threads(monkeypatch, threads):
    from cs import _parallel

    monkeypatch.setattr(ops, "_THREADED_COPY_MIN", 1)
    monkeypatch.setattr(_parallel, "threads", lambda: threads)
    M = np.random.default_rng(threads).standard_normal((300, 1000))
    for source in (M, M[:, :517], M[::3, 1::2]):  # ragged tiles at the chunks' ends
        copy = ops._fortran_copy(source)
        assert copy.flags.f_contiguous
        np.testing.assert_array_equal(copy, source)


@pytest.mark.parametrize("make", [lambda: ops.gaussian(40, (10, 12), rng=1), lambda: ops.fjlt(40, 120, rng=1),
                                  lambda: ops.sparse_expander(40, 120, rng=1),
                                  lambda: ops.as_operator(np.random.default_rng(1).standard_normal((40, 120)),
                                                          layout="keep")])
def test_restricted_is_the_columns_of_the_matrix(make):
    # the LinearOperator LSQR solves on (HTP, CoSaMP, SpaRCS): the support's columns, both ways
    A = make()
    M = A.todense()
    M = M.toarray() if hasattr(M, "toarray") else np.asarray(M)
    support = np.array([3, 7, 50, 119])
    R = A.restricted(support)
    assert R.shape == (40, 4)
    v, y = np.arange(1.0, 5.0), np.linspace(-1, 1, 40)
    np.testing.assert_allclose(R.matvec(v), M[:, support] @ v, atol=1e-12)
    np.testing.assert_allclose(R.rmatvec(y), M[:, support].T @ y, atol=1e-12)
    with pytest.raises(ValueError, match="support holds indices outside"):
        A.restricted([0, 120])


def test_fjlt_restricted_product_is_the_full_product():
    A = ops.fjlt(300, (1000,), rng=4)
    rng = np.random.default_rng(5)
    support = np.sort(rng.choice(1000, 40, replace=False))
    values = rng.standard_normal(40)
    x = np.zeros(1000)
    x[support] = values
    np.testing.assert_allclose(A.forward_sparse(values, support), A.forward(x), atol=1e-13)


def test_gaussian_and_rademacher_scaling():
    A = ops.gaussian(400, 500, rng=0)
    assert abs(A.matrix.var() - 1 / 400) < 0.02 / 400
    # drawn scaled, but the same numbers as a standard normal draw times 1/sqrt(p)
    expected = np.random.default_rng(0).standard_normal((500, 400)).T * np.float64(1 / np.sqrt(400))
    np.testing.assert_array_equal(A.matrix, expected)
    assert A.matrix.flags.f_contiguous
    B = ops.rademacher(100, 50, rng=0)
    np.testing.assert_allclose(np.abs(B.matrix), 0.1)
    assert ops.gaussian(10, 20, rng=3).matrix.tobytes() == ops.gaussian(10, 20, rng=3).matrix.tobytes()


def test_expander_columns_have_d_distinct_entries():
    A = ops.sparse_expander(20, 200, d=5, rng=0)
    M = A.matrix.toarray()
    assert ((M != 0).sum(axis=0) == 5).all()
    np.testing.assert_allclose(M[M != 0], 1 / np.sqrt(5))


def test_linear_operator_interoperability():
    A = ops.fjlt(40, (8, 8), rng=0)
    assert isinstance(A, LinearOperator)
    x = np.random.default_rng(0).standard_normal(64)
    np.testing.assert_allclose((A.T @ (A @ x)), A.rmatvec(A.matvec(x)))
    # an over-determined dense system solved by SciPy's lsqr through our operator
    G = ops.gaussian(80, 20, rng=1)
    z = np.random.default_rng(1).standard_normal(20)
    sol = lsqr(G, G.matvec(z), atol=1e-12, btol=1e-12)[0]
    np.testing.assert_allclose(sol, z, atol=1e-8)
    # wrapping SciPy operators and matrices
    M = np.random.default_rng(2).standard_normal((5, 6))
    for obj in (M, aslinearoperator(M), scipy.sparse.csr_array(M)):
        W = ops.as_operator(obj, (2, 3))
        assert W.input_shape == (2, 3)
        np.testing.assert_allclose(W.forward(np.arange(6.0).reshape(2, 3)), M @ np.arange(6.0))
        assert ops.dot_test(W, rng=0)


def test_dot_test_catches_a_wrong_adjoint():
    M = np.random.default_rng(0).standard_normal((5, 7))
    wrong = LinearOperator((5, 7), matvec=lambda x: M @ x, rmatvec=lambda y: 1.01 * (M.T @ y),
                           dtype=np.float64)
    assert not ops.dot_test(wrong, rng=0)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"p=101 exceeds the size of the unknown \(100\)"):
        ops.fjlt(101, (10, 10))
    with pytest.raises(ValueError, match="input_shape"):
        ops.gaussian(3, (2, 0))
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        ops.gaussian(3, 5, dtype=np.int32)
    A = ops.fjlt(5, (3, 4), rng=0)
    with pytest.raises(ValueError, match=r"X has shape \(4, 3\) but the operator expects input_shape \(3, 4\)"):
        A.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match="y has shape"):
        A.adjoint(np.ones(4))
    with pytest.raises(ValueError, match="input_shape"):
        ops.as_operator(np.ones((3, 5)), (2, 3))
    with pytest.raises(TypeError, match="A must be"):
        ops.as_operator("not an operator")
    with pytest.raises(TypeError, match="rng"):
        ops.fjlt(3, 5, rng="seed")


def test_dense_operator_too_large_for_memory_is_refused():
    with pytest.raises(MemoryError, match="GiB"):
        ops.gaussian(10**6, (1000, 1000))


# --- restricted products on every layout a user brings (issue 9) -------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layout", ["fortran", "keep"])
def test_restricted_products_on_a_c_ordered_matrix(dtype, layout):
    rng = np.random.default_rng(3)
    M = rng.standard_normal((40, 90)).astype(dtype)  # C order, as NumPy makes it
    A = ops.as_operator(M, layout=layout)
    assert A.matrix.flags.f_contiguous == (layout == "fortran")
    assert A.matrix.flags.c_contiguous == (layout == "keep")
    support = rng.choice(90, 13, replace=False)
    values = rng.standard_normal(13).astype(dtype)
    y = rng.standard_normal(40).astype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    got = A.forward_sparse(values, support)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, M[:, support] @ values, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(A.adjoint_at(y, support), M[:, support].T @ y, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_restricted_products_on_sparse_matrices(fmt):
    rng = np.random.default_rng(4)
    dense = rng.standard_normal((30, 70)) * (rng.random((30, 70)) < 0.2)
    A = ops.as_operator(scipy.sparse.csr_array(dense).asformat(fmt))
    support = rng.choice(70, 9, replace=False)
    values, y = rng.standard_normal(9), rng.standard_normal(30)
    np.testing.assert_allclose(A.forward_sparse(values, support), dense[:, support] @ values,
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(A.adjoint_at(y, support), dense[:, support].T @ y, rtol=1e-12, atol=1e-12)
    assert ops.dot_test(A, rng=0)


def test_restricted_products_fall_back_for_complex_values_and_bad_layout():
    rng = np.random.default_rng(5)
    M = rng.standard_normal((12, 20))
    A = ops.as_operator(M)
    values = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    np.testing.assert_allclose(A.forward_sparse(values, [1, 5, 7]), M[:, [1, 5, 7]] @ values)
    with pytest.raises(ValueError, match="layout"):
        ops.as_operator(M, layout="C")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_separable_fjlt_is_the_kronecker_dct_with_signs_and_orthonormal_rows(dtype):
    A = ops.fjlt2d(30, (6, 8), rng=2, dtype=dtype)
    C6 = scipy.fft.dct(np.eye(6), norm="ortho", axis=0)
    C8 = scipy.fft.dct(np.eye(8), norm="ortho", axis=0)
    explicit = (np.kron(C6, C8) * A.signs)[A.rows]  # C order: vec(X) = X.ravel()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(A.todense(), explicit, atol=tol)
    np.testing.assert_allclose(A.todense() @ A.todense().T, np.eye(30), atol=tol)
    assert A.dtype == dtype and ops.dot_test(A, rng=0)
    with pytest.raises(ValueError, match="separable"):
        ops.fjlt2d(5, (40,))


def test_niht_recovers_ls_through_the_separable_fjlt():
    from cs.datasets.synthetic import ls_problem
    from cs.solvers import niht

    prob = ls_problem((60, 60), 0.5, 0.1, 0.1, operator="fjlt2d", rng=0)
    res = niht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity)
    assert res.converged and np.linalg.norm(res.X - prob.x) / np.linalg.norm(prob.x) < 1e-5


def test_norm_squared_is_a_lower_bound_that_reaches_the_top_eigenvalue():
    M = np.random.default_rng(3).standard_normal((40, 60)) / np.sqrt(40)
    exact = np.linalg.norm(M, 2) ** 2
    few = ops.norm_squared(M, rng=0, max_iter=3)
    many = ops.norm_squared(M, rng=0, max_iter=500, rtol=1e-12)
    assert few <= many <= exact * (1 + 1e-12) and many == pytest.approx(exact, rel=1e-6)
    assert ops.norm_squared(np.zeros((3, 4)), rng=0) == 0.0
    with pytest.raises(ValueError, match="max_iter"):
        ops.norm_squared(M, max_iter=0)
