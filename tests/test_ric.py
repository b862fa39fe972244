"""Restricted isometry constant estimators: certified, exact on tiny cases, below the bounds."""

from itertools import combinations

import numpy as np
import pytest

from cs import operators, ric
from cs.cli import main
from cs._kernels import ric_swap_scores

from naive import ric_swap_scores as naive_swap_scores

# ----------------------------------------------------------------------------- references


def brute_force(M, k):
    """Exact (L, U) of the matrix M on k-sparse vectors: every support, eigvalsh."""
    lo, hi = np.inf, -np.inf
    for T in combinations(range(M.shape[1]), k):
        w = np.linalg.eigvalsh(M[:, T].T @ M[:, T])
        lo, hi = min(lo, w[0]), max(hi, w[-1])
    return 1.0 - lo, hi - 1.0


def attained(A, x):
    Ax = A.forward(x)
    return float(Ax @ Ax) / float(np.vdot(x, x))


# ----------------------------------------------------------------------------- sparse


def test_swap_scores_kernel_matches_reference_and_bounds_the_exact_value():
    rng = np.random.default_rng(1)
    M = rng.standard_normal((6, 9)) / np.sqrt(6)
    T = np.array([1, 4, 7])
    G = M[:, T].T @ M[:, T]
    C = M[:, T].T @ M
    in_T = np.zeros(9, bool)
    in_T[T] = True
    for sign in (1, -1):
        w, V = np.linalg.eigh(G)
        lam, v = (w[-1], V[:, -1]) if sign > 0 else (w[0], V[:, 0])
        scores = np.empty((3, 9))
        i, j, best = ric_swap_scores(C, C.T @ v, v, lam, np.diag(G).copy(), (M * M).sum(0), in_T,
                                     float(sign), scores)
        ref = naive_swap_scores(M, T, v, lam, sign)
        np.testing.assert_allclose(scores, ref, rtol=1e-12, atol=1e-12)
        assert best == pytest.approx(sign * ref.max(), abs=1e-12)
        assert sign * best == pytest.approx(ref[i, j], abs=1e-12)
        # a Ritz value: never beyond the swapped support's exact extreme eigenvalue
        for a, b in zip(*np.nonzero(np.isfinite(ref))):
            S = T.copy()
            S[a] = b
            e = np.linalg.eigvalsh(M[:, S].T @ M[:, S])
            assert ref[a, b] <= sign * (e[-1] if sign > 0 else e[0]) + 1e-12


@pytest.mark.parametrize("k", [2, 3])
def test_local_search_finds_the_brute_force_extremes_and_never_exceeds_them(k):
    exact_runs = 0
    for seed in range(10):
        A = operators.gaussian(8, 16, rng=100 + seed)
        L_true, U_true = brute_force(A.matrix, k)
        ref = ric.exact_sparse_ric(A, k)
        assert ref.lower == pytest.approx(L_true, abs=1e-12)
        assert ref.upper == pytest.approx(U_true, abs=1e-12)
        # few samples, so the swaps and kicks have to do the work
        res = ric.sparse_ric(A, k, n_samples=10, n_starts=2, n_greedy=2, n_kicks=5, rng=seed)
        assert res.lower <= L_true + 1e-12 and res.upper <= U_true + 1e-12
        exact_runs += abs(res.lower - L_true) < 1e-10 and abs(res.upper - U_true) < 1e-10
        for x, value in ((res.x_min, 1.0 - res.lower), (res.x_max, 1.0 + res.upper)):
            assert x.shape == (16,) and np.count_nonzero(x) <= k
            assert np.linalg.norm(x) == pytest.approx(1.0, abs=1e-14)
            assert attained(A, x) == pytest.approx(value, abs=1e-13)
        assert res.delta == max(res.lower, res.upper)
    assert exact_runs >= 8


def test_sparse_search_beats_sampling_alone_and_is_seeded():
    A = operators.gaussian(60, 120, rng=3)
    sampled = ric.sparse_ric(A, 6, n_samples=50, n_starts=0, n_greedy=0, rng=0)
    searched = ric.sparse_ric(A, 6, n_samples=50, n_starts=3, n_greedy=2, rng=0)
    assert searched.upper > sampled.upper and searched.lower > sampled.lower
    again = ric.sparse_ric(A, 6, n_samples=50, n_starts=3, n_greedy=2, rng=0)
    assert again.lower == searched.lower and again.upper == searched.upper
    np.testing.assert_array_equal(again.x_max, searched.x_max)
    assert searched.counts["swaps"] > 0 and searched.n_evaluations > 50


