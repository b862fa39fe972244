import contextlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cs import _parallel
from cs import threshold as T

import naive

FLOATS = st.sampled_from([np.float32, np.float64])


def finite_arrays(max_side=40, ndim=1):
    # small integers as values produce many ties, which is the hard case
    elems = st.one_of(st.integers(-4, 4).map(float),
                      st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=32))
    shape = hnp.array_shapes(min_dims=ndim, max_dims=ndim, min_side=1, max_side=max_side)
    return hnp.arrays(np.float64, shape, elements=elems)


@settings(max_examples=150, deadline=None)
@given(x=finite_arrays(), dtype=FLOATS, data=st.data())
def test_hard_flat_matches_reference(x, dtype, data):
    x = x.astype(dtype)
    k = data.draw(st.integers(0, x.size))
    values, mask = T.hard(x, k, return_mask=True)
    ref_values, ref_mask = naive.keep_largest(x, k)
    assert values.dtype == dtype
    np.testing.assert_array_equal(mask, ref_mask)
    np.testing.assert_array_equal(values, ref_values)
    # the values alone of a 1-D array go straight to the kernels; a strided view does not
    np.testing.assert_array_equal(T.hard(x, k), ref_values)
    np.testing.assert_array_equal(T.hard(x[::2], min(k, x[::2].size)),
                                  naive.keep_largest(x[::2], min(k, x[::2].size))[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [70_000, 300_001])
def test_hard_large_paths_match_reference(dtype, n):
    # large inputs take the sampled-bracket path; heavy ties force the histogram fallback
    rng = np.random.default_rng(n)
    for x in (rng.standard_normal(n), rng.integers(-3, 4, n).astype(float),
              np.concatenate([np.zeros(n - 5), [1, -1, 1, 2, -2]]), rng.standard_cauchy(n)):
        x = x.astype(dtype)
        for k in (1, n // 10, n // 2, n - 1):
            values, mask = T.hard(x, k, return_mask=True)
            ref_values, ref_mask = naive.keep_largest(x, k)
            np.testing.assert_array_equal(mask, ref_mask)
            np.testing.assert_array_equal(values, ref_values)
            assert mask.sum() == k
            np.testing.assert_array_equal(T.top_k_mask(x, k), ref_mask)  # the mask-only kernel pass


def _patterns(n, rng):
    """Inputs that break naive selections: sorted, reversed, organ pipe, ties, far clusters."""
    ramp = np.arange(n, dtype=float)
    return {"gaussian": rng.standard_normal(n), "sorted": ramp, "reversed": ramp[::-1].copy(),
            "organ": np.minimum(ramp, ramp[::-1]), "ties": rng.integers(-2, 3, n).astype(float),
            "mostly zero": np.where(rng.random(n) < 0.05, rng.standard_normal(n), 0.0),
            "far clusters": np.where(rng.random(n) < 0.5, 1e-30, 1e30) * rng.random(n)}


@pytest.mark.parametrize("n", [2, 63, 1000, T._SAMPLED_MIN - 1, T._SAMPLED_MIN, 30_000, 65_537])
def test_hard_every_path_on_adversarial_patterns(n):
    # below _SAMPLED_MIN entries the exact selection on everything, from it on the sampled
    # bracket, and the exact selection again when the bracket misses (ties, far clusters)
    rng = np.random.default_rng(n)
    for name, x in _patterns(n, rng).items():
        for dtype in (np.float64, np.float32):
            xd = x.astype(dtype)
            for k in sorted({1, max(n // 100, 1), n // 2, n - 1} - {0}):
                values, mask = T.hard(xd, k, return_mask=True)
                ref_values, ref_mask = naive.keep_largest(xd, k)
                np.testing.assert_array_equal(mask, ref_mask, err_msg=f"{name} {dtype} k={k}")
                np.testing.assert_array_equal(values, ref_values, err_msg=f"{name} {dtype} k={k}")


@pytest.mark.parametrize("threads", [2, 3, 4])
@pytest.mark.parametrize("n", [4096 * 3 - 1, 20_000, 65_537])
def test_hard_threaded_pass_matches_reference(monkeypatch, threads, n):
    # long vectors share the bracket pass among threads (from _THREADED_MIN entries, made
    # small here); the merge of the chunks' candidates keeps ties lowest index first, even
    # across a chunk boundary, and the misses (ties, far clusters) fall back whole
    monkeypatch.setattr(T, "_THREADED_MIN", 4096)
    monkeypatch.setattr(_parallel, "threads", lambda: threads)
    rng = np.random.default_rng(n + threads)
    patterns = _patterns(n, rng)
    patterns["ties across chunks"] = np.where(np.arange(n) % 7 == 0, 5.0, rng.random(n))
    for name, x in patterns.items():
        for dtype in (np.float64, np.float32):
            xd = x.astype(dtype)
            for k in (1, n // 10, n // 2, n - 1):
                values, mask = T.hard(xd, k, return_mask=True)
                ref_values, ref_mask = naive.keep_largest(xd, k)
                np.testing.assert_array_equal(values, ref_values, err_msg=f"{name} {dtype} k={k}")
                np.testing.assert_array_equal(mask, ref_mask, err_msg=f"{name} {dtype} k={k}")


@pytest.mark.parametrize("where", [0, 10_000, 40_000 - 1])
def test_hard_threaded_pass_reports_nan_in_any_chunk(monkeypatch, where):
    monkeypatch.setattr(T, "_THREADED_MIN", 4096)
    monkeypatch.setattr(_parallel, "threads", lambda: 2)
    x = np.random.default_rng(0).standard_normal(40_000)
    for bad in (np.nan, -np.inf):
        x[where] = bad
        with pytest.raises(ValueError, match="NaN or infinity"):
            T.hard(x, 100)
        with pytest.raises(ValueError, match="NaN or infinity"):
            T.hard(x.astype(np.float32), 100)


def test_threaded_pass_from_concurrent_callers(monkeypatch):
    # several user threads (a Dask worker's, say) selecting at once share the one pool:
    # each runs its first chunk itself, so none waits on another's
    import concurrent.futures

    monkeypatch.setattr(T, "_THREADED_MIN", 4096)
    monkeypatch.setattr(_parallel, "threads", lambda: 2)
    rng = np.random.default_rng(7)
    vectors = [rng.standard_normal(30_000).astype(dtype) for dtype in (np.float64, np.float32) * 4]
    with concurrent.futures.ThreadPoolExecutor(8) as callers:
        results = list(callers.map(lambda v: T.hard(v, 300), vectors))
    for v, got in zip(vectors, results):
        np.testing.assert_array_equal(got, naive.keep_largest(v, 300)[0])


def _count_kept(x, k, queue):
    queue.put(int(np.count_nonzero(T.hard(x, k))))


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_threaded_pass_works_in_a_forked_child(monkeypatch):
    # a child forked after the parent's pool started inherits the pool without its threads:
    # it must make its own, not wait forever (phase-transition workers fork like this)
    import multiprocessing

    monkeypatch.setattr(T, "_THREADED_MIN", 4096)
    monkeypatch.setattr(_parallel, "threads", lambda: 2)
    x = np.random.default_rng(0).standard_normal(50_000)
    assert np.count_nonzero(T.hard(x, 100)) == 100  # the parent's pool
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_count_kept, args=(x, 100, queue))
    child.start()
    child.join(60)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0 and queue.get(timeout=5) == 100


def test_threads_follow_numba_thread_count(monkeypatch):
    import numba

    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 1)
    assert _parallel.threads() == 1  # NUMBA_NUM_THREADS=1: every pass stays in the calling thread
    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 64)
    assert _parallel.threads() == _parallel.MAX_THREADS


@settings(max_examples=100, deadline=None)
@given(keys=hnp.arrays(np.int64, st.integers(1, 3000),
                       elements=st.one_of(st.integers(0, 5), st.integers(0, 2**63 - 1))),
       bins=st.sampled_from([4, 64, 1024]), data=st.data())
def test_kth_key_matches_sort(keys, bins, data):
    # the bucket selection: the kth smallest key and how many keys exceed it
    from cs import _kernels

    kth = data.draw(st.integers(0, keys.size - 1))
    expected = np.sort(keys)[kth]
    base = data.draw(st.integers(0, 3))  # the keys at an offset in the work array, the histogram after them
    work = np.full(base + keys.size + bins, -1, np.int64)
    work[base:base + keys.size] = keys
    t, n_above = _kernels._kth_key(work, base, keys.size, kth, base + keys.size, bins)
    assert t == expected
    assert n_above == np.count_nonzero(keys > expected)
    assert (work[:base] == -1).all()  # nothing written below the offset


@settings(max_examples=80, deadline=None)
@given(x=finite_arrays(max_side=12, ndim=2), data=st.data())
def test_hard_along_axis_matches_reference(x, data):
    axis = data.draw(st.sampled_from([0, 1, -1]))
    k = data.draw(st.integers(0, x.shape[axis]))
    values, mask = T.hard(x, k, axis=axis, return_mask=True)
    moved = np.moveaxis(x, axis, -1)
    ref_v, ref_m = naive.keep_largest_rows(moved.reshape(-1, moved.shape[-1]), k)
    np.testing.assert_array_equal(values, np.moveaxis(ref_v.reshape(moved.shape), -1, axis))
    np.testing.assert_array_equal(mask, np.moveaxis(ref_m.reshape(moved.shape), -1, axis))
    assert (mask.sum(axis=axis) == k).all()


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 6), groups=st.integers(1, 6), m=st.sampled_from([1, 2, 4, 8, 32]),
       data=st.data(), dtype=FLOATS)
def test_nm_matches_reference(rows, groups, m, data, dtype):
    n = data.draw(st.integers(0, m))
    x = data.draw(hnp.arrays(np.float64, (rows, groups * m), elements=st.integers(-3, 3).map(float)))
    x = x.astype(dtype)
    values, mask = T.nm(x, n, m, return_mask=True)
    ref_v, ref_m = naive.keep_largest_rows(x.reshape(-1, m), n)
    np.testing.assert_array_equal(mask, ref_m.reshape(x.shape))
    np.testing.assert_array_equal(values, ref_v.reshape(x.shape))
    assert values.dtype == dtype


def test_hard_small_examples_and_ties():
    np.testing.assert_array_equal(T.hard([3.0, -5.0, 1.0, 5.0], 2), [0, -5, 0, 5])
    # ties at the threshold: the lowest index wins, deterministically
    np.testing.assert_array_equal(T.top_k_mask([1.0, 2.0, 2.0, 2.0], 2), [False, True, True, False])
    np.testing.assert_array_equal(T.support([1.0, 1.0, 1.0, 1.0], 3), [0, 1, 2])
    x = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(T.support(x, 2, axis=1), [[2, 3]] * 3)
    np.testing.assert_array_equal(T.support(x, 1, axis=0), [[2, 2, 2, 2]])


def test_k_zero_keeps_nothing_and_k_size_keeps_everything():
    x = np.array([[1.0, -2.0], [3.0, 0.5]])
    assert not T.hard(x, 0).any()
    assert not T.top_k_mask(x, 0, axis=1).any()
    np.testing.assert_array_equal(T.hard(x, 4), x)
    np.testing.assert_array_equal(T.hard(x, 2, axis=1), x)
    assert T.top_k_mask(x, 4).all()


def test_complex_uses_modulus():
    x = np.array([3 + 4j, -6, 1j, 0.5 - 0.5j])
    values = T.hard(x, 2)
    np.testing.assert_array_equal(values, [3 + 4j, -6, 0, 0])
    assert values.dtype == np.complex128
    np.testing.assert_array_equal(T.hard(x[None, :], 1, axis=1), [[0, -6, 0, 0]])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("n", [10, 100_000])
def test_non_finite_raises(bad, n):
    x = np.ones(n)
    x[n // 2] = bad
    with pytest.raises(ValueError, match="NaN or infinity"):
        T.hard(x, 3)
    with pytest.raises(ValueError, match="NaN or infinity"):
        T.hard(x.reshape(-1, 5), 1, axis=1)
    with pytest.raises(ValueError, match="NaN or infinity"):
        T.soft(x, 0.1)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"k=5 exceeds the number of entries of x \(4\)"):
        T.hard(np.ones(4), 5)
    with pytest.raises(ValueError, match="k=-1"):
        T.hard(np.ones(4), -1)
    with pytest.raises(TypeError, match="k must be an integer"):
        T.hard(np.ones(4), 1.5)
    with pytest.raises(ValueError, match="group_size=3 does not divide"):
        T.hard(np.ones(8), 1, group_size=3)
    with pytest.raises(ValueError, match="axis=2"):
        T.hard(np.ones((2, 2)), 1, axis=2)
    with pytest.raises(ValueError, match=r"n=3 exceeds m \(2\)"):
        T.nm(np.ones(8), 3, 2)
    with pytest.raises(ValueError, match="tau"):
        T.soft(np.ones(3), -1.0)
    with pytest.raises(ValueError, match="level"):
        T.clip(np.ones(3), 0.0)
    with pytest.raises(ValueError, match="density"):
        T.tau_for_density(np.ones(3), 1.5)
    with pytest.raises(ValueError, match=r"r=4 exceeds min\(m, n\)"):
        T.truncate_rank(np.ones((3, 5)), 4)
    with pytest.raises(ValueError, match="X must have 2"):
        T.truncate_rank(np.ones(3), 1)


@settings(max_examples=60, deadline=None)
@given(x=finite_arrays(), dtype=FLOATS, tau=st.floats(0, 5), level=st.one_of(st.none(), st.floats(0.1, 5)))
def test_elementwise_kernels_match_reference(x, dtype, tau, level):
    x = x.astype(dtype)
    lev = np.inf if level is None else level
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    for got, ref in ((T.soft(x, tau, level=level), naive.soft(x, dtype(tau), dtype(lev))),
                     (T.shifted_relu(x, tau, level=level), naive.shifted_relu(x, dtype(tau), dtype(lev))),
                     (T.hard_tau(x, tau), naive.hard_tau(x, dtype(tau)))):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, ref.astype(dtype), rtol=rtol, atol=rtol * (1 + np.abs(x).max()))


