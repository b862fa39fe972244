import numpy as np
import pytest

import naive
from cs import _kernels, operators
from cs.convolution import ConvDictionary, conv_dictionary, random_filters

CASES = [  # (filters shape (m, m_in, *n), signal shape)
    ((3, 1, 5), (16,)),
    ((2, 3, 4), (11,)),
    ((3, 2, 7), (7,)),          # filter as long as the signal: shifts alias, both paths agree
    ((2, 2, 3, 2), (6, 5)),
    ((1, 3, 2, 3), (4, 7)),
]


def _dictionary(fshape, spatial, seed=0, **kw):
    return ConvDictionary(np.random.default_rng(seed).standard_normal(fshape), spatial, **kw)


@pytest.mark.parametrize("fshape,spatial", CASES)
def test_fft_direct_reference_and_matrix_agree(fshape, spatial):
    D = _dictionary(fshape, spatial)
    rng = np.random.default_rng(1)
    G = rng.standard_normal((3,) + D.code_shape)
    V = rng.standard_normal((3,) + D.signal_shape)
    ref_syn, ref_ana = naive.conv_synthesis(D.filters, G), naive.conv_analysis(D.filters, V)
    for method in ("fft", "direct"):
        np.testing.assert_allclose(D.synthesis(G, method=method), ref_syn, atol=1e-12)
        np.testing.assert_allclose(D.analysis(V, method=method), ref_ana, atol=1e-12)
    M = D.todense()
    assert M.shape == (np.prod(D.signal_shape), np.prod(D.code_shape))
    np.testing.assert_allclose(M @ G[0].ravel(), ref_syn[0].ravel(), atol=1e-12)
    np.testing.assert_allclose(M.T @ V[0].ravel(), ref_ana[0].ravel(), atol=1e-12)
    # every column of the matrix is a unit-norm atom
    np.testing.assert_allclose(np.linalg.norm(M, axis=0), 1.0, rtol=1e-12)


