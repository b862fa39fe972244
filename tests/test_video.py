"""Background and foreground from compressive measurements (cs.video)."""

import math

import numpy as np
import pytest

from cs import metrics
from cs.datasets.video import read_video, scene, write_video
from cs.video import _warm_start, check_model, foreground_mask, score, separate, separate_windows

DELTA = 0.33


@pytest.fixture(scope="module")
def clip():
    return scene((48, 64), 60, rng=0)


@pytest.fixture(scope="module")
def compressive(clip):
    return separate(clip.frames, delta=DELTA, rank=1, sparsity=0.05, rng=0)


@pytest.fixture(scope="module")
def full(clip):
    return separate(clip.frames, delta=1.0, rank=1, sparsity=0.05, rng=0)


def test_built_in_scene_at_a_third_of_the_measurements(clip, compressive, full):
    """The issue's bar: mean PSNR >= 30 dB, F-measure >= 0.9, and a background as good as the fully
    observed robust PCA one, up to noise folding.

    Measured (seed 0): mean PSNR 44.8 dB, F = 1.000, background PSNR 56.6 dB against 63.0 dB fully
    observed (gap 6.2-6.4 dB over seeds 0-3).  The gap is not a defect: the scene has sensor noise
    (sigma = 0.005), and measuring noisy data with p = delta N orthonormal rows folds the noise of
    all N entries into the estimate, so the error energy of a least-squares fit on the model's
    subspace grows by 1 / delta: 10 log10(1 / 0.33) = 4.8 dB (Arias-Castro & Eldar 2011, 'Noise
    folding in compressed sensing'); the sparse part's many free entries add to it.  The test
    allows the folding plus 3 dB; without noise both are exact (next test).
    """
    sc = score(compressive, clip.frames, mask_true=clip.mask, background_true=clip.background)
    ref = score(full, clip.frames, mask_true=clip.mask, background_true=clip.background)
    assert sc["mean_psnr"] >= 38.0 and len(sc["psnr"]) == 60 and min(sc["psnr"]) >= 35.0
    assert sc["f_measure"] >= 0.97
    folding = 10 * math.log10(1 / DELTA)
    assert sc["background_psnr"] >= ref["background_psnr"] - folding - 3.0
    assert sc["background_psnr"] >= 50.0
    # the fully observed reference itself: robust PCA, no ghost of the object that stops
    assert full.result.solver.startswith("rpca") and ref["background_psnr"] >= 58.0 and ref["f_measure"] >= 0.97
    assert compressive.info["n_measurements"] == round(DELTA * clip.frames.size)
    assert compressive.info["sparsity"] == round(0.05 * clip.frames.size)
    np.testing.assert_array_equal(compressive.reconstruction, compressive.background + compressive.foreground)
    # the background is rank one as a matrix, the foreground within its budget
    s = np.linalg.svd(compressive.background.reshape(60, -1), compute_uv=False)
    assert s[1] <= 1e-4 * s[0]
    assert np.count_nonzero(compressive.foreground) <= compressive.info["sparsity"]


def test_noise_free_scene_is_recovered_exactly_from_a_third():
    clip = scene((32, 48), 40, noise=0.0, rng=1)
    sep = separate(clip.frames, delta=DELTA, sparsity=0.06, dtype=np.float64, tol=1e-9, rng=1)
    assert metrics.relative_error(sep.background, clip.background) < 1e-6
    assert metrics.relative_error(sep.foreground, clip.foreground) < 1e-5
    assert metrics.support_recovery(sep.mask, clip.mask).f_measure == 1.0


def test_same_separation_from_an_encoded_file(tmp_path, clip, compressive):
    path = write_video(tmp_path / "scene.mp4", clip.frames, fps=clip.fps, crf=10)
    decoded = read_video(path)
    assert decoded.frames.shape == clip.frames.shape
    sep = separate(decoded.frames, delta=DELTA, rank=1, sparsity=0.05, rng=0)
    # within codec noise: the masks agree and the backgrounds match to well under a grey level
    assert metrics.support_recovery(sep.mask, compressive.mask).f_measure >= 0.97
    assert metrics.psnr(sep.background, compressive.background, data_range=1.0) >= 40.0
    assert score(sep, clip.frames, mask_true=clip.mask)["f_measure"] >= 0.95


def test_windows_stitch_a_longer_clip():
    clip = scene((32, 48), 120, rng=2)
    sep = separate(clip.frames, delta=DELTA, sparsity=0.05, window=60, overlap=15, rng=2)
    assert sep.background.shape == clip.frames.shape and sep.mask.shape == clip.mask.shape
    assert sep.info["windows"] == [(0, 60), (45, 105), (60, 120)]
    assert len(sep.results) == 3 and sep.info["iterations"] == sum(r.n_iter for r in sep.results)
    # warm-started from the previous window, the later windows need fewer iterations (measured 38, 25, 24)
    assert max(r.n_iter for r in sep.results[1:]) < 0.8 * sep.results[0].n_iter
    sc = score(sep, clip.frames, mask_true=clip.mask, background_true=clip.background)
    assert sc["mean_psnr"] >= 38.0 and min(sc["psnr"]) >= 35.0 and sc["f_measure"] >= 0.95
    assert sc["background_psnr"] >= 45.0


