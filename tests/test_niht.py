import naive
import numpy as np
import pytest

from cs import operators as ops
from cs.datasets.synthetic import low_rank_problem, ls_problem, sparse_problem
from cs.metrics import relative_error
from cs.solvers import Status, naht, niht


def test_sparse_recovery_inside_the_region_19_of_20():
    recovered = 0
    for seed in range(20):
        prob = sparse_problem(1024, 0.5, 0.1, rng=seed)
        res = niht(prob.A, prob.b, sparsity=prob.sparsity)
        recovered += relative_error(res.x, prob.x) < 1e-6 and res.converged
    assert recovered >= 19


def test_sparse_failure_outside_the_region_is_clean():
    for seed in range(3):
        prob = sparse_problem(1024, 0.5, 0.6, rng=seed)
        res = niht(prob.A, prob.b, sparsity=prob.sparsity, max_iter=300)
        assert not res.converged
        assert res.status in (Status.STALLED, Status.MAX_ITER) and res.reason
        assert relative_error(res.x, prob.x) > 1e-2


def test_sparse_histories_errors_and_callback():
    prob = sparse_problem(400, 0.5, 0.1, rng=1)
    seen = []
    res = niht(prob.A, prob.b, sparsity=prob.sparsity, X_true=prob.x,
               callback=lambda it: seen.append(it.n_iter))
    h = res.history
    assert len(h["residual"]) == len(h["time"]) == len(h["error_X"]) == res.n_iter + 1
    assert seen == list(range(1, res.n_iter + 1))
    assert h["error_X"][-1] < 1e-8 and np.all(np.diff(h["time"]) >= 0)
    assert np.count_nonzero(res.x) == prob.sparsity
    stopped = niht(prob.A, prob.b, sparsity=prob.sparsity, callback=lambda it: it.n_iter == 3)
    assert stopped.status == Status.CALLBACK and stopped.n_iter == 3 and not stopped.converged


def test_sparse_float32_stays_float32():
    prob = sparse_problem(512, 0.5, 0.1, rng=0, dtype=np.float32)
    res = niht(prob.A, prob.b, sparsity=prob.sparsity)
    assert res.x.dtype == np.float32 and res.converged
    assert relative_error(res.x, prob.x) < 1e-4


def test_sparse_with_matrix_free_operator():
    prob = sparse_problem(1024, 0.5, 0.1, operator="dct", rng=0)
    res = niht(prob.A, prob.b, sparsity=prob.sparsity)
    assert relative_error(res.x, prob.x) < 1e-6


@pytest.mark.parametrize("operator, dtype", [("fjlt", np.float64), ("gaussian", np.float64),
                                             ("fjlt", np.float32)])
def test_sparse_image_update_is_the_measured_image(monkeypatch, operator, dtype):
    # while the support stays put, A(x_new) = A(x) + alpha A(P g) from products already
    # made: the same iterates as measuring it every time, fewer products, and the
    # residual that stops the run is a measured one
    import importlib

    from test_naht import CountingOperator

    prob = sparse_problem(1024, 0.5, 0.1, operator=operator, rng=3, dtype=dtype)
    counting = CountingOperator(prob.A)
    res = niht(counting, prob.b, sparsity=prob.sparsity)
    monkeypatch.setattr(importlib.import_module("cs.solvers.niht")._SparseModel, "REUSE", 0)
    measured = niht(prob.A, prob.b, sparsity=prob.sparsity)
    assert res.converged and measured.converged and res.n_iter == measured.n_iter
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(res.x, measured.x, rtol=0, atol=tol * np.abs(prob.x).max())
    np.testing.assert_allclose(res.history["residual"], measured.history["residual"], rtol=1e-3, atol=tol)
    # one restricted product an iteration for the step, one more only when the image is measured
    assert res.n_iter + 1 <= counting.calls["forward_sparse"] < 2 * res.n_iter + 1
    true = np.linalg.norm(prob.b - prob.A.forward(res.x)) / np.linalg.norm(prob.b)
    assert res.residual == pytest.approx(true, rel=1e-3, abs=1e-7 if dtype == np.float32 else 0)


