"""Phase-transition studies: definition checks, seeds, presets, schedules, fits, and the runner's
guarantees (resume after kill -9, a dead worker retried, the same rows on any executor)."""

import concurrent.futures as cf
import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cs.experiments import (Store, Study, donoho_tanner_rho, fit_transition, preset, run_study, run_trial,
                            summarise, transition_curve, trial_problem, trial_seed)

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).with_name("data") / "donoho_tanner.csv"
#: Row fields that are numbers of the computation (not timings or the host).
COMPARED = ("cell", "trial", "seed", "error_X", "error_L", "error_S", "rel_residual", "iterations",
            "converged", "success", "reason")


def tiny(**kw):
    spec = dict(problem="sparse", shape=(64,), deltas=[0.4, 0.8], rhos=[0.1, 0.4], trials=3, solver="niht")
    spec.update(kw)
    return Study(**spec)


def numbers(path):
    with Store(path, readonly=True) as store:
        return store.rows(COMPARED)


# ---------------------------------------------------------------- the definition

@pytest.mark.parametrize("kw, message", [
    (dict(deltas=[]), "deltas is empty"),
    (dict(deltas=[0.0]), r"deltas\[0\]=0.0 must be > 0"),
    (dict(deltas=[0.5, 1.2]), r"deltas\[1\]=1.2 must be <= 1"),
    (dict(rhos=[]), "rhos is empty"),
    (dict(solver="nope"), r"solver must be one of \['convex', 'cosamp', .*'sparcs'\]"),
    (dict(solver="naht"), r"solver='naht' does not solve sparse problems; use one of \['convex', 'cosamp'"),
    (dict(operator="fourier"), r"operator must be one of \['dct', 'entries', 'expander', 'fjlt', 'fjlt2d', 'gaussian'"),
    (dict(success="rel_l3:1e-3"), r"success must be one of \['rel_l2', 'rel_linf'\]"),
    (dict(success="rel_l2"), "must be NAME:TOL"),
    (dict(success="rel_l2:big"), "is not a number"),
    (dict(values="uniform"), r"values must be one of \['gaussian', 'sign'\]"),
    (dict(options={"tolerance": 1}), r"options has 'tolerance', which niht does not take; valid options: \["),
    (dict(options={"rng": 1}), "options has 'rng'"),
    (dict(schedule="walk-rho"), "walk-rho:COUNT"),
    (dict(shape=(8, 8)), r"must be \(n,\) for problem='sparse'"),
    (dict(problem="dense"), r"problem must be one of \['low_rank', 'ls', 'sparse'\]"),
])
def test_bad_definitions_fail_before_any_compute(kw, message):
    with pytest.raises(ValueError, match=message):
        tiny(**kw)


def test_ls_grid_keeps_rho_r_plus_rho_s_at_most_one():
    study = Study("ls", (10, 10), operator="fjlt", deltas=[0.5], rho_r=[0.2, 0.5, 0.9], rho_s=[0.1, 0.5])
    assert [(c.rho_r, c.rho_s) for c in study.cells()] == [(0.2, 0.1), (0.2, 0.5), (0.5, 0.1), (0.5, 0.5),
                                                           (0.9, 0.1)]
    with pytest.raises(ValueError, match=r"the grid is empty: rho_r \+ rho_s > 1 for every pair"):
        Study("ls", (10, 10), deltas=[0.5], rho_r=[0.6, 0.7], rho_s=[0.5])
    with pytest.raises(ValueError, match="an ls study takes rho_r and rho_s"):
        Study("ls", (10, 10), deltas=[0.5], rhos=[0.1], rho_r=[0.1], rho_s=[0.1])


def test_definition_round_trips_and_every_field_changes_the_hash(tmp_path):
    study = tiny(options={"tol": 1e-4, "max_iter": 50}, schedule="walk-rho:2")
    assert Study.from_dict(study.to_dict()) == study
    toml = tmp_path / "study.toml"
    toml.write_text(study.to_toml())
    assert Study.from_toml(toml) == study and Study.from_toml(toml).hash == study.hash
    variants = [dict(shape=(65,)), dict(operator="rademacher"), dict(deltas=[0.4, 0.9]), dict(rhos=[0.1]),
                dict(trials=4), dict(values="sign"), dict(solver="iht"), dict(options={"tol": 1e-5}),
                dict(success="rel_l2:1e-3"), dict(schedule="full")]
    hashes = {tiny(**dict(study.to_dict(), **v)).hash for v in variants}
    assert len(hashes) == len(variants) and study.hash not in hashes
    with pytest.raises(ValueError, match=r"unknown study fields \['colour'\]"):
        Study.from_dict(dict(study.to_dict(), colour="red"))


