"""Meta-test (scikit-learn style): every public function, fed one bad value,
raises an error whose message names the offending argument."""

import numpy as np
import pytest

from cs import metrics, operators, threshold
from cs.datasets import synthetic
from cs.solvers import naht, niht

X = np.arange(12.0).reshape(3, 4)
A = operators.fjlt(6, (3, 4), rng=0)
B = np.ones(6)

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
]


@pytest.mark.parametrize("func,args,kwargs,name", CASES,
                         ids=[f"{c[0].__name__}-{c[3]}-{i}" for i, c in enumerate(CASES)])
def test_bad_value_names_the_argument(func, args, kwargs, name):
    with pytest.raises((ValueError, TypeError)) as info:
        func(*args, **kwargs)
    assert name in str(info.value), str(info.value)
