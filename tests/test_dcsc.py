import csv
import json
import math

import numpy as np
import pytest

from cs import dcsc
from cs.convolution import ConvDictionary

BARKER13 = np.array([1, 1, 1, 1, 1, -1, -1, 1, 1, -1, 1, -1, 1], float)


def _gram(D):
    M = D.todense()
    return M.T @ M


# -- coherence, Babel, lower bound ---------------------------------------------------------


@pytest.mark.parametrize("fshape,spatial", [((4, 1, 8), (64,)), ((3, 2, 5), (40,)), ((3, 2, 6), (8,)),
                                            ((2, 2, 3, 2), (7, 6))])
def test_fft_coherence_equals_the_explicit_gram(fshape, spatial):
    D = ConvDictionary(np.random.default_rng(0).standard_normal(fshape), spatial)
    gram = _gram(D)
    np.fill_diagonal(gram, 0)
    assert abs(dcsc.mutual_coherence(D) - np.abs(gram).max()) < 1e-12


def test_babel2_brute_force_and_its_bounds():
    D = ConvDictionary(np.random.default_rng(1).standard_normal((3, 1, 4)), 16)
    gram = _gram(D) ** 2
    np.fill_diagonal(gram, 0)
    srt = -np.sort(-gram, axis=0)
    mu = dcsc.mutual_coherence(D)
    for S in (0, 1, 2, 5, 30):
        brute = math.sqrt(srt[:S].sum(axis=0).max()) if S else 0.0
        assert abs(dcsc.babel2(D, S) - brute) < 1e-12
        assert dcsc.babel2(D, S) <= math.sqrt(S) * mu + 1e-12
    assert abs(dcsc.babel2(D, 1) - mu) < 1e-12


def test_coherence_lower_bound_holds_and_matches_the_formula():
    for seed in range(5):
        D = ConvDictionary(np.random.default_rng(seed).standard_normal((4, 1, 6)), 32)
        bound = dcsc.coherence_lower_bound(D)
        assert bound == pytest.approx(math.sqrt(3 / (4 * 11 - 1)))
        assert dcsc.mutual_coherence(D) >= bound
    assert dcsc.coherence_lower_bound(ConvDictionary(np.ones((1, 1, 3)), 8)) == 0.0


def test_interference_variance_matches_the_gram():
    rng = np.random.default_rng(2)
    D = ConvDictionary(rng.standard_normal((2, 2, 5)), 20)
    G = rng.standard_normal((2,) + D.code_shape) * (rng.random((2,) + D.code_shape) < 0.3)
    gram = _gram(D) ** 2
    np.fill_diagonal(gram, 0)
    for b in range(2):
        expected = gram @ (G[b].ravel() ** 2)
        np.testing.assert_allclose(dcsc.interference_variance(D, G)[b].ravel(), expected, atol=1e-12)


# -- stripes and patches -----------------------------------------------------------------------


def test_stripe_and_patch_norms_against_brute_force():
    rng = np.random.default_rng(3)
    G = rng.standard_normal((4, 3, 25)) * (rng.random((4, 3, 25)) < 0.15)
    n, N = 4, 25
    for b in range(4):
        ind = (G[b] != 0).sum(axis=0)
        stripes = [sum(ind[(t + d) % N] for d in range(-(n - 1), n)) for t in range(N)]
        assert dcsc.stripe_sparsity(G[b], n) == max(stripes)
        patches = [sum(ind[(t + d) % N] for d in range(n)) for t in range(N)]
        assert dcsc.patch_l0(G[b:b + 1], n)[0] == max(patches)
        energy = [sum((G[b][:, (t + d) % N] ** 2).sum() for d in range(n)) for t in range(N)]
        assert dcsc.patch_l2(G[b:b + 1], n)[0] == pytest.approx(math.sqrt(max(energy)))
    # 2-D: boxes of (2n-1)^2
    G2 = (rng.random((2, 2, 7, 8)) < 0.2).astype(float)
    ind = G2.sum(axis=1)
    brute = [max(sum(ind[b, (i + di) % 7, (j + dj) % 8] for di in range(-1, 2) for dj in range(-2, 3))
                 for i in range(7) for j in range(8)) for b in range(2)]
    np.testing.assert_array_equal(dcsc.stripe_sparsity(G2, (2, 3)), brute)