def test_presets_follow_the_papers():
    bt = preset("blanchard-tanner")
    assert (bt.problem, bt.shape, bt.values, bt.success, bt.solver) == ("sparse", (1024,), "sign",
                                                                        "rel_linf:1e-3", "niht")
    assert bt.options == {"tol": 1e-4, "max_iter": 500} and bt.operator == "gaussian"
    assert preset("blanchard-tanner", operator="dct").operator == "dct"
    tv = preset("tanner-vary-fig1")
    assert (tv.problem, tv.shape, tv.operator, tv.trials, tv.success, tv.schedule) == (
        "ls", (100, 100), "fjlt", 20, "rel_l2:1e-2", "walk-delta:5")
    np.testing.assert_allclose(tv.deltas, np.arange(0.02, 1.0, 0.05))
    assert len({(c.rho_r, c.rho_s) for c in tv.cells()}) == 45   # 0.1-grid pairs with rho_r + rho_s <= 1
    assert preset("tanner-vary-fig1", solver="sparcs").solver == "sparcs"
    with pytest.raises(ValueError, match=r"preset must be one of \['blanchard-tanner', 'tanner-vary-fig1'\]"):
        preset("donoho")


# ---------------------------------------------------------------- seeds and trials

def test_every_trial_has_its_own_seed_and_reruns_alone():
    study = tiny()
    assert trial_seed(study, 1, 2).entropy == (int(study.hash, 16), 1, 2)
    seeds = {run_trial(study, c, t)["seed"] for c in range(4) for t in range(3)}
    assert len(seeds) == 12
    assert run_trial(tiny(trials=4), 0, 0)["seed"] != run_trial(study, 0, 0)["seed"]  # another study
    one, two = run_trial(study, 1, 2), run_trial(study, 1, 2)
    assert {k: one[k] for k in COMPARED} == {k: two[k] for k in COMPARED}
    prob, _ = trial_problem(study, 1, 2)
    assert prob.params["delta"] == 0.4 and prob.params["rho"] == 0.4 and prob.params["p"] == 26


def test_success_rules_and_solver_errors_are_recorded():
    study = tiny(deltas=[0.8], rhos=[0.1], success="rel_l2:1e-6")
    row = run_trial(study, 0, 0)
    assert row["success"] == 1 and row["error_X"] < 1e-6 and row["converged"] == 1
    assert run_trial(tiny(deltas=[0.8], rhos=[0.1], success="rel_l2:1e-30"), 0, 0)["success"] == 0
    ls = Study("ls", (12, 12), operator="fjlt", deltas=[0.9], rho_r=[0.1], rho_s=[0.05], trials=1)
    row = run_trial(ls, 0, 0)
    assert row["success"] == 1 and row["error_L"] < 1e-6 and row["error_S"] < 1e-6


# ---------------------------------------------------------------- fits and references

def test_donoho_tanner_curve_matches_the_reference_data():
    with open(DATA) as fh:
        rows = list(csv.DictReader(fh))
    deltas = np.array([float(r["delta"]) for r in rows])
    expected = np.array([float(r["rho_w_signed"]) for r in rows])
    np.testing.assert_allclose(donoho_tanner_rho(deltas), expected, atol=2e-6)
    assert donoho_tanner_rho(0.5) == pytest.approx(0.3857, abs=1e-4)


def test_logistic_fit_recovers_a_known_transition():
    x = np.linspace(0.1, 0.6, 11)
    p = 1 / (1 + np.exp(-(12.0 - 40.0 * x)))            # rho_50 = 0.3
    trials = np.full(x.size, 10 ** 6)
    fit = fit_transition(x, trials, np.round(p * trials))
    assert fit.x50 == pytest.approx(0.3, abs=1e-4)
    assert fit.slope == pytest.approx(-40.0, rel=0.02) and fit.intercept == pytest.approx(12.0, rel=0.02)
    sharp = fit_transition([0.1, 0.2, 0.3, 0.4], [5] * 4, [5, 5, 0, 0])   # separated: the gap's middle
    assert sharp.x50 == pytest.approx(0.25, abs=1e-3) and sharp.slope < 0
    assert np.isnan(fit_transition([0.1, 0.2], [5, 5], [5, 5]).x50)
    stray = fit_transition([0.1, 0.2, 0.3, 0.4], [2] * 4, [2, 2, 1, 2])   # no transition inside the range
    assert np.isnan(stray.x50) and np.isfinite(stray.slope)


