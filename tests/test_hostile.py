"""A hostile but realistic user: every case is a clear error naming the argument,
or a correct answer; none hangs, crashes or returns a wrong answer marked converged."""

import numpy as np
import pytest

from cs import operators, ric
from cs.cli import main
from cs.datasets import synthetic
from cs.solvers import convex, iht, naht, niht, omp, project_ls, rpca
from cs.solvers import greedy

NAMED = r"^{0}(?!\w)|\b{0}="  # the message starts with the name, or holds name=value


def named(name):
    return NAMED.format(name)


# ---------------------------------------------------------------- no hangs

@pytest.mark.parametrize("safeguard", [(0.5, 2.0), (1.0, 2.0), (0.0, 2.0), (0.1, 1.0), (0.1,), "c"])
def test_niht_safeguard_that_cannot_shrink_is_refused(safeguard):
    prob = synthetic.sparse_problem(64, 0.5, 0.1, rng=0)
    with pytest.raises((ValueError, TypeError), match=r"safeguard"):
        niht(prob.A, prob.b, sparsity=prob.sparsity, safeguard=safeguard)


def test_niht_safeguard_at_the_edge_still_recovers():
    prob = synthetic.sparse_problem(256, 0.5, 0.1, rng=0)
    res = niht(prob.A, prob.b, sparsity=prob.sparsity, safeguard=(0.5, 2.01))
    assert res.converged and np.abs(res.x - prob.x).max() < 1e-6


@pytest.mark.parametrize("p, n, d", [(24, 200, 24), (5, 1000, 4), (64, 300, 63)])
def test_sparse_expander_with_d_near_p_ends_with_distinct_rows(p, n, d):
    A = operators.sparse_expander(p, n, d=d, rng=0).todense()
    nonzero = A != 0
    assert np.all(nonzero.sum(axis=0) == d)
    np.testing.assert_allclose(np.linalg.norm(A, axis=0), 1.0)


# ---------------------------------------------------------------- operator contract

def test_restricted_products_check_bounds_before_the_kernels():
    A = operators.gaussian(20, 40, rng=0)
    with pytest.raises(ValueError, match="support holds indices outside"):
        A.forward_sparse(np.ones(2), np.array([0, 10**6]))
    with pytest.raises(ValueError, match="support holds indices outside"):
        A.adjoint_at(np.ones(20), np.array([-1]))
    with pytest.raises(ValueError, match="values has shape"):
        A.forward_sparse(np.ones(3), np.array([0, 1]))
    with pytest.raises(ValueError, match="y has shape"):
        A.adjoint_at(np.ones(19), np.array([0, 1]))
    with pytest.raises(TypeError, match="support must be"):
        A.forward_sparse(np.ones(2), np.array([0.0, 1.0]))
    dense = A.todense()
    x = np.zeros(40)
    x[[3, 17]] = [1.0, -2.0]
    np.testing.assert_allclose(A.forward_sparse(np.array([1.0, -2.0]), [3, 17]), dense @ x)
    np.testing.assert_allclose(A.adjoint_at(np.arange(20.0), [3, 17]), (dense.T @ np.arange(20.0))[[3, 17]])


@pytest.mark.parametrize("factory", [lambda: operators.fjlt(30, (6, 10), rng=0),
                                     lambda: operators.entry_sampling(30, (6, 10), rng=0),
                                     lambda: operators.sparse_expander(30, (6, 10), d=4, rng=0),
                                     lambda: operators.gaussian(30, (6, 10), rng=0)])
def test_reshape_and_todense(factory):
    A = factory()
    flat = A.reshape(60)
    assert flat.input_shape == (60,) and flat.orthonormal_rows == A.orthonormal_rows
    assert A.reshape((6, 10)) is A and operators.as_operator(A, (10, 6)).input_shape == (10, 6)
    dense = A.todense()
    X = np.random.default_rng(0).standard_normal((6, 10))
    np.testing.assert_allclose(dense @ X.ravel(), A.forward(X), atol=1e-12)
    np.testing.assert_allclose(flat.forward_sparse(np.ones(2), [1, 59]), dense[:, [1, 59]].sum(1), atol=1e-12)
    with pytest.raises(ValueError, match=named("input_shape")):
        A.reshape((7, 10))