def test_soft_is_prox_of_l1_and_complex_keeps_phase():
    x = np.array([3.0, -0.5, -2.0])
    np.testing.assert_allclose(T.soft(x, 1.0), [2.0, 0.0, -1.0])
    np.testing.assert_allclose(T.clip(x, 1.0), [1.0, -0.5, -1.0])
    np.testing.assert_allclose(T.soft(x, 1.0, level=1.5), [1.5, 0.0, -1.0])
    np.testing.assert_allclose(T.shifted_relu(x, 1.0, level=1.5), [1.5, 0.0, 0.0])
    z = np.array([3 + 4j, 0.1j])
    np.testing.assert_allclose(T.soft(z, 1.0), [(3 + 4j) * 4 / 5, 0])


@settings(max_examples=60, deadline=None)
@given(dtype=FLOATS, shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5), data=st.data())
def test_array_tau_is_the_scalar_kernel_slice_by_slice(dtype, shape, data):
    # one threshold per slice (a channel, a signal) in one call: bit for bit the kernel's
    # scalar call on each slice, level and all
    x = data.draw(hnp.arrays(np.float64, shape, elements=st.one_of(
        st.integers(-3, 3).map(float), st.floats(-1e3, 1e3, allow_nan=False, width=32)))).astype(dtype)
    keep = data.draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
    tau_shape = tuple(n if kept else 1 for n, kept in zip(shape, keep))
    tau = data.draw(hnp.arrays(np.float64, tau_shape, elements=st.one_of(
        st.integers(0, 3).map(float), st.floats(0, 1e3, width=64))))
    level = data.draw(st.sampled_from([None, 0.7, 2.0]))
    full = np.broadcast_to(tau, shape)
    for name, f in (("soft", lambda v, t: T.soft(v, t, level=level)),
                    ("relu", lambda v, t: T.shifted_relu(v, t, level=level)), ("hard", T.hard_tau)):
        out = f(x, tau)
        assert out.dtype == dtype and out.shape == shape
        expected = np.array([f(np.array([v]), float(t))[0] for v, t in zip(x.ravel(), full.ravel())],
                            dtype).reshape(shape)
        np.testing.assert_array_equal(out, expected, err_msg=name)


