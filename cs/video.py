r"""Background and foreground of a video from compressive measurements.

A clip of ``T`` frames of ``N`` pixels is the ``N x T`` matrix ``X`` whose
columns are the frames (:func:`cs.datasets.video.to_matrix`).  A static
background is a rank-one matrix (a global change of illumination only
rescales its columns) and the objects moving through it occupy a small
fraction of the entries, so ``X = L + S`` with ``L`` of rank ``r`` and ``S``
sparse.  Tanner & Vary (2023, Sec. 5.2, Fig. 4) measure ``p = delta N T``
FJLT measurements ``b = A(X)`` and recover ``L`` (the background) and ``S``
(the foreground) by L+S NIHT -- from a third of the measurements
(``delta = 0.33``, rank 1, 4.95 % of the entries sparse) on their ``shop``
clip.  :func:`separate` does that for a whole clip, or, for clips too long
for one solve, in overlapping temporal windows (:func:`separate_windows`),
each warm-started from the previous window's background and cross-faded
into its neighbours.  ``delta = 1`` observes the clip fully and runs robust
PCA on it directly: the reference the compressive run is compared with.

References
----------
J. Tanner and S. Vary, "Compressed sensing of low-rank plus sparse matrices",
Appl. Comput. Harmon. Anal. 64:254-293, 2023 (arXiv:2007.09457), Sec. 5.2.
E. J. Candès, X. Li, Y. Ma and J. Wright, "Robust principal component
analysis?", J. ACM 58(3), 2011 (video background subtraction as L + S).
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import time
from dataclasses import dataclass, field

import numpy as np

from . import metrics, operators
from ._validation import as_rng, check_array, check_choice, check_dtype, check_int, check_real
from .datasets.video import from_matrix, to_matrix

__all__ = ["Separation", "separate", "separate_windows", "foreground_mask", "score", "check_model"]

#: Operators a video can be measured with: fast ones only (a dense Gaussian
#: matrix for a 140 x 190 x 150 clip would need 2.6e12 entries).
OPERATORS = ("fjlt", "fjlt2d", "subsampled_dct", "entry_sampling", "sparse_expander")

#: Colour layouts: the channels stacked as rows of one matrix (default), or
#: one separation per channel.
COLOUR = ("stacked", "per_channel")


@dataclass(frozen=True)
class Separation:
    """Background and foreground of a clip.

    Attributes
    ----------
    background, foreground, reconstruction : ndarray
        Shaped like the input frames; ``reconstruction = background +
        foreground`` (the estimate of the clip itself).
    mask : (T, H, W) bool ndarray
        The foreground mask: ``|foreground| > threshold`` in any channel.
    result : SolveResult
        The solver's result (the last one when there were several windows or
        channels); ``results`` holds them all, in order, the earlier ones
        without their estimates (``x``, ``L``, ``S`` are None: the separation
        holds them), so that a long clip's memory stays bounded.
    info : dict
        ``seconds`` (wall time by part: ``measure``, ``solve``, and the
        solver's own split ``operator``/``projection``/``other`` summed over
        solves), ``n_measurements``, ``sparsity`` (entries per solve),
        ``threshold``, ``windows`` (frame ranges), ``iterations`` (total).
    """

    background: np.ndarray
    foreground: np.ndarray
    reconstruction: np.ndarray
    mask: np.ndarray
    result: object
    results: tuple = ()
    info: dict = field(default_factory=dict)


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------

def _check_frames(frames):
    frames = check_array(frames, "frames", ndim=(3, 4), allow_complex=False)
    if frames.ndim == 4 and frames.shape[3] not in (1, 3):
        raise ValueError(f"frames must have 1 or 3 channels, got shape {frames.shape}")
    if min(frames.shape[:3]) < 1:
        raise ValueError(f"frames must hold at least one frame of one pixel, got shape {frames.shape}")
    return frames


def check_model(m, n, delta, rank, sparsity):
    """``(p, rank, s)``: measurements and sparse entries for the ``m x n`` video matrix.

    Raises a ValueError naming the argument when the rank exceeds
    ``min(m, n)`` or when the model has at least as many degrees of freedom
    ``r (m + n - r) + s`` as there are measurements ``p = round(delta m n)``
    (then no method can recover it).
    """
    size = m * n
    rank = check_int(rank, "rank", low=1, high=min(m, n),
                     high_what=f"min(pixels, frames) of the {m} x {n} video matrix")
    s = round(sparsity * size)
    p = size if delta == 1.0 else max(1, round(delta * size))
    dof = rank * (m + n - rank) + s
    if delta < 1.0 and dof >= p:
        raise ValueError(f"rank={rank} and sparsity={sparsity:g} have {dof} degrees of freedom "
                         f"(r (m + n - r) + s for the {m} x {n} video matrix), but delta={delta:g} "
                         f"gives only {p} measurements: lower rank or sparsity, or raise delta")
    return p, rank, s


def _check_options(delta, rank, sparsity, solver, operator, colour, threshold):
    delta = check_real(delta, "delta", low=0.0, low_open=True, high=1.0)
    sparsity = check_real(sparsity, "sparsity", low=0.0, high=1.0, high_open=True)
    check_int(rank, "rank", low=1)
    solver = check_choice(solver, "solver", {"niht", "naht"})
    operator = check_choice(operator, "operator", set(OPERATORS))
    colour = check_choice(colour, "colour", set(COLOUR))
    if threshold is not None:
        threshold = check_real(threshold, "threshold", low=0.0)
    return delta, sparsity, solver, operator, colour, threshold


# --------------------------------------------------------------------------
# One solve
# --------------------------------------------------------------------------

class _Progress:
    """A tqdm bar over solver iterations, showing the relative residual."""

    def __init__(self, enabled, desc):
        from tqdm.auto import tqdm

        self.bar = tqdm(desc=desc, unit="it", disable=not enabled, leave=False, dynamic_ncols=True)

    def __call__(self, iterate):
        """The solvers' callback: one iteration done (never asks to stop)."""
        self.bar.update(1)
        self.bar.set_postfix_str(f"residual {iterate.residual:.2e}", refresh=False)
        return False

    def close(self):
        self.bar.close()