def store_with(tmp_path, study, outcomes):
    """A store whose cells hold ``outcomes[cell]`` successes out of ``study.trials`` (no solver run)."""
    path = tmp_path / "made.sqlite"
    with Store(path, study.to_dict()) as store:
        for cell, successes in outcomes.items():
            for t in range(study.trials):
                store.add(dict(cell=cell, trial=t, seed="0", iterations=10 + t, seconds=0.5,
                               success=int(t < successes), reason="made"))
    return path


def test_walk_schedule_settles_columns_and_summaries_count_them(tmp_path):
    # walk delta upward per rho; a column stops after 2 cells in which every trial succeeded
    study = tiny(deltas=[0.2, 0.4, 0.6, 0.8, 1.0], rhos=[0.1, 0.3], trials=2, schedule="walk-delta:2")
    index = {(c.delta, c.rho): c.index for c in study.cells()}
    outcomes = {index[0.2, 0.1]: 0, index[0.4, 0.1]: 2, index[0.6, 0.1]: 2,   # settled at delta 0.6
                index[0.2, 0.3]: 0, index[0.4, 0.3]: 1, index[0.6, 0.3]: 2}  # still walking
    summary = summarise(store_with(tmp_path, study, outcomes))
    status = {(c.delta, c.rho): c.status for c in summary.cells}
    assert status[0.8, 0.1] == status[1.0, 0.1] == "assumed"
    assert status[0.8, 0.3] == status[1.0, 0.3] == "pending"
    assert not summary.complete
    cell = summary.cells[index[0.8, 0.1]]
    assert (cell.trials, cell.successes, cell.success_rate) == (2, 2, 1.0)
    rhos, deltas, rates = summary.grid()
    assert rates.shape == (2, 5) and rates[0, 3] == 1.0 and np.isnan(rates[1, 3]) and rates[1, 1] == 0.5
    assert summary.cells[index[0.4, 0.3]].median_iterations == 10.5


def test_transition_curve_per_delta(tmp_path):
    study = tiny(deltas=[0.5], rhos=[0.1, 0.2, 0.3, 0.4], trials=4)
    curve = transition_curve(summarise(store_with(tmp_path, study, {0: 4, 1: 4, 2: 0, 3: 0})))
    assert len(curve) == 1 and curve[0]["delta"] == 0.5
    assert curve[0]["rho_50"] == pytest.approx(0.25, abs=1e-3) and curve[0]["trials"] == 16


# ---------------------------------------------------------------- the runner

def test_rows_do_not_depend_on_the_executor_or_batches(tmp_path):
    study = tiny()
    run_study(study, tmp_path / "pool.sqlite", workers=2, progress=False)
    with cf.ThreadPoolExecutor(2) as pool:
        run_study(study, tmp_path / "threads.sqlite", executor=pool, batch_size=1, progress=False)
    reference = [{k: run_trial(study, c, t)[k] for k in COMPARED} for c in range(4) for t in range(3)]
    assert numbers(tmp_path / "pool.sqlite") == numbers(tmp_path / "threads.sqlite") == reference


def test_resume_skips_what_is_done(tmp_path):
    study = tiny()
    path = tmp_path / "s.sqlite"
    summary = run_study(study, path, workers=1, progress=False)
    full = numbers(path)
    assert summary.complete and summary.trials_done == 12
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE trials SET reason = 'kept' WHERE cell = 0")
        conn.execute("DELETE FROM trials WHERE cell >= 2")
    run_study(study, path, workers=1, progress=False)
    again = numbers(path)
    assert [r["reason"] for r in again if r["cell"] == 0] == ["kept"] * 3        # not re-run
    assert [dict(r, reason=None) for r in again] == [dict(r, reason=None) for r in full]


def test_a_worker_dying_mid_trial_is_retried(tmp_path, monkeypatch):
    study = tiny()
    run_study(study, tmp_path / "ref.sqlite", workers=1, progress=False)
    marker = tmp_path / "died"
    monkeypatch.setenv("CS_PHASE_TEST_DIE_ONCE", str(marker))
    run_study(study, tmp_path / "s.sqlite", workers=2, progress=False)
    assert marker.exists()                      # a worker did die (os._exit) inside a trial
    assert numbers(tmp_path / "s.sqlite") == numbers(tmp_path / "ref.sqlite")


KILLED_STUDY = dict(problem="sparse", shape=(128,), deltas=[0.3, 0.5, 0.7], rhos=[0.1, 0.2, 0.3], trials=6,
                    solver="niht")
KILL_SCRIPT = f"""
import sys
from cs.experiments import Study, run_study
run_study(Study(**{KILLED_STUDY!r}), sys.argv[1], workers=1, batch_size=1, progress=False)
"""


