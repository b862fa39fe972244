"""Pruning core: exact counts, the N:M convention, Wanda/SparseGPT/DSnoT against
their definitions, and the error ordering on a synthetic layer."""

import numpy as np
import pytest

from cs import pruning as P
from cs import threshold

D_IN, D_OUT, TOKENS = 512, 256, 4096


def synthetic_layer(seed, zero_mean=False):
    """A layer with heterogeneous input channels (log-normal scales), non-zero
    means of the channel's own scale unless ``zero_mean``; calibration and
    held-out tokens drawn independently."""
    rng = np.random.default_rng(seed)
    sigma = np.exp(rng.normal(0.0, 1.0, D_IN))
    mu = np.zeros(D_IN) if zero_mean else rng.normal(0.0, 1.0, D_IN) * sigma
    W = rng.standard_normal((D_OUT, D_IN)) / np.sqrt(D_IN)
    calib = mu + sigma * rng.standard_normal((TOKENS, D_IN))
    held = mu + sigma * rng.standard_normal((TOKENS, D_IN))
    return W, P.ActivationStats.from_array(calib, gram=True), held


@pytest.fixture(scope="module")
def layer():
    return synthetic_layer(0)


@pytest.fixture(scope="module")
def layer_zero_mean():
    return synthetic_layer(1, zero_mean=True)


def mean_error(W, W_hat, X):
    """The part of ||(W - W_hat) X^T||^2 that comes from the inputs' mean."""
    return X.shape[0] * float(np.sum(((W - W_hat) @ X.mean(axis=0)) ** 2))


def check_counts(mask, sparsity, nm, group):
    if nm is not None:
        n, m = nm
        assert (mask.reshape(mask.shape[0], -1, m).sum(axis=2) == n).all()
    elif group == "row":
        assert (mask.sum(axis=1) == mask.shape[1] - int(np.floor(sparsity * mask.shape[1]))).all()
    else:
        assert mask.sum() == mask.size - int(np.floor(sparsity * mask.size))


# --------------------------------------------------------------------------- statistics

def test_streaming_stats_match_one_pass():
    rng = np.random.default_rng(0)
    X = 1e4 + rng.standard_normal((1000, 7)) * np.arange(1, 8)  # large mean: the naive formula loses digits
    streamed = P.ActivationStats(7, gram=True)
    for chunk in np.array_split(X, [1, 300, 301, 999]):
        streamed.update(chunk)
    half = P.ActivationStats.from_array(X[:400], gram=True).merge(P.ActivationStats.from_array(X[400:], gram=True))
    for stats in (streamed, half):
        assert stats.count == 1000
        np.testing.assert_allclose(stats.mean, X.mean(axis=0), rtol=1e-14)
        np.testing.assert_allclose(stats.var, X.var(axis=0), rtol=1e-9)
        np.testing.assert_allclose(stats.norm, np.linalg.norm(X, axis=0), rtol=1e-13)
        np.testing.assert_allclose(stats.gram, X.T @ X, rtol=1e-13)


def test_wanda_scores_are_weight_times_input_norm():
    rng = np.random.default_rng(1)
    W, X = rng.standard_normal((3, 5)), rng.standard_normal((20, 5))
    expected = np.array([[abs(W[i, j]) * np.sqrt(np.sum(X[:, j] ** 2)) for j in range(5)] for i in range(3)])
    np.testing.assert_allclose(P.wanda_scores(W, X), expected, rtol=1e-13)
    np.testing.assert_allclose(P.wanda_scores(W, P.ActivationStats.from_array(X)), expected, rtol=1e-13)


# --------------------------------------------------------------------------- masks