def _solve_matrix(M, *, delta, rank, sparsity, solver, operator, tol, rate_tol, rate_window, max_iter, rng,
                  progress, desc, init, seconds):
    """(L, S, SolveResult, p, s) for one pixels x frames matrix."""
    from .solvers import naht, niht

    m, n = M.shape
    p, rank, s = check_model(m, n, delta, rank, sparsity)
    bar = _Progress(progress, desc)
    try:
        if delta == 1.0:
            start = time.perf_counter()
            res = _full_rpca(M, rank, s, tol=tol, max_iter=max_iter, rng=rng, callback=bar)
            seconds["solve"] = seconds.get("solve", 0.0) + time.perf_counter() - start
            return res.L, res.S, res, p, s
        start = time.perf_counter()
        A = getattr(operators, operator)(p, (m, n), rng=rng, dtype=M.dtype)
        b = A.forward(M)
        seconds["measure"] = seconds.get("measure", 0.0) + time.perf_counter() - start
        kwargs = dict(rank=rank, sparsity=s, tol=tol, rate_tol=rate_tol, rate_window=rate_window,
                      max_iter=max_iter, callback=bar, rng=rng)
        if solver == "niht" and init is not None:
            kwargs["init"] = init
        start = time.perf_counter()
        res = (niht if solver == "niht" else naht)(A, b, **kwargs)
        seconds["solve"] = seconds.get("solve", 0.0) + time.perf_counter() - start
        for part, value in res.info.get("seconds", {}).items():
            seconds[f"solve.{part}"] = seconds.get(f"solve.{part}", 0.0) + value
        L = res.L if res.L is not None else np.zeros_like(M)
        S = res.S if res.S is not None else np.zeros_like(M)
        return L, S, res, p, s
    finally:
        bar.close()