# -- model and codes ------------------------------------------------------------------------


def test_nested_codes_chain_exactly_with_exact_supports():
    model = dcsc.DCSCModel.random(64, [3, 4, 4], [4, 6, 6], kind=["gaussian", "sparse_sign", "sparse_sign"],
                                  nnz=[None, 2, 2], rng=0)
    assert model.channels == (1, 3, 4, 4) and model.n_layers == 3
    s = dcsc.sample_codes(model, density=0.03, batch=5, rng=1)
    for i, D in enumerate(model.dictionaries):
        below = s.codes[i - 1] if i else s.X
        np.testing.assert_allclose(D.synthesis(s.codes[i]), below, atol=1e-12)
        # the structural support: zero wherever no nonzero meets a filter tap
        struct = ConvDictionary(np.abs(D.filters) > 0, 64, normalize=False).synthesis(
            (s.codes[i] != 0).astype(float))
        assert not np.any(below[struct < 0.5])
    np.testing.assert_array_equal(s.Y, s.X)
    assert s.noise is None and s.mode == "nested"
    same = dcsc.sample_codes(model, density=0.03, batch=5, rng=1)
    np.testing.assert_array_equal(same.codes[-1], s.codes[-1])


def test_stripe_cap_and_amplitudes_and_signs():
    model = dcsc.DCSCModel.random(200, 3, 10, rng=0)
    s = dcsc.sample_codes(model, stripe_sparsity=4, batch=6, amplitude=("uniform", 1, 2), signs="positive",
                          rng=0)
    np.testing.assert_array_equal(dcsc.stripe_sparsity(s.codes[0], 10), 4)   # maximal: exactly the cap
    vals = s.codes[0][s.codes[0] != 0]
    assert vals.min() >= 1 and vals.max() <= 2
    capped = dcsc.sample_codes(model, density=0.2, stripe_sparsity=3, batch=6, amplitude=("gaussian", 0.5),
                               rng=1)
    assert dcsc.stripe_sparsity(capped.codes[0], 10).max() <= 3
    assert np.abs(capped.codes[0][capped.codes[0] != 0]).min() >= 0.5
    assert (capped.codes[0] < 0).any() and (capped.codes[0] > 0).any()


def test_per_layer_random_codes_and_noise():
    model = dcsc.DCSCModel.random(48, [2, 3], [3, 4], rng=0)
    s = dcsc.sample_codes(model, density=[0.05, 0.02], batch=3, mode="per_layer_random", noise=0.1, rng=2)
    np.testing.assert_allclose(s.inputs[1], model.dictionaries[1].synthesis(s.codes[1]), atol=1e-12)
    np.testing.assert_allclose(s.Y - s.X, s.noise)
    assert 0.05 < s.noise.std() < 0.2


# -- layered thresholding ------------------------------------------------------------------


def _constructed_model(L, N=600):
    """Barker-13 first layer (coherence 1/13), then two-tap filters whose taps are far
    enough apart that a stripe-1 code stays stripe-1 one layer down (coherence 1/2)."""
    n = [13, 26, 52]
    f1 = BARKER13.reshape(1, 1, 13)
    f2 = np.zeros((2, 1, n[1]))
    f2[0, 0, [0, -1]] = 1, 1
    f2[1, 0, [0, -1]] = 1, -1
    f3 = np.zeros((2, 2, n[2]))
    f3[0, 0, 0], f3[0, 1, -1] = 1, 1
    f3[1, 1, 0], f3[1, 0, -1] = 1, -1
    return dcsc.DCSCModel.from_filters([f1, f2, f3][:L], N)