def test_windows_stream_in_order_and_cross_fade():
    # a rank-one clip with no foreground: each window recovers it, so any misplaced frame or
    # wrong blend weight would show as an error far above the solver's tolerance
    clip = scene((16, 24), 30, noise=0.0, rng=3)
    frames = clip.background
    chunks = list(separate_windows((f for f in frames), window=12, overlap=4, delta=0.6, sparsity=0.01,
                                   dtype=np.float64, tol=1e-10, rng=3))
    spans = [c.info["frames"] for c in chunks]
    assert spans[0][0] == 0 and spans[-1][1] == 30
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    assert chunks[-1].info["windows"] == [(0, 12), (8, 20), (16, 28), (18, 30)]
    background = np.concatenate([c.background for c in chunks])
    np.testing.assert_allclose(background, frames, atol=1e-6)
    assert not np.concatenate([c.mask for c in chunks]).any()
    # bounded memory: only the latest window's result keeps its arrays
    for chunk in chunks:
        assert chunk.result.X is not None and chunk.result is chunk.results[-1]
        assert all(r.x is None and r.L is None and r.S is None for r in chunk.results[:-1])
        assert all(r.n_iter > 0 for r in chunk.results)


def test_warm_start_layout():
    # pending estimates for frames 6..9 of the previous window; the new window is frames 4..11
    L = np.arange(4)[:, None, None] + np.ones((4, 2, 3))
    S = 10 * L
    L0, S0 = _warm_start((6, L, S, None), 4, 8)
    np.testing.assert_array_equal(L0[:2], np.broadcast_to(L[0], (2, 2, 3)))   # before: first shared frame
    np.testing.assert_array_equal(L0[2:6], L)
    np.testing.assert_array_equal(L0[6:], np.broadcast_to(L[-1], (2, 2, 3)))   # after: the last background
    np.testing.assert_array_equal(S0[2:6], S)
    assert not S0[:2].any() and not S0[6:].any()


def test_colour_stacked_and_per_channel():
    clip = scene((24, 32), 40, channels="rgb", rng=4)
    stacked = separate(clip.frames, delta=0.4, sparsity=0.05, rng=4)
    assert stacked.background.shape == clip.frames.shape and stacked.mask.shape == clip.mask.shape
    assert len(stacked.results) == 1
    assert metrics.support_recovery(stacked.mask, clip.mask).f_measure >= 0.95
    per = separate(clip.frames, delta=0.4, sparsity=0.05, colour="per_channel", rng=4)
    assert len(per.results) == 3
    assert metrics.support_recovery(per.mask, clip.mask).f_measure >= 0.9


def test_naht_and_float64():
    clip = scene((24, 32), 30, rng=5)
    sep = separate(clip.frames, delta=0.4, sparsity=0.06, solver="naht", dtype=np.float64, rng=5)
    assert sep.background.dtype == np.float64 and sep.result.solver.startswith("naht")
    assert metrics.support_recovery(sep.mask, clip.mask).f_measure >= 0.9


def test_foreground_mask_threshold():
    S = np.zeros((2, 4, 4))
    S[0, 1, 1], S[1, 2, 2], S[1, 0, 0] = 0.5, -0.4, 0.01
    mask, used = foreground_mask(S, 0.1)
    assert used == 0.1 and mask.sum() == 2 and mask[1, 2, 2]
    mask, used = foreground_mask(S)                 # automatic: splits 0.01 from 0.4-0.5
    assert 0.01 < used < 0.4 and mask.sum() == 2
    rgb = np.zeros((1, 2, 2, 3))
    rgb[0, 1, 0, 2] = 0.3
    assert foreground_mask(rgb, 0.1)[0].tolist() == [[[False, False], [True, False]]]


@pytest.mark.parametrize("kwargs, match", [
    (dict(delta=0.0), "delta"), (dict(delta=1.5), "delta"), (dict(sparsity=1.0), "sparsity"),
    (dict(sparsity=-0.1), "sparsity"), (dict(rank=0), "rank"), (dict(rank=21), "rank=21 exceeds"),
    (dict(delta=0.05, sparsity=0.05), "degrees of freedom"), (dict(solver="cvx"), "solver"),
    (dict(operator="gaussian"), "operator"), (dict(colour="rgb"), "colour"),
    (dict(window=1), "window"), (dict(window=10, overlap=10), "overlap"),
])
def test_bad_arguments(kwargs, match):
    frames = np.zeros((20, 8, 8))
    with pytest.raises(ValueError, match=match):
        separate(frames, **kwargs)


def test_check_model_counts():
    assert check_model(100, 50, 0.5, 2, 0.1) == (2500, 2, 500)
    with pytest.raises(ValueError, match="rank=1 and sparsity=0.4 have 2149 degrees of freedom"):
        check_model(100, 50, 0.4, 1, 0.4)
    with pytest.raises(ValueError, match="frames must have 3 or 4 dimension"):
        separate(np.zeros((4, 4)))


def test_separable_fjlt_meets_the_same_bar(clip, compressive, full):
    """operator="fjlt2d" (the 2-D DCT, on every core) separates the scene as well as the FJLT."""
    sep = separate(clip.frames, delta=DELTA, rank=1, sparsity=0.05, operator="fjlt2d", rng=0)
    sc = score(sep, clip.frames, mask_true=clip.mask, background_true=clip.background)
    base = score(compressive, clip.frames, mask_true=clip.mask, background_true=clip.background)
    assert sc["mean_psnr"] >= 38.0 and sc["f_measure"] >= 0.97 and sc["background_psnr"] >= 50.0
    assert abs(sc["mean_psnr"] - base["mean_psnr"]) < 1.0