def test_implicit_operator_is_materialised_exactly():
    A = operators.fjlt(8, (3, 4), rng=0)
    M = A.matmat(np.eye(12))
    via_op = ric.exact_sparse_ric(A, 2)
    via_matrix = ric.exact_sparse_ric(operators.DenseOperator(M, (3, 4)), 2)
    assert via_op.lower == pytest.approx(via_matrix.lower, abs=1e-12)
    assert via_op.upper == pytest.approx(via_matrix.upper, abs=1e-12)
    assert via_op.x_max.shape == (3, 4)
    # the subsampled orthonormal DCT has orthonormal rows: ||A x|| <= ||x||
    assert via_op.upper <= 1e-12


@pytest.mark.parametrize("delta,rho", [(0.5, 0.05), (0.5, 0.1), (0.25, 0.1)])
def test_gaussian_estimates_lie_below_the_bct_bounds(delta, rho):
    N = 400
    p = round(delta * N)
    k = round(rho * p)
    A = operators.gaussian(p, N, rng=7)
    res = ric.sparse_ric(A, k, n_samples=200, n_starts=3, n_greedy=2, n_kicks=2, rng=0)
    bound = ric.bct_bounds(delta, rho)
    assert 0 < res.lower < bound.L
    assert 0 < res.upper < bound.U


def test_bct_bounds_solve_their_equations_and_dominate_the_spectrum_edges():
    L, U = ric.bct_bounds(0.5, 0.1)
    assert (L, U) == pytest.approx((0.8923955517867966, 2.5034390669819766), abs=1e-9)
    deltas = np.array([0.1, 0.3, 0.5, 0.9])
    rhos = np.array([[0.01], [0.05], [0.2], [0.5]])
    bounds = ric.bct_bounds(deltas, rhos)
    assert bounds.L.shape == bounds.U.shape == (4, 4)
    # above the Marchenko-Pastur edges of a single support, below the trivial L <= 1
    assert np.all(bounds.L >= 1 - (1 - np.sqrt(rhos)) ** 2) and np.all(bounds.L < 1)
    assert np.all(bounds.U >= (1 + np.sqrt(rhos)) ** 2 - 1)
    # larger supports, larger constants
    assert np.all(np.diff(bounds.L, axis=0) > 0) and np.all(np.diff(bounds.U, axis=0) > 0)
    # lambda_min and lambda_max are the roots of delta psi(lambda, rho) + H(rho delta) = 0
    for delta, rho in ((0.5, 0.1), (0.2, 0.3)):
        h = ric.bounds._entropy(rho * delta)
        lam_min = ric.bounds._lambda_min(delta, rho)
        lam_max = ric.bounds._lambda_max(delta, rho)
        assert lam_min < 1 - rho and lam_max > 1 + rho
        assert delta * ric.bounds._psi_min(lam_min, rho) + h == pytest.approx(0, abs=1e-12)
        assert delta * ric.bounds._psi_max(lam_max, rho) + h == pytest.approx(0, abs=1e-12)
    assert ric.bct_bounds(0.5, 0.1).U <= ric.bounds._lambda_max(0.5, 0.1) - 1 + 1e-15


# ----------------------------------------------------------------------------- matrix sets


def test_low_rank_full_rank_finds_the_extreme_singular_values():
    A = operators.gaussian(60, (5, 6), rng=2)
    s = np.linalg.svd(A.matrix, compute_uv=False)
    res = ric.low_rank_ric(A, 5, n_starts=2, max_iter=300, rng=0)
    assert res.upper == pytest.approx(s[0] ** 2 - 1, abs=1e-8)
    assert res.lower == pytest.approx(1 - s[-1] ** 2, abs=1e-8)


def test_low_rank_elements_attain_the_estimates_and_more_starts_only_help():
    A = operators.gaussian(300, (20, 20), rng=4)
    few = ric.low_rank_ric(A, 2, n_starts=2, max_iter=60, rng=5)
    many = ric.low_rank_ric(A, 2, n_starts=6, max_iter=60, rng=5)
    assert many.upper >= few.upper and many.lower >= few.lower
    assert many.upper > few.upper or many.lower > few.lower
    for res in (few, many):
        for x, value in ((res.x_min, 1.0 - res.lower), (res.x_max, 1.0 + res.upper)):
            assert x.shape == (20, 20) and np.linalg.matrix_rank(x) == 2
            assert np.linalg.norm(x) == pytest.approx(1.0, abs=1e-13)
            assert attained(A, x) == pytest.approx(value, abs=1e-12)
    assert 0 < few.lower < 1 and few.upper > 0
    assert few.counts["starts"] == 4 and few.n_evaluations == few.counts["forward"]


