"""cs.activations: the clipped activations, their Gaussian-process maps (closed
forms against Monte Carlo and finite differences), the edge of chaos and its
instability without clipping in a wide random network, and the sparsifiers."""

import numpy as np
import pytest

from cs import activations as act
from cs import threshold

INF = np.inf
ACTS = [("shifted_relu", INF), ("shifted_relu", 0.5), ("shifted_relu", 2.0),
        ("soft_threshold", INF), ("soft_threshold", 0.5), ("soft_threshold", 2.0)]


def _phi(kind, x, tau, m):
    f = act.clipped_shifted_relu if kind == "shifted_relu" else act.clipped_soft_threshold
    return f(x, tau, m)


def _dphi(kind, x, tau, m):
    f = act.clipped_shifted_relu_grad if kind == "shifted_relu" else act.clipped_soft_threshold_grad
    return f(x, tau, m)


@pytest.fixture(scope="module")
def z():
    return np.random.default_rng(20240507).standard_normal(2_000_000)


# ----------------------------------------------------------------------------- the activations

def test_activations_match_their_definitions():
    x = np.array([-5.0, -2.5, -1.0, -0.3, 0.0, 0.3, 1.0, 1.2, 2.5, 5.0])
    tau, m = 1.0, 1.5
    np.testing.assert_array_equal(act.clipped_shifted_relu(x, tau, m), np.minimum(np.maximum(x - tau, 0), m))
    np.testing.assert_array_equal(act.clipped_shifted_relu(x, tau), np.maximum(x - tau, 0))
    np.testing.assert_array_equal(act.clipped_soft_threshold(x, tau, m),
                                  np.sign(x) * np.minimum(np.maximum(np.abs(x) - tau, 0), m))
    np.testing.assert_array_equal(act.clipped_soft_threshold(x, tau), np.sign(x) * np.maximum(np.abs(x) - tau, 0))
    np.testing.assert_array_equal(act.clipped_shifted_relu_grad(x, tau, m), [0, 0, 0, 0, 0, 0, 0, 1, 0, 0])
    np.testing.assert_array_equal(act.clipped_soft_threshold_grad(x, tau, m), [0, 0, 0, 0, 0, 0, 0, 1, 0, 0])
    np.testing.assert_array_equal(act.clipped_soft_threshold_grad(-x, tau, m), [0, 0, 0, 0, 0, 0, 0, 1, 0, 0])
    np.testing.assert_array_equal(act.clipped_shifted_relu_grad(-x, tau, m), np.zeros(10))
    assert act.clipped_shifted_relu(x.astype(np.float32), tau, m).dtype == np.float32


@pytest.mark.parametrize("kind,m", ACTS)
def test_derivative_matches_finite_differences(kind, m):
    x = np.random.default_rng(1).uniform(-4, 4, 1000)
    h = 1e-6
    fd = (_phi(kind, x + h, 0.8, m) - _phi(kind, x - h, 0.8, m)) / (2 * h)
    np.testing.assert_allclose(_dphi(kind, x, 0.8, m), fd, atol=1e-8)


# ----------------------------------------------------------------------------- Gaussian-process maps

@pytest.mark.parametrize("kind,m", ACTS)
@pytest.mark.parametrize("tau", [0.0, 0.7])
def test_moments_agree_with_monte_carlo(z, kind, m, tau):
    for q in (0.5, 2.5):
        x = np.sqrt(q) * z
        phi, dphi = _phi(kind, x, tau, m), _dphi(kind, x, tau, m)
        mo = act.gaussian_moments(kind, q, tau=tau, m=m)
        for closed, sample in [(mo.e_phi, phi), (mo.e_phi2, phi ** 2), (mo.e_dphi2, dphi ** 2),
                               (mo.sparsity, phi == 0), (mo.saturation, np.abs(phi) == m)]:
            sample = sample.astype(float)
            se = sample.std() / np.sqrt(sample.size)
            assert se < 2e-3 * max(1.0, abs(sample.mean()))
            assert abs(float(closed) - sample.mean()) < max(4 * se, 1e-12), (q, closed, sample.mean(), se)


