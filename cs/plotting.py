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
Appl. Comput. Harmon. Anal. 64, 2023, Figure 1 (the (rho_r, rho_s) plane) and
Figure 2 (convergence against time).
D. L. Donoho and J. Tanner, "Counting faces of randomly projected polytopes
when the projection radically lowers dimension", J. AMS 22(1), 2009 (phase
transitions).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["plot_ric", "plot_convergence", "plot_phase", "plot_phase_study", "plot_phase_curves",
           "plot_ls_plane"]


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


def _summary(study_or_summary):
    """A :class:`cs.experiments.Summary` from a summary, a store path or an open store."""
    from .experiments import Summary, summarise

    return study_or_summary if isinstance(study_or_summary, Summary) else summarise(study_or_summary)


def _curve_xy(curve, key):
    rows = [row for row in curve if np.isfinite(row[key])]
    return (np.array([row["delta"] for row in rows]), np.array([row[key] for row in rows]))


def _describe(study):
    size = " x ".join(str(s) for s in study.shape)
    return f"{study.solver}, {study.problem} {size}, {study.operator}, {study.trials} trials/cell"


def plot_phase_study(summary, *, ax=None, reference="auto", title=None):
    r"""The standard picture of a sparse or low-rank study: success rate over
    :math:`(\delta, \rho)` with its 50 % curve.

    Parameters
    ----------
    summary : :class:`cs.experiments.Summary`, or a store (path)
        A ``sparse`` or ``low_rank`` study.
    ax : matplotlib Axes, optional
    reference : "auto", None, or a curve as in :func:`plot_phase`
        ``"auto"`` adds the Donoho-Tanner weak transition of l1
        (:func:`cs.experiments.donoho_tanner_rho`) to sparse studies.
    title : str, optional
        Default: the solver, problem, operator and trials per cell.

    Returns
    -------
    matplotlib.figure.Figure
        The success-rate image (grey: black 0, white 1), a colour bar, the
        line ``"50% (logistic fit)"`` and the reference line.
    """
    from .experiments import donoho_tanner_rho, transition_curve

    summary = _summary(summary)
    study = summary.study
    if study.problem == "ls":
        raise ValueError("an ls study is drawn in the (rho_r, rho_s) plane: use plot_ls_plane")
    rhos, deltas, rates = summary.grid()
    curves = {"50% (logistic fit)": _curve_xy(transition_curve(summary), "rho_50")}
    if isinstance(reference, str) and reference == "auto":
        reference = ({"l1 weak transition (Donoho-Tanner)": donoho_tanner_rho}
                     if study.problem == "sparse" else None)
    if reference is not None:
        curves.update(reference if isinstance(reference, Mapping) else {"reference": reference})
    fig = plot_phase(deltas, rhos, np.ma.masked_invalid(rates), ax=ax, curve=curves)
    ax = fig.axes[0] if ax is None else ax
    if study.problem == "low_rank":
        ax.set_ylabel(r"$\rho_r = r(m+n-r)/p$")
    else:
        ax.set_ylabel(r"$\rho = k/p$")
    ax.set_xlabel(r"$\delta = p/N$")
    ax.set_title(title if title is not None else _describe(study), fontsize=9)
    return fig


def plot_phase_curves(summaries, *, ax=None, reference="auto", labels=None, title=None):
    r"""Several studies' 50 % curves on one figure (e.g. NIHT, NAHT, l1, the convex program).

    Parameters
    ----------
    summaries : sequence of :class:`cs.experiments.Summary` or store paths
        Sparse or low-rank studies (all of one problem family).
    ax : matplotlib Axes, optional
    reference : "auto" or None
        ``"auto"``: the Donoho-Tanner l1 curve when the studies are sparse.
    labels : sequence of str, optional
        Legend entries (default: solver and operator of each study).

    Returns
    -------
    matplotlib.figure.Figure
        One line with markers per study, in order, then the reference.
    """
    from .experiments import donoho_tanner_rho, transition_curve

    summaries = [_summary(s) for s in summaries]
    if not summaries:
        raise ValueError("summaries must hold at least one study")
    problems = {s.study.problem for s in summaries}
    if len(problems) != 1 or "ls" in problems:
        raise ValueError(f"plot_phase_curves compares sparse or low-rank studies of one family, "
                         f"got {sorted(problems)}")
    if labels is not None and len(labels) != len(summaries):
        raise ValueError(f"labels has {len(labels)} entries but there are {len(summaries)} studies")
    fig, ax = _figure_and_axes(ax)
    markers = "osD^vP*X"
    for i, summary in enumerate(summaries):
        x, y = _curve_xy(transition_curve(summary), "rho_50")
        label = labels[i] if labels is not None else f"{summary.study.solver} ({summary.study.operator})"
        ax.plot(x, y, marker=markers[i % len(markers)], color=f"C{i}", label=label)
    if reference == "auto" and problems == {"sparse"}:
        d = np.linspace(0.02, 1.0, 200)
        ax.plot(d, donoho_tanner_rho(d), "k--", linewidth=1, label="l1 weak transition (Donoho-Tanner)")
    ax.set_xlabel(r"$\delta = p/N$")
    ax.set_ylabel(r"$\rho_{50}$ (50% success, logistic fit)")
    ax.set_xlim(0, 1)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return fig