@pytest.mark.parametrize("sparsity", [0.0, 0.29, 0.5, 0.7, 0.99])
@pytest.mark.parametrize("group", ["row", "layer", "column"])
def test_mask_counts_are_exact_and_keep_the_largest(sparsity, group):
    scores = np.random.default_rng(2).random((10, 100))
    mask = P.mask_from_scores(scores, sparsity, group=group)
    axis = {"row": 1, "column": 0, "layer": None}[group]
    size = scores.size if axis is None else scores.shape[axis]
    n_pruned = int(np.floor(sparsity * size + 1e-9))  # 0.29 * 100 prunes 29, not 28
    kept = mask.sum() if axis is None else mask.sum(axis=axis)
    assert np.all(kept == size - n_pruned)
    if axis is None:
        assert mask.sum() == 0 or scores[mask].min() > scores[~mask].max(initial=-1)
    else:
        low = np.where(mask, scores, np.inf).min(axis=axis)
        high = np.where(mask, -np.inf, scores).max(axis=axis)
        assert np.all(low > high)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_nm_keeps_n_of_every_m(n):
    """1:4 keeps a quarter (not three quarters): "n:m" counts what is kept."""
    scores = np.random.default_rng(3).random((6, 16))
    mask = P.mask_from_scores(scores, group=(n, 4))
    assert P.density(mask) == n / 4
    blocks, keep = scores.reshape(6, 4, 4), mask.reshape(6, 4, 4)
    for row, kept in zip(blocks.reshape(-1, 4), keep.reshape(-1, 4)):
        assert set(np.flatnonzero(kept)) == set(np.argsort(-row)[:n])
    assert np.array_equal(P.mask_from_scores(scores, 1 - n / 4, group=(n, 4)), mask)


def test_erk_densities_meet_the_budget_and_cap_small_layers():
    shapes = [(16, 3, 3, 3), (32, 16, 3, 3), (64, 32, 3, 3), (10, 64)]
    sizes = np.array([np.prod(s) for s in shapes])
    dens = P.erk_densities(shapes, 0.1)
    assert np.isclose((dens * sizes).sum(), 0.1 * sizes.sum())
    assert dens[3] == 1.0  # the small classifier would exceed 1: capped, the rest re-solved
    raw = np.array([sum(s) / np.prod(s) for s in shapes])
    free = dens < 1
    np.testing.assert_allclose(dens[free] / raw[free], (dens[free] / raw[free])[0])
    assert np.allclose(P.erk_densities([(4, 4)], 1.0), 1.0)


def test_random_masks_exact_and_seeded():
    shapes = [(20, 30), (5, 3, 3, 3)]
    a = P.random_masks(shapes, 0.3, rng=7)
    b = P.random_masks(shapes, 0.3, rng=7)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert [m.sum() for m in a] == [600 - int(np.floor(0.7 * 600)), 135 - int(np.floor(0.7 * 135))]
    erk = P.random_masks(shapes, 0.3, distribution="erk", rng=7)
    dens = P.erk_densities(shapes, 0.3)
    assert [m.sum() for m in erk] == [m.size - int(np.floor(round((1 - d) * m.size, 9)))
                                      for m, d in zip(erk, dens)]


COMBOS = ([(m, g) for m in ("magnitude", "random", "wanda") for g in ("row", "layer", "column", (1, 4), (2, 4))]
          + [("sparsegpt", g) for g in ("row", "layer", (1, 4), (2, 4))])


# DSnoT keeps row counts, so it refines every mask but the per-column one
@pytest.mark.parametrize("method, group, refine", [(m, g, None) for m, g in COMBOS]
                         + [(m, g, "dsnot") for m, g in COMBOS if g != "column"])
def test_every_method_hits_its_count(method, group, refine):
    rng = np.random.default_rng(8)
    W, X = rng.standard_normal((12, 40)), rng.standard_normal((100, 40)) + 1
    stats = P.ActivationStats.from_array(X, gram=True)
    nm = group if isinstance(group, tuple) else None
    res = P.prune_weight(W, method, sparsity=None if nm else 0.35, nm=nm, stats=stats, rng=0,
                         group=None if nm else group, refine=refine)
    if group == "column":
        assert (res.mask.sum(axis=0) == 12 - int(np.floor(0.35 * 12))).all()
    else:
        check_counts(res.mask, 0.35, nm, group)
    assert np.all(res.weight[~res.mask] == 0)


# --------------------------------------------------------------------------- DSnoT

