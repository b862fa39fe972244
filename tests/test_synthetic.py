import numpy as np
import pytest

from cs.datasets import synthetic as syn


def test_sparse_vector_is_k_sparse_and_seeded():
    x = syn.sparse_vector(100, 7, rng=3)
    assert np.count_nonzero(x) == 7
    np.testing.assert_array_equal(x, syn.sparse_vector(100, 7, rng=3))
    s = syn.sparse_vector(50, 5, values="sign", rng=0, dtype=np.float32)
    assert s.dtype == np.float32 and set(np.unique(s[s != 0])) <= {-1.0, 1.0}
    assert not syn.sparse_vector(10, 0, rng=0).any()


def test_low_rank_and_ls_matrix():
    L = syn.low_rank((30, 20), 3, rng=0)
    assert np.linalg.matrix_rank(L) == 3
    X, L, S = syn.ls_matrix((30, 20), 2, 40, c=2.0, rng=1)
    assert np.linalg.matrix_rank(L) == 2 and np.count_nonzero(S) == 40
    np.testing.assert_allclose(X, L + S)
    assert np.abs(S).max() <= 2.0 * np.abs(L).mean()


@pytest.mark.parametrize("shape,delta,rho_r", [((100, 100), 0.5, 0.1), ((60, 80), 0.3, 0.2), ((20, 20), 0.9, 0.5)])
def test_rank_from_rho_is_the_nearest_rank(shape, delta, rho_r):
    m, n = shape
    p = round(delta * m * n)
    r = syn.rank_from_rho(rho_r, p, shape)
    # the chosen r is at least as close to rho_r * p as its neighbours
    dims = {q: abs(q * (m + n - q) - rho_r * p) for q in (r - 1, r, r + 1) if 0 <= q <= min(m, n)}
    assert dims[r] == min(dims.values())


def test_ls_problem_parameters_and_measurements():
    prob = syn.ls_problem((100, 100), 0.5, 0.1, 0.1, rng=0)
    assert prob.A.n_measurements == 5000 and prob.rank == 3 and prob.sparsity == 500
    assert prob.A.orthonormal_rows
    np.testing.assert_allclose(prob.b, prob.A.forward(prob.L + prob.S))
    assert prob.X is prob.x
    again = syn.ls_problem((100, 100), 0.5, 0.1, 0.1, rng=0)
    np.testing.assert_array_equal(prob.b, again.b)
    g = syn.ls_problem((10, 12), 0.5, 0.2, 0.1, operator="gaussian", rng=0, dtype=np.float32)
    assert g.b.dtype == np.float32 and g.A.input_shape == (10, 12)


def test_sparse_and_low_rank_problems():
    prob = syn.sparse_problem(200, 0.5, 0.2, rng=0)
    assert prob.A.n_measurements == 100 and prob.sparsity == 20 == np.count_nonzero(prob.x)
    lr = syn.low_rank_problem((20, 30), 0.5, 0.3, operator="dct", rng=0)
    assert np.linalg.matrix_rank(lr.x) == lr.rank
    custom = syn.sparse_problem(50, 0.4, 0.1, operator=lambda p, shape, rng, dtype: np.eye(p, shape[0]), rng=0)
    assert custom.A.shape == (20, 50)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="delta"):
        syn.ls_problem((10, 10), 1.5, 0.1, 0.1)
    with pytest.raises(ValueError, match="rho_s"):
        syn.ls_problem((10, 10), 0.5, 0.1, -0.1)
    with pytest.raises(ValueError, match="operator must be one of"):
        syn.ls_problem((10, 10), 0.5, 0.1, 0.1, operator="nope")
    with pytest.raises(ValueError, match=r"k=11 exceeds n \(10\)"):
        syn.sparse_vector(10, 11)
    with pytest.raises(ValueError, match="shape must be a pair"):
        syn.low_rank(10, 1)
    with pytest.raises(ValueError, match="values"):
        syn.sparse_vector(10, 1, values="uniform")
