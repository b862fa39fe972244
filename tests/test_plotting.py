"""Figures: the expected artists, no image comparison."""

import io
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure

from cs import operators, ric
from cs.plotting import plot_convergence, plot_phase, plot_ric
from cs.solvers.result import SolveResult


def png_bytes(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def test_plot_ric_draws_estimates_and_bounds():
    deltas = [0.3, 0.5]
    results = [ric.sparse_ric(operators.gaussian(round(d * 60), 60, rng=0), 3, n_samples=20,
                              n_starts=1, rng=0) for d in deltas]
    bounds = ric.bct_bounds(deltas, [3 / 18, 3 / 30])
    fig = plot_ric(deltas, results, bounds=bounds, title="sparse")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"L estimate", "U estimate", "L bound", "U bound"}
    np.testing.assert_allclose(lines["U estimate"].get_ydata(), [r.upper for r in results])
    np.testing.assert_allclose(lines["L bound"].get_ydata(), bounds.L)
    assert np.all(lines["U estimate"].get_ydata() < lines["U bound"].get_ydata())
    assert ax.get_legend() is not None and ax.get_title() == "sparse"
    assert png_bytes(fig)[:4] == b"\x89PNG"


def test_plot_ric_from_arrays_on_given_axes():
    fig = Figure()
    ax = fig.add_subplot()
    out = plot_ric([0.2, 0.4, 0.6], lower=[0.5, 0.4, 0.3], upper=[1.0, 0.8, 0.6], ax=ax)
    assert out is fig and len(ax.get_lines()) == 2
    with pytest.raises(ValueError, match="upper"):
        plot_ric([0.2, 0.4], lower=[0.5, 0.4], upper=[1.0])
    with pytest.raises(ValueError, match="lower"):
        plot_ric([0.2, 0.4])


def fake_result(rate, n=12):
    t = np.linspace(0.01, 0.5, n)
    history = {"time": t, "residual": rate ** np.arange(n), "error_X": 2 * rate ** np.arange(n)}
    return SolveResult(x=np.zeros(3), n_iter=n, history=history)


def test_plot_convergence_draws_one_log_line_per_solver():
    results = {"NIHT": fake_result(0.5), "NAHT": fake_result(0.7, 20)}
    fig = plot_convergence(results)
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["NIHT", "NAHT"]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "time [s]"
    assert "error" in ax.get_ylabel()
    np.testing.assert_allclose(lines[1].get_xdata(), results["NAHT"].history["time"])
    np.testing.assert_allclose(lines[0].get_ydata(), results["NIHT"].history["error_X"])
    fig = plot_convergence(results, key="residual")
    assert fig.axes[0].get_ylabel() == "relative residual"
    assert png_bytes(fig)[:4] == b"\x89PNG"


def test_plot_convergence_bad_input():
    with pytest.raises(ValueError, match="error_L"):
        plot_convergence({"NIHT": fake_result(0.5)}, key="error_L")
    with pytest.raises(ValueError, match="results"):
        plot_convergence({})


def test_plot_phase_image_colorbar_and_curves():
    deltas = np.linspace(0.1, 0.9, 5)
    rhos = np.linspace(0.05, 0.5, 4)
    success = (rhos[:, None] < 0.4 * deltas[None, :] + 0.1).astype(float)
    fig = plot_phase(deltas, rhos, success)
    ax = fig.axes[0]
    meshes = [c for c in ax.collections if isinstance(c, QuadMesh)]
    assert len(meshes) == 1 and meshes[0].get_array().size == success.size
    assert len(fig.axes) == 2  # the colour bar
    assert not ax.get_lines()

    fig = plot_phase(deltas, rhos, success, curve=(deltas, 0.4 * deltas + 0.1))
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["reference"]
    fig = plot_phase(deltas, rhos, success,
                     curve={"l1": lambda d: 0.3 * d, "RIP": (deltas, 0.05 * deltas)})
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["l1", "RIP"]
    np.testing.assert_allclose(lines[0].get_ydata(), 0.3 * lines[0].get_xdata())
    assert png_bytes(fig)[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="success"):
        plot_phase(deltas, rhos, success.T)


