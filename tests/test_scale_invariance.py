"""Every solver answers b * c with x * c: no tolerance or guard depends on the units.

Before the solvers scaled their data, l1 and cvxpy returned wrong answers marked
converged at c = 1e-7, and NIHT stalled at c = 1e-150.
"""

import numpy as np
import pytest

from cs.datasets.synthetic import ls_matrix, ls_problem, sparse_problem
from cs.solvers import convex, cosamp, htp, iht, l1, naht, niht, omp, rpca

SCALES = [1e-8, 1e-150, 1e+120]


def sparse():
    return sparse_problem(128, 0.5, 0.1, rng=3)


def ls():
    return ls_problem((20, 20), 0.6, 0.1, 0.05, operator="fjlt", rng=3)


CASES = {
    "niht-sparse": (sparse, lambda p, b: niht(p.A, b, sparsity=p.sparsity)),
    "niht-lowrank": (lambda: ls_problem((20, 20), 0.6, 0.1, 0.0, operator="fjlt", rng=3),
                     lambda p, b: niht(p.A, b, rank=p.rank)),
    "niht-ls": (ls, lambda p, b: niht(p.A, b, rank=p.rank, sparsity=p.sparsity, rng=0)),
    "naht": (ls, lambda p, b: naht(p.A, b, rank=p.rank, sparsity=p.sparsity, rng=0)),
    "iht": (lambda: sparse_problem(256, 0.5, 0.05, rng=3), lambda p, b: iht(p.A, b, sparsity=p.sparsity)),
    "htp": (sparse, lambda p, b: htp(p.A, b, sparsity=p.sparsity)),
    "cosamp": (sparse, lambda p, b: cosamp(p.A, b, sparsity=p.sparsity)),
    "omp": (sparse, lambda p, b: omp(p.A, b, sparsity=p.sparsity)),
    "l1": (lambda: sparse_problem(80, 0.5, 0.1, values="sign", rng=3), lambda p, b: l1(p.A, b)),
    "convex-admm": (ls, lambda p, b: convex(p.A, b, rank=p.rank, sparsity=p.sparsity, method="admm",
                                            rng=0)),
    "convex-cvxpy": (lambda: sparse_problem(40, 0.5, 0.1, values="sign", rng=3),
                     lambda p, b: convex(p.A, b, method="cvxpy")),
}


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("name", list(CASES))
def test_solution_scales_with_b(name, scale):
    make, solve = CASES[name]
    prob = make()
    ref = solve(prob, prob.b)
    assert ref.converged, ref.reason
    res = solve(prob, prob.b * scale)
    assert res.converged == ref.converged and res.n_iter == ref.n_iter, (res, ref)
    x = np.asarray(res.x) / scale
    assert np.linalg.norm(x - ref.x) <= 1e-6 * np.linalg.norm(ref.x)
    assert np.linalg.norm(x - prob.x) <= 1e-4 * np.linalg.norm(prob.x)
    np.testing.assert_allclose(res.history["residual"], ref.history["residual"], rtol=1e-6, atol=1e-12)
    if res.L is not None and res.S is not None:
        assert np.linalg.norm(res.L / scale - ref.L) <= 1e-6 * np.linalg.norm(ref.L)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("method", ["accaltproj", "godec", "pcp"])
def test_robust_pca_scales_with_M(method, scale):
    X, L, S = ls_matrix((40, 40), 2, 80, rng=0)
    kwargs = dict(method=method, rng=0, tol=1e-9)
    if method != "pcp":
        kwargs["rank"] = 2
    if method == "godec":
        kwargs["sparsity"] = 80
    ref = rpca(X, **kwargs)
    res = rpca(X * scale, **kwargs)
    assert res.converged and ref.converged and res.n_iter == ref.n_iter
    assert np.linalg.norm(res.L / scale - ref.L) <= 1e-6 * np.linalg.norm(ref.L)
    assert np.linalg.norm(res.S / scale - S) <= 1e-5 * np.linalg.norm(S)
