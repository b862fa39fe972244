"""Video reading and writing, the video matrix, and the synthetic scene."""

from fractions import Fraction

import av
import imageio.v3 as iio
import numpy as np
import pytest

from cs.datasets.video import (LUMA, from_matrix, iter_video, montage, parse_crop, parse_frames, probe_video,
                               read_video, scene, to_matrix, write_gif, write_montage, write_video)


def _write_with_pyav(path, frames_uint8, codec, pix_fmt, pts_ms=None):
    """A file written by PyAV directly (not by the module under test)."""
    container = av.open(str(path), "w")
    stream = container.add_stream(codec, rate=25)
    stream.height, stream.width = frames_uint8.shape[1:3]
    stream.pix_fmt = pix_fmt
    if pts_ms is not None:
        stream.time_base = Fraction(1, 1000)
    for i, pixels in enumerate(frames_uint8):
        frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
        if pts_ms is not None:
            frame.pts, frame.time_base = pts_ms[i], Fraction(1, 1000)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()


def _ramp(n=6, h=24, w=32):
    """Frames of flat grey 20 i, RGB uint8."""
    return np.stack([np.full((h, w, 3), 20 * i, np.uint8) for i in range(n)])


@pytest.mark.parametrize("name, codec, pix_fmt, tol", [("clip.avi", "rawvideo", "bgr24", 0.5),
                                                       ("clip.avi", "mpeg4", "yuv420p", 4),
                                                       ("clip.m4v", "mpeg4", "yuv420p", 4)])
def test_reads_every_frame_of_common_containers(tmp_path, name, codec, pix_fmt, tol):
    path = tmp_path / name
    _write_with_pyav(path, _ramp(), codec, pix_fmt)
    video = read_video(path, channels="rgb")
    assert video.frames.shape == (6, 24, 32, 3) and video.frames.dtype == np.float32
    np.testing.assert_allclose(video.times, np.arange(6) / 25)
    np.testing.assert_allclose(video.frames.mean(axis=(1, 2, 3)) * 255, 20 * np.arange(6), atol=tol)
    assert probe_video(path).fps == 25.0


def test_native_timing_no_duplicated_frames(tmp_path):
    # irregular presentation times: a reader resampling to 25 fps would duplicate frames 2 and 3
    path = tmp_path / "vfr.mkv"
    pts = [0, 40, 80, 200, 240, 280]
    _write_with_pyav(path, _ramp(), "mpeg4", "yuv420p", pts_ms=pts)
    video = read_video(path)
    assert video.n_frames == 6
    np.testing.assert_allclose(video.times, np.array(pts) / 1000)
    np.testing.assert_allclose(video.frames.mean(axis=(1, 2)) * 255, 20 * np.arange(6), atol=4)


def test_mp4_round_trip_within_codec_noise(tmp_path):
    clip = scene((32, 48), 12, rng=1)
    for channels, shape in (("grey", (32, 48)), ("rgb", (31, 47))):   # odd sizes: yuv444p
        frames = scene(shape, 12, channels=channels, rng=1).frames if channels == "rgb" else clip.frames
        path = write_video(tmp_path / f"{channels}.mp4", frames, fps=30, crf=12)
        video = read_video(path, channels=channels)
        assert video.frames.shape == frames.shape
        np.testing.assert_allclose(video.times, np.arange(12) / 30, atol=1e-9)
        error = np.abs(video.frames - frames)
        assert error.mean() < 0.015 and error.max() < 0.2, (channels, error.mean(), error.max())