@pytest.mark.parametrize("kind,m", ACTS)
def test_variance_map_derivatives_match_finite_differences(kind, m):
    kw = dict(tau=0.9, sigma_w2=3.0, sigma_b2=0.2, m=m)
    for q in (0.3, 1.0, 4.0):
        h = 1e-5 * q
        V = act.variance_map(kind, np.array([q - h, q, q + h]), **kw)
        fd1 = (V.V[2] - V.V[0]) / (2 * h)
        fd2 = (V.dV[2] - V.dV[0]) / (2 * h)
        assert abs(V.dV[1] - fd1) < 1e-6 * max(1.0, abs(fd1))
        assert abs(V.d2V[1] - fd2) < 1e-6 * max(1.0, abs(fd2))


@pytest.mark.parametrize("kind,m", ACTS)
def test_correlation_map_agrees_with_monte_carlo(z, kind, m):
    e = act.edge_of_chaos(kind, 0.8, m=m)
    kw = dict(tau=e.tau, sigma_w2=e.sigma_w2, sigma_b2=e.sigma_b2, q_star=1.0, m=m)
    z1, z2 = z[:1_000_000], z[1_000_000:]
    cs_ = np.array([-0.6, 0.0, 0.5, 0.9])
    R = act.correlation_map(kind, cs_, **kw)
    for c, r in zip(cs_, R):
        prod = e.sigma_w2 * _phi(kind, z1, e.tau, m) * _phi(kind, c * z1 + np.sqrt(1 - c * c) * z2, e.tau, m)
        se = prod.std() / np.sqrt(prod.size)
        assert abs(r - (prod.mean() + e.sigma_b2)) < 4 * se, (c, r, prod.mean() + e.sigma_b2, se)
    # R(1) = 1 at the fixed point; R'(1) = chi_1 = 1 (the one-sided slope converges like sqrt(h))
    assert act.correlation_map(kind, 1.0, **kw) == pytest.approx(1.0, abs=1e-10)
    h = 1e-8
    slope = (1.0 - act.correlation_map(kind, 1.0 - h, **kw)) / h
    assert slope == pytest.approx(e.chi1, abs=2e-3)
    assert e.chi1 == pytest.approx(1.0, abs=1e-12)
    # inside (-1, 1): R'(c) = sigma_w^2 E[phi'(u1) phi'(u2)] (Price's theorem)
    c, h = 0.5, 1e-4
    fd = float(np.diff(act.correlation_map(kind, [c - h, c + h], **kw))[0]) / (2 * h)
    d = e.sigma_w2 * _dphi(kind, z1, e.tau, m) * _dphi(kind, c * z1 + np.sqrt(1 - c * c) * z2, e.tau, m)
    assert abs(fd - d.mean()) < 4 * d.std() / np.sqrt(d.size)


def test_sparsity_and_its_inverse():
    for kind in act.KINDS:
        for s in (0.5, 0.7, 0.85, 0.95):
            for q in (0.3, 1.0, 3.0):
                tau = act.tau_for_sparsity(kind, s, q)
                assert act.expected_sparsity(kind, q, tau=tau) == pytest.approx(s, abs=1e-12)
    assert act.tau_for_sparsity("soft_threshold", 0.0) == 0.0
    assert act.tau_for_sparsity("shifted_relu", 0.5) == 0.0


# ----------------------------------------------------------------------------- edge of chaos

def test_edge_of_chaos_is_he_for_relu():
    e = act.edge_of_chaos("shifted_relu", 0.5)
    assert (e.tau, e.sigma_w2, e.sigma_b2) == (0.0, pytest.approx(2.0, abs=1e-14), pytest.approx(0.0, abs=1e-14))
    assert e.dV == pytest.approx(1.0) and e.d2V == pytest.approx(0.0, abs=1e-14)


