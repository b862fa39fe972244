"""NAHT's cost per iteration, counted in operator products, with a dense Gaussian operator."""

import numpy as np
import pytest

from cs import operators as ops
from cs.datasets.synthetic import ls_problem
from cs.metrics import relative_error
from cs.solvers import naht
from cs.solvers.result import Status


class CountingOperator(ops.MeasurementOperator):
    """Wraps a dense operator and counts every product by kind."""

    KINDS = ("matvec", "rmatvec", "forward_sparse", "adjoint_at", "matmat", "rmatmat")

    def __init__(self, inner):
        super().__init__(inner.input_shape, inner.n_measurements, inner.dtype)
        self.inner = inner
        self.calls = dict.fromkeys(self.KINDS, 0)

    def _matvec(self, x):
        self.calls["matvec"] += 1
        return self.inner._matvec(x)

    def _rmatvec(self, y):
        self.calls["rmatvec"] += 1
        return self.inner._rmatvec(y)

    def _matmat(self, X):
        self.calls["matmat"] += 1
        return self.inner._matmat(X)

    def _rmatmat(self, Y):
        self.calls["rmatmat"] += 1
        return self.inner._rmatmat(Y)

    def _forward_sparse(self, values, support):
        self.calls["forward_sparse"] += 1
        return self.inner._forward_sparse(values, support)

    def _adjoint_at(self, y, support):
        self.calls["adjoint_at"] += 1
        return self.inner._adjoint_at(y, support)


@pytest.fixture(scope="module")
def gaussian_ls():
    # 30 x 30, r = 1 and s = 45 measured by a dense Gaussian 450 x 900 operator
    return ls_problem((30, 30), 0.5, 0.05, 0.1, operator="gaussian", rng=5)


def _counted(prob, **kwargs):
    counting = CountingOperator(prob.A)
    res = naht(counting, prob.b, rank=prob.rank, sparsity=prob.sparsity, **kwargs)
    return res, counting.calls


def test_naht_makes_two_full_forwards_two_adjoints_and_at_most_two_restricted_forwards_per_iteration(
        gaussian_ls):
    prob = gaussian_ls
    fixed = dict(tol=0.0, rate_tol=None)
    short, few = _counted(prob, max_iter=3, **fixed)
    long, many = _counted(prob, max_iter=8, **fixed)
    assert short.n_iter == 3 and long.n_iter == 8
    per_iteration = {kind: (many[kind] - few[kind]) / 5 for kind in CountingOperator.KINDS}
    assert per_iteration == {"matvec": 2, "rmatvec": 2, "forward_sparse": 2, "adjoint_at": 0,
                             "matmat": 0, "rmatmat": 0}
    # iteration 0 (the start): A*b, A(L0) and the restricted A(S0)
    assert few == {"matvec": 1 + 3 * 2, "rmatvec": 1 + 3 * 2, "forward_sparse": 1 + 3 * 2,
                   "adjoint_at": 0, "matmat": 0, "rmatmat": 0}


def test_counting_changes_nothing_and_naht_recovers(gaussian_ls):
    prob = gaussian_ls
    res, calls = _counted(prob)
    plain = naht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity)
    assert res.status == Status.TOLERANCE and res.converged
    assert relative_error(res.X, prob.x) < 1e-6
    assert relative_error(res.L, prob.L) < 1e-6 and relative_error(res.S, prob.S) < 1e-6
    np.testing.assert_array_equal(res.X, plain.X)
    np.testing.assert_array_equal(res.history["residual"], plain.history["residual"])
    # X = L + S exactly, and the recorded residual is the true one
    np.testing.assert_array_equal(res.X, res.L + res.S)
    true = np.linalg.norm(prob.b - prob.A.forward(res.X)) / np.linalg.norm(prob.b)
    assert res.residual == pytest.approx(true, rel=1e-6, abs=1e-12)
    assert calls["matvec"] == calls["rmatvec"] == 1 + 2 * res.n_iter
    # A(S) is updated from A(P_Omega G') while the support stays put, not measured
    assert 1 + res.n_iter <= calls["forward_sparse"] < 1 + 2 * res.n_iter


def test_naht_default_start_is_low_rank_first_and_a_bad_start_is_named():
    prob = ls_problem((30, 30), 0.5, 0.05, 0.1, rng=1)
    kwargs = dict(rank=prob.rank, sparsity=prob.sparsity, max_iter=5)
    np.testing.assert_array_equal(naht(prob.A, prob.b, **kwargs).X,
                                  naht(prob.A, prob.b, start="low_rank_first", **kwargs).X)
    with pytest.raises(ValueError, match="start must be one of .*start='svd'"):
        naht(prob.A, prob.b, start="svd", **kwargs)