def _orthogonal_deep_model(L, N=300):
    """Two Barker-13 filters in separate input channels, then one-tap channel maps (coherence 0)."""
    f1 = np.zeros((2, 2, 13))
    f1[0, 0], f1[1, 1] = BARKER13, -BARKER13[::-1]
    f2 = np.zeros((2, 2, 4))
    f2[0, 1, 3], f2[1, 0, 0] = 1, 1
    f3 = np.zeros((2, 2, 5))
    f3[0, 0, 2], f3[1, 1, 4] = 1, -1
    return dcsc.DCSCModel.from_filters([f1, f2, f3][:L], N, method="direct")


@pytest.mark.parametrize("L", [1, 2, 3])
@pytest.mark.parametrize("rule", ["hard", "soft"])
def test_uniform_guarantee_holds_in_every_trial(L, rule):
    """[PRE17]: whenever the codes meet the condition, thresholds inside the window recover
    every layer's support (and signs).  Trials that miss the condition are drawn too."""
    cases = [(_constructed_model(L), 0.5), (_orthogonal_deep_model(L), 0.05)]
    if L <= 2:
        cases.append((dcsc.DCSCModel.random(256, [2, 2][:L], [3, 16][:L], kind=["gaussian", "sparse_sign"][:L],
                                            nnz=[None, 2][:L], rng=3), 0.5))
    met_total = unmet_total = 0
    for model, position in cases:
        s = dcsc.sample_codes(model, density=0.005, stripe_sparsity=2, batch=80, rng=11)
        conds = dcsc.uniform_condition(model, s, rule=rule, window_position=position)
        met = np.logical_and.reduce([c.ok for c in conds])
        rep, est, betas = dcsc.recover(model, s, rule=rule, thresholds="theory", window_position=position)
        assert rep.path_ok[met].all()
        for layer in rep.layers:
            assert layer.sign_ok[met].all()
        for c, e, G, shape in zip(conds, est, s.codes, model.filter_shapes[1:] + ((1,),)):
            assert (dcsc.patch_l2(e - G, shape)[met] <= c.eps_out[met] + 1e-9).all()
        met_total += met.sum()
        unmet_total += (~met).sum()
    assert met_total >= 20 and unmet_total >= 1  # stripe-2 codes break the condition in some trials


def test_window_is_nonempty_exactly_when_the_condition_holds():
    model = dcsc.DCSCModel.random(128, 2, 8, rng=0)
    s = dcsc.sample_codes(model, density=0.01, batch=50, amplitude=("uniform", 0.5, 1.5), noise=0.01, rng=0)
    c = dcsc.uniform_condition(model, s)[0]
    np.testing.assert_array_equal(c.ok, c.stripe < c.bound)
    np.testing.assert_array_equal(c.ok, c.lower < c.upper)
    assert c.ok.any() and not c.ok.all()
    assert (c.eps_in > 0).all()


def _doubled(model):
    """The model over [D, -D]: ReLU codes (G+, G-) of the signed soft codes G = G+ - G-."""
    filters = []
    for i, D in enumerate(model.dictionaries):
        f = D.filters
        if i == 0:
            filters.append(np.concatenate([f, -f]))
        else:
            top = np.concatenate([f, -f], axis=1)
            filters.append(np.concatenate([top, -top]))
    return dcsc.DCSCModel.from_filters(filters, model.spatial_shape, normalize=False)


def test_relu_on_the_doubled_model_equals_soft_thresholding():
    model = dcsc.DCSCModel.random(64, [3, 4], [5, 4], rng=0)
    Y = np.random.default_rng(1).standard_normal((4, 1, 64))
    betas = [0.8, np.array([0.3, 0.5, 0.2, 0.4])]
    soft = dcsc.layered_threshold(model, Y, betas, rule="soft")
    relu = dcsc.layered_threshold(_doubled(model), Y, [np.tile(np.asarray(b), 2) if np.ndim(b) else b
                                                       for b in betas], rule="relu")
    for G, (m, R) in zip(soft, zip(model.channels[1:], relu)):
        np.testing.assert_allclose(R[:, :m] - R[:, m:], G, atol=1e-12)
        np.testing.assert_allclose(R[:, :m], np.maximum(G, 0), atol=1e-12)
        assert (R >= 0).all() and np.count_nonzero(G) > 0