@pytest.mark.parametrize("fshape,spatial", CASES)
@pytest.mark.parametrize("method", ["fft", "direct"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dot_test_and_operator_interface(fshape, spatial, method, dtype):
    D = _dictionary(fshape, spatial, method=method, dtype=dtype)
    assert D.method == method and D.dtype == dtype
    for seed in range(3):
        passed, values = operators.dot_test(D, rng=seed, return_values=True)
        assert passed, values
    assert operators.as_operator(D) is D
    G = np.random.default_rng(2).standard_normal(D.code_shape).astype(dtype)
    y = D.forward(G)
    assert y.shape == (D.n_measurements,) and y.dtype == dtype
    assert D.adjoint(y).shape == D.code_shape and D.adjoint(y).dtype == dtype
    np.testing.assert_allclose(y, D.synthesis(G).ravel(), rtol=1e-5)
    # matmat/rmatmat through scipy's LinearOperator
    X = np.random.default_rng(3).standard_normal((D.shape[1], 2)).astype(dtype)
    np.testing.assert_allclose(D @ X, np.stack([D.matvec(X[:, 0]), D.matvec(X[:, 1])], axis=1),
                               rtol=1e-4, atol=1e-5)


def test_float32_paths_match_float64():
    D64 = _dictionary((4, 2, 6), (32,))
    D32 = ConvDictionary(D64.filters.astype(np.float32), (32,))
    G = np.random.default_rng(0).standard_normal((2,) + D64.code_shape)
    for method in ("fft", "direct"):
        out = D32.synthesis(G.astype(np.float32), method=method)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, D64.synthesis(G), atol=1e-5)


def test_single_code_without_batch_axis():
    D = _dictionary((2, 1, 3), (10,))
    G = np.random.default_rng(0).standard_normal(D.code_shape)
    assert D.synthesis(G).shape == D.signal_shape
    np.testing.assert_allclose(D.synthesis(G), D.synthesis(G[None])[0])


def test_cost_model_picks_direct_for_short_filters_and_fft_for_long():
    rng = np.random.default_rng(0)
    short = ConvDictionary(rng.standard_normal((8, 8, 3)), (1024,))
    long = ConvDictionary(rng.standard_normal((8, 8, 128)), (1024,))
    assert short.method == "direct" and long.method == "fft"
    assert short.cost()["direct"] < short.cost()["fft"]
    assert long.cost()["fft"] < long.cost()["direct"]
    assert ConvDictionary(rng.standard_normal((8, 8, 128)), (1024,), method="direct").method == "direct"


def test_correlations_are_the_gram_entries():
    D = _dictionary((3, 2, 4), (12,))
    r = D.correlations()                      # (m, m, 2n - 1), lag modulo 7
    M = D.todense()
    gram = M.T @ M                            # atoms (k, t) in C order: index k * N + t
    N = 12
    for k in range(3):
        for l in range(3):
            for a in (0, 5):
                for delta in range(-3, 4):
                    b = (a - delta) % N
                    assert abs(gram[k * N + a, l * N + b] - r[k, l, delta % 7]) < 1e-12


def test_random_filters_kinds():
    F = random_filters(5, 3, 4, rng=0)
    assert F.shape == (5, 3, 4)
    np.testing.assert_allclose(np.linalg.norm(F.reshape(5, -1), axis=1), 1.0)
    S = random_filters(6, 2, 5, kind="sparse_sign", nnz=3, rng=1)
    assert (np.count_nonzero(S.reshape(6, -1), axis=1) == 3).all()
    np.testing.assert_allclose(np.abs(S[S != 0]), 1 / np.sqrt(3))
    P = random_filters(4, 2, 3, kind="sparse_gaussian", nnz=2, nonneg=True, ndim=2, rng=2)
    assert P.shape == (4, 2, 3, 3) and (P >= 0).all()
    assert (np.count_nonzero(P.reshape(4, -1), axis=1) == 2).all()
    np.testing.assert_array_equal(random_filters(3, 1, 4, rng=7), random_filters(3, 1, 4, rng=7))
    assert random_filters(2, 1, 3, dtype=np.float32, rng=0).dtype == np.float32


@pytest.mark.parametrize("call, message", [
    (lambda: ConvDictionary(np.ones((2, 1, 9)), 8), "longer than the signal"),
    (lambda: ConvDictionary(np.ones((2, 1, 3)), (8, 8)), "1-D but signal_shape"),
    (lambda: ConvDictionary(np.zeros((2, 1, 3)), 8), "zero"),
    (lambda: ConvDictionary(np.ones((2, 3)), 8), "dimension"),
    (lambda: ConvDictionary(np.ones((2, 1, 3)), 8, method="fast"), "method must be one of"),
    (lambda: ConvDictionary(np.ones((2, 1, 3)), 0), "signal_shape"),
    (lambda: random_filters(2, 1, 3, kind="sparse_sign", rng=0), "needs nnz"),
    (lambda: random_filters(2, 1, 3, kind="sparse_sign", nnz=4, rng=0), "nnz=4 exceeds"),
    (lambda: random_filters(2, 1, 3, kind="dct", rng=0), "kind must be one of"),
    (lambda: _dictionary((2, 1, 3), 8).synthesis(np.ones((3, 8))), "G must have shape"),
    (lambda: _dictionary((2, 1, 3), 8).adjoint(np.ones(9)), "y has shape"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_factory_and_repr():
    D = conv_dictionary(np.ones((2, 1, 3)), 8, method="fft")
    assert isinstance(D, operators.MeasurementOperator)
    assert "2 filters" in repr(D) and "fft" in repr(D)


@pytest.mark.parametrize("shape,half,cap", [((2, 30), (3,), 2), ((3, 5, 6), (1, 2), 3), ((1, 7), (5,), 1)])
def test_stripe_capped_support_kernel_matches_reference(shape, half, cap):
    rng = np.random.default_rng(0)
    size = int(np.prod(shape))
    cand = rng.permutation(size)[: size * 2 // 3].astype(np.int64)
    spatial = shape[1:]
    H, W = ((1,) + spatial) if len(spatial) == 1 else spatial
    hh, hw = ((0,) + half) if len(half) == 1 else half
    lens = [min(2 * h + 1, n) for h, n in ((hh, H), (hw, W))]
    los = [-h if 2 * h + 1 <= n else 0 for h, n in ((hh, H), (hw, W))]
    accept = np.empty(size, bool)
    _kernels.stripe_capped_support(cand, H, W, los[0], lens[0], los[1], lens[1], cap,
                                   np.zeros((H, W), np.int64), accept)
    np.testing.assert_array_equal(accept, naive.stripe_capped_support(cand, shape, half, cap))
    assert accept.sum() > 0
