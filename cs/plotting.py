"""Figures for ``cs``: restricted isometry constants, convergence, phase transitions.

Every function draws on a given ``ax`` or on a new
:class:`matplotlib.figure.Figure` (created without ``pyplot``, so no GUI
backend is touched and the functions are safe under Agg and in threads) and
returns the figure.  Save it with ``fig.savefig(path)``.

References
----------
J. D. Blanchard, C. Cartis and J. Tanner, "Compressed sensing: how sharp is the
restricted isometry property?", SIAM Review 53(1), 2011 (RIC bounds).
J. Tanner and S. Vary, "Compressed sensing of low-rank plus sparse matrices",
Appl. Comput. Harmon. Anal. 64, 2023, Figure 2 (convergence against time).
D. L. Donoho and J. Tanner, "Counting faces of randomly projected polytopes
when the projection radically lowers dimension", J. AMS 22(1), 2009 (phase
transitions).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["plot_ric", "plot_convergence", "plot_phase"]


def _figure_and_axes(ax, figsize=(6.0, 4.5)):
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _as_vector(values, name, size=None):
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if size is not None and arr.size != size:
        raise ValueError(f"{name} has {arr.size} entries but deltas has {size}")
    return arr


def plot_ric(deltas, results=None, *, lower=None, upper=None, bounds=None, ax=None, title=None):
    r"""Estimated restricted isometry constants (and bounds) against :math:`\delta = p/N`.

    Parameters
    ----------
    deltas : sequence of float
        The undersampling ratios, one per estimate.
    results : sequence of :class:`cs.ric.RICResult`, optional
        The estimates; or give the arrays ``lower`` and ``upper`` directly.
    lower, upper : sequence of float, optional
        Estimates of ``L`` and ``U`` (used when ``results`` is not given).
    bounds : (L, U) pair of sequences, optional
        Upper bounds to draw dashed above the estimates, e.g.
        ``cs.ric.bct_bounds(deltas, rhos)`` for Gaussian matrices.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Lines labelled ``"L estimate"``, ``"U estimate"`` and, with bounds,
        ``"L bound"``, ``"U bound"``.
    """
    deltas = _as_vector(deltas, "deltas")
    if results is not None:
        lower = [res.lower for res in results]
        upper = [res.upper for res in results]
    if lower is None or upper is None:
        raise ValueError("give results, or both lower and upper")
    lower = _as_vector(lower, "lower", deltas.size)
    upper = _as_vector(upper, "upper", deltas.size)
    fig, ax = _figure_and_axes(ax)
    ax.plot(deltas, lower, "o-", color="C0", label="L estimate")
    ax.plot(deltas, upper, "s-", color="C3", label="U estimate")
    if bounds is not None:
        bound_L, bound_U = bounds
        ax.plot(deltas, _as_vector(bound_L, "bounds[0]", deltas.size), "--", color="C0",
                label="L bound")
        ax.plot(deltas, _as_vector(bound_U, "bounds[1]", deltas.size), "--", color="C3",
                label="U bound")
    ax.set_xlabel(r"$\delta = p / N$")
    ax.set_ylabel("restricted isometry constant")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return fig


def plot_convergence(results, key="error_X", ax=None):
    """Relative error (log scale) against time for several solver runs.

    As in Figure 2 of Tanner & Vary (2023): one line per run, its
    ``history[key]`` against ``history["time"]``.

    Parameters
    ----------
    results : dict of str -> :class:`cs.solvers.SolveResult`
        The runs, by the name shown in the legend.
    key : str
        The history to draw: ``"error_X"`` (needs the truth passed to the
        solver), ``"error_L"``, ``"error_S"`` or ``"residual"``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(results, Mapping) or not results:
        raise ValueError("results must be a non-empty dict of name -> SolveResult")
    fig, ax = _figure_and_axes(ax)
    for name, res in results.items():
        history = getattr(res, "history", None)
        if history is None or key not in history or "time" not in history:
            raise ValueError(f"results[{name!r}] has no history[{key!r}] with history['time']"
                             + ("; pass the truth (X_true=...) to the solver to record errors"
                                if key.startswith("error") else ""))
        time = np.asarray(history["time"], dtype=np.float64)
        values = np.asarray(history[key], dtype=np.float64)
        n = min(time.size, values.size)
        ax.semilogy(time[:n], values[:n], label=str(name))
    ax.set_xlabel("time [s]")
    ax.set_ylabel("relative residual" if key == "residual" else
                  f"relative error of {key[6:] or 'X'}" if key.startswith("error_") else key)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return fig


def plot_phase(deltas, rhos, success, ax=None, curve=None):
    r"""A phase-transition diagram: success rate over the :math:`(\delta, \rho)` plane.

    Parameters
    ----------
    deltas : sequence of float, length nd
        Undersampling ratios (x axis).
    rhos : sequence of float, length nr
        Oversampling ratios (y axis).
    success : array_like, shape (nr, nd)
        Fraction of successful trials in each cell, in [0, 1].
    ax : matplotlib Axes, optional
    curve : optional
        A reference curve: a pair ``(delta_values, rho_values)``, a callable
        ``rho = curve(delta)`` evaluated on ``deltas``, or a dict
        ``label -> either of those`` for several curves.

    Returns
    -------
    matplotlib.figure.Figure
        With the image (a ``QuadMesh``), a colour bar and one line per curve.
    """
    deltas = _as_vector(deltas, "deltas")
    rhos = _as_vector(rhos, "rhos")
    success = np.asarray(success, dtype=np.float64)
    if success.shape != (rhos.size, deltas.size):
        raise ValueError(f"success must have shape (len(rhos), len(deltas)) = "
                         f"{(rhos.size, deltas.size)}, got {success.shape}")
    fig, ax = _figure_and_axes(ax)
    mesh = ax.pcolormesh(deltas, rhos, success, shading="nearest", cmap="gray", vmin=0.0, vmax=1.0)
    fig.colorbar(mesh, ax=ax, label="success rate")
    xlim, ylim = ax.get_xlim(), ax.get_ylim()  # the cells' extent; curves may run beyond it
    if curve is not None:
        curves = curve if isinstance(curve, Mapping) else {"reference": curve}
        for i, (label, spec) in enumerate(curves.items()):
            if callable(spec):
                x = np.linspace(deltas.min(), deltas.max(), 200)
                y = np.asarray(spec(x), dtype=np.float64)
            else:
                x, y = (np.asarray(v, dtype=np.float64) for v in spec)
            ax.plot(x, y, color=f"C{i + 1}", linewidth=2, label=str(label))
        ax.legend(loc="upper left")
    ax.set_xlabel(r"$\delta$")
    ax.set_ylabel(r"$\rho$")
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    return fig