@pytest.mark.slow  # a dense 4000 x 10000 operator
def test_low_rank_recovery_gaussian():
    prob = low_rank_problem((100, 100), 0.4, 0.25, operator="gaussian", rng=0)
    assert prob.rank == 5
    res = niht(prob.A, prob.b, rank=5, X_true=prob.x)
    assert res.converged and relative_error(res.X, prob.x) < 1e-6
    assert np.linalg.matrix_rank(res.X, tol=1e-6 * np.linalg.norm(res.X)) == 5


def test_low_rank_failure_is_clean():
    prob = low_rank_problem((40, 40), 0.2, 0.95, operator="fjlt", rng=0)
    res = niht(prob.A, prob.b, rank=prob.rank, max_iter=200)
    assert not res.converged and res.reason


@pytest.fixture(scope="module")
def ls_gaussian():  # the 5000 x 10000 fixture: its cases are marked slow
    return ls_problem((100, 100), 0.5, 0.1, 0.1, operator="gaussian", rng=11)


@pytest.mark.parametrize("operator", ["fjlt", pytest.param("gaussian", marks=pytest.mark.slow)])
@pytest.mark.parametrize("solver", ["accaltproj", "godec", "naht"])
def test_ls_recovery(operator, solver, request):
    prob = (request.getfixturevalue("ls_gaussian") if operator == "gaussian" else
            ls_problem((100, 100), 0.5, 0.1, 0.1, rng=3))
    truth = dict(X_true=prob.x, L_true=prob.L, S_true=prob.S)
    if solver == "naht":
        res = naht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, **truth)
    else:
        res = niht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, projection=solver, **truth)
    assert res.converged, res
    assert relative_error(res.X, prob.x) < 1e-4
    assert relative_error(res.L, prob.L) < 1e-4 and relative_error(res.S, prob.S) < 1e-4
    assert np.count_nonzero(res.S) <= prob.sparsity
    assert res.history["error_L"][-1] < 1e-4
    assert set(res.info["seconds"]) >= {"operator", "projection", "other"}


def test_ls_failure_outside_the_region_is_clean():
    prob = ls_problem((40, 40), 0.3, 0.4, 0.4, rng=0)
    for res in (niht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, max_iter=100),
                naht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, max_iter=100)):
        assert not res.converged and res.reason
        assert relative_error(res.X, prob.x) > 1e-3


def test_bad_input_is_named():
    prob = sparse_problem(64, 0.5, 0.1, rng=0)
    with pytest.raises(ValueError, match="b has 31 entries but the operator makes 32 measurements"):
        niht(prob.A, prob.b[:-1], sparsity=3)
    with pytest.raises(ValueError, match=r"sparsity=65 exceeds the number of entries of the unknown \(64\)"):
        niht(prob.A, prob.b, sparsity=65)
    with pytest.raises(ValueError, match="give sparsity"):
        niht(prob.A, prob.b)
    with pytest.raises(ValueError, match="rank needs a matrix unknown"):
        niht(prob.A, prob.b, rank=2)
    bad = prob.b.copy()
    bad[0] = np.nan
    with pytest.raises(ValueError, match="b contains NaN"):
        niht(prob.A, bad, sparsity=3)
    A = ops.fjlt(50, (10, 10), rng=0)
    with pytest.raises(ValueError, match=r"rank=11 exceeds min\(m, n\)"):
        niht(A, np.ones(50), rank=11)
    with pytest.raises(ValueError, match=r"rank=11 exceeds min\(m, n\)"):
        naht(A, np.ones(50), rank=11, sparsity=3)
    with pytest.raises(ValueError, match="projection must be one of"):
        niht(A, np.ones(50), rank=1, sparsity=2, projection="svd")
    with pytest.raises(ValueError, match="input_shape"):
        niht(ops.as_operator(np.ones((5, 12)), (3, 5)), np.ones(5), rank=1)
    with pytest.raises(ValueError, match="max_iter"):
        niht(A, np.ones(50), rank=1, max_iter=0)


