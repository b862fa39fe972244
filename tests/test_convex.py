import math

import numpy as np
import pytest
from scipy.sparse.linalg import LinearOperator

from cs import operators as ops
from cs.datasets.synthetic import low_rank_problem, ls_problem, sparse_problem
from cs.metrics import relative_error
from cs.solvers import Status
from cs.solvers.convex import MAX_CVXPY_ENTRIES, convex, default_lam

# SCS to 1e-10 is faster and more accurate than the interior-point default on
# these nuclear-norm SDPs (Clarabel reports "optimal_inaccurate" at 30 x 30)
SCS = dict(method="cvxpy", solver="SCS", solver_options={"eps_abs": 1e-10, "eps_rel": 1e-10,
                                                          "max_iters": 200_000})

_PROBLEMS = {
    "ls20-fjlt": lambda: ls_problem((20, 20), 0.6, 0.15, 0.1, operator="fjlt", rng=1),
    "ls30-fjlt": lambda: ls_problem((30, 30), 0.6, 0.15, 0.1, operator="fjlt", rng=1),
    "ls20-gaussian": lambda: ls_problem((20, 20), 0.6, 0.15, 0.1, operator="gaussian", rng=2),
    "bp-dct": lambda: sparse_problem(200, 0.5, 0.2, operator="dct", rng=3),
    "bp-gaussian": lambda: sparse_problem(200, 0.5, 0.4, operator="gaussian", rng=3),
    "nn20-fjlt": lambda: low_rank_problem((20, 20), 0.5, 0.3, operator="fjlt", rng=3),
    "nn20-gaussian": lambda: low_rank_problem((20, 20), 0.5, 0.3, operator="gaussian", rng=3),
    "nn20-entries": lambda: low_rank_problem((20, 20), 0.8, 0.2, operator="entries", rng=3),
}
_CACHE = {}


def _hints(prob):
    return {k: v for k, v in (("rank", prob.rank), ("sparsity", prob.sparsity)) if v is not None}


def _case(name, eps_fraction):
    """The problem, eps and the cvxpy reference (solved once per session)."""
    key = (name, eps_fraction)
    if key not in _CACHE:
        prob = _PROBLEMS[name]()
        eps = eps_fraction * float(np.linalg.norm(prob.b))
        options = {} if name.startswith("bp") else SCS
        ref = convex(prob.A, prob.b, eps=eps, **_hints(prob), **options)
        assert ref.info["cvxpy_status"] == "optimal" and ref.converged
        _CACHE[key] = prob, eps, ref
    return _CACHE[key]


def _admm(prob, eps, **kw):
    return convex(prob.A, prob.b, eps=eps, method="admm", tol=1e-9, rng=0, **_hints(prob), **kw)


# ---------------------------------------------------------------- cvxpy path

@pytest.mark.slow  # an interior-point SDP
def test_cvxpy_recovers_ls_instance():
    prob, _, ref = _case("ls30-fjlt", 0.0)
    assert (prob.A.n_measurements, prob.rank, prob.sparsity) == (540, 1, 54)
    assert ref.solver == "convex-ls-cvxpy" and ref.info["lam"] == pytest.approx(math.sqrt(1 / 54))
    assert relative_error(ref.X, prob.x) < 1e-7 and ref.residual < 1e-8
    # X is recovered; its split is the program's, close to but not the drawn one
    assert relative_error(ref.L, prob.L) < 0.1 and np.linalg.matrix_rank(ref.L, tol=1e-6) == 1


def test_convex_agrees_with_niht_on_a_small_instance():
    from cs.solvers import naht, niht

    prob, _, ref = _case("ls30-fjlt", 0.0)
    for res in (niht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity),
                naht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity)):
        assert res.converged
        assert relative_error(res.X, ref.X) < 1e-6


def test_cvxpy_basis_pursuit_recovers_vector():
    prob, _, ref = _case("bp-gaussian", 0.0)
    assert prob.x.shape == (200,) and prob.sparsity == 40
    assert ref.solver == "convex-sparse-cvxpy" and ref.L is None and ref.S is None
    assert relative_error(ref.x, prob.x) < 1e-6


def test_cvxpy_noisy_form_meets_the_constraint():
    prob, eps, ref = _case("ls20-fjlt", 0.05)
    assert np.linalg.norm(prob.A.forward(ref.X) - prob.b) <= eps * (1 + 1e-6)
    assert relative_error(ref.X, prob.x) > 1e-2  # the noisy minimiser is not the truth


# ---------------------------------------------------------- ADMM against cvxpy