def _full_rpca(M, rank, s, *, tol, max_iter, rng, callback):
    """Robust PCA of a fully observed clip, in two stages.

    Robust PCA with a fixed budget of ``s`` entries from a cold start can
    stall at a ghost: an object that stays in one place for a while is
    averaged into the rank-one background, and the budget cannot cover the
    ghost's many small residuals.  Thresholded AccAltProj (no budget; its
    thresholds fall with the singular values, Cai, Cai & Wei 2019) does not,
    so it runs first; the rank-r plus s-sparse projection then starts from
    its background and the s largest entries of what is left.
    """
    from .solvers import project_ls, rpca
    from .threshold import hard

    res = rpca(M, rank=rank, method="accaltproj", tol=1e-6 if tol is None else tol,
               max_iter=100 if max_iter is None else max_iter, rng=rng, callback=callback)
    if s == 0 or s == M.size:
        return res
    split = project_ls(M, rank, s, init=(res.L, hard(M - res.L, s)), tol=1e-6, max_iter=100, rng=rng)
    return dataclasses.replace(res, x=split.L + split.S, L=split.L, S=split.S,
                               info={**res.info, "nnz_S": int(np.count_nonzero(split.S)),
                                     "polish_iterations": split.n_iter})


def _split_block(frames, *, colour, init=None, **options):
    """Background and foreground of one block of frames (all of them, or one window)."""
    if frames.ndim == 4 and colour == "per_channel" and frames.shape[3] > 1:
        parts = [_split_block(frames[..., c], colour=colour,
                              init=None if init is None else (init[0][..., c], init[1][..., c]),
                              **{**options, "desc": f"{options['desc']} channel {c}"})
                 for c in range(frames.shape[3])]
        L = np.stack([q[0] for q in parts], axis=-1)
        S = np.stack([q[1] for q in parts], axis=-1)
        return L, S, [r for q in parts for r in q[2]], parts[0][3], parts[0][4]
    M = to_matrix(frames)
    use_init = init is not None and options["solver"] == "niht" and options["delta"] < 1
    matrix_init = (to_matrix(init[0]), to_matrix(init[1])) if use_init else None
    L, S, res, p, s = _solve_matrix(M, init=matrix_init, **options)
    return from_matrix(L, frames.shape[1:]), from_matrix(S, frames.shape[1:]), [res], p, s


# --------------------------------------------------------------------------
# Foreground mask and scores
# --------------------------------------------------------------------------

def foreground_mask(foreground, threshold=None):
    r"""Where the foreground is: ``|S| > threshold`` in any channel.

    The default threshold is half the Otsu threshold of the nonzero
    magnitudes of ``S`` (at least 0.02, i.e. five grey levels): the entries
    NIHT keeps in ``S`` fall into two groups -- real foreground, and a
    population of small entries filling the sparsity budget where the
    foreground is smaller than it -- and Otsu's split between them is stable
    whichever group is larger; halving it keeps the faint edges of objects.
    """
    S = np.asarray(foreground)
    magnitude = np.abs(S) if S.ndim == 3 else np.abs(S).max(axis=-1)
    if threshold is None:
        threshold = _auto_threshold(magnitude)
    return magnitude > threshold, float(threshold)


def _auto_threshold(magnitude):
    from skimage.filters import threshold_otsu

    values = magnitude[magnitude > 0]
    if values.size < 2 or values.min() == values.max():
        return 0.02
    return max(0.02, 0.5 * float(threshold_otsu(values.astype(np.float64))))


def score(separation, frames, *, mask_true=None, background_true=None):
    """Quality numbers of a separation: a dict ready for ``metrics.json``.

    ``mean_psnr`` is the mean over frames of the PSNR (dB, peak 1) of the
    reconstruction against ``frames``; ``psnr`` the per-frame values;
    ``relative_error`` :math:`\\|\\hat X - X\\|_F / \\|X\\|_F`; with the
    truth, ``f_measure``/``precision``/``recall`` of the mask and
    ``background_psnr``.
    """
    frames = np.asarray(frames)
    rec = separation.reconstruction
    per_frame = [float(metrics.psnr(rec[t], frames[t], data_range=1.0)) for t in range(frames.shape[0])]
    out = {"mean_psnr": float(np.mean(per_frame)), "psnr": per_frame,
           "relative_error": float(metrics.relative_error(rec, frames))}
    if mask_true is not None:
        found = metrics.support_recovery(separation.mask, np.asarray(mask_true))
        out.update(f_measure=found.f_measure, precision=found.precision, recall=found.recall)
    if background_true is not None:
        out["background_psnr"] = float(metrics.psnr(separation.background, background_true, data_range=1.0))
    return out