def test_dsnot_hand_example():
    """One row, inputs with means 1: e = sum of pruned weights.  The grow
    candidate of largest c/v is 0.5 (v = 1), the prune candidate of the
    opposite sign with the smallest score is -0.05; one swap takes e from
    0.7 to 0.15, the next (grow 0.2, prune -0.1) would overshoot."""
    W = np.array([[0.5, 0.2, -0.05, -0.1, 1.0, 2.0]])
    X = np.array([[0.0] * 6, [2.0] * 6])  # mean 1, variance 1, norm 2 on every channel
    mask = np.array([[False, False, True, True, True, True]])
    res = P.dsnot(W, X, mask, variance_guard=False)
    np.testing.assert_allclose(res.error_initial, [0.7])
    assert res.mask.tolist() == [[True, False, False, True, True, True]]
    np.testing.assert_allclose(res.error_final, [0.15])
    assert res.n_swaps.tolist() == [1]
    # without the sign rule the overshooting swap is made
    free = P.dsnot(W, X, mask, stop_on_sign_flip=False, variance_guard=False)
    assert free.mask.tolist() == [[True, True, False, False, True, True]]
    np.testing.assert_allclose(free.error_final, [0.15 - 0.2 - 0.1])


def test_leading_is_the_head_of_a_stable_sort():
    """DSnoT's candidate lists: top-k selection then a small sort must equal the
    first k of a full stable argsort, ties (rounded values) included."""
    rng = np.random.default_rng(6)
    values = np.round(rng.standard_normal((40, 200)), 1)
    valid = rng.random((40, 200)) < 0.6
    valid[0] = False
    for k in (1, 7, 49):
        fast = P._leading(values, valid, k)
        full = np.argsort(np.where(valid, values, np.inf), axis=1, kind="stable")[:, :k]
        counts = np.minimum(valid.sum(axis=1), k)
        for row in range(40):
            assert np.array_equal(fast[row, :counts[row]], full[row, :counts[row]])