def test_frame_range_crop_and_scale_agree_with_slicing(tmp_path):
    frames = scene((32, 48), 10, rng=2).frames
    path = write_video(tmp_path / "c.mp4", frames, crf=0)
    full = read_video(path).frames
    part = read_video(path, frames=(3, 7), crop=((4, 20), (8, 40)))
    np.testing.assert_array_equal(part.frames, full[3:7, 4:20, 8:40])
    np.testing.assert_allclose(part.times, np.arange(3, 7) / 25)
    half = read_video(path, frames=(3, None), scale=0.5)
    assert half.frames.shape == (7, 16, 24)
    # anti-aliased downscale of a 2x2 block is close to its mean
    np.testing.assert_allclose(half.frames.mean(), full[3:].mean(), atol=0.01)
    assert [t for t, _ in iter_video(path, frames=(8, None))] == pytest.approx([8 / 25, 9 / 25])


def test_grey_is_luma_of_rgb(tmp_path):
    frames = scene((32, 48), 4, channels="rgb", rng=0).frames
    path = write_video(tmp_path / "c.mp4", frames, crf=0)
    grey, rgb = read_video(path).frames, read_video(path, channels="rgb").frames
    # FFmpeg's luma (BT.601 weights) of the decoded RGB, within rounding and chroma subsampling
    luma601 = rgb @ np.array([0.299, 0.587, 0.114])
    assert np.abs(grey - luma601).mean() < 0.01


def test_bad_files_name_the_path(tmp_path):
    missing = tmp_path / "missing.mp4"
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        read_video(missing)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    with pytest.raises(ValueError, match="junk.mp4"):
        read_video(junk)
    with pytest.raises(ValueError, match="folder"):
        read_video(tmp_path)
    path = write_video(tmp_path / "c.mp4", np.zeros((3, 16, 16)))
    with pytest.raises(ValueError, match="outside the 16 x 16 frames"):
        read_video(path, crop=((0, 17), (0, 4)))
    with pytest.raises(ValueError, match="empty: .* has 3 frames"):
        read_video(path, frames=(3, 9))
    with pytest.raises(ValueError, match="empty"):
        read_video(path, frames=(2, 2))
    with pytest.raises(ValueError, match="channels"):
        read_video(path, channels="cmyk")


def test_parse_frames_and_crop():
    assert parse_frames("3:10") == (3, 10) and parse_frames(":10") == (0, 10) and parse_frames("5:") == (5, None)
    assert parse_crop("0:20,5:30") == ((0, 20), (5, 30))
    for bad in ("3", "a:b", "5:5", "9:2"):
        with pytest.raises(ValueError):
            parse_frames(bad)
    for bad in ("0:20", "20:0,0:5", "0:1,x:3"):
        with pytest.raises(ValueError):
            parse_crop(bad)


def test_matrix_round_trip_and_rank_one_background():
    clip = scene((20, 24), 16, channels="rgb", rng=3)
    M = to_matrix(clip.frames)
    assert M.shape == (20 * 24 * 3, 16) and M.flags.c_contiguous
    np.testing.assert_array_equal(M[:, 5], clip.frames[5].ravel())
    np.testing.assert_array_equal(from_matrix(M, clip.frames.shape[1:]), clip.frames)
    s = np.linalg.svd(to_matrix(clip.background), compute_uv=False)
    assert s[1] < 1e-12 * s[0]  # static background times flicker: rank one
    with pytest.raises(ValueError, match="expected"):
        from_matrix(M, (20, 25, 3))


def test_scene_ground_truth():
    clip = scene((48, 64), 60, noise=0.0, rng=0)
    np.testing.assert_allclose(clip.frames, clip.background + clip.foreground, atol=1e-15)
    np.testing.assert_array_equal(clip.foreground != 0, clip.mask)
    # every foreground pixel differs from the background by at least 0.1 (times the flicker gain)
    assert np.abs(clip.foreground[clip.mask]).min() >= 0.1 * clip.gain.min() - 1e-12
    assert 0.02 < clip.foreground_fraction < 0.045
    assert 0 <= clip.frames.min() and clip.frames.max() <= 1
    # deterministic, and the rng changes only flicker and noise
    a, b = scene((48, 64), 60, rng=5), scene((48, 64), 60, rng=5)
    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_array_equal(scene((48, 64), 60, rng=6).mask, a.mask)
    assert np.std(a.frames - a.background - a.foreground) == pytest.approx(0.005, rel=0.05)
    # the pausing object covers some pixels for 12 frames in a row; moving ones for a few
    assert _longest_cover(clip.mask) >= 12 > 8 > _longest_cover(scene((48, 64), 60, pause=False).mask)
    # objects differ in size and speed: four distinct objects cross
    assert clip.mask.any(axis=(1, 2)).sum() > 40


