"""SpaRCS (Waters, Sankaranarayanan & Baraniuk 2011): exact recovery where it should, the parts it
degenerates to, and the driver's contract."""

import numpy as np
import pytest

from cs.datasets.synthetic import ls_problem
from cs.solvers.sparcs import sparcs


@pytest.mark.parametrize("operator", ["fjlt", "gaussian"])
def test_recovers_low_rank_plus_sparse(operator):
    prob = ls_problem((30, 30), 0.6, 0.05, 0.05, operator=operator, rng=3)
    res = sparcs(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, X_true=prob.x,
                 L_true=prob.L, S_true=prob.S)
    assert res.converged and res.solver == "sparcs"
    np.testing.assert_allclose(res.X, prob.x, atol=1e-6 * np.abs(prob.x).max())
    np.testing.assert_allclose(res.L, prob.L, atol=1e-6 * np.abs(prob.L).max())
    assert np.count_nonzero(res.S) <= prob.sparsity
    assert np.linalg.matrix_rank(res.L, tol=1e-8 * np.abs(res.L).max()) == prob.rank
    # the history is the driver's: residual falls below tol, errors recorded per iteration
    assert res.history["residual"][-1] < 1e-9 and res.history["error_X"].size == res.n_iter + 1


def test_pure_low_rank_and_pure_sparse():
    prob = ls_problem((30, 30), 0.5, 0.15, 0.0, rng=1)
    res = sparcs(prob.A, prob.b, rank=prob.rank, sparsity=0)
    assert res.converged and not np.any(res.S)
    np.testing.assert_allclose(res.X, prob.L, atol=1e-6 * np.abs(prob.L).max())
    prob = ls_problem((30, 30), 0.5, 0.0, 0.1, rng=2)
    res = sparcs(prob.A, prob.b, rank=0, sparsity=prob.sparsity)
    assert res.converged and not np.any(res.L)
    np.testing.assert_allclose(res.X, prob.S, atol=1e-8)


def test_fails_gracefully_far_outside_the_recovery_region():
    prob = ls_problem((30, 30), 0.2, 0.4, 0.4, rng=0)
    res = sparcs(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, max_iter=60)
    assert not res.converged and np.all(np.isfinite(res.X))
    assert np.linalg.norm(res.X - prob.x) / np.linalg.norm(prob.x) > 0.1


def test_deterministic_and_callback_stops():
    prob = ls_problem((20, 20), 0.6, 0.05, 0.05, rng=5)
    one = sparcs(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, svd="randomized", rng=7)
    two = sparcs(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, svd="randomized", rng=7)
    np.testing.assert_array_equal(one.X, two.X)
    seen = []
    res = sparcs(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity,
                 callback=lambda it: seen.append(it.n_iter) or it.n_iter == 1)
    assert res.n_iter == 1 and seen == [1] and not res.converged


def test_bad_input_names_the_argument():
    prob = ls_problem((20, 20), 0.5, 0.05, 0.05, rng=0)
    with pytest.raises(ValueError, match="rank=21"):
        sparcs(prob.A, prob.b, rank=21, sparsity=3)
    with pytest.raises(ValueError, match="sparsity=401"):
        sparcs(prob.A, prob.b, rank=1, sparsity=401)
    with pytest.raises(ValueError, match="atoms=0"):
        sparcs(prob.A, prob.b, rank=1, sparsity=3, atoms=0)
    with pytest.raises(ValueError, match="b has 3 entries"):
        sparcs(prob.A, prob.b[:3], rank=1, sparsity=3)