@pytest.mark.parametrize("call, error, name", [
    (lambda: operators.gaussian(20, (2.5, 4)), TypeError, "input_shape"),
    (lambda: operators.fjlt(4, (True, 4)), TypeError, "input_shape"),
    (lambda: operators.as_operator(np.array([[1.0, np.nan]])), ValueError, "A"),
    (lambda: operators.as_operator(np.array([[1.0, np.inf]]) * 1j), ValueError, "A"),
    (lambda: synthetic.rank_from_rho(np.nan, 100, (10, 10)), ValueError, "rho_r"),
    (lambda: synthetic.rank_from_rho(np.inf, 100, (10, 10)), ValueError, "rho_r"),
    (lambda: synthetic.rank_from_rho(0.1, 0, (10, 10)), ValueError, "p"),
    (lambda: synthetic.ls_problem((2.5, 4), 0.5, 0.1, 0.1), TypeError, "shape"),
    (lambda: rpca(np.zeros((0, 5)), rank=1), ValueError, "M"),
    (lambda: rpca(np.zeros((4, 0)), method="pcp"), ValueError, "M"),
    (lambda: ric.bct_bounds("half", 0.1), TypeError, "delta"),
    (lambda: ric.bct_bounds(0.5, None), TypeError, "rho"),
    (lambda: ric.bct_bounds(np.nan, 0.1), ValueError, "delta"),
    (lambda: ric.bct_bounds([0.5, 0.6], [0.1, 0.2, 0.3]), ValueError, "delta"),
    (lambda: ric.bct_bounds(True, 0.1), TypeError, "delta"),
    (lambda: operators.gaussian(20, 40, rng=0).forward_sparse(np.ones(1), [[0]]), TypeError, "support"),
    (lambda: niht(operators.gaussian(10, 20, rng=0), np.ones(10), sparsity=2, X_true=np.ones(19)),
     ValueError, "X_true"),
    (lambda: niht(operators.gaussian(10, 20, rng=0), np.ones(10), sparsity=2, X_true=np.full(20, np.nan)),
     ValueError, "X_true"),
    (lambda: niht(operators.gaussian(10, 20, rng=0), np.ones(10), sparsity=2, init=np.ones(3)),
     ValueError, "init"),
    (lambda: niht(operators.gaussian(10, (4, 5), rng=0), np.ones(10), rank=1, sparsity=2,
                  init=(np.ones((4, 5)), np.ones((5, 4)))), ValueError, r"init\[1\]"),
    (lambda: naht(operators.gaussian(10, (4, 5), rng=0), np.ones(10), rank=1, sparsity=2, rng="x"),
     TypeError, "rng"),
    (lambda: naht(operators.gaussian(10, (4, 5), rng=0), np.ones(10), rank=1, sparsity=2, callback=1),
     TypeError, "callback"),
    (lambda: iht(operators.gaussian(10, 20, rng=0), np.ones(10), sparsity=2, x0=np.ones((4, 5))),
     ValueError, "x0"),
    (lambda: omp(operators.gaussian(10, 20, rng=0), np.ones(10), sparsity=2, X_true=np.ones((2, 10))),
     ValueError, "X_true"),
    (lambda: project_ls(np.ones((4, 5)), 1, 2, init=(np.ones((4, 5)), np.full((4, 5), np.nan))),
     ValueError, r"init\[1\]"),
    (lambda: convex(operators.fjlt(10, (4, 5), rng=0), np.ones(10), S_true=np.ones((5, 4))),
     ValueError, "S_true"),
])
def test_bad_input_names_the_argument(call, error, name):
    with pytest.raises(error, match=named(name)):
        call()


def test_sizes_too_large_to_allocate_raise_a_memory_error_naming_the_size():
    with pytest.raises(MemoryError, match="GiB"):
        operators.gaussian(10**6, 10**6)
    with pytest.raises(MemoryError, match="10000000000000"):
        operators.fjlt(10, (10**7, 10**6))
    with pytest.raises(MemoryError, match="1000000 x 1000000"):
        synthetic.ls_problem((10**6, 10**6), 0.5, 0.1, 0.1)
    with pytest.raises(MemoryError, match="dense"):
        operators.fjlt(10**6, (10**4, 10**3), rng=0).todense()


# ---------------------------------------------------------------- precision

def test_convex_admm_keeps_float32():
    prob = synthetic.ls_problem((20, 20), 0.6, 0.1, 0.05, operator="fjlt", rng=0, dtype=np.float32)
    res = convex(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, method="admm", tol=1e-4)
    assert res.X.dtype == np.float32 and res.L.dtype == np.float32 and res.S.dtype == np.float32
    assert res.converged and np.linalg.norm(res.X - prob.x) < 1e-2 * np.linalg.norm(prob.x)


# ---------------------------------------------------------------- converged means checked

def test_l1_solved_lp_with_a_bad_residual_is_not_converged(monkeypatch):
    import scipy.optimize  # l1 imports linprog from here when it runs

    prob = synthetic.sparse_problem(60, 0.5, 0.1, rng=0)
    real = scipy.optimize.linprog

    def lying(*args, **kwargs):  # HiGHS says "solved" but hands back a perturbed point
        out = real(*args, **kwargs)
        out.x = out.x.copy()
        out.x[: out.x.size // 2] += 1e-3  # x = u - v moves by 1e-3 everywhere
        return out

    monkeypatch.setattr(scipy.optimize, "linprog", lying)
    res = greedy.l1(prob.A, prob.b)
    assert res.info["lp_status"] == 0 and not res.converged and res.residual > 1e-5
    monkeypatch.setattr(scipy.optimize, "linprog", real)
    assert greedy.l1(prob.A, prob.b).converged


# ---------------------------------------------------------------- the command line

@pytest.mark.parametrize("argv", [
    ["ric", "--shape", "4", "5", "6", "--sparsity", "2"],
    ["ric", "--shape", "-4", "--sparsity", "2"],
    ["ric", "--shape", "20", "--delta", "1.5", "--sparsity", "2"],
    ["ric", "--shape", "20", "--delta", "nan", "--sparsity", "2"],
    ["ric", "--shape", "20", "--operator", "nope", "--sparsity", "2"],
    ["ric", "--shape", "20", "--sparsity", "21"],
    ["ric", "--shape", "20"],
    ["ric", "--shape", "20", "--rank", "2"],
    ["ric", "--shape", "20", "--sparsity", "2", "--plot", "/"],
    ["ric", "--shape", "20", "--sparsity", "2", "--plot", "/no/such/folder/ric.png"],
])
def test_cli_ric_bad_flags_give_one_line_and_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:  # argparse's own errors exit
        raise SystemExit(main(argv))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error:" in err
    if "--operator" in argv:
        assert "gaussian" in err and "fjlt" in err


def test_cli_operator_names_match_the_generators():
    from cs.cli.ric import OPERATOR_NAMES

    assert sorted(OPERATOR_NAMES) == sorted(synthetic.OPERATORS)