def test_identity_and_entry_sampling_have_the_constants_they_must():
    ident = ric.low_rank_ric(operators.identity((6, 7)), 2, n_starts=1, max_iter=5, rng=0)
    assert abs(ident.lower) < 1e-12 and abs(ident.upper) < 1e-12
    entries = ric.low_rank_ric(operators.entry_sampling(20, (6, 7), rng=0), 1, n_starts=2, rng=0)
    assert entries.upper <= 1e-12 and entries.lower > 0


def test_ls_elements_are_rank_r_plus_s_sparse_and_more_starts_only_help():
    A = operators.gaussian(300, (20, 20), rng=6)
    few = ric.ls_ric(A, 1, 15, n_starts=2, max_iter=40, rng=1)
    many = ric.ls_ric(A, 1, 15, n_starts=5, max_iter=40, rng=1)
    assert many.upper >= few.upper and many.lower >= few.lower
    for res in (few, many):
        assert res.structure == "low_rank+sparse" and res.params["sparsity"] == 15
        for tag, x, value in (("min", res.x_min, 1.0 - res.lower), ("max", res.x_max, 1.0 + res.upper)):
            L, S = res.components[f"L_{tag}"], res.components[f"S_{tag}"]
            np.testing.assert_array_equal(x, L + S)
            assert np.linalg.matrix_rank(L) <= 1 and np.count_nonzero(S) <= 15
            assert attained(A, x) == pytest.approx(value, abs=1e-12)
    assert many.upper > few.upper
    # the set contains the rank-1 matrices: a larger set, larger constants
    low_rank = ric.low_rank_ric(A, 1, n_starts=2, max_iter=40, rng=1)
    assert many.upper > low_rank.upper and many.lower > low_rank.lower


def test_ls_search_moves_the_sparse_support():
    # rank 0: the s-sparse matrices, where the exact constants are known
    A = operators.gaussian(30, (6, 6), rng=0)
    exact = ric.exact_sparse_ric(A, 3)
    res = ric.ls_ric(A, 0, 3, n_starts=5, rng=0)
    assert res.upper <= exact.upper + 1e-12 and res.lower <= exact.lower + 1e-12
    assert res.upper > 0.99 * exact.upper and res.lower > 0.75 * exact.lower


def test_ric_dispatches_on_its_arguments():
    A = operators.gaussian(40, (6, 6), rng=0)
    assert ric.ric(A, sparsity=3, n_samples=20, n_starts=1, rng=0).structure == "sparse"
    assert ric.ric(A, rank=1, n_starts=1, max_iter=5, rng=0).structure == "low_rank"
    assert ric.ric(A, rank=1, sparsity=3, n_starts=1, max_iter=5, rng=0).structure == "low_rank+sparse"
    res = ric.ric(operators.gaussian(40, 36, rng=0), rank=1, input_shape=(6, 6), n_starts=1,
                  max_iter=5, rng=0)
    assert res.x_max.shape == (6, 6)


def test_progress_bar_runs(capsys):
    A = operators.gaussian(20, 30, rng=0)
    res = ric.sparse_ric(A, 2, n_samples=10, n_starts=1, rng=0, progress=True)
    assert res.upper > 0


# ----------------------------------------------------------------------------- CLI


def test_cli_ric_sparse_prints_estimates_and_bounds(capsys, tmp_path):
    png = tmp_path / "ric.png"
    code = main(["ric", "--shape", "40", "--sparsity", "3", "--samples", "30", "--starts", "2",
                 "--plot", str(png), "--plot-deltas", "0.4", "0.6"])
    out = capsys.readouterr().out
    assert code == 0
    assert "3-sparse 40 unknowns, 20 gaussian measurements" in out
    values = {line.split()[2]: float(line.split()[-1]) for line in out.splitlines()
              if line.strip().startswith(("lower", "upper"))}
    assert 0 < values["L"] < 1 and values["U"] > 0
    assert "Blanchard-Cartis-Tanner" in out
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_cli_ric_low_rank_plus_sparse_and_errors(capsys):
    code = main(["ric", "--shape", "8", "8", "--rank", "1", "--sparsity", "4", "--starts", "1",
                 "--iters", "5", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0 and "rank-1 plus 4-sparse 8 x 8 unknowns, 32 gaussian" in out
    assert "Blanchard" not in out
    code = main(["ric", "--shape", "8", "8", "--rank", "9", "--no-progress"])
    assert code == 2 and "--rank 9" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:  # argparse rejects it, listing the names
        main(["ric", "--shape", "8", "--sparsity", "2", "--operator", "nope"])
    assert info.value.code == 2 and "--operator" in capsys.readouterr().err