@pytest.mark.slow
def test_kill_9_mid_study_then_rerun_gives_the_uninterrupted_rows(tmp_path):
    path = tmp_path / "killed.sqlite"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(path)], env=env, cwd=ROOT,
                            start_new_session=True)
    seen, deadline = 0, time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if path.exists():
            try:
                with sqlite3.connect(path, timeout=0.1) as conn:
                    seen = conn.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
            except sqlite3.OperationalError:
                seen = 0
            if seen >= 10:
                break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)          # the coordinator and its worker, no clean-up
    proc.wait()
    with sqlite3.connect(path) as conn:
        at_kill = conn.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    assert 10 <= at_kill < 54, "the study must be killed mid-way"
    subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(path)], env=env, cwd=ROOT, check=True, timeout=300)
    run_study(Study(**KILLED_STUDY), tmp_path / "whole.sqlite", workers=1, progress=False)   # uninterrupted
    resumed, whole = numbers(path), numbers(tmp_path / "whole.sqlite")
    assert len(resumed) == 54 and resumed == whole


@pytest.mark.slow
def test_dask_local_cluster_gives_the_pool_rows(tmp_path):
    distributed = pytest.importorskip("distributed", reason="the 'distributed' extra is not installed")
    study = tiny()
    run_study(study, tmp_path / "pool.sqlite", workers=2, progress=False)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                                  silence_logs=40) as cluster:
        run_study(study, tmp_path / "dask.sqlite", scheduler=cluster.scheduler_address, progress=False)
    assert numbers(tmp_path / "dask.sqlite") == numbers(tmp_path / "pool.sqlite")


def test_runner_argument_checks(tmp_path):
    with pytest.raises(TypeError, match="study must be a Study"):
        run_study({"problem": "sparse"}, tmp_path / "s.sqlite")
    with pytest.raises(ValueError, match="workers=0 must be >= 1"):
        run_study(tiny(), tmp_path / "s.sqlite", workers=0)
    run_study(tiny(), tmp_path / "s.sqlite", workers=1, progress=False)
    with pytest.raises(ValueError, match="its trials is 3, this study's is 4"):
        run_study(tiny(trials=4), tmp_path / "s.sqlite")
    assert json.loads(json.dumps(tiny().to_dict())) == Store(tmp_path / "s.sqlite", readonly=True).definition


@pytest.mark.slow
def test_l1_follows_the_donoho_tanner_curve_reduced(tmp_path):
    # the full check (n = 400, 20 trials, delta = 0.1..0.9, within 0.05) is
    # `python benchmarks/bench_phase.py donoho-tanner`; here n = 120, 8 trials, within 0.08
    study = Study("sparse", (120,), deltas=[0.3, 0.6], rhos=[round(0.05 * i, 2) for i in range(2, 15)],
                  trials=8, solver="l1", schedule="walk-rho:2")
    curve = transition_curve(run_study(study, tmp_path / "l1.sqlite", workers=2, progress=False))
    for row in curve:
        assert abs(row["rho_50"] - donoho_tanner_rho(row["delta"])) < 0.08, row


def test_cells_are_made_once_per_study_and_not_pickled():
    # every trial looks up its cell: the grid is built once per Study (85 ms for 60,000
    # cells), callers get their own list, and the cache does not travel with a pickle
    import pickle

    from cs.experiments.phase import trial_problem

    grid = [round(0.02 * i, 2) for i in range(1, 50)]
    study = Study("ls", (10, 10), operator="fjlt", deltas=grid, rho_r=grid, rho_s=grid, trials=1)
    cells = study.cells()
    assert len(cells) == 49 * sum(1 for r in grid for s in grid if r + s <= 1 + 1e-9)
    assert study._cells is study._cells and cells == list(study._cells)
    cells.clear()  # the caller's list, not the cache
    assert len(study.cells()) == len(study._cells) > 0
    c = study.cells()[1234]
    prob, _ = trial_problem(study, 1234, 0)  # through the cache: the cell's own sizes
    assert prob.b.size == round(c.delta * 100) and prob.sparsity == round(c.rho_s * prob.b.size)
    copy = pickle.loads(pickle.dumps(study))
    assert len(pickle.dumps(study)) < 10_000 and copy == study and copy.cells() == study.cells()


def test_worker_processes_keep_cs_passes_in_one_thread(monkeypatch):
    from cs import _parallel
    from cs.experiments.phase import _limit_threads

    monkeypatch.setattr(_parallel, "_LIMIT", None)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, "2")
    _limit_threads()
    assert _parallel.threads() == 1