def test_relu_recovers_a_nonnegative_model():
    """Non-negative filters (a Golomb ruler: off-peak autocorrelation 1/4; two spaced taps)
    and positive codes: ReLU layered thresholding inside the window recovers every layer."""
    f1 = np.zeros((1, 1, 7))
    f1[0, 0, [0, 1, 4, 6]] = 1
    f2 = np.zeros((1, 1, 14))
    f2[0, 0, [0, 13]] = 1
    met_total = unmet_total = 0
    for L in (1, 2):
        model = dcsc.DCSCModel.from_filters([f1, f2][:L], 300)
        s = dcsc.sample_codes(model, density=0.01, stripe_sparsity=2, batch=60, signs="positive",
                              amplitude=("uniform", 1, 2), rng=5)
        assert all((G >= 0).all() for G in s.codes)
        conds = dcsc.uniform_condition(model, s, rule="relu", window_position=0.05)
        met = np.logical_and.reduce([c.ok for c in conds])
        rep, est, _ = dcsc.recover(model, s, rule="relu", thresholds="theory", window_position=0.05)
        assert rep.path_ok[met].all()
        assert all((e >= 0).all() for e in est)
        met_total += met.sum()
        unmet_total += (~met).sum()
    assert met_total >= 20 and unmet_total >= 1


def test_threshold_shapes_rules_and_topk():
    model = dcsc.DCSCModel.random(32, 3, 4, rng=0)
    Y = np.random.default_rng(0).standard_normal((2, 1, 32))
    Z = model.dictionaries[0].analysis(Y)
    per_channel = dcsc.layered_threshold(model, Y, [np.array([0.1, 0.5, 1.0])])[0]
    for k, tau in enumerate([0.1, 0.5, 1.0]):
        np.testing.assert_array_equal(per_channel[:, k], np.where(np.abs(Z[:, k]) > tau, Z[:, k], 0))
    per_signal = dcsc.layered_threshold(model, Y, [np.array([0.2, 0.7])], rule="soft")[0]
    np.testing.assert_allclose(per_signal[1], np.sign(Z[1]) * np.maximum(np.abs(Z[1]) - 0.7, 0))
    relu = dcsc.layered_threshold(model, Y, 0.3, rule="relu")[0]
    np.testing.assert_allclose(relu, np.maximum(Z - 0.3, 0))
    top = dcsc.layered_threshold(model, Y, [np.array([5, 9])], rule="topk")[0]
    assert [np.count_nonzero(t) for t in top] == [5, 9]
    assert np.abs(top[0]).min(initial=np.inf, where=top[0] != 0) >= np.sort(np.abs(Z[0]).ravel())[-5]
    single = dcsc.layered_threshold(model, Y[0], 0.5)
    np.testing.assert_array_equal(single[0], dcsc.layered_threshold(model, Y, 0.5)[0][0])


# -- the average-case bound ----------------------------------------------------------------


def test_instance_bound_matches_its_formula_and_holds():
    model = dcsc.DCSCModel.random(64, 2, 8, rng=1)
    s = dcsc.sample_codes(model, density=0.03, batch=3, rng=2)
    D, G = model.dictionaries[0], s.codes[0]
    betas = dcsc.oracle_thresholds(s)
    got = dcsc.average_case_bound(model, s, betas)["layers"][:, 0]
    gram = _gram(D) ** 2
    np.fill_diagonal(gram, 0)
    for b in range(3):
        x = G[b].ravel()
        v = gram @ x**2
        t = np.where(x != 0, np.abs(x) - betas[0][b], betas[0][b])
        with np.errstate(divide="ignore"):
            expected = min(1.0, np.sum(2 * np.exp(-t**2 / (2 * v))))
        assert got[b] == pytest.approx(expected, rel=1e-9)
    uniform = dcsc.average_case_bound(model, s, betas, form="uniform")["layers"][:, 0]
    assert (uniform >= got - 1e-12).all()