# --------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------

def separate(frames, *, delta=0.33, rank=1, sparsity=0.05, solver="niht", operator="fjlt",
             dtype=np.float32, rng=None, progress=False, window=None, overlap=None, colour="stacked",
             threshold=None, tol=None, rate_tol=0.99, rate_window=5, max_iter=300):
    r"""Background and foreground of a clip from ``delta`` of its measurements.

    With ``X`` the ``pixels x frames`` matrix of the clip, measure
    :math:`b = \mathcal{A}(X)` with ``p = round(delta * X.size)``
    measurements of a fast operator (default the FJLT of Tanner & Vary) and
    recover :math:`X \approx L + S`, ``rank L <= rank``,
    :math:`\|S\|_0 \le` ``sparsity * X.size``, by L+S NIHT (Tanner & Vary
    2023, Algorithm 1) or NAHT.  ``delta = 1`` skips the measurements and
    runs robust PCA (AccAltProj with the same rank and sparsity) on ``X``.

    Parameters
    ----------
    frames : (T, H, W) or (T, H, W, C) array
        The clip, values in [0, 1] (any real values work; the mask threshold
        and PSNR assume that scale).
    delta : float in (0, 1]
        Measurements per entry, ``p / (H W C T)``.
    rank : int
        Rank of the background (1: static; 2-3 absorb slow global changes).
    sparsity : float in [0, 1)
        Fraction of the entries allowed in the foreground.
    solver : {"niht", "naht"}
    operator : {"fjlt", "fjlt2d", "subsampled_dct", "entry_sampling", "sparse_expander"}
    dtype : float32 or float64
        Working precision (float32 halves memory and time).
    rng : int or Generator
        The operator's randomness and the randomised SVDs.
    progress : bool
        Show a progress bar (iterations and relative residual) on stderr.
    window : int, optional
        Solve in overlapping windows of this many frames
        (:func:`separate_windows`); default one solve for the clip.
    overlap : int, optional
        Frames shared by consecutive windows (default ``window // 4``).
    colour : {"stacked", "per_channel"}
        For ``(T, H, W, 3)`` input: ``"stacked"`` (default) puts the three
        channels of a frame in one column, so one solve with the same rank
        and sparsity fraction recovers all of them -- a static colour
        background is still rank one, an object moves in all channels at
        once, and the FJLT mixes the channels; ``"per_channel"`` runs three
        independent solves (three times the operator set-up, and three
        masks that can disagree).
    threshold : float, optional
        Foreground mask threshold (see :func:`foreground_mask`).
    tol, rate_tol, rate_window, max_iter
        Passed to the solver (default tolerance: 1e-5 in float32).  The
        stall test stops when the mean rate of the relative residual over
        ``rate_window`` iterations exceeds ``rate_tol``: 0.99 over 5 here
        rather than the solvers' 0.999 over 15, because a real clip is noisy,
        its residual floors at the noise level, and the last per cent per
        iteration changes no pixel visibly.  On the built-in scene at the
        paper's size (140 x 190 x 150, delta 0.33) the mean PSNR is 44.98 dB
        at iteration 25 and 44.93 dB at 35, where a 15-iteration window
        stopped; the F-measure is 1.0000 from iteration 18 on; 5 iterations
        stop it at 28 (``benchmarks/bench_video.py``).

    Returns
    -------
    Separation

    Raises
    ------
    ValueError
        ``delta`` outside (0, 1], ``sparsity`` outside [0, 1), a rank above
        ``min(pixels, frames)``, or a model with more degrees of freedom
        ``r (m + n - r) + s`` than measurements.

    Examples
    --------
    >>> from cs.datasets.video import scene
    >>> clip = scene((32, 48), 24, rng=0)
    >>> sep = separate(clip.frames, delta=0.5, sparsity=0.05, rng=0)
    >>> sep.background.shape, sep.mask.dtype
    ((24, 32, 48), dtype('bool'))
    """
    frames = _check_frames(frames)
    delta, sparsity, solver, operator, colour, threshold = _check_options(
        delta, rank, sparsity, solver, operator, colour, threshold)
    dtype = check_dtype(dtype)
    frames = frames.astype(dtype, copy=False)
    if window is not None:
        parts = list(separate_windows(iter(frames), window=window, overlap=overlap, delta=delta,
                                      rank=rank, sparsity=sparsity, solver=solver, operator=operator,
                                      dtype=dtype, rng=rng, progress=progress, colour=colour,
                                      threshold=threshold, tol=tol, rate_tol=rate_tol,
                                      rate_window=rate_window, max_iter=max_iter))
        final = parts[-1]
        background = np.concatenate([c.background for c in parts])
        foreground = np.concatenate([c.foreground for c in parts])
        mask = np.concatenate([c.mask for c in parts])
        return Separation(background, foreground, background + foreground, mask, final.result,
                          final.results, final.info)
    rng = as_rng(rng)
    seconds = {}
    start = time.perf_counter()
    L, S, results, p, s = _split_block(frames, colour=colour, delta=delta, rank=rank, sparsity=sparsity,
                                       solver=solver, operator=operator, tol=tol, rate_tol=rate_tol,
                                       rate_window=rate_window, max_iter=max_iter, rng=rng,
                                       progress=progress, desc="separating",
                                       seconds=seconds)
    mask, threshold = foreground_mask(S, threshold)
    seconds["total"] = time.perf_counter() - start
    info = {"seconds": seconds, "n_measurements": p, "sparsity": s, "threshold": threshold,
            "windows": [(0, frames.shape[0])], "iterations": sum(r.n_iter for r in results)}
    results = [_without_estimates(r) for r in results[:-1]] + results[-1:]
    return Separation(L, S, L + S, mask, results[-1], tuple(results), info)