@pytest.mark.parametrize("eps_fraction", [0.0, 0.05])
@pytest.mark.parametrize("name", ["ls20-fjlt", "ls30-fjlt", "ls20-gaussian"])
def test_admm_matches_cvxpy_ls(name, eps_fraction):
    prob, eps, ref = _case(name, eps_fraction)
    res = _admm(prob, eps)
    assert res.converged and res.status == Status.TOLERANCE
    assert res.info["constraint_step"] == ("linearised" if "gaussian" in name else "projection")
    for est, want in ((res.X, ref.X), (res.L, ref.L), (res.S, ref.S)):
        assert relative_error(est, want) < 1e-4
    assert res.info["objective"] == pytest.approx(ref.info["objective"], rel=1e-6)
    assert abs(res.info["gap"]) < 1e-6
    if eps:
        assert np.linalg.norm(prob.A.forward(res.X) - prob.b) <= eps * (1 + 1e-6)


@pytest.mark.parametrize("eps_fraction", [0.0, 0.05])
@pytest.mark.parametrize("name", ["bp-dct", "bp-gaussian", "nn20-fjlt", "nn20-gaussian",
                                  "nn20-entries"])
def test_admm_matches_cvxpy_basis_pursuit_and_nuclear_norm(name, eps_fraction):
    prob, eps, ref = _case(name, eps_fraction)
    res = _admm(prob, eps)
    assert res.converged
    assert res.solver == ("convex-sparse-admm" if name.startswith("bp") else "convex-low_rank-admm")
    assert relative_error(res.X, ref.X) < 1e-4
    if name.startswith("nn"):
        assert res.L is res.X and res.history["rank"][-1] == np.linalg.matrix_rank(ref.X, tol=1e-6)


def test_randomized_svt_agrees_with_exact():
    prob = ls_problem((40, 40), 0.5, 0.1, 0.1, operator="fjlt", rng=4)
    exact = _admm(prob, 0.0, svd="exact")
    fast = _admm(prob, 0.0, svd="randomized")
    assert exact.converged and fast.converged
    assert exact.info["svd_randomized"] == 0
    assert fast.info["svd_randomized"] > 0.9 * fast.n_iter
    assert relative_error(fast.X, exact.X) < 1e-6 and relative_error(fast.X, prob.x) < 1e-6


def test_default_lam_without_hints_and_histories():
    prob = ls_problem((20, 20), 0.6, 0.15, 0.1, operator="fjlt", rng=1)
    seen = []
    res = convex(prob.A, prob.b, method="admm", X_true=prob.x, L_true=prob.L, S_true=prob.S,
                 callback=lambda it: seen.append(it.n_iter), rng=0)
    assert res.info["lam"] == pytest.approx(1 / math.sqrt(20)) and res.info["kind"] == "ls"
    h = res.history
    n = res.n_iter
    assert seen == list(range(1, n + 1))
    for key in ("residual", "time", "step", "primal", "dual", "kkt", "rank", "error_X", "error_L",
                "error_S"):
        assert len(h[key]) == n + 1, key  # iteration 0 is the start, X = 0
    assert h["residual"][0] == h["error_X"][0] == 1.0 and np.isnan(h["kkt"][0])
    assert h["kkt"][-1] < 1e-7 <= h["kkt"][-2] and np.all(np.diff(h["time"]) >= 0)
    assert h["kkt"][-1] == max(h["primal"][-1], h["dual"][-1])
    assert h["error_X"][-1] < 1e-5
    stopped = convex(prob.A, prob.b, method="admm", callback=lambda it: it.n_iter == 5)
    assert stopped.status == Status.CALLBACK and stopped.n_iter == 5 and not stopped.converged
    capped = convex(prob.A, prob.b, method="admm", max_iter=7)
    assert capped.status == Status.MAX_ITER and capped.n_iter == 7


@pytest.mark.parametrize("hints, kind", [
    (dict(rank=2, sparsity=30), "ls"), (dict(), "ls"), (dict(rank=2), "low_rank"),
    (dict(sparsity=30), "sparse"), (dict(rank=2, kind="ls"), "ls"),
])
def test_kind_is_inferred_from_the_hints(hints, kind):
    prob = ls_problem((12, 12), 0.6, 0.15, 0.1, operator="fjlt", rng=0)
    res = convex(prob.A, prob.b, method="admm", max_iter=2, **hints)
    assert res.info["kind"] == kind
    assert (res.L is None) == (kind == "sparse") and (res.S is None) == (kind != "ls")
    vec = sparse_problem(50, 0.5, 0.1, rng=0)
    assert convex(vec.A, vec.b, method="admm", max_iter=2).info["kind"] == "sparse"


