"""The PyTorch pruning adapter on a small MLP trained on scikit-learn's digits
(bundled with scikit-learn: no download) and on a tiny CNN."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="cs.nn needs PyTorch (the 'torch' extra)")
datasets = pytest.importorskip("sklearn.datasets", reason="the digits data come with scikit-learn")

from torch import nn  # noqa: E402
from torch.nn.utils import prune as torch_prune  # noqa: E402

from cs import pruning as P  # noqa: E402
from cs.nn import pruning as NP  # noqa: E402


HIDDEN = 96


def make_mlp():
    return nn.Sequential(nn.Linear(64, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                         nn.Linear(HIDDEN, 10))


@pytest.fixture(scope="module")
def digits():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small matrices: one thread is fastest on a shared machine, and repeatable
    torch.manual_seed(0)
    X, y = datasets.load_digits(return_X_y=True)
    perm = np.random.default_rng(0).permutation(len(y))
    X = torch.tensor(X[perm] / 16.0, dtype=torch.float32)  # pixels in [0, 1]: non-zero-mean inputs
    y = torch.tensor(y[perm])
    train, test = slice(0, 1200), slice(1200, None)
    model = make_mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(100):  # full-batch Adam: about a second on one core
        opt.zero_grad()
        nn.functional.cross_entropy(model(X[train]), y[train]).backward()
        opt.step()
    calib = list(torch.split(X[train], 300))
    yield model, calib, X[test], y[test]
    torch.set_num_threads(threads)


def accuracy(model, X, y):
    with torch.no_grad():
        return float((model(X).argmax(dim=1) == y).float().mean())


def test_hook_statistics_match_the_inputs(digits):
    model, calib, _, _ = digits
    stats = NP.collect_stats(model, calib, gram=True)
    X = torch.cat(calib)
    with torch.no_grad():
        hidden = torch.relu(model[0](X))
    for name, inputs in (("0", X), ("2", hidden)):
        ref = P.ActivationStats.from_array(inputs.double().numpy(), gram=True)
        assert stats[name].count == len(X)
        np.testing.assert_allclose(stats[name].mean, ref.mean, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(stats[name].gram, ref.gram, rtol=1e-12, atol=1e-10)
    assert model.training  # the mode is restored


def test_conv_patches_reproduce_the_convolution():
    torch.manual_seed(1)
    conv = nn.Conv2d(3, 5, kernel_size=(3, 2), stride=2, padding=1, dilation=(1, 2))
    x = torch.randn(2, 3, 9, 8)
    rows = NP.layer_inputs(conv, x)
    W = NP.weight_matrix(conv)
    out = conv(x).detach()
    expected = out.permute(0, 2, 3, 1).reshape(-1, 5)
    torch.testing.assert_close(rows @ W.T + conv.bias.detach(), expected, rtol=1e-5, atol=1e-5)
    stats = NP.collect_stats(nn.Sequential(conv), [x])
    assert stats["0"].n_features == 3 * 3 * 2 and stats["0"].count == expected.shape[0]


@pytest.mark.parametrize("sparsity, nm, margin", [(0.5, None, 0.03), (None, (2, 4), 0.05)])
def test_digits_mlp_wanda_and_dsnot(digits, sparsity, nm, margin):
    """Test accuracy (597 held-out digits) before and after pruning both hidden
    layers (the classifier stays dense, as LLM pruning leaves the head).
    Measured (seed 0, one thread): dense 0.966; 50 %: Wanda 0.970, Wanda+DSnoT
    0.965; 2:4: Wanda 0.948, Wanda+DSnoT 0.951."""
    model, calib, X, y = digits
    dense = accuracy(model, X, y)
    assert dense > 0.95
    results = {}
    for refine in (None, "dsnot"):
        pruned = copy.deepcopy(model)
        report = NP.prune_model(pruned, calib, method="wanda", sparsity=sparsity, nm=nm, refine=refine,
                                layers=["0", "2"])
        for layer, module in zip(report.layers, (pruned[0], pruned[2])):
            W = module.weight.detach()
            kept = W != 0
            if nm is None:
                assert (kept.sum(dim=1) == W.shape[1] // 2).all()
            else:
                assert (kept.reshape(W.shape[0], -1, 4).sum(dim=2) == 2).all()
            assert layer.nonzeros == int(kept.sum()) and layer.density == 0.5
        assert [layer.name for layer in report.layers] == ["0", "2"] and report.density == 0.5
        assert torch.equal(pruned[4].weight, model[4].weight)
        results[refine] = accuracy(pruned, X, y)
    print(f"\ndigits MLP, {nm or sparsity}: dense {dense:.3f}, Wanda {results[None]:.3f}, "
          f"Wanda+DSnoT {results['dsnot']:.3f}")
    assert results[None] > dense - margin
    assert results["dsnot"] > dense - margin


def test_sequential_recomputes_inputs_through_pruned_layers(digits):
    model, calib, _, _ = digits
    seq, one_pass = copy.deepcopy(model), copy.deepcopy(model)
    NP.prune_model(seq, calib, method="wanda", sparsity=0.6)
    NP.prune_model(one_pass, calib, method="wanda", sparsity=0.6, sequential=False)
    dense_stats = NP.collect_stats(model, calib)
    manual = copy.deepcopy(model)
    for name, module in (("0", manual[0]), ("2", manual[2]), ("4", manual[4])):
        stats = NP.collect_stats(manual, calib, layers=[name])[name]  # through the layers pruned so far
        W = NP.weight_matrix(module).numpy().copy()
        NP.apply_mask(module, P.mask_from_scores(P.wanda_scores(W, stats), 0.6))
        expected_one_pass = P.mask_from_scores(P.wanda_scores(W, dense_stats[name]), 0.6)
        assert np.array_equal(NP.weight_matrix(one_pass[int(name)]).numpy() != 0, expected_one_pass)
    for a, b in zip(seq.parameters(), manual.parameters()):
        assert torch.equal(a, b)
    assert not torch.equal(seq[4].weight, one_pass[4].weight)


def test_reparam_and_bake_agree_and_bake_round_trips(digits):
    model, calib, X, _ = digits
    baked, reparam = copy.deepcopy(model), copy.deepcopy(model)
    NP.prune_model(baked, calib, method="wanda", nm=(2, 4), refine="dsnot")
    NP.prune_model(reparam, calib, method="wanda", nm=(2, 4), refine="dsnot", mode="reparam")
    assert torch_prune.is_pruned(reparam) and not torch_prune.is_pruned(baked)
    assert "0.weight_orig" in reparam.state_dict() and "0.weight_mask" in reparam.state_dict()
    with torch.no_grad():
        torch.testing.assert_close(reparam(X), baked(X))
    for module in (reparam[0], reparam[2], reparam[4]):
        torch_prune.remove(module, "weight")
    assert set(reparam.state_dict()) == set(baked.state_dict())
    # a baked model is a plain model: deepcopy and state_dict into a fresh one
    fresh = make_mlp()
    fresh.load_state_dict(copy.deepcopy(baked).state_dict())
    with torch.no_grad():
        torch.testing.assert_close(fresh(X), baked(X), rtol=0, atol=0)
    assert NP.sparsity_report(fresh).nonzeros == NP.sparsity_report(baked).nonzeros
    assert NP.sparsity_report(fresh).density == 0.5


def test_sparsegpt_updates_weights_and_reports_errors(digits):
    model, calib, _, _ = digits
    sgpt, wanda = copy.deepcopy(model), copy.deepcopy(model)
    report = NP.prune_model(sgpt, calib, method="sparsegpt", sparsity=0.5, mode="reparam")
    NP.prune_model(wanda, calib, method="wanda", sparsity=0.5)
    assert all(layer.error is not None and 0 < layer.error < 0.5 for layer in report.layers)
    kept = sgpt[2].weight_mask.bool()
    assert not torch.allclose(sgpt[2].weight_orig[kept], model[2].weight[kept])  # the OBS update
    assert abs(report.density - 0.5) < 1e-12
    assert "unstructured zeros do not speed up" in str(report)


def test_magnitude_and_random_need_no_data(digits):
    model, _, _, _ = digits
    mag, rnd = copy.deepcopy(model), copy.deepcopy(model)
    NP.prune_model(mag, method="magnitude", sparsity=0.75)
    NP.prune_model(rnd, method="random", sparsity=0.75, rng=0)
    for pruned in (mag, rnd):
        for module in (pruned[0], pruned[2], pruned[4]):
            assert int((module.weight != 0).sum()) == module.weight.numel() // 4
    kept = mag[2].weight != 0
    assert model[2].weight.abs()[kept].min() >= model[2].weight.abs()[~kept].max()


def test_adapter_errors(digits):
    model, calib, _, _ = digits
    with pytest.raises(ValueError, match="mask has shape"):
        NP.apply_mask(copy.deepcopy(model)[0], np.ones((3, 3), bool))
    with pytest.raises(ValueError, match="'9' is not a module"):
        NP.prune_model(copy.deepcopy(model), calib, layers=["9"], sparsity=0.5)
    with pytest.raises(ValueError, match="batches are required"):
        NP.prune_model(copy.deepcopy(model), method="wanda", sparsity=0.5)
    with pytest.raises(ValueError, match="groups=2"):
        NP.layer_inputs(nn.Conv2d(4, 4, 3, groups=2), torch.zeros(1, 4, 5, 5))
    with pytest.raises(ValueError, match="sparsity=1.0"):
        NP.prune_model(copy.deepcopy(model), method="magnitude", sparsity=1.0)
    reparam = copy.deepcopy(model)
    NP.apply_mask(reparam[0], np.ones((HIDDEN, 64), bool), mode="reparam")
    with pytest.raises(ValueError, match="prune.remove"):
        NP.apply_mask(reparam[0], np.ones((HIDDEN, 64), bool), mode="bake")
