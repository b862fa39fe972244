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