def test_measured_success_is_above_one_minus_the_average_case_bound():
    model = dcsc.DCSCModel.random(512, 2, 64, rng=0)
    for density in (0.004, 0.01):
        s = dcsc.sample_codes(model, density=density, batch=150, rng=3)
        rep, est, betas = dcsc.recover(model, s)
        bound = dcsc.average_case_bound(model, s, betas)
        assert bound["rigorous"].all()
        assert rep.success()[0] >= 1 - bound["layers"][:, 0].mean()
    assert 0 < rep.success()[0] < 1


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("call, message", [
    (lambda: dcsc.DCSCModel.from_filters([np.ones((2, 1, 3)), np.ones((2, 3, 3))], 16), "do not chain"),
    (lambda: dcsc.DCSCModel.random(16, [2, 2], [20, 3], rng=0), "longer than the signal"),
    (lambda: dcsc.DCSCModel.random(16, [2, 2], [3, 3, 3], rng=0), "n_filters has 2 entries but the model has 3"),
    (lambda: dcsc.layered_threshold(dcsc.DCSCModel.random(16, 2, 3, rng=0), np.ones((1, 16)), -0.5),
     "must be >= 0"),
    (lambda: dcsc.layered_threshold(dcsc.DCSCModel.random(16, 2, 3, rng=0), np.ones((1, 16)), [0.1, 0.2]),
     "2 entries but the model has 1"),
    (lambda: dcsc.layered_threshold(dcsc.DCSCModel.random(16, 2, 3, rng=0), np.ones((1, 16)), 0.1,
                                    rule="tanh"), "rule must be one of"),
    (lambda: dcsc.sample_codes(dcsc.DCSCModel.random(16, 2, 3, rng=0)), "give density"),
    (lambda: dcsc.sample_codes(dcsc.DCSCModel.random(16, 2, 3, rng=0), density=1.5), "density=1.5"),
    (lambda: dcsc.sample_codes(dcsc.DCSCModel.random(16, 2, 3, rng=0), density=0.1, amplitude="big"),
     "amplitude must be"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_average_case_bound_needs_random_signs():
    model = dcsc.DCSCModel.random(32, 2, 3, rng=0)
    s = dcsc.sample_codes(model, density=0.1, signs="positive", rng=0)
    with pytest.raises(ValueError, match="random signs"):
        dcsc.average_case_bound(model, s, 0.5)


# -- the sweep ---------------------------------------------------------------------------------


def test_sweep_writes_resumes_and_plots(tmp_path):
    model = dcsc.DCSCModel.random(256, 2, 32, rng=0)
    kw = dict(trials=40, batch=25, seed=5, out=tmp_path)
    first = dcsc.sweep(model, [0.004, 0.02], **kw)
    rows = list(csv.DictReader(open(tmp_path / "sweep.csv")))
    assert len(rows) == 4 and {r["layer"] for r in rows} == {"1", "path"}
    assert json.loads((tmp_path / "sweep.json").read_text())["trials"] == 40
    more = dcsc.sweep(model, [0.004, 0.01, 0.02], **kw)       # resumes: only 0.01 is run
    rows = list(csv.DictReader(open(tmp_path / "sweep.csv")))
    assert len(rows) == 6
    assert more.column("success", 1)[[0, 2]].tolist() == first.column("success", 1).tolist()
    fresh = dcsc.sweep(model, [0.01], trials=40, batch=25, seed=5)
    assert fresh.column("success", 1)[0] == more.column("success", 1)[1]  # a point does not depend on the grid
    succ, bound = more.column("success", 1), more.column("avg_bound_success", 1)
    assert succ[0] > succ[-1] and (succ >= bound).all()
    assert np.all(more.column("mu", 1) == dcsc.mutual_coherence(model.dictionaries[0]))
    x = more.crossing(0.5, layer=1)
    assert math.isnan(x) or more.column("mean_stripe", 1)[0] <= x <= more.column("mean_stripe", 1)[-1]
    with pytest.raises(ValueError, match="other parameters"):
        dcsc.sweep(model, [0.01], trials=41, batch=25, seed=5, out=tmp_path)
    fig = dcsc.plot_sweep(more, tmp_path / "sweep.png", title="test")
    assert (tmp_path / "sweep.png").stat().st_size > 1000
    import matplotlib.pyplot as plt
    plt.close(fig)


# -- the command line ----------------------------------------------------------------------


def test_cli_sweep_writes_and_resumes(tmp_path, capsys):
    from cs.cli import main

    argv = ["dcsc", "sweep", "--out", str(tmp_path / "run"), "--filter-length", "16", "--densities",
            "0.01,0.05", "--trials", "20", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "50% success" in out and "sweep.png" in out
    assert (tmp_path / "run" / "sweep.png").exists()
    first = (tmp_path / "run" / "sweep.csv").read_text()
    assert main(argv[:7] + ["0.01,0.05,0.1"] + argv[8:]) == 0     # resumes: appends one grid point
    again = (tmp_path / "run" / "sweep.csv").read_text()
    assert again.startswith(first) and again.count("\n") == first.count("\n") + 2
    assert main(argv[:9] + ["21", "--quiet"]) == 2
    assert "other parameters" in capsys.readouterr().err
    assert main(["dcsc", "sweep", "--out", str(tmp_path / "x"), "--filter-length", "64",
                 "--signal-length", "32", "--quiet"]) == 2
    assert "longer than the signal" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["dcsc", "sweep", "--out", str(tmp_path / "y"), "--filters", "0"])


def test_two_dimensional_model_end_to_end():
    model = dcsc.DCSCModel.random((20, 18), [2, 3], [3, 2], kind=["gaussian", "sparse_sign"], nnz=[None, 2],
                                  rng=0)
    assert model.filter_shapes == ((3, 3), (2, 2)) and model.code_shape(2) == (3, 20, 18)
    s = dcsc.sample_codes(model, density=0.01, stripe_sparsity=1, batch=30, rng=1)
    assert dcsc.stripe_sparsity(s.codes[1], (2, 2)).max() <= 1
    rep, est, _ = dcsc.recover(model, s)
    assert [e.shape for e in est] == [G.shape for G in s.codes]
    single = dcsc.DCSCModel.from_filters([model.dictionaries[0].filters], (20, 18))
    s1 = dcsc.sample_codes(single, density=0.004, stripe_sparsity=2, batch=30, rng=2)
    met = dcsc.uniform_condition(single, s1)[0].ok
    rep, _, _ = dcsc.recover(single, s1, thresholds="theory")
    assert rep.path_ok[met].all() and met.any() and not met.all()
    D = model.dictionaries[0]
    gram = _gram(D) ** 2
    np.fill_diagonal(gram, 0)
    v = dcsc.interference_variance(D, s.codes[0][:2])
    for b in range(2):
        np.testing.assert_allclose(v[b].ravel(), gram @ s.codes[0][b].ravel() ** 2, atol=1e-12)


@pytest.mark.parametrize("L, noise", [(1, 0.08), (2, 0.02)])
def test_uniform_guarantee_with_noise(L, noise):
    """With noise E the window shrinks by eps_0 = ||E||^p_{2,inf}; inside it recovery still holds."""
    model = _constructed_model(L)
    s = dcsc.sample_codes(model, density=0.005, stripe_sparsity=2, batch=60, noise=noise, rng=4)
    conds = dcsc.uniform_condition(model, s)
    met = np.logical_and.reduce([c.ok for c in conds])
    assert (conds[0].eps_in > 0).all() and 10 <= met.sum() < met.size
    rep, _, _ = dcsc.recover(model, s, thresholds="theory")
    assert rep.path_ok[met].all()
    louder = dcsc.sample_codes(model, density=0.005, stripe_sparsity=2, batch=60, noise=1.0, rng=4)
    assert np.logical_and.reduce([c.ok for c in dcsc.uniform_condition(model, louder)]).sum() < met.sum()