def test_array_tau_bad_input_is_named():
    x = np.ones((2, 3, 4))
    with pytest.raises(ValueError, match=r"tau has shape \(2, 3, 2\).*\(2, 3, 4\)"):
        T.soft(x, np.ones((2, 3, 2)))
    with pytest.raises(ValueError, match="tau has shape"):
        T.hard_tau(x[0], np.ones((2, 3, 1)))  # would enlarge x
    with pytest.raises(ValueError, match="tau must be finite and >= 0"):
        T.shifted_relu(x, np.array([[[-1.0]]]))
    with pytest.raises(ValueError, match="tau must be finite and >= 0"):
        T.hard_tau(x, np.full((3, 1), np.nan))
    with pytest.raises(TypeError, match="tau must be a real number"):
        T.soft(x, np.array(["a"]))
    bad = x.copy()
    bad[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        T.hard_tau(bad, np.ones((2, 1, 1)))


def test_tau_for_density_and_hard_tau():
    x = np.array([0.1, -4.0, 2.0, 3.0, -1.0])
    tau = T.tau_for_density(x, 0.4)  # keep 2 of 5
    assert tau == 2.0
    np.testing.assert_array_equal(T.hard_tau(x, tau), [0, -4, 0, 3, 0])
    assert T.tau_for_density(x, 1.0) == 0.0
    assert np.count_nonzero(T.hard_tau(x, T.tau_for_density(x, 0.0))) == 0


@pytest.mark.parametrize("method", ["exact", "randomized"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_truncate_rank_recovers_low_rank_and_is_eckart_young(method, dtype):
    rng = np.random.default_rng(3)
    M = (rng.standard_normal((60, 4)) @ rng.standard_normal((4, 50))).astype(dtype)
    low = T.truncate_rank(M, 4, method=method, rng=0)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    assert low.X.dtype == dtype
    assert np.linalg.norm(low.X - M) <= tol * np.linalg.norm(M)
    np.testing.assert_allclose(low.U.T @ low.U, np.eye(4), atol=tol)
    # on a full-rank matrix the error is the tail of the singular values
    N = rng.standard_normal((40, 30)).astype(dtype)
    s = np.linalg.svd(N.astype(np.float64), compute_uv=False)
    low = T.truncate_rank(N, 5, method="exact")
    np.testing.assert_allclose(np.linalg.norm(N - low.X), np.sqrt((s[5:] ** 2).sum()), rtol=1e-4)
    np.testing.assert_allclose(low.s, s[:5], rtol=1e-4)


def test_randomized_svd_with_decaying_spectrum_and_seed():
    rng = np.random.default_rng(1)
    U, _ = np.linalg.qr(rng.standard_normal((300, 300)))
    V, _ = np.linalg.qr(rng.standard_normal((250, 250)))
    s = 2.0 ** -np.arange(250)
    M = (U[:, :250] * s) @ V.T
    a = T.truncate_rank(M, 10, method="randomized", rng=5)
    b = T.truncate_rank(M, 10, method="randomized", rng=5)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_allclose(a.s, s[:10], rtol=1e-8)


def test_svt_is_prox_of_nuclear_norm():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((8, 6))
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    out = T.svt(M, s[2])
    assert out.rank == 2
    np.testing.assert_allclose(out.X, (U[:, :2] * (s[:2] - s[2])) @ Vt[:2], atol=1e-12)
    assert T.svt(M, s[0] + 1).rank == 0


def test_svt_with_rank_hint_matches_exact_and_falls_back():
    rng = np.random.default_rng(4)
    M = rng.standard_normal((80, 3)) @ rng.standard_normal((3, 70)) + 1e-3 * rng.standard_normal((80, 70))
    exact = T.svt(M, 0.5)
    assert exact.rank == 3
    hinted = T.svt(M, 0.5, rank_hint=8, rng=0)  # enough vectors: randomised path, rank 3 < 8
    assert hinted.rank == 3
    np.testing.assert_allclose(hinted.X, exact.X, atol=1e-8)
    short = T.svt(M, 0.5, rank_hint=2, rng=0)  # too few: falls back to the exact SVD
    np.testing.assert_allclose(short.X, exact.X, atol=1e-12)
    with pytest.raises(ValueError, match="rank_hint"):
        T.svt(M, 0.5, rank_hint=71)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_long_rows_use_the_flat_kernels_and_match_reference(dtype):
    # rows of >= _SAMPLED_MIN entries go row by row through the flat kernels; ties and zeros included
    rng = np.random.default_rng(11)
    x = np.concatenate([rng.standard_normal((3, 9000)), rng.integers(-2, 3, (2, 9000)),
                        np.zeros((1, 9000))]).astype(dtype)
    for k in (1, 900, 4500, 8999):
        values, mask = T.hard(x, k, axis=1, return_mask=True)
        ref_v, ref_m = naive.keep_largest_rows(x, k)
        np.testing.assert_array_equal(mask, ref_m)
        np.testing.assert_array_equal(values, ref_v)
        assert values.dtype == dtype
    np.testing.assert_array_equal(T.hard(x.T, 900, axis=0), naive.keep_largest_rows(x, 900)[0].T)
    with pytest.raises(ValueError, match="NaN or infinity"):
        bad = x.copy()
        bad[2, 5] = np.nan
        T.hard(bad, 10, axis=1)


def test_warm_up_compiles_and_names_bad_arguments():
    assert T.warm_up(np.float64, size=100) >= 0.0
    assert T.warm_up(np.float32) >= 0.0
    with pytest.raises(ValueError, match="dtype"):
        T.warm_up(np.int8)
    with pytest.raises(ValueError, match="size=0"):
        T.warm_up(size=0)


def test_small_factorisations_run_on_one_blas_thread():
    # threaded LAPACK spins on small matrices as soon as another process holds a core
    from threadpoolctl import threadpool_info, threadpool_limits

    from cs import threshold as T

    def blas_threads():
        return {lib["filepath"]: lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    with threadpool_limits(2, user_api="blas"):  # the suite runs on one thread (conftest)
        before = blas_threads()
        assert 2 in before.values()
        with T._blas_threads(100 * 100):
            assert set(blas_threads().values()) == {1}
        assert blas_threads() == before
    big = T._blas_threads(T._ONE_BLAS_THREAD_MAX + 1)
    assert isinstance(big, contextlib.nullcontext)
    X = np.random.default_rng(0).standard_normal((60, 40))
    np.testing.assert_allclose(T.truncate_rank(X, 40).X, X, atol=1e-10)