# values derived from the closed forms at q* = 1 (spec table; independently reproduced by the tests above)
TABLE = [("shifted_relu", 0.85, INF, 1.0364, 6.6667, 0.5368, 1.0000, 0.8055),
         ("shifted_relu", 0.85, 0.5, 1.0364, 11.3916, 0.7526, 0.3020, -0.1709),
         ("shifted_relu", 0.85, 1.0, 1.0364, 7.7431, 0.6213, 0.6116, -0.0711),
         ("shifted_relu", 0.85, 2.0, 1.0364, 6.7203, 0.5433, 0.9466, 0.5522),
         ("shifted_relu", 0.70, 1.0, 0.5244, 4.2320, 0.4783, 0.4717, -0.3665),
         ("soft_threshold", 0.85, INF, 1.4395, 6.6667, 0.6447, 1.0000, 1.3585),
         ("soft_threshold", 0.85, 1.0, 1.4395, 7.3913, 0.6991, 0.6991, 0.3944),
         ("soft_threshold", 0.50, 1.0, 0.6745, 2.4633, 0.5268, 0.5163, -0.3133)]


@pytest.mark.parametrize("kind,s,m,tau,sw2,sb2,dV,d2V", TABLE)
def test_edge_of_chaos_values(kind, s, m, tau, sw2, sb2, dV, d2V):
    e = act.edge_of_chaos(kind, s, m=m)
    got = (e.tau, e.sigma_w2, e.sigma_b2, e.dV, e.d2V)
    np.testing.assert_allclose(got, (tau, sw2, sb2, dV, d2V), atol=1e-4)
    V = act.variance_map(kind, 1.0, tau=e.tau, sigma_w2=e.sigma_w2, sigma_b2=e.sigma_b2, m=m)
    assert float(V.V) == pytest.approx(1.0, abs=1e-12)
    assert e.stable == (m != INF)
    # scale invariance: q* = 4 doubles tau and m, scales sigma_b^2 by 4 and V'' by 1/4
    e4 = act.edge_of_chaos(kind, s, q_star=4.0, m=2 * m)
    np.testing.assert_allclose((e4.tau, e4.sigma_w2, e4.sigma_b2, e4.dV, e4.d2V),
                               (2 * e.tau, e.sigma_w2, 4 * e.sigma_b2, e.dV, e.d2V / 4), rtol=1e-10, atol=1e-12)


def test_clipped_relu_at_s_equals_clipped_soft_threshold_at_2s_minus_1():
    r = act.edge_of_chaos("shifted_relu", 0.85, m=1.0)
    t = act.edge_of_chaos("soft_threshold", 0.70, m=1.0)
    np.testing.assert_allclose((r.tau, r.sigma_w2, r.sigma_b2, r.dV), (t.tau, 2 * t.sigma_w2, t.sigma_b2, t.dV))


def test_fixed_point_stability():
    for kind in act.KINDS:
        e = act.edge_of_chaos(kind, 0.85, m=1.0)
        kw = dict(tau=e.tau, sigma_w2=e.sigma_w2, sigma_b2=e.sigma_b2, m=1.0)
        for q0 in (0.05, 0.7, 3.0):
            assert act.fixed_point(kind, q0=q0, **kw) == pytest.approx(1.0, abs=1e-10)
        q = 3.0  # the recursion itself goes there
        for _ in range(200):
            q = float(act.variance_map(kind, q, **kw).V)
        assert q == pytest.approx(1.0, abs=1e-10)
        u = act.edge_of_chaos(kind, 0.85)
        kw = dict(tau=u.tau, sigma_w2=u.sigma_w2, sigma_b2=u.sigma_b2)
        assert act.fixed_point(kind, q0=0.5, **kw) == pytest.approx(1.0, abs=1e-6)  # tangential, from below
        assert act.fixed_point(kind, q0=1.01, **kw) == np.inf                        # repelled from above


def test_clip_profile_and_suggestion():
    m = np.array([0.25, 0.5, 1.0, 2.0, 4.0, np.inf])
    p = act.clip_level_profile("shifted_relu", 0.85, m)
    assert np.all(np.diff(p.dV) > 0) and p.dV[-1] == pytest.approx(1.0)
    assert np.all(p.dV[:-1] < 1) and np.all(np.diff(p.saturation) < 0)
    for kind in act.KINDS:
        ms = act.suggest_clip(kind, 0.85)
        e = act.edge_of_chaos(kind, 0.85, m=ms)
        assert e.dV <= 0.8 and e.d2V <= 0
        above = act.edge_of_chaos(kind, 0.85, m=ms * 1.05)  # the rule picks the largest such m
        assert above.dV > 0.8 or above.d2V > 0


