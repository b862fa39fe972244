"""``cs phase run|status|plot|export|curve``: the flags the issue names, one error line and exit 2."""

import csv
import os
from pathlib import Path

import pytest

from cs.cli import main
from cs.experiments import Store, Study, summarise, transition_curve

TINY = ["--problem", "sparse", "--solver", "niht:max_iter=200", "--operator", "gaussian", "--n", "64",
        "--deltas", "0.4,0.8", "--rhos", "0.1:0.4:0.3", "--trials", "3", "--values", "sign",
        "--success", "rel_l2:1e-3", "--workers", "1"]


def read_csv(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("phase") / "tiny.sqlite"
    assert main(["phase", "run", str(path)] + TINY) == 0
    return path


def test_run_declares_the_study_from_flags(store, capsys):
    study = Study.from_dict(Store(store, readonly=True).definition)
    assert study == Study("sparse", (64,), operator="gaussian", deltas=[0.4, 0.8], rhos=[0.1, 0.4], trials=3,
                          values="sign", solver="niht", options={"max_iter": 200}, success="rel_l2:1e-3")
    # the same command again (or with no definition at all) resumes and runs nothing new
    assert main(["phase", "run", str(store)] + TINY) == 0
    assert main(["phase", "run", str(store), "--workers", "1"]) == 0
    assert "12 trials stored" in capsys.readouterr().out
    assert Store(store, readonly=True).count() == 12


def test_status_export_and_curve(store, tmp_path, capsys):
    assert main(["phase", "status", str(store)]) == 0
    out = capsys.readouterr().out
    assert "12 stored of 12" in out and "4 measured, 0 partial, 0 pending, 0 assumed" in out
    assert "complete  yes" in out
    summary = summarise(store)
    assert main(["phase", "export", str(store), "--csv", str(tmp_path / "cells.csv")]) == 0
    rows = read_csv(tmp_path / "cells.csv")
    assert list(rows[0]) == ["delta", "rho", "trials", "successes", "success_rate", "median_iterations",
                             "median_seconds", "status"]
    assert [(float(r["delta"]), float(r["rho"]), int(r["successes"])) for r in rows] == [
        (c.delta, c.rho, c.successes) for c in summary.cells]
    assert main(["phase", "curve", str(store), "--csv", str(tmp_path / "curve.csv")]) == 0
    curve = read_csv(tmp_path / "curve.csv")
    expected = transition_curve(summary)
    assert [float(r["delta"]) for r in curve] == [row["delta"] for row in expected] == [0.4, 0.8]
    assert list(curve[0]) == ["delta", "rho_50", "intercept", "slope", "cells", "trials"]
    for got, want in zip(curve, expected):
        assert got["rho_50"] == f"{want['rho_50']:.6g}" if want["rho_50"] == want["rho_50"] else "nan"


def test_plot_one_store_and_several(store, tmp_path):
    assert main(["phase", "plot", str(store), "--out", str(tmp_path / "one.png")]) == 0
    assert main(["phase", "plot", str(store), str(store), "--out", str(tmp_path / "two.png")]) == 0
    for name in ("one.png", "two.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("args, message", [
    (["--problem", "sparse", "--solver", "magic", "--n", "64", "--deltas", "0.5", "--rhos", "0.1"],
     "solver must be one of ['convex', 'cosamp', 'htp', 'iht', 'l1', 'naht', 'niht', 'omp', 'sparcs']"),
    (["--problem", "sparse", "--solver", "niht", "--operator", "wavelet", "--n", "64", "--deltas", "0.5",
      "--rhos", "0.1"], "operator must be one of ['dct', 'entries', 'expander', 'fjlt', 'fjlt2d', 'gaussian'"),
    (["--problem", "sparse", "--solver", "niht", "--n", "64", "--deltas", "0.5", "--rhos", "0.1",
      "--success", "psnr:30"], "success must be one of ['rel_l2', 'rel_linf']"),
    (["--problem", "ls", "--solver", "niht", "--shape", "20x20", "--deltas", "0.5", "--rho-r", "0.6,0.7",
      "--rho-s", "0.5"], "the grid is empty: rho_r + rho_s > 1 for every pair"),
    (["--problem", "sparse", "--solver", "niht", "--n", "64", "--deltas", "0.5,1.5", "--rhos", "0.1"],
     "deltas[1]=1.5 must be <= 1.0"),
    (["--problem", "sparse", "--solver", "niht:tolerance=1", "--n", "64", "--deltas", "0.5", "--rhos", "0.1"],
     "options has 'tolerance', which niht does not take"),
    (["--preset", "tanner-vary"], "is neither a built-in preset (blanchard-tanner, tanner-vary-fig1)"),
    (["--problem", "sparse", "--solver", "niht"], "a new study needs --n or --shape, --deltas"),
    ([], "does not exist: declare a study"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path, capsys):
    assert main(["phase", "run", str(tmp_path / "new.sqlite")] + args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("cs phase: error: ") and message in err
    assert "Traceback" not in err


def test_bad_stores_are_refused_before_compute(store, tmp_path, capsys):
    other = [a if a != "3" else "4" for a in TINY]         # 4 trials instead of 3
    assert main(["phase", "run", str(store)] + other) == 2
    assert "holds another study: its trials is 3, this study's is 4" in capsys.readouterr().err
    junk = tmp_path / "junk.sqlite"
    junk.write_text("hello")
    assert main(["phase", "run", str(junk)] + TINY) == 2
    assert "is not a SQLite database" in capsys.readouterr().err
    assert main(["phase", "run", str(tmp_path / "no" / "dir.sqlite")] + TINY) == 2
    assert "does not exist" in capsys.readouterr().err
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    # root ignores the folder's mode; /proc refuses new files even to root
    unwritable = Path("/proc/cs-phase.sqlite") if os.geteuid() == 0 else locked / "s.sqlite"
    assert main(["phase", "run", str(unwritable)] + TINY) == 2
    err = capsys.readouterr().err
    assert "is not writable" in err or "cannot be created" in err
    assert main(["phase", "status", str(junk)]) == 2
    assert main(["phase", "export", str(store), "--csv", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_preset_with_overrides_and_toml(tmp_path):
    path = tmp_path / "bt.sqlite"
    assert main(["phase", "run", str(path), "--preset", "blanchard-tanner", "--n", "64", "--deltas", "0.5",
                 "--rhos", "0.1", "--trials", "1", "--workers", "1"]) == 0
    study = Study.from_dict(Store(path, readonly=True).definition)
    assert (study.shape, study.values, study.success, study.options) == (
        (64,), "sign", "rel_linf:1e-3", {"tol": 1e-4, "max_iter": 500})
    toml = tmp_path / "study.toml"
    toml.write_text(study.to_toml())
    assert main(["phase", "run", str(tmp_path / "t.sqlite"), "--preset", str(toml), "--workers", "1"]) == 0
    assert Store(tmp_path / "t.sqlite", readonly=True).hash == Store(path, readonly=True).hash