def naive_dsnot(W, stats, mask, cycles, sign, guard, nm=None):
    """DSnoT row by row with Python lists: the reference the vectorised one must match."""
    out = mask.copy()
    for i in range(W.shape[0]):
        c, wv = W[i] * stats.mean, W[i] ** 2 * stats.var
        key, score = c / stats.var, np.abs(W[i]) * stats.norm
        e = c[~mask[i]].sum()
        grow = sorted(np.flatnonzero(~mask[i]), key=lambda j: key[j])
        lo, hi = 0, len(grow) - 1
        negs = sorted((j for j in np.flatnonzero(mask[i]) if c[j] < 0), key=lambda j: score[j])
        poss = sorted((j for j in np.flatnonzero(mask[i]) if c[j] > 0), key=lambda j: score[j])

        def ok(p, g):
            new = e + c[p] - c[g]
            return ((not sign or (new * e >= 0 and abs(new) < abs(e)))
                    and (not guard or new ** 2 - e ** 2 + wv[p] - wv[g] < 0))
        for _ in range(cycles):
            if e == 0 or lo > hi:
                break
            up = e > 0
            g = grow[hi] if up else grow[lo]
            if nm is None:
                todo = negs if up else poss
                if not todo or not ok(todo[0], g):
                    break
                p = todo.pop(0)
            else:
                block = range(g // nm[1] * nm[1], g // nm[1] * nm[1] + nm[1])
                cands = [j for j in block if out[i, j] and mask[i, j] and ok(j, g)]
                p = min(cands, key=lambda j: score[j]) if cands else None
            hi, lo = (hi - 1, lo) if up else (hi, lo + 1)
            if p is not None:
                out[i, g], out[i, p] = True, False
                e += c[p] - c[g]
    return out


@pytest.mark.parametrize("sign, guard, nm", [(True, True, None), (True, False, None), (False, False, None),
                                             (True, True, (2, 4)), (True, False, (1, 4))])
def test_dsnot_matches_the_row_by_row_reference(sign, guard, nm):
    rng = np.random.default_rng(9)
    scale = np.exp(rng.normal(0, 1, 256))
    X = scale * (rng.normal(0, 1, 256) + rng.standard_normal((300, 256)))
    W = rng.standard_normal((8, 256))
    stats = P.ActivationStats.from_array(X)
    mask = P.mask_from_scores(P.wanda_scores(W, stats), 0.6 if nm is None else None,
                              group="row" if nm is None else nm)
    res = P.dsnot(W, stats, mask, max_cycles=20, stop_on_sign_flip=sign, variance_guard=guard, nm=nm)
    assert np.array_equal(res.mask, naive_dsnot(W, stats, mask, 20, sign, guard, nm))
    assert res.n_swaps.sum() > 0


def test_dsnot_invariants(layer):
    W, stats, _ = layer
    mask = P.mask_from_scores(P.wanda_scores(W, stats), 0.6)
    for kwargs in ({}, {"stop_on_sign_flip": False, "variance_guard": False, "max_cycles": 7}):
        res = P.dsnot(W, stats, mask, **kwargs)
        assert np.array_equal(res.mask.sum(axis=1), mask.sum(axis=1))
        c = W * stats.mean
        np.testing.assert_allclose(res.error_final, np.where(res.mask, 0, c).sum(axis=1), atol=1e-12)
        np.testing.assert_array_equal(res.weight, np.where(res.mask, W, 0))
        changed = (res.mask != mask).sum(axis=1)
        assert np.array_equal(changed, 2 * res.n_swaps)
    assert (res.n_swaps == 7).all()  # repo mode: a swap every cycle
    res = P.dsnot(W, stats, mask)
    assert np.all(np.abs(res.error_final) <= np.abs(res.error_initial))
    expected_sq = res.error_final ** 2 + np.where(res.mask, 0, W ** 2 * stats.var).sum(axis=1)
    before = res.error_initial ** 2 + np.where(mask, 0, W ** 2 * stats.var).sum(axis=1)
    assert np.all(expected_sq <= before + 1e-12)


def test_dsnot_nm_keeps_blocks(layer):
    W, stats, _ = layer
    for n in (1, 2):
        mask = P.mask_from_scores(P.wanda_scores(W, stats), group=(n, 4))
        res = P.dsnot(W, stats, mask, nm=(n, 4))
        check_counts(res.mask, None, (n, 4), None)
        assert res.n_swaps.sum() > 0


# --------------------------------------------------------------------------- SparseGPT

def test_sparsegpt_update_is_least_squares_when_first_column_is_pruned():
    """Pruning only column 0, the OBS update of the later columns is the
    least-squares refit (no damping): min_v ||X w - X[:, 1:] v||."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((200, 8)) + 0.5
    W = rng.standard_normal((5, 8))
    W[:, 0] = 1e-3 * rng.standard_normal(5)  # smallest score in every row: pruned first
    res = P.sparsegpt(W, X.T @ X, 1 / 8, group="row", damp=0.0, blocksize=8)
    assert not res.mask[:, 0].any() and res.mask[:, 1:].all()
    refit = np.linalg.lstsq(X[:, 1:], X @ W.T, rcond=None)[0].T
    np.testing.assert_allclose(res.weight[:, 1:], refit, rtol=1e-8, atol=1e-10)
    assert (res.weight[:, 0] == 0).all()


def test_sparsegpt_lazy_blocks_do_not_change_the_result(layer):
    """N:M masks are chosen at the same columns whatever the block size, so the
    lazy block updates must reproduce the column-by-column result."""
    W, stats, _ = layer
    one = P.sparsegpt(W[:32], stats, nm=(2, 4), blocksize=4)
    many = P.sparsegpt(W[:32], stats, nm=(2, 4), blocksize=D_IN)
    assert np.array_equal(one.mask, many.mask)
    np.testing.assert_allclose(one.weight, many.weight, rtol=1e-9, atol=1e-12)


def test_sparsegpt_zero_sparsity_changes_nothing_and_dead_inputs_go(layer):
    W, stats, _ = layer
    res = P.sparsegpt(W, stats, 0.0)
    assert res.mask.all() and np.array_equal(res.weight, W)
    G = stats.gram.copy()
    G[3, :] = G[:, 3] = 0
    res = P.sparsegpt(W, G, 0.5, group="row")
    assert (res.weight[:, 3] == 0).all()
    check_counts(res.mask, 0.5, None, "row")


# --------------------------------------------------------------------------- the ordering

PATTERNS = [(0.5, None), (0.6, None), (0.7, None), (None, (2, 4))]


@pytest.mark.parametrize("sparsity, nm", PATTERNS)
def test_error_ordering_on_a_non_zero_mean_layer(layer, sparsity, nm):
    """random > magnitude > Wanda >= Wanda+DSnoT, SparseGPT <= Wanda (held-out
    relative error), DSnoT removes most of the mean-induced error, and every
    method hits its count exactly.  Measured (seed 0): 0.5: 0.738 / 0.269 /
    0.079 / 0.068, SparseGPT 0.066; 0.6: 0.785 / 0.368 / 0.116 / 0.100, 0.096;
    0.7: 0.843 / 0.468 / 0.167 / 0.143, 0.137; 2:4: 0.729 / 0.375 / 0.153 /
    0.130, 0.121."""
    W, stats, held = layer
    err = {}
    for method in ("random", "magnitude", "wanda", "sparsegpt"):
        res = P.prune_weight(W, method, sparsity=sparsity, nm=nm, stats=stats, rng=0)
        check_counts(res.mask, sparsity, nm, "row" if method == "wanda" else "layer")
        assert np.all(res.weight[~res.mask] == 0)
        err[method] = P.reconstruction_error(W, res.weight, held)
    refined = P.prune_weight(W, "wanda", sparsity=sparsity, nm=nm, stats=stats, refine="dsnot")
    check_counts(refined.mask, sparsity, nm, "row")
    err["dsnot"] = P.reconstruction_error(W, refined.weight, held)
    assert err["random"] > err["magnitude"] > err["wanda"] >= err["dsnot"]
    assert err["wanda"] - err["dsnot"] > 0.1 * err["wanda"]
    assert err["sparsegpt"] <= err["wanda"]
    wanda_weight = P.prune_weight(W, "wanda", sparsity=sparsity, nm=nm, stats=stats).weight
    assert mean_error(W, refined.weight, held) < 0.15 * mean_error(W, wanda_weight, held)


@pytest.mark.parametrize("sparsity, nm", PATTERNS)
def test_dsnot_changes_little_on_zero_mean_inputs(layer_zero_mean, sparsity, nm):
    W, stats, held = layer_zero_mean
    wanda = P.prune_weight(W, "wanda", sparsity=sparsity, nm=nm, stats=stats)
    refined = P.prune_weight(W, "wanda", sparsity=sparsity, nm=nm, stats=stats, refine="dsnot")
    before = P.reconstruction_error(W, wanda.weight, held)
    after = P.reconstruction_error(W, refined.weight, held)
    assert abs(after - before) <= 0.01 * before
    assert (refined.mask != wanda.mask).mean() < 0.002


# --------------------------------------------------------------------------- IMP and errors

def test_imp_round_prunes_a_fraction_of_the_remaining():
    rng = np.random.default_rng(5)
    weights = [rng.standard_normal((10, 10)), rng.standard_normal((4, 5))]
    masks = [np.ones((10, 10), bool), rng.random((4, 5)) < 0.5]
    init = [rng.standard_normal(w.shape) for w in weights]
    remaining = sum(int(m.sum()) for m in masks)
    out = P.imp_round(weights, masks, 0.2, rewind_to=init)
    assert sum(int(m.sum()) for m in out.masks) == remaining - int(np.floor(0.2 * remaining))
    assert all(not (new & ~old).any() for new, old in zip(out.masks, masks))
    kept = np.concatenate([np.abs(w[m]) for w, m in zip(weights, out.masks)])
    dropped = np.concatenate([np.abs(w[o & ~m]) for w, o, m in zip(weights, masks, out.masks)])
    assert kept.min() > dropped.max()
    assert all(np.array_equal(w, np.where(m, i, 0)) for w, m, i in zip(out.weights, out.masks, init))
    per_layer = P.imp_round(weights, masks, 0.5, scope="layer")
    assert [int(m.sum()) for m in per_layer.masks] == [50, int(masks[1].sum()) - int(masks[1].sum()) // 2]
    np.testing.assert_allclose(P.imp_densities(3, 0.2), [1, 0.8, 0.64, 0.512])


def test_reconstruction_error_from_stats_matches_inputs(layer):
    W, stats, held = layer
    W_hat = np.where(P.mask_from_scores(P.magnitude_scores(W), 0.5), W, 0)
    calib_err = P.reconstruction_error(W, W_hat, stats)
    held_stats = P.ActivationStats.from_array(held, gram=True)
    assert np.isclose(P.reconstruction_error(W, W_hat, held_stats), P.reconstruction_error(W, W_hat, held))
    assert 0 < calib_err < 1 and P.reconstruction_error(W, W, held) == 0


def test_every_mask_comes_from_the_threshold_core(monkeypatch):
    calls = []
    real = threshold.top_k_mask

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(threshold, "top_k_mask", spy)
    P.mask_from_scores(np.random.default_rng(0).random((4, 8)), 0.5)
    assert calls


BAD = [
    (P.dsnot, (np.ones((2, 4)), np.ones((3, 4)), np.ones((2, 3), bool)), {}, "mask has shape"),
    (P.mask_from_scores, (np.ones((2, 4)), 1.0), {}, "sparsity=1.0"),
    (P.mask_from_scores, (np.ones((2, 4)), -0.1), {}, "sparsity=-0.1"),
    (P.mask_from_scores, (np.ones((2, 4)),), {"group": (3, 2)}, r"group\[0\] \(n\)=3 exceeds m"),
    (P.mask_from_scores, (np.ones((2, 6)),), {"group": (2, 4)}, "does not divide"),
    (P.mask_from_scores, (np.ones((2, 4)), 0.5), {"group": "block"}, "group"),
    (P.mask_from_scores, (np.ones((2, 4)), 0.2), {"group": (2, 4)}, "contradicts"),
    (P.wanda_scores, (np.ones((2, 4)), P.ActivationStats.from_array(np.ones((3, 5)))), {},
     "5 input channels but W has 4"),
    (P.sparsegpt, (np.ones((2, 4)), np.eye(5), 0.5), {}, "H has shape"),
    (P.sparsegpt, (np.ones((2, 4)), P.ActivationStats.from_array(np.ones((3, 4))), 0.5), {}, "Gram"),
    (P.sparsegpt, (np.ones((2, 8)), np.eye(8)), {"nm": (2, 4), "blocksize": 6}, "blocksize=6"),
    (P.sparsegpt, (np.ones((2, 4)), np.eye(4)), {"nm": (5, 4)}, r"nm\[0\] \(n\)=5 exceeds m"),
    (P.dsnot, (np.ones((2, 4)), np.ones((3, 4)), np.ones((2, 4), bool)), {"nm": (2, 4)}, "not 2:4"),
    (P.dsnot, (np.ones((2, 4)), np.ones((3, 4)), np.ones((2, 4), bool)), {"max_cycles": -1}, "max_cycles"),
    (P.prune_weight, (np.ones((2, 4)), "obs"), {"sparsity": 0.5}, "method"),
    (P.prune_weight, (np.ones((2, 4)), "wanda"), {"sparsity": 0.5}, "stats is required"),
    (P.prune_weight, (np.ones((2, 4)), "magnitude"), {"sparsity": 0.5, "nm": (2, 4)}, "exactly one"),
    (P.erk_densities, ([(3, 3)], 0.0), {}, "density"),
    (P.imp_round, ([np.ones(3)], [np.ones(3, bool)], 1.0), {}, "fraction"),
    (P.reconstruction_error, (np.ones((2, 4)), np.ones((2, 4)), np.ones((3, 5))), {}, "5 input channels"),
    (P.ActivationStats(4).update, (np.ones((3, 5)),), {}, "5 input channels"),
]


@pytest.mark.parametrize("fn, args, kwargs, message", BAD)
def test_bad_input_gives_a_clear_error(fn, args, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        fn(*args, **kwargs)


def test_the_numpy_core_does_not_import_torch():
    import subprocess
    import sys
    code = "import sys, cs.pruning; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