@pytest.mark.parametrize("call,name", [
    (lambda: act.edge_of_chaos("shifted_relu", 0.3), "sigma_b^2"),
    (lambda: act.edge_of_chaos("shifted_relu", 0.3, m=0.2), "negative threshold"),
    (lambda: act.edge_of_chaos("relu", 0.8), "kind"),
    (lambda: act.edge_of_chaos("soft_threshold", 1.0), "sparsity"),
    (lambda: act.edge_of_chaos("soft_threshold", 0.8, m=0.0), "m"),
    (lambda: act.clipped_shifted_relu([1.0], -1.0), "tau"),
    (lambda: act.variance_map("shifted_relu", -1.0, tau=0, sigma_w2=2, sigma_b2=0), "q"),
    (lambda: act.suggest_clip("soft_threshold", 0.85, max_dV=0.0), "max_dV"),
    (lambda: act.teal(np.ones(10), 1.5), "sparsity"),
    (lambda: act.chess(np.ones((4, 3)), np.ones((4, 2)), 0.5), "up"),
    (lambda: act.wina(np.ones((4, 3)), np.ones((2, 3)), 0.5, k=1), "one of"),
    (lambda: act.wina(np.ones((4, 2)), np.ones((2, 3)), 0.5), "samples"),
])
def test_bad_values_name_the_argument(call, name):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert name in str(info.value)


# ----------------------------------------------------------------------------- wide random network

def _wide_network(seeds=(0, 1, 2), width=500, depth=60, batch=8):
    """Per activation and seed: final pre-activation variance (inf on blow-up), mean sparsity, layers run."""
    configs = {name: act.edge_of_chaos(kind, 0.85, m=m) for name, kind, m in [
        ("ReLU_tau", "shifted_relu", INF), ("ST_tau", "soft_threshold", INF),
        ("CReLU", "shifted_relu", act.suggest_clip("shifted_relu", 0.85)),
        ("CST", "soft_threshold", act.suggest_clip("soft_threshold", 0.85))]}
    out = {name: [] for name in configs}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        weights = [rng.standard_normal((width, width), dtype=np.float32) / np.float32(np.sqrt(width))
                   for _ in range(depth)]
        biases = [rng.standard_normal((width, 1), dtype=np.float32) for _ in range(depth)]
        x = rng.standard_normal((width, batch), dtype=np.float32)   # q^0 = q* = 1
        for name, e in configs.items():
            h, sparsity = x, []
            for depth_reached, (W, b) in enumerate(zip(weights, biases), 1):
                a = e.activation(h)
                sparsity.append(np.mean(a == 0))
                h = np.float32(np.sqrt(e.sigma_w2)) * (W @ a) + np.float32(np.sqrt(e.sigma_b2)) * b
                q = float(np.mean(np.square(h, dtype=np.float64)))
                if q > 1e6:
                    q = np.inf
                    break
            out[name].append((q, float(np.mean(sparsity)), depth_reached))
    return out


def test_wide_network_clipping_keeps_variance_and_sparsity():
    res = _wide_network()
    for name in ("CReLU", "CST"):
        q, s, _ = np.array(res[name]).T
        assert np.all(np.abs(q - 1) < 0.25), (name, q)
        assert np.all(np.abs(s - 0.85) < 0.02), (name, s)
    for name in ("ReLU_tau", "ST_tau"):
        q, s, _ = np.array(res[name]).T
        assert np.sum(np.isinf(q)) >= 2, (name, q)           # blows up in most seeds


# ----------------------------------------------------------------------------- sparsifiers

def _heavy(rng, shape):
    return rng.laplace(size=shape) * np.linspace(0.5, 2.0, shape[-1])


