"""Tests for cs.solvers.robust_pca: robust PCA solvers and the L+S projection."""

import functools

import numpy as np
import pytest

from cs.datasets.synthetic import ls_matrix
from cs.solvers.result import MESSAGES, Status
from cs.solvers.robust_pca import LSSplit, project_ls, rpca
from cs.threshold import truncate_rank

RANK = 5


def rel(estimate, truth):
    return np.linalg.norm(estimate - truth) / np.linalg.norm(truth)


@functools.lru_cache(maxsize=None)
def ls_problem(n):
    """An n x n rank-5 plus 5%-sparse matrix (Tanner-Vary generator, c = 1)."""
    return ls_matrix((n, n), RANK, n * n // 20, rng=20240501)


@pytest.fixture(scope="module")
def small():
    return ls_matrix((100, 100), 5, 500, rng=7)


# ---------------------------------------------------------------- recovery

# (method, n, pass sparsity?, most iterations).  Observed on this seed:
# accaltproj 21 (thresholds) / 11 (sparsity), godec 12, pcp 27.
SLOW = pytest.mark.slow  # 500 x 500: seconds each on two busy cores
CASES = [
    pytest.param("accaltproj", 500, False, 30, marks=SLOW),
    pytest.param("accaltproj", 500, True, 20, marks=SLOW),
    pytest.param("godec", 500, True, 25, marks=SLOW),
    # PCP needs a full SVD per iteration (~30 of them), which on a busy
    # 2-core box costs tens of seconds at 500 x 500, so it runs at 250 x 250.
    # It is convex and exact here (Candes et al. 2011) and its inexact ALM
    # converges superlinearly as mu grows: at tol=1e-9 the errors are ~1e-9
    # (3e-10 for L, 1.4e-9 for S), so it meets the same 1e-6 bound.
    pytest.param("pcp", 250, False, 40, marks=SLOW),
]


@pytest.mark.parametrize("method, n, with_sparsity, most", CASES,
                         ids=["accaltproj-zeta", "accaltproj-sparsity", "godec", "pcp-250"])
def test_recovers_rank5_5pct_sparse(method, n, with_sparsity, most):
    X, L, S = ls_problem(n)
    sparsity = n * n // 20 if with_sparsity else None
    rank = None if method == "pcp" else RANK
    res = rpca(X, rank=rank, sparsity=sparsity, method=method, tol=1e-9, rng=0, L_true=L, S_true=S)
    assert res.converged and res.status == Status.TOLERANCE
    assert res.reason == MESSAGES[Status.TOLERANCE]
    assert res.n_iter <= most
    assert rel(res.L, L) < 1e-6
    assert rel(res.S, S) < 1e-6
    np.testing.assert_array_equal(res.X, res.L + res.S)
    assert res.solver == f"rpca-{method}"
    hist = res.history
    assert len(hist["residual"]) == res.n_iter == len(hist["error_L"]) == len(hist["error_X"])
    assert hist["residual"][-1] < 1e-9
    assert hist["residual"][-1] == pytest.approx(rel(res.L + res.S, X), rel=1e-6)
    assert hist["error_L"][-1] == pytest.approx(rel(res.L, L), rel=1e-9)
    assert np.all(np.diff(hist["time"]) >= 0)
    assert res.info["rank"] == RANK
    # the support of S is found exactly (sparsity given: exactly that many)
    np.testing.assert_array_equal(res.S != 0, S != 0)


def test_accaltproj_thresholds_decrease(small):
    X, L, S = small
    res = rpca(X, rank=5, rng=1)
    zeta = res.history["zeta"]
    assert zeta.size == res.n_iter
    assert np.all(np.diff(zeta) < 0)  # zeta_k = beta (sigma_{r+1} + gamma^k sigma_1) decays
    assert zeta[-1] < 1e-3 * zeta[0]


def test_pcp_history_and_default_lambda(small):
    X, L, S = small
    res = rpca(X, method="pcp", tol=1e-8, rng=0)
    assert res.converged
    assert res.info["lam"] == pytest.approx(0.1)  # 1 / sqrt(max(m, n))
    assert res.info["rank"] == 5 and res.history["rank"][-1] == 5
    mu = res.history["mu"]
    np.testing.assert_allclose(mu[1:] / mu[:-1], 1.6)  # mu_{k+1} = rho mu_k (below the cap)
    assert rel(res.L, L) < 1e-6


def test_pcp_lam_changes_the_split(small):
    X, _, _ = small
    res = rpca(X, method="pcp", lam=1.0, tol=1e-8, rng=0)
    # a large weight on ||S||_1 leaves S empty: L = M is the PCP solution
    assert res.converged and res.info["lam"] == 1.0
    assert res.info["nnz_S"] == 0


def test_seeded_runs_are_identical(small):
    X, _, _ = small
    a = rpca(X, rank=5, sparsity=500, method="godec", rng=3)
    b = rpca(X, rank=5, sparsity=500, method="godec", rng=3)
    np.testing.assert_array_equal(a.L, b.L)
    assert a.n_iter == b.n_iter


def test_callback_stops(small):
    X, _, _ = small
    seen = []

    def callback(it):
        seen.append((it.n_iter, it.L.shape, it.S.shape))
        np.testing.assert_allclose(it.x, it.L + it.S, rtol=0, atol=1e-12)
        return it.n_iter == 3

    res = rpca(X, rank=5, callback=callback, rng=0)
    assert res.n_iter == 3 and res.status == Status.CALLBACK and not res.converged
    assert res.reason == MESSAGES[Status.CALLBACK]
    assert seen == [(k, (100, 100), (100, 100)) for k in (1, 2, 3)]


# ---------------------------------------------------------------- failure

@pytest.mark.parametrize("method", ["accaltproj", "godec"])
def test_rank_far_too_small_stalls(small, method):
    X, L, _ = small
    res = rpca(X, rank=1, sparsity=500, method=method, rng=0)
    assert not res.converged
    assert res.status == Status.STALLED and res.reason == MESSAGES[Status.STALLED]
    assert res.n_iter < 40
    assert res.residual > 0.5  # four of the five components cannot be fitted
    assert np.linalg.matrix_rank(res.L) == 1 and np.count_nonzero(res.S) == 500


def test_sparse_fraction_too_large_fails(small):
    X, L, S = ls_matrix((100, 100), 5, 5_000, rng=7)  # half the entries corrupted
    res = rpca(X, rank=5, sparsity=5_000, rng=0, max_iter=30)
    assert not res.converged
    assert res.status in (Status.MAX_ITER, Status.STALLED)
    assert res.residual > 1e-4
    assert rel(res.L, L) > 1e-3


def test_thresholded_accaltproj_with_wrong_rank_absorbs_everything_into_S(small):
    # documented caveat: without `sparsity` the thresholds fall to zero and a
    # dense S fits M exactly, so only nnz_S reveals the failure
    X, _, _ = small
    res = rpca(X, rank=1, rng=0)
    assert res.info["nnz_S"] > 0.9 * X.size


# ---------------------------------------------------------------- project_ls

@pytest.mark.parametrize("method", ["accaltproj", "godec"])
def test_project_ls_structure(method):
    X = np.random.default_rng(11).standard_normal((60, 40))
    out = project_ls(X, 3, 200, method=method, rng=0)
    assert isinstance(out, LSSplit)
    assert np.linalg.matrix_rank(out.L) == 3
    assert np.count_nonzero(out.S) <= 200
    assert out.U.shape == (60, 3) and out.V.shape == (40, 3)
    np.testing.assert_allclose(out.U.T @ out.U, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(out.V.T @ out.V, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(out.U @ (out.U.T @ out.L @ out.V) @ out.V.T, out.L, atol=1e-12)
    assert 1 <= out.n_iter <= 50
    # better than the rank-3 truncation alone and than the s-sparse part alone
    assert np.linalg.norm(X - out.L - out.S) < np.linalg.norm(X - truncate_rank(X, 3).X)


@pytest.mark.parametrize("method", ["accaltproj", "godec"])
def test_project_ls_recovers_exact_ls(small, method):
    X, L, S = small
    out = project_ls(X, 5, 500, method=method, tol=1e-10, max_iter=100, rng=0)
    assert out.n_iter <= 25
    assert rel(out.L, L) < 1e-8 and rel(out.S, S) < 1e-8
    np.testing.assert_array_equal(out.S != 0, S != 0)


@pytest.mark.parametrize("method", ["accaltproj", "godec"])
def test_project_ls_warm_start_from_truth(small, method):
    X, L, S = small
    out = project_ls(X, 5, 500, method=method, init=(L, S), tol=1e-10, rng=0)
    assert out.n_iter == 1
    assert rel(out.L, L) < 1e-13 and rel(out.S, S) < 1e-13
    cold = project_ls(X, 5, 500, method=method, tol=1e-10, rng=0)
    again = project_ls(X, 5, 500, method=method, init=cold, tol=1e-10, rng=0)  # an LSSplit
    assert cold.n_iter > 5 and again.n_iter == 1


@pytest.mark.parametrize("method", ["accaltproj", "godec"])
def test_project_ls_perturbed_input(small, method):
    X, L, S = small
    noise = np.random.default_rng(2).standard_normal(X.shape)
    Y = X + 0.05 * np.mean(np.abs(L)) * noise
    out = project_ls(Y, 5, 500, method=method, rng=0)
    fit = rel(out.L + out.S, Y)
    assert fit < 0.5 * rel(truncate_rank(Y, 5).X, Y)  # observed ~0.033 against ~0.10
    assert np.linalg.matrix_rank(out.L) == 5 and np.count_nonzero(out.S) <= 500
    assert rel(out.L, L) < 0.02
    # warm start from its own output: already a fixed point
    again = project_ls(Y, 5, 500, method=method, init=out, rng=0)
    assert again.n_iter <= 2
    assert rel(again.L + again.S, Y) == pytest.approx(fit, rel=1e-6)


def test_project_ls_edge_counts(small):
    X, L, S = small
    only_sparse = project_ls(X, 0, 500)
    assert not only_sparse.L.any() and np.count_nonzero(only_sparse.S) == 500
    assert only_sparse.U.shape == (100, 0) and only_sparse.V.shape == (100, 0)
    only_low = project_ls(L, 5, 0, rng=0)
    assert not only_low.S.any() and rel(only_low.L, L) < 1e-12


def test_project_ls_keeps_float32(small):
    X, L, _ = small
    out = project_ls(X.astype(np.float32), 5, 500, tol=1e-5, rng=0)
    assert out.L.dtype == out.S.dtype == out.U.dtype == np.float32
    assert rel(out.L, L) < 1e-4


# ---------------------------------------------------------------- bad input

M = np.ones((6, 5))


@pytest.mark.parametrize("args, kwargs, error, name", [
    ((M, 6), {}, ValueError, "rank"),
    ((M, 0), {}, ValueError, "rank"),
    ((M, 2.5), {}, TypeError, "rank"),
    ((M,), {}, ValueError, "rank"),
    ((M,), dict(method="godec"), ValueError, "rank"),
    ((M, 2, 31), {}, ValueError, "sparsity"),
    ((M, 2, -1), {}, ValueError, "sparsity"),
    ((M, 2), dict(method="godec"), ValueError, "sparsity"),
    ((np.ones(5), 1), {}, ValueError, "M"),
    ((np.ones((2, 3, 4)), 1), {}, ValueError, "M"),
    ((np.where(np.eye(6, 5) > 0, np.nan, 1.0), 2), {}, ValueError, "M"),
    ((np.where(np.eye(6, 5) > 0, np.inf, 1.0), 2), {}, ValueError, "M"),
    ((M.astype(complex), 2), {}, TypeError, "M"),
    ((M, 2), dict(method="svd"), ValueError, "method"),
    ((M,), dict(method="pcp", lam=0.0), ValueError, "lam"),
    ((M, 2, 3), dict(method="godec", lam=0.1), ValueError, "lam"),
    ((M, 2), dict(tol=-1.0), ValueError, "tol"),
    ((M, 2), dict(max_iter=0), ValueError, "max_iter"),
    ((M, 2), dict(callback=3), TypeError, "callback"),
    ((M, 2), dict(rng="seed"), TypeError, "rng"),
    ((M, 2), dict(L_true=np.ones((5, 6))), ValueError, "L_true"),
    ((M, 2), dict(S_true=np.ones(30)), ValueError, "S_true"),
])
def test_rpca_bad_input(args, kwargs, error, name):
    M, *sizes = args
    kwargs = dict(zip(("rank", "sparsity"), sizes), **kwargs)
    with pytest.raises(error, match=rf"^{name}\b|\b{name}="):
        rpca(M, **kwargs)


@pytest.mark.parametrize("args, kwargs, error, name", [
    ((M, 6, 3), {}, ValueError, "rank"),
    ((M, 2, 31), {}, ValueError, "sparsity"),
    ((M, 2.0, 3), {}, TypeError, "rank"),
    ((np.ones(5), 1, 1), {}, ValueError, "X"),
    ((M, 2, 3), dict(method="pcp"), ValueError, "method"),
    ((M, 2, 3), dict(max_iter=0), ValueError, "max_iter"),
    ((M, 2, 3), dict(init=(M, np.ones((5, 6)))), ValueError, "init"),
    ((M, 2, 3), dict(init=M), TypeError, "init"),
])
def test_project_ls_bad_input(args, kwargs, error, name):
    with pytest.raises(error, match=rf"^{name}\b|\b{name}="):
        project_ls(*args, **kwargs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("r", [0, 1, 3])
def test_add_product_is_an_in_place_rank_r_update(dtype, order, r):
    from cs.solvers.robust_pca import _add_product

    rng = np.random.default_rng(r)
    Z = np.asarray(rng.standard_normal((40, 25)), dtype=dtype, order=order)
    A, B = rng.standard_normal((40, r)).astype(dtype), rng.standard_normal((r, 25)).astype(dtype)
    expected = Z.astype(np.float64) - 0.5 * A.astype(np.float64) @ B
    out = _add_product(Z, A, B, -0.5)
    assert out is Z
    np.testing.assert_allclose(Z, expected, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)
    # mixed precisions and non-contiguous targets take NumPy's path, with the same result
    W = np.zeros((40, 50), dtype)[:, ::2]
    _add_product(W, A.astype(np.float64), B.astype(np.float64))
    np.testing.assert_allclose(W, (A.astype(np.float64) @ B).astype(dtype), rtol=1e-5, atol=1e-5)