def separate_windows(frames, *, window, overlap=None, delta=0.33, rank=1, sparsity=0.05, solver="niht",
                     operator="fjlt", dtype=np.float32, rng=None, progress=False, colour="stacked",
                     threshold=None, tol=None, rate_tol=0.99, rate_window=5, max_iter=300):
    r"""Separate a long clip in overlapping temporal windows, in bounded memory.

    ``frames`` is any iterable of frames (an array, or a generator such as
    :func:`cs.datasets.video.iter_video`'s frames): at most ``window``
    frames and the previous window's overlapping results are held at once.
    Window ``k`` covers frames ``[k (w - o), k (w - o) + w)``; the last one
    is moved back to end with the clip (so it shares more than ``o`` frames
    with the one before, and every window has ``w`` frames when the clip
    has); each is measured with its own operator and solved
    as in :func:`separate`, warm-started from the previous window's
    estimates on the shared frames and, over the new frames, its last
    background frame repeated (the prediction of a static background) with
    no foreground -- NIHT's ``init`` (NAHT starts cold).  On the ``o``
    shared frames the two
    estimates are cross-faded linearly,

    .. math:: \hat X_t = (1 - \lambda_t)\hat X^{(k)}_t + \lambda_t \hat X^{(k+1)}_t,
              \qquad \lambda_t = \frac{t - s_{k+1} + 1}{o + 1},

    and the mask of a shared frame is taken from the window whose centre is
    nearer.

    Yields
    ------
    Separation
        One per window, holding only the frames finished by it (``info``
        says which: ``info["frames"] = (start, stop)``), in order; its
        ``result`` is the latest :class:`SolveResult`, ``results`` all so
        far.  The last also carries the totals in ``info`` (``seconds``,
        ``windows``, ``iterations``).

    Raises
    ------
    ValueError
        ``window`` below 2, ``overlap`` not in [0, window), frames of
        different shapes, or the options :func:`separate` rejects.
    """
    window = check_int(window, "window", low=2)
    overlap = window // 4 if overlap is None else check_int(overlap, "overlap", low=0, high=window - 1,
                                                          high_what="window - 1")
    delta, sparsity, solver, operator, colour, threshold = _check_options(
        delta, rank, sparsity, solver, operator, colour, threshold)
    dtype = check_dtype(dtype)
    rng = as_rng(rng)
    totals = {"seconds": {}, "results": [], "windows": [], "start": time.perf_counter()}
    held = collections.deque(maxlen=window)   # the last `window` frames read
    n_read = 0
    pending = None      # (start, L, S, mask): the previous window's estimates not yet emitted
    iterator = iter(frames)
    need = window
    while True:
        new = 0
        for frame in itertools.islice(iterator, need):
            frame = np.asarray(frame, dtype=dtype)
            if held and frame.shape != held[0].shape:
                raise ValueError(f"frame {n_read} has shape {frame.shape}, the clip's frames {held[0].shape}")
            held.append(frame)
            new += 1
            n_read += 1
        exhausted = new < need
        if new == 0:
            if pending is None:
                raise ValueError("frames is empty")
            yield _chunk(pending, totals, last=True)
            return
        start = n_read - len(held)
        block = _check_frames(np.stack(held))
        init = None if pending is None else _warm_start(pending, start, block.shape[0])
        number = len(totals["windows"]) + 1
        L, S, res, p, s = _split_block(block, colour=colour, init=init, delta=delta, rank=rank,
                                       sparsity=sparsity, solver=solver, operator=operator, tol=tol,
                                       rate_tol=rate_tol, rate_window=rate_window, max_iter=max_iter,
                                       rng=rng, progress=progress,
                                       desc=f"window {number} (frames {start}-{n_read - 1})",
                                       seconds=totals["seconds"])
        # earlier windows keep their numbers but not their estimates: memory stays bounded
        totals["results"] = [_without_estimates(r) for r in totals["results"]] + res
        totals["windows"].append((start, n_read))
        totals.update(n_measurements=p, sparsity=s)
        mask, totals["threshold"] = foreground_mask(S, threshold)
        emit_from = start
        if pending is not None:
            # cross-fade the frames both windows estimated: [pending start, previous window's end)
            p_start, pL, pS, pmask = pending
            lo, shared = p_start - start, pL.shape[0]
            lam = (np.arange(1, shared + 1, dtype=dtype) / (shared + 1)).reshape((-1,) + (1,) * (L.ndim - 1))
            L[lo:lo + shared] = (1 - lam) * pL + lam * L[lo:lo + shared]
            S[lo:lo + shared] = (1 - lam) * pS + lam * S[lo:lo + shared]
            nearer_old = np.arange(shared) < shared / 2
            mask[lo:lo + shared][nearer_old] = pmask[nearer_old]
            emit_from = p_start
        keep = 0 if exhausted else overlap       # frames the next window will share
        cut = block.shape[0] - keep
        lo = emit_from - start
        yield _chunk((emit_from, L[lo:cut], S[lo:cut], mask[lo:cut]), totals, last=exhausted)
        if exhausted:
            return
        pending = (start + cut, L[cut:], S[cut:], mask[cut:])
        need = window - overlap