@pytest.mark.parametrize("s", [0.5, 0.85])
def test_calibrated_sparsifiers_hit_target_on_held_out(s):
    rng = np.random.default_rng(3)
    d = 64
    calib, held = _heavy(rng, (800, d)), _heavy(rng, (800, d))
    up_c = rng.standard_normal((800, d)) * np.geomspace(0.1, 10, d)
    W = rng.standard_normal((32, d)) * np.geomspace(0.1, 10, d)
    for sp in (act.teal(calib, s), act.chess(calib, up_c, s), act.wina(calib, W, s)):
        assert abs(1 - sp.mask(calib).mean() - s) < 1e-3     # exact on the calibration set
        assert abs(1 - sp.mask(held).mean() - s) < 0.01, sp.method
        kept = sp(held)
        np.testing.assert_array_equal(kept, np.where(sp.mask(held), held, 0))
    ch = act.chess(calib, up_c, s)   # channel-wise form |g_i| > t_i with t_i = sqrt(T / E[u_i^2])
    T = threshold.tau_for_density(calib ** 2 * np.mean(up_c ** 2, axis=0), 1 - s)
    t = np.sqrt(T / np.mean(up_c ** 2, axis=0))
    np.testing.assert_allclose(ch.channel_thresholds, t)
    assert np.mean((np.abs(held) > t) != ch.mask(held)) < 1e-3  # differs only by rounding at the threshold


def test_top_k_keeps_exactly_k_per_token():
    x = np.random.default_rng(4).standard_normal((5, 7, 40))
    for k in (0, 1, 9, 40):
        out = act.top_k(k)(x)
        assert np.all(np.count_nonzero(out, axis=-1) == k)
        np.testing.assert_array_equal(out, act.top_k_per_token(x, k))
        # brute force: the kept entries are the k largest magnitudes of each token
        order = np.sort(np.abs(x), axis=-1)[..., ::-1]
        kept = np.sort(np.abs(out), axis=-1)[..., ::-1][..., :k]
        np.testing.assert_array_equal(kept, order[..., :k])
    W = np.random.default_rng(5).standard_normal((6, 40))
    sp = act.wina(None, W, k=9)
    assert np.all(np.count_nonzero(sp(x), axis=-1) == 9)


def test_wina_beats_teal_with_heterogeneous_columns():
    rng = np.random.default_rng(6)
    d_in, d_out, s = 128, 512, 0.7
    W = rng.standard_normal((d_out, d_in)) / np.sqrt(d_out) * rng.lognormal(0, 1.0, d_in)
    calib, held = rng.standard_normal((1000, d_in)), rng.standard_normal((1000, d_in))
    err = {}
    for sp in (act.teal(calib, s), act.wina(calib, W, s)):
        err[sp.method] = np.linalg.norm((held - sp(held)) @ W.T) / np.linalg.norm(held @ W.T)
        assert abs(1 - sp.mask(held).mean() - s) < 0.01
    assert err["wina"] < 0.7 * err["teal"], err


def test_chess_beats_a_single_threshold_on_heterogeneous_up():
    rng = np.random.default_rng(7)
    n, d, s = 2000, 96, 0.6
    W_down = rng.standard_normal((d, 48)) / np.sqrt(d)
    scale = rng.lognormal(0, 1.0, d)

    def ffn_inputs():
        x = rng.standard_normal((n, d))
        gate = x * 1 / (1 + np.exp(-x))                      # SiLU
        up = rng.standard_normal((n, d)) * scale
        return gate, up

    gate_c, up_c = ffn_inputs()
    gate_h, up_h = ffn_inputs()
    dense = (gate_h * up_h) @ W_down
    err = {}
    for sp in (act.teal(gate_c, s), act.chess(gate_c, up_c, s)):   # TEAL on the gate = CATS
        err[sp.method] = np.linalg.norm((sp(gate_h) * up_h) @ W_down - dense) / np.linalg.norm(dense)
        assert abs(1 - sp.mask(gate_h).mean() - s) < 0.01
    assert err["chess"] < 0.8 * err["teal"], err
