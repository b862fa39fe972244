import json
import numpy as np
import pytest

from cs.cli import main
from cs.datasets.video import read_video, scene, write_video

METRIC_KEYS = {"mean_psnr", "psnr", "relative_error", "seconds", "iterations"}
SMALL_DEMO = ["--demo-shape", "32", "48", "--demo-frames", "40", "--quiet"]


def test_demo_recovers_and_reports(capsys, tmp_path):
    png = tmp_path / "demo.png"
    code = main(["demo", "--shape", "40", "40", "--plot", str(png), "--video-out", str(tmp_path / "video")])
    out = capsys.readouterr().out
    assert code == 0
    assert "recovered" in out and "NOT recovered" not in out
    for name in ("NIHT (AccAltProj)", "NIHT (GoDec)", "NAHT"):
        assert name in out
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    # the video part: the built-in scene's pictures, and where they are
    assert f"pictures: {tmp_path / 'video'}/montage.png" in out
    metrics = json.loads((tmp_path / "video" / "metrics.json").read_text())
    assert metrics["f_measure"] >= 0.95 and metrics["mean_psnr"] >= 38


def test_demo_failure_exits_nonzero(capsys):
    code = main(["demo", "--shape", "30", "30", "--delta", "0.2", "--rho-r", "0.5", "--rho-s", "0.5",
                 "--plot", "", "--video-out", ""])
    assert code == 1
    out = capsys.readouterr().out
    assert "NOT recovered" in out and "pictures" not in out


def test_demo_reports_compilation_only_when_numba_compiles(capsys, monkeypatch):
    import cs.cli.demo as demo

    assert demo._numba_compilations() >= 0
    before = demo._numba_compilations()
    demo._warm_up("fjlt")  # everything compiled (or loaded) by now
    after = demo._numba_compilations()
    demo._warm_up("fjlt")
    assert demo._numba_compilations() == after >= before
    argv = ["demo", "--shape", "20", "20", "--plot", "", "--video-out", ""]
    counts = iter([0, 3])   # numba compiled three kernels during the warm-up
    monkeypatch.setattr(demo, "_numba_compilations", lambda: next(counts))
    main(argv)
    assert capsys.readouterr().out.startswith("compiling (first run only): ")
    monkeypatch.setattr(demo, "_numba_compilations", lambda: 7)  # all loaded from the cache
    main(argv)
    assert "compiling" not in capsys.readouterr().out


def test_bad_arguments_exit_with_usage(capsys):
    with pytest.raises(SystemExit) as info:
        main(["demo", "--shape", "10"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        main([])


def test_video_demo_writes_the_four_files(capsys, tmp_path):
    out = tmp_path / "result"
    assert main(["video", "--demo", "--out", str(out), *SMALL_DEMO]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["background.mp4", "foreground.mp4", "metrics.json",
                                                     "montage.png"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert METRIC_KEYS | {"f_measure"} <= set(metrics)
    assert len(metrics["psnr"]) == 40 and metrics["mean_psnr"] == pytest.approx(np.mean(metrics["psnr"]))
    assert metrics["mean_psnr"] >= 38 and metrics["f_measure"] >= 0.95 and metrics["iterations"] > 0
    background = read_video(out / "background.mp4")
    assert background.frames.shape == (40, 32, 48)
    clip = scene((32, 48), 40, rng=0)
    assert np.abs(background.frames - clip.background).mean() < 0.01
    assert (out / "montage.png").read_bytes()[:4] == b"\x89PNG"
    assert "F-measure" in capsys.readouterr().out
    assert not [p for p in tmp_path.iterdir() if p.name != "result"]  # no staging folder left


def test_video_file_with_range_crop_and_windows(tmp_path):
    # the crop raises the foreground to 5.5 % of some windows' entries: budget 7 %, delta 0.5
    clip = scene((40, 56), 100, rng=1)
    path = write_video(tmp_path / "in.mp4", clip.frames, crf=10)
    out = tmp_path / "out"
    code = main(["video", str(path), "--out", str(out), "--frames", "28:92", "--crop", "4:36,0:48",
                 "--window", "32", "--overlap", "8", "--delta", "0.5", "--sparsity", "0.07", "--quiet"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["psnr"]) == 64 and metrics["frame_shape"] == [32, 48]
    assert metrics["windows"] == [[0, 32], [24, 56], [32, 64]]
    assert metrics["mean_psnr"] >= 38 and min(metrics["psnr"]) >= 35
    assert read_video(out / "foreground.mp4").frames.shape == (64, 32, 48)


def test_video_fully_observed_reference(tmp_path):
    out = tmp_path / "full"
    assert main(["video", "--demo", "--delta", "1", "--out", str(out), *SMALL_DEMO]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["f_measure"] >= 0.97 and metrics["background_psnr"] >= 55


@pytest.mark.parametrize("argv, message", [
    (["{missing}"], "no such file"),
    (["{junk}"], "not a video"),
    (["{clip}", "--crop", "0:10,0:99"], "reaches outside"),
    (["{clip}", "--frames", "50:60"], "is empty"),
    (["{clip}", "--rank", "99"], "rank=99 exceeds"),
    (["{clip}", "--sparsity", "0.4"], "degrees of freedom"),
    (["--demo", "{clip}"], "not both"),
    ([], "give a video file"),
])
def test_video_bad_input_one_line_and_nothing_left(capsys, tmp_path, argv, message):
    clip = write_video(tmp_path / "clip.mp4", scene((24, 32), 20, rng=0).frames)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00garbage" * 64)
    names = {"missing": tmp_path / "missing.mp4", "junk": junk, "clip": clip}
    out = tmp_path / "out"
    argv = [a.format(**names) for a in argv]
    assert main(["video", *argv, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cs video: error: ") and message in err[0], err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "junk.mp4"]


@pytest.mark.parametrize("flags", [["--delta", "0"], ["--delta", "1.5"], ["--frames", "5:5"],
                                   ["--crop", "5:2,0:4"], ["--sparsity", "1"], ["--rank", "0"]])
def test_video_bad_flags_are_usage_errors(tmp_path, flags):
    with pytest.raises(SystemExit) as info:
        main(["video", "--demo", "--out", str(tmp_path / "out"), *flags])
    assert info.value.code == 2 and not (tmp_path / "out").exists()


def test_video_unwritable_out(capsys, tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("a file, not a folder")
    assert main(["video", "--demo", "--out", str(taken), *SMALL_DEMO]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert taken.read_text() == "a file, not a folder" and sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code = main(["video", "--demo", "--out", str(locked / "out"), *SMALL_DEMO])
    finally:
        locked.chmod(0o700)
    err = capsys.readouterr().err
    if code == 0:  # running as root: permissions do not apply
        pytest.skip("permissions are not enforced for this user")
    assert code == 2 and "not writable" in err and list(locked.iterdir()) == []


def test_video_failure_midway_leaves_nothing(tmp_path, monkeypatch):
    import cs.datasets.video as video_io

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(video_io, "write_montage", broken)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("earlier result")
    assert main(["video", "--demo", "--out", str(out), *SMALL_DEMO]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