def test_float32_problems_are_solved_in_float32():
    prob = ls_problem((60, 60), 0.5, 0.1, 0.1, rng=0, dtype=np.float32)
    for res in (niht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity),
                niht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, projection="godec"),
                naht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity)):
        assert res.converged and res.X.dtype == res.L.dtype == res.S.dtype == np.float32
        assert relative_error(res.X, prob.x) < 1e-4
    low = low_rank_problem((50, 60), 0.5, 0.2, operator="fjlt", rng=0, dtype=np.float32)
    res = niht(low.A, low.b, rank=low.rank)
    assert res.X.dtype == np.float32 and relative_error(res.X, low.x) < 1e-4


def test_niht_without_the_safeguard_takes_the_plain_step_and_still_recovers():
    p = sparse_problem(256, 0.5, 0.1, rng=7)
    plain = niht(p.A, p.b, sparsity=p.sparsity, safeguard=None)
    guarded = niht(p.A, p.b, sparsity=p.sparsity)
    assert plain.converged and guarded.converged
    assert np.linalg.norm(plain.x - p.x) / np.linalg.norm(p.x) < 1e-6
    with pytest.raises(ValueError, match="safeguard"):
        niht(p.A, p.b, sparsity=p.sparsity, safeguard=(0.5, 2.0))


@pytest.mark.parametrize("solver", ["niht", "naht"])
@pytest.mark.parametrize("start", ["projection", "low_rank_first", "sparse_first", "rpca"])
def test_ls_every_start_recovers_and_the_one_pass_starts_are_the_splits(solver, start):
    # 50 x 50, r = 1, s = 62: sparse_first NAHT stalls on 3 of seeds 0-3 at rho_s = 0.1 (see naht's start)
    prob = ls_problem((50, 50), 0.5, 0.05, 0.05, rng=2)
    res = {"niht": niht, "naht": naht}[solver](prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity,
                                               start=start, rng=0)
    assert res.converged and relative_error(res.X, prob.x) < 1e-6
    assert relative_error(res.L, prob.L) < 1e-6 and np.count_nonzero(res.S) <= prob.sparsity
    by_hand = naive.ls_first_splits(prob).get(start)
    if by_hand is not None:  # the first iterate is the split itself (NIHT's projection keeps it)
        first = np.linalg.norm(prob.b - prob.A.forward(by_hand)) / np.linalg.norm(prob.b)
        assert res.history["residual"][0] == pytest.approx(first, rel=1e-9 if solver == "niht" else 1e-6)
    elif solver == "naht":  # the robust PCA starts: NIHT's start of the same name, from the same seed
        first = niht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, start=start, max_iter=1,
                     rng=0).history["residual"][0]
        assert res.history["residual"][0] == pytest.approx(first, rel=1e-6)


def test_niht_start_default_and_bad_value():
    prob = ls_problem((30, 30), 0.5, 0.05, 0.1, rng=1)
    kwargs = dict(rank=prob.rank, sparsity=prob.sparsity, max_iter=5, rng=0)
    default, projection = niht(prob.A, prob.b, **kwargs), niht(prob.A, prob.b, start="projection", **kwargs)
    np.testing.assert_array_equal(default.X, projection.X)
    # a pair init is its own split: start does not change it
    pair = (prob.L, prob.S)
    np.testing.assert_array_equal(niht(prob.A, prob.b, init=pair, start="sparse_first", **kwargs).X,
                                  niht(prob.A, prob.b, init=pair, **kwargs).X)
    with pytest.raises(ValueError, match="start must be one of .*start='svd'"):
        niht(prob.A, prob.b, start="svd", **kwargs)