def _longest_cover(mask):
    run = best = np.zeros(mask.shape[1:], int)
    for m in mask:
        run = np.where(m, run + 1, 0)
        best = np.maximum(best, run)
    return int(best.max())


def test_scene_rgb_is_grey_by_luma():
    rgb = scene((24, 32), 10, channels="rgb", noise=0.0, rng=0)
    grey = scene((24, 32), 10, channels="grey", noise=0.0, rng=0)
    np.testing.assert_allclose(rgb.frames @ LUMA, grey.frames, atol=1e-12)
    np.testing.assert_array_equal(rgb.mask, grey.mask)


def test_scene_rejects_bad_arguments():
    with pytest.raises(ValueError, match="shape"):
        scene((8, 64))
    with pytest.raises(ValueError, match="n_frames"):
        scene(n_frames=0)
    with pytest.raises(ValueError, match="noise"):
        scene(noise=-1.0)


def test_gif_and_montage(tmp_path):
    clip = scene((24, 32), 6, rng=0)
    gif = write_gif(tmp_path / "c.gif", clip.frames, fps=5)
    frames = iio.imread(gif, index=None)
    assert frames.shape[:3] == (6, 24, 32)
    png = tmp_path / "m.png"
    write_montage(png, [clip.frames, clip.background, clip.mask.astype(float)], labels=["a", "b", "c"],
                  indices=[0, 3, 5], title="t")
    image = iio.imread(png)
    assert png.read_bytes()[:4] == b"\x89PNG" and image.shape[0] > 3 * 160 and image.shape[1] > image.shape[0]
    with pytest.raises(ValueError, match="labels"):
        write_montage(png, [clip.frames], labels=["a", "b"])


def test_montage_pixels_are_the_frames_and_long_labels_fit(tmp_path):
    clip = scene((24, 32), 6, rng=0)
    png = tmp_path / "m.png"
    labels = ["short", "a label much longer than the default margin"]
    write_montage(png, [clip.frames, clip.background], labels=labels, indices=[1, 4], title="title")
    image = iio.imread(png)
    zoom = 7  # ceil(160 / 24): frames pixel for pixel at an integer zoom
    grid = np.repeat(np.repeat(montage([clip.frames, clip.background], [1, 4]), zoom, 0), zoom, 1)
    # the grid sits bottom-left of the labels, 6 pixels from the right and bottom edges
    h, w = grid.shape[:2]
    top, left = image.shape[0] - 6 - h, image.shape[1] - 6 - w
    assert np.array_equal(image[top:top + h, left:left + w, :3], grid)
    # the margin holds the longer label whole: text in its row's band, white at the image's edge
    band = image[top + zoom * 26:top + zoom * 26 + zoom * 24, :left, :3]  # the second row of frames
    assert band.min() < 100 and (band[:, :3] == 255).all()
    assert left > 250  # wider than the 100-odd pixels "short" needs


def test_video_writer_preset(tmp_path):
    clip = scene((24, 32), 8, rng=0)
    sizes = {}
    for preset in ("ultrafast", "veryslow"):
        path = write_video(tmp_path / f"{preset}.mp4", clip.frames, preset=preset)
        back = read_video(path).frames
        assert back.shape == clip.frames.shape and np.abs(back - clip.frames).mean() < 0.02
        sizes[preset] = path.stat().st_size
    assert sizes["veryslow"] < sizes["ultrafast"]  # the slower preset compresses better at the same crf
    with pytest.raises(ValueError, match="preset"):
        write_video(tmp_path / "x.mp4", clip.frames, preset="quick")