def plot_ls_plane(summary, deltas=None, *, max_panels=4, title=None):
    r"""Low-rank plus sparse studies in the :math:`(\rho_r, \rho_s)` plane, one panel per
    :math:`\delta` (Tanner & Vary 2023, Figure 1).

    Each panel shows the success rate of every :math:`(\rho_r, \rho_s)` cell
    at that :math:`\delta` (cells the walk skipped as settled are drawn
    with their assumed rate), the 50 % curve :math:`\rho_{s,50}(\rho_r)`
    from :func:`cs.experiments.transition_curve`, and the line
    :math:`\rho_r + \rho_s = 1` (as many measurements as degrees of freedom) when the grid
    reaches it.

    Parameters
    ----------
    summary : :class:`cs.experiments.Summary` or a store (path)
        An ``ls`` study.
    deltas : sequence of float, optional
        The panels' deltas (each snapped to the nearest grid value); default:
        up to ``max_panels`` evenly spread over the study's deltas.
    max_panels : int
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        One image axes per delta, titled ``"delta = ..."``, and a colour bar.
    """
    from matplotlib.figure import Figure

    from .experiments import transition_curve

    summary = _summary(summary)
    study = summary.study
    if study.problem != "ls":
        raise ValueError(f"plot_ls_plane draws ls studies, got a {study.problem} study")
    grid = np.array(study.deltas)
    if deltas is None:
        picks = np.unique(np.round(np.linspace(0, grid.size - 1, min(max_panels, grid.size))).astype(int))
        deltas = grid[picks]
    deltas = [float(grid[np.argmin(np.abs(grid - d))]) for d in _as_vector(deltas, "deltas")]
    curve = transition_curve(summary)
    fig = Figure(figsize=(3.2 * len(deltas) + 1.0, 3.4), layout="constrained")
    axes = fig.subplots(1, len(deltas), squeeze=False)[0]
    mesh = None
    for ax, delta in zip(axes, deltas):
        rho_r, rho_s, rates = summary.grid(delta)
        mesh = ax.pcolormesh(rho_r, rho_s, np.ma.masked_invalid(rates), shading="nearest", cmap="gray",
                             vmin=0.0, vmax=1.0)
        xlim, ylim = ax.get_xlim(), ax.get_ylim()
        rows = [r for r in curve if r["delta"] == delta and np.isfinite(r["rho_s_50"])]
        if rows:
            ax.plot([r["rho_r"] for r in rows], [r["rho_s_50"] for r in rows], "o-", color="C1",
                    label="50% (logistic fit)")
        if max(study.rho_r) + max(study.rho_s) >= 1.0:  # only when the grid reaches it
            ax.plot([0, 1], [1, 0], "--", color="C0", linewidth=1, label=r"$\rho_r + \rho_s = 1$")
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
        ax.set_title(rf"$\delta = {delta:g}$")
        ax.set_xlabel(r"$\rho_r = r(m+n-r)/p$")
    axes[0].set_ylabel(r"$\rho_s = s/p$")
    labelled = [ax for ax in axes if ax.get_legend_handles_labels()[1]]
    if labelled:
        labelled[0].legend(loc="upper right", fontsize=7)
    fig.colorbar(mesh, ax=list(axes), label="success rate")
    fig.suptitle(title if title is not None else _describe(study), fontsize=9)
    return fig