def test_noise_larger_than_the_data_gives_zero():
    prob = sparse_problem(100, 0.5, 0.1, operator="dct", rng=0)
    res = convex(prob.A, prob.b, eps=1.01 * np.linalg.norm(prob.b), method="admm")
    assert res.converged and np.abs(res.x).max() < 1e-12


def test_plain_matrix_with_shape_and_method_auto():
    prob = ls_problem((12, 12), 0.6, 0.15, 0.1, operator="gaussian", rng=5)
    M = prob.A.matrix
    res = convex(M, prob.b, shape=(12, 12), rank=prob.rank, sparsity=prob.sparsity)
    assert res.solver == "convex-ls-cvxpy" and res.X.shape == (12, 12)
    assert relative_error(res.X, prob.x) < 1e-6
    big = ls_problem((30, 30), 0.6, 0.15, 0.1, operator="fjlt", rng=1)
    res = convex(big.A, big.b, rank=big.rank, sparsity=big.sparsity, max_iter=3)
    assert res.solver == "convex-ls-admm"


def test_cvxpy_refuses_large_problems_before_building():
    prob = ls_problem((100, 100), 0.5, 0.1, 0.1, operator="fjlt", rng=0)
    assert prob.A.n_measurements * prob.A.input_size > MAX_CVXPY_ENTRIES
    with pytest.raises(ValueError, match="method='admm'"):
        convex(prob.A, prob.b, method="cvxpy")


def test_default_lam():
    assert default_lam((30, 40), 2, 50) == pytest.approx(0.2)
    assert default_lam((30, 40)) == pytest.approx(1 / math.sqrt(40))
    assert default_lam((30, 40), 0, 50) == pytest.approx(1 / math.sqrt(40))


# ------------------------------------------------------------------ bad input

@pytest.fixture(scope="module")
def small():
    return ls_problem((10, 10), 0.6, 0.15, 0.1, operator="fjlt", rng=0)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(lam=0.0), ValueError, "lam=0.0 must be > 0"),
    (dict(lam=-1.0), ValueError, "lam"),
    (dict(lam="big"), TypeError, "lam must be a real number"),
    (dict(kind="sparse", lam=0.5), ValueError, "lam only weighs"),
    (dict(eps=-0.1), ValueError, "eps=-0.1 must be >= 0"),
    (dict(eps=np.nan), ValueError, "eps must be finite"),
    (dict(method="newton"), ValueError, "method must be one of"),
    (dict(kind="dense"), ValueError, "kind must be one of"),
    (dict(rank=11), ValueError, "rank=11 exceeds"),
    (dict(sparsity=-1), ValueError, "sparsity=-1 must be >= 0"),
    (dict(tol=0.0), ValueError, "tol=0.0 must be > 0"),
    (dict(max_iter=0), ValueError, "max_iter=0 must be >= 1"),
    (dict(svd="lanczos"), ValueError, "svd must be one of"),
    (dict(method="admm", solver="SCS"), ValueError, "solver and solver_options apply"),
    (dict(method="cvxpy", solver="NO_SUCH_SOLVER"), ValueError, "solver='NO_SUCH_SOLVER'"),
    (dict(method="cvxpy", solver=3), TypeError, "solver must be a cvxpy solver name"),
    (dict(solver_options=[1]), TypeError, "solver_options must be a dict"),
    (dict(shape=(5, 30)), ValueError, "shape=\\(5, 30\\) has 150 entries"),
    (dict(shape="square"), TypeError, "shape must hold integers"),
    (dict(X_true=np.zeros((10, 11))), ValueError, "X_true has shape"),
    (dict(callback=3), TypeError, "callback must be callable"),
])
def test_bad_arguments_name_themselves(small, kwargs, error, match):
    with pytest.raises(error, match=match):
        convex(small.A, small.b, **kwargs)


def test_bad_measurements_and_operators(small):
    with pytest.raises(ValueError, match="b has 59 entries but the operator makes 60"):
        convex(small.A, small.b[:-1])
    matvec_only = LinearOperator((60, 100), matvec=lambda x: small.A.forward(x.reshape(10, 10)),
                                 dtype=np.float64)
    with pytest.raises(TypeError, match="A must have an adjoint"):
        convex(matvec_only, small.b, method="admm")
    with pytest.raises(ValueError, match="kind='ls' needs a matrix unknown"):
        convex(ops.gaussian(20, 50, rng=0), np.ones(20), kind="ls")
    with pytest.raises(ValueError, match="rank needs a matrix unknown"):
        convex(ops.gaussian(20, 50, rng=0), np.ones(20), rank=2)