def _without_estimates(result):
    """A SolveResult's numbers (iterations, histories, info) without its arrays x, L, S."""
    if result.x is None:
        return result
    return dataclasses.replace(result, x=None, L=None, S=None)


def _warm_start(pending, start, length):
    """(L0, S0) for a window of ``length`` frames from ``start``: the previous window's estimates on
    the frames it shares, elsewhere its nearest background frame and no foreground."""
    p_start, pL, pS, _ = pending
    lo = p_start - start
    L0 = np.empty((length,) + pL.shape[1:], pL.dtype)
    S0 = np.zeros_like(L0)
    L0[:lo] = pL[0]
    L0[lo:lo + pL.shape[0]] = pL
    S0[lo:lo + pL.shape[0]] = pS
    L0[lo + pL.shape[0]:] = pL[-1]
    return L0, S0


def _chunk(part, totals, *, last):
    start, L, S, mask = part
    info = {"frames": (start, start + L.shape[0]), "n_measurements": totals["n_measurements"],
            "sparsity": totals["sparsity"], "threshold": totals["threshold"]}
    if last:
        info.update(seconds={**totals["seconds"], "total": time.perf_counter() - totals["start"]},
                    windows=list(totals["windows"]),
                    iterations=sum(r.n_iter for r in totals["results"]))
    results = tuple(totals["results"])
    return Separation(L, S, L + S, mask, results[-1], results, info)
