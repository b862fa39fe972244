"""Meta-test (scikit-learn style): every public function, fed one bad value,
raises an error whose message names the offending argument: it starts with the
name, or holds ``name=value`` (not merely the name somewhere in the text)."""

import re

import numpy as np
import pytest

from cs import metrics, operators, ric, threshold
from cs.datasets import synthetic
from cs.solvers import cosamp, convex, htp, iht, l1, naht, niht, omp, project_ls, rpca

X = np.arange(12.0).reshape(3, 4)
A = operators.fjlt(6, (3, 4), rng=0)
B = np.ones(6)
VEC = operators.gaussian(10, 20, rng=0)
MAT = operators.gaussian(10, (4, 5), rng=0)

CASES = [
    (threshold.hard, (X, 13), {}, "k"),
    (threshold.hard, (X, 1), {"axis": 5}, "axis"),
    (threshold.hard, (X, 1), {"group_size": 0}, "group_size"),
    (threshold.top_k_mask, (X, -2), {}, "k"),
    (threshold.support, (X, 1.0), {}, "k"),
    (threshold.nm, (X, 1, 3), {}, "group_size"),
    (threshold.nm, (X, 1, 0), {}, "m"),
    (threshold.tau_for_density, (X, -0.1), {}, "density"),
    (threshold.hard_tau, (X, -1.0), {}, "tau"),
    (threshold.soft, (X, np.nan), {}, "tau"),
    (threshold.soft, (X, 1.0), {"level": -1.0}, "level"),
    (threshold.shifted_relu, (X, "a"), {}, "tau"),
    (threshold.clip, (X, 0.0), {}, "level"),
    (threshold.truncate_rank, (X, 4), {}, "r"),
    (threshold.truncate_rank, (X, 1), {"method": "qr"}, "method"),
    (threshold.randomized_svd, (X, 1), {"n_power_iter": -1}, "n_power_iter"),
    (threshold.svt, (X, -1.0), {}, "tau"),
    (threshold.hard, (np.array(["a", "b"]), 1), {}, "x"),
    (operators.gaussian, (0, 10), {}, "p"),
    (operators.fjlt, (11, 10), {}, "p"),
    (operators.fjlt, (5, (2, -1)), {}, "input_shape"),
    (operators.entry_sampling, (5, 10), {"dtype": np.int64}, "dtype"),
    (operators.sparse_expander, (5, 10), {"d": 6}, "d"),
    (operators.dot_test, (A,), {"rtol": -1.0}, "rtol"),
    (operators.fjlt, (5, 10), {"rng": "x"}, "rng"),
    (synthetic.sparse_vector, (10, 11), {}, "k"),
    (synthetic.low_rank, ((3, 4), 5), {}, "r"),
    (synthetic.sparse_matrix, ((3, 4), 13), {}, "s"),
    (synthetic.ls_matrix, ((3, 4), 1, 2), {"c": -1.0}, "c"),
    (synthetic.sparse_problem, (10, 0.0, 0.1), {}, "delta"),
    (synthetic.low_rank_problem, ((10, 10), 0.5, -1.0), {}, "rho_r"),
    (synthetic.ls_problem, ((10, 10), 0.5, 0.1, 0.1), {"operator": 3}, "operator"),
    (metrics.relative_error, (np.ones(2), np.ones(3)), {}, "estimate"),
    (metrics.psnr, (np.ones(2), np.ones(2)), {"data_range": 0.0}, "data_range"),
    (metrics.support_recovery, (np.ones(2), np.ones(2)), {"tol": -1.0}, "tol"),
    (metrics.is_success, (np.ones(2), np.ones(2)), {"tol": 0.0}, "tol"),
    (niht, (A, np.ones(5)), {"sparsity": 1}, "b"),
    (niht, (A, B), {"sparsity": 13}, "sparsity"),
    (niht, (A, B), {"rank": 4}, "rank"),
    (niht, (A, B), {"rank": 1, "svd": "lanczos"}, "svd"),
    (niht, (A, B), {"rank": 1, "tol": -1.0}, "tol"),
    (niht, (A, B), {"rank": 1, "rate_tol": 0.0}, "rate_tol"),
    (niht, (A, B), {"sparsity": 1, "safeguard": (-1.0, 2.0)}, "safeguard"),
    (naht, (A, B), {"rank": 1, "sparsity": -1}, "sparsity"),
    (naht, (A, B), {"rank": 1, "sparsity": 1, "max_iter": 0}, "max_iter"),
    (niht, (A, B), {"sparsity": 1, "safeguard": (0.5, 2.0)}, "safeguard"),
    (niht, (A, B), {"sparsity": 1, "callback": "print"}, "callback"),
    (niht, (A, B), {"sparsity": 1, "X_true": np.ones((4, 3))}, "X_true"),
    (niht, (A, B), {"rank": 1, "sparsity": 1, "L_true": np.full((3, 4), np.nan)}, "L_true"),
    (niht, (A, B), {"rank": 1, "rng": 1.5}, "rng"),
    (niht, (A, B), {"sparsity": 1, "init": np.ones(5)}, "init"),
    (naht, (A, B), {"rank": 1, "sparsity": 1, "rng": "seed"}, "rng"),
    (naht, (A, B), {"rank": 1, "sparsity": 1, "S_true": np.ones(11)}, "S_true"),
    (iht, (VEC, np.ones(10)), {"sparsity": 21}, "sparsity"),
    (iht, (VEC, np.ones(10)), {"sparsity": 2, "mu": 0.0}, "mu"),
    (iht, (VEC, np.ones(10)), {"sparsity": 2, "x0": np.ones(19)}, "x0"),
    (iht, (VEC, np.ones(10)), {"sparsity": 2, "callback": 0}, "callback"),
    (htp, (VEC, np.ones(9)), {"sparsity": 2}, "b"),
    (htp, (VEC, np.ones(10)), {"sparsity": 2, "X_true": np.ones(21)}, "X_true"),
    (cosamp, (VEC, np.ones(10)), {"sparsity": -1}, "sparsity"),
    (omp, (VEC, np.ones(10)), {"sparsity": 2, "max_iter": 0}, "max_iter"),
    (omp, (VEC, np.ones(10)), {"sparsity": 2, "x0": np.full(20, np.nan)}, "x0"),
    (l1, (VEC, np.full(10, np.inf)), {}, "b"),
    (l1, (VEC, np.ones(10)), {"callback": []}, "callback"),
    (rpca, (X,), {"rank": 4}, "rank"),
    (rpca, (X,), {"rank": 1, "method": "svd"}, "method"),
    (rpca, (X,), {"rank": 1, "sparsity": 2, "method": "pcp", "lam": -1.0}, "lam"),
    (rpca, (X,), {"rank": 1, "callback": 1}, "callback"),
    (rpca, (X,), {"rank": 1, "rng": "x"}, "rng"),
    (rpca, (X,), {"rank": 1, "L_true": np.ones((4, 3))}, "L_true"),
    (rpca, (np.zeros((0, 3)),), {"rank": 1}, "M"),
    (project_ls, (X, 1, 13), {}, "sparsity"),
    (convex, (A, B), {"lam": 0.0}, "lam"),
    (convex, (A, B), {"eps": -1.0}, "eps"),
    (convex, (A, B), {"method": "interior"}, "method"),
    (convex, (A, B), {"callback": 2}, "callback"),
    (convex, (A, B), {"X_true": np.ones(5)}, "X_true"),
    (convex, (A, B), {"method": "admm", "rng": "x"}, "rng"),
    (operators.gaussian, (4, (2.5, 4)), {}, "input_shape"),
    (operators.as_operator, (np.array([[np.nan, 1.0]]),), {}, "A"),
    (synthetic.rank_from_rho, (np.nan, 10, (4, 4)), {}, "rho_r"),
    (ric.sparse_ric, (VEC, 21), {}, "k"),
    (ric.sparse_ric, (VEC, 0), {}, "k"),
    (ric.sparse_ric, (VEC, 2), {"n_samples": 0}, "n_samples"),
    (ric.sparse_ric, (VEC, 2), {"kick_size": 3}, "kick_size"),
    (ric.sparse_ric, (VEC, 2), {"input_shape": (3, 3)}, "input_shape"),
    (ric.sparse_ric, (VEC, 2), {"rng": np.random.RandomState(0)}, "rng"),
    (ric.sparse_ric, (np.ones((3, 4), complex), 2), {}, "A"),
    (ric.exact_sparse_ric, (VEC, 10), {"max_supports": 1000}, "max_supports"),
    (ric.low_rank_ric, (MAT, 5), {}, "rank"),
    (ric.low_rank_ric, (MAT, 0), {}, "rank"),
    (ric.low_rank_ric, (VEC, 1), {}, "rank"),
    (ric.low_rank_ric, (MAT, 1), {"input_shape": (5, 5)}, "input_shape"),
    (ric.low_rank_ric, (MAT, 1), {"n_starts": 0}, "n_starts"),
    (ric.low_rank_ric, (MAT, 1), {"tol": -1.0}, "tol"),
    (ric.ls_ric, (MAT, 1, 21), {}, "sparsity"),
    (ric.ls_ric, (MAT, 0, 0), {}, "sparsity"),
    (ric.ls_ric, (MAT, 6, 1), {}, "rank"),
    (ric.ric, (MAT,), {}, "sparsity"),
    (ric.ric, (MAT,), {"sparsity": 21}, "sparsity"),
    (ric.bct_bounds, (0.0, 0.1), {}, "delta"),
    (ric.bct_bounds, (0.5, 1.5), {}, "rho"),
    (ric.bct_bounds, ("a", 0.5), {}, "delta"),
]


@pytest.mark.parametrize("func,args,kwargs,name", CASES,
                         ids=[f"{c[0].__name__}-{c[3]}-{i}" for i, c in enumerate(CASES)])
def test_bad_value_names_the_argument(func, args, kwargs, name):
    with pytest.raises((ValueError, TypeError)) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert re.search(rf"^{re.escape(name)}(?!\w)|\b{re.escape(name)}=", message), message