def test_importing_cs_does_not_import_matplotlib():
    code = ("import sys, cs, cs.ric, cs.cli; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------- phase studies

def made_summary(tmp_path, study, rate, name="s.sqlite"):
    """A store whose cells succeed with probability ``rate(cell)`` (rows written, no solver run)."""
    from cs.experiments import Store, summarise

    path = tmp_path / name
    with Store(path, study.to_dict()) as store:
        for cell in study.cells():
            wins = round(rate(cell) * study.trials)
            for t in range(study.trials):
                store.add(dict(cell=cell.index, trial=t, seed="0", iterations=5, seconds=0.1,
                               success=int(t < wins), reason="made"))
    return summarise(path)


def sparse_study(solver="niht"):
    from cs.experiments import Study

    return Study("sparse", (100,), deltas=[0.2, 0.5, 0.8], rhos=[0.1, 0.2, 0.3, 0.4, 0.5], trials=4,
                 solver=solver)


def test_plot_phase_study_image_fit_and_reference(tmp_path):
    from cs.experiments import donoho_tanner_rho, transition_curve
    from cs.plotting import plot_phase_study

    summary = made_summary(tmp_path, sparse_study(), lambda c: float(c.rho < 0.2 + 0.3 * c.delta))
    fig = plot_phase_study(summary)
    ax = fig.axes[0]
    mesh = [c for c in ax.collections if isinstance(c, QuadMesh)][0]
    np.testing.assert_array_equal(np.asarray(mesh.get_array()).reshape(5, 3), summary.grid()[2])
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"50% (logistic fit)", "l1 weak transition (Donoho-Tanner)"}
    curve = transition_curve(summary)
    np.testing.assert_allclose(lines["50% (logistic fit)"].get_ydata(), [r["rho_50"] for r in curve])
    ref = lines["l1 weak transition (Donoho-Tanner)"]
    np.testing.assert_allclose(ref.get_ydata(), donoho_tanner_rho(ref.get_xdata()))
    assert "niht" in ax.get_title() and ax.get_ylabel() == r"$\rho = k/p$"
    assert png_bytes(fig)[:4] == b"\x89PNG"
    assert len(plot_phase_study(summary, reference=None).axes[0].get_lines()) == 1


def test_plot_phase_curves_one_line_per_store(tmp_path):
    from cs.experiments import transition_curve
    from cs.plotting import plot_phase_curves

    a = made_summary(tmp_path, sparse_study("niht"), lambda c: float(c.rho < 0.05 + 0.3 * c.delta), "a.sqlite")
    b = made_summary(tmp_path, sparse_study("l1"), lambda c: float(c.rho < 0.1 + 0.4 * c.delta), "b.sqlite")
    fig = plot_phase_curves([a, b])
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["niht (gaussian)", "l1 (gaussian)",
                                                    "l1 weak transition (Donoho-Tanner)"]
    np.testing.assert_allclose(lines[1].get_ydata(), [r["rho_50"] for r in transition_curve(b)])
    assert np.all(lines[1].get_ydata() >= lines[0].get_ydata()) and lines[1].get_ydata()[-1] > 0.4
    assert png_bytes(fig)[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="labels has 1 entries"):
        plot_phase_curves([a, b], labels=["x"])


def test_plot_ls_plane_panels_per_delta(tmp_path):
    from cs.experiments import Study
    from cs.plotting import plot_ls_plane, plot_phase_study

    study = Study("ls", (20, 20), operator="fjlt", deltas=[0.2, 0.4, 0.6, 0.8, 1.0],
                  rho_r=[0.1, 0.2, 0.3], rho_s=[0.1, 0.2, 0.3, 0.4], trials=2)
    summary = made_summary(tmp_path, study, lambda c: float(c.rho_r + c.rho_s < 0.7 * c.delta))
    fig = plot_ls_plane(summary, max_panels=3)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == [r"$\delta = 0.2$", r"$\delta = 0.6$", r"$\delta = 1$"]
    mesh = [c for c in panels[1].collections if isinstance(c, QuadMesh)][0]
    rates = np.ma.masked_invalid(summary.grid(0.6)[2])
    np.testing.assert_array_equal(np.ma.getmaskarray(mesh.get_array()).reshape(4, 3), rates.mask)
    assert any(line.get_label() == "50% (logistic fit)" for line in panels[2].get_lines())
    assert png_bytes(fig)[:4] == b"\x89PNG"
    assert len([ax for ax in plot_ls_plane(summary, deltas=[0.4]).axes if ax.get_title()]) == 1
    with pytest.raises(ValueError, match="plot_ls_plane"):
        plot_phase_study(summary)
