"""cs.nn.activations: the torch modules agree with the NumPy functions they
mirror, the initialiser draws the edge-of-chaos variances by fan-in, and a
wide torch network keeps the edge-of-chaos variance and sparsity."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="cs.nn needs PyTorch (the 'torch' extra)")

from cs import activations as act  # noqa: E402
from cs.nn import activations as nnact  # noqa: E402


@pytest.mark.parametrize("m", [math.inf, 0.7])
def test_modules_match_numpy_and_their_gradients(m):
    x = np.random.default_rng(0).uniform(-4, 4, (50, 30))
    for mod, f, grad in [(nnact.ClippedShiftedReLU(0.8, m), act.clipped_shifted_relu, act.clipped_shifted_relu_grad),
                         (nnact.ClippedSoftThreshold(0.8, m), act.clipped_soft_threshold,
                          act.clipped_soft_threshold_grad)]:
        xt = torch.tensor(x, requires_grad=True)
        out = mod(xt)
        np.testing.assert_array_equal(out.detach().numpy(), f(x, 0.8, m))
        out.sum().backward()
        np.testing.assert_array_equal(xt.grad.numpy(), grad(x, 0.8, m))
        assert mod(torch.ones(3, dtype=torch.float32)).dtype == torch.float32


def test_sparse_activation_from_edge_of_chaos():
    e = act.edge_of_chaos("soft_threshold", 0.85, m=0.5)
    mod = nnact.sparse_activation(e)
    assert isinstance(mod, nnact.ClippedSoftThreshold) and (mod.tau, mod.m) == (e.tau, 0.5)
    with pytest.raises(TypeError, match="eoc"):
        nnact.sparse_activation(0.5)
    with pytest.raises(ValueError, match="tau"):
        nnact.ClippedShiftedReLU(-1.0)
    with pytest.raises(ValueError, match="m"):
        nnact.ClippedSoftThreshold(1.0, 0.0)


def test_sparsifier_modules_match_numpy():
    rng = np.random.default_rng(1)
    calib, x = rng.standard_normal((500, 24)), rng.standard_normal((3, 7, 24))
    W = rng.standard_normal((16, 24)) * np.geomspace(0.1, 10, 24)
    up = rng.standard_normal((500, 24)) * np.geomspace(0.2, 5, 24)
    for sp in (act.teal(calib, 0.7), act.chess(calib, up, 0.7), act.wina(calib, W, 0.7)):
        mod = nnact.ThresholdSparsifier.from_sparsifier(sp)
        got = mod(torch.tensor(x)).numpy()
        np.testing.assert_array_equal(got != 0, sp.mask(x))
        np.testing.assert_array_equal(got, sp(x))
        assert "threshold" in mod.state_dict()
    for sp in (act.top_k(5), act.wina(None, W, k=5)):
        mod = nnact.TopKActivation.from_sparsifier(sp)
        got = mod(torch.tensor(x)).numpy()
        np.testing.assert_array_equal(got, sp(x))
        assert np.all(np.count_nonzero(got, axis=-1) == 5)
    with pytest.raises(ValueError, match="top-k"):
        nnact.ThresholdSparsifier.from_sparsifier(act.top_k(3))


def test_eoc_init_uses_fan_in():
    e = act.edge_of_chaos("shifted_relu", 0.85, m=1.0)
    model = torch.nn.Sequential(torch.nn.Conv2d(6, 64, 5, groups=2), torch.nn.Flatten(),
                                torch.nn.Linear(400, 500), torch.nn.Linear(500, 300, bias=False))
    assert nnact.eoc_init_(model, e, generator=torch.Generator().manual_seed(0)) == 3
    conv, lin = model[0], model[2]
    assert nnact.fan_in(conv) == 3 * 25 and nnact.fan_in(lin) == 400
    for layer in (conv, lin, model[3]):
        var = float(layer.weight.detach().var()) * nnact.fan_in(layer)
        n = layer.weight.numel()
        assert abs(var / e.sigma_w2 - 1) < 5 * math.sqrt(2 / n)
    assert abs(float(lin.bias.detach().var()) / e.sigma_b2 - 1) < 5 * math.sqrt(2 / 500)
    with pytest.raises(ValueError, match="sigma_w2"):
        nnact.eoc_init_(model, -1.0)


def test_wide_torch_network_tracks_the_fixed_point():
    torch.manual_seed(0)
    width, depth = 400, 30
    e = act.edge_of_chaos("shifted_relu", 0.85, m=act.suggest_clip("shifted_relu", 0.85))
    layers = [torch.nn.Linear(width, width) for _ in range(depth)]
    nnact.eoc_init_(torch.nn.Sequential(*layers), e, generator=torch.Generator().manual_seed(0))
    phi = nnact.sparse_activation(e)
    h = torch.randn(16, width, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        for layer in layers:
            a = phi(h)
            h = layer(a)
    assert abs(float(h.pow(2).mean()) - e.q_star) < 0.25
    assert abs(float((a == 0).float().mean()) - 0.85) < 0.03


@pytest.mark.slow
def test_digits_example_clipped_shifted_relu_trains_sparse_and_accurate():
    pytest.importorskip("sklearn", reason="the digits example needs scikit-learn")
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).parents[1] / "examples" / "sparse_activations_digits.py"
    spec = importlib.util.spec_from_file_location("sparse_activations_digits", path)
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)
    torch.set_num_threads(1)
    eoc = ex.activations_to_compare(0.85)["clipped shifted ReLU"]
    acc, per_layer, _ = ex.train(eoc, ex.load_digits_split(0), epochs=15, seed=0)
    assert per_layer.size == 10
    assert acc >= 0.90 and per_layer.mean() >= 0.80, (acc, per_layer)
