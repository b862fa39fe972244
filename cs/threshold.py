"""The shared thresholding core of ``cs``.

Every projection the package uses lives here, once: keep-the-k-largest (hard
thresholding / top-k) over a whole array, along an axis, per group of
consecutive entries and N:M; the magnitude threshold for a target density and
hard thresholding at it; soft thresholding, the shifted ReLU, clipping and
their compositions; rank-r truncation by exact or randomised SVD, and singular
value soft thresholding.  NIHT/NAHT, robust PCA, the RIC searches, layered
thresholding, the sparsity-inducing activations and the pruning masks all call
these functions.

Semantics shared by every selection
-----------------------------------
* Magnitude is ``|x|`` (the modulus for complex input).
* Ties at the threshold are broken by the lowest index (C order), so results
  are deterministic.
* ``k = 0`` keeps nothing and ``k = size`` keeps everything.
* The output has the input's dtype (float32 stays float32).
* NaN or infinity raises ``ValueError``; so does ``k`` above the size.

References
----------
T. Blumensath and M. E. Davies, "Normalized iterative hard thresholding:
guaranteed stability and performance", IEEE J. Sel. Topics Signal Process.
4(2), 2010.
N. Halko, P.-G. Martinsson and J. A. Tropp, "Finding structure with
randomness", SIAM Review 53(2), 2011.
I. Price, N. Daultry Ball, S. C. H. Lam, A. C. Jones and J. Tanner, "Deep
neural network initialization with sparsity inducing activations", ICLR 2024.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from typing import NamedTuple

import numpy as np

from . import _kernels, _parallel
from ._validation import (as_rng, check_array, check_axis, check_choice, check_dtype,
                          check_int, check_real, is_all_finite)

__all__ = [
    "hard", "top_k_mask", "support", "nm", "tau_for_density", "hard_tau",
    "soft", "shifted_relu", "clip", "LowRank", "truncate_rank",
    "randomized_svd", "svt", "warm_up",
]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
# From this size a strided sample brackets the threshold (cs._kernels.select), below
# it the exact selection runs on every entry; measured with benchmarks/bench_threshold.py
# --crossover.  A missed bracket (heavy ties) also falls back to the exact selection.
_SAMPLED_MIN = 1 << 11
# Bins of the bucket selection: few for small selections (zeroing and scanning
# the histogram is the cost there), 1024 from _WIDE_HIST_MIN keys on.
_NARROW_HIST = 64
_WIDE_HIST = 1024
_WIDE_HIST_MIN = 1 << 11
# the flags of one block of the bracket pass, at the end of the kernel's work space
_FLAGS = _kernels._BLOCK + 8
# From this size threads share the pass of a selection over the whole array (each on a
# chunk; cs._parallel says how many); measured with benchmarks/bench_threshold.py.
_THREADED_MIN = 1 << 20


@functools.lru_cache(maxsize=256)
def _bracket(n, k):
    """(n_sample, i_lo, i_hi, capacity) of the sampled bracket of the k-th largest of n.

    n/16 sampled entries up to 2^14, then n/128 up to 2^16 (a wider sample
    narrows the bracket, and the bracket's entries are what the pass gathers);
    the ranks are the sample quantile widened by three of its standard
    deviations and 4 ranks (10-15% faster than four and 8 from 2048 to 16384
    entries; the bracket then missed 3 times in 3000 random draws at 4096
    entries, none at 10^5, each miss costing one exact selection); the
    capacity is 1.5 times the entries the bracket should hold.  Measured with
    benchmarks/bench_threshold.py.  Cached: NIHT asks for the same (n, k) every
    iteration, and the arithmetic costs a microsecond and a half.
    """
    n_sample = min(1 << 16, n // 16, max(1 << 14, n // 128))
    q = k / n
    spread = 3.0 * math.sqrt(q * (1.0 - q) * n_sample) + 4.0
    pos = n_sample * (1.0 - q)
    i_lo = max(int(pos - spread), 0)
    i_hi = min(int(pos + spread), n_sample - 1)
    capacity = min(int(1.5 * (i_hi - i_lo + 1) * (n / n_sample)) + 64, n)
    return n_sample, i_lo, i_hi, max(capacity, n_sample)


def _bins(n_keys):
    """The number of bins of a bucket selection over ``n_keys`` keys."""
    return _WIDE_HIST if n_keys >= _WIDE_HIST_MIN else _NARROW_HIST


def _select(x, k, axis, group_size, want_values, want_mask, name="k"):
    """Validate and run the top-k kernels; return (values or None, mask or None)."""
    if (axis is None and group_size is None and type(x) is np.ndarray and x.dtype in _FLOATS
            and type(k) is int and 0 < k < x.size):
        # the checks below would pass unchanged: skip them (microseconds on small arrays)
        return _select_flat(x, k, want_values, want_mask)
    x = check_array(x, "x", finite=False)
    if axis is None and group_size is None:
        k = check_int(k, name, low=0, high=x.size, high_what="the number of entries of x")
        return _select_flat(x, k, want_values, want_mask)
    if x.ndim == 0:
        raise ValueError("x must have at least one dimension when axis or group_size is given")
    axis = check_axis(-1 if axis is None else axis, x.ndim)
    moved = np.moveaxis(x, axis, -1)
    length = moved.shape[-1]
    if group_size is not None:
        group_size = check_int(group_size, "group_size", low=1)
        if length % group_size:
            raise ValueError(f"group_size={group_size} does not divide the length {length} of axis {axis}")
        k = check_int(k, name, low=0, high=group_size, high_what="group_size")
        rows = np.ascontiguousarray(moved).reshape(-1, group_size)
    else:
        k = check_int(k, name, low=0, high=length, high_what=f"the length of axis {axis}")
        rows = np.ascontiguousarray(moved).reshape(-1, max(length, 1))
    if length >= _SAMPLED_MIN and group_size is None and rows.dtype in _FLOATS and 0 < k < length:
        # long rows (few of them): the flat kernels row by row beat select_rows
        out = np.empty_like(rows)
        for row, row_out in zip(rows, out):
            if _flat_into(row, k, row_out) != 0:
                raise ValueError("x contains NaN or infinity")
        mask = np.stack([_mask_of(row, k, row_out) for row, row_out in zip(rows, out)]) \
            if want_mask else None
    else:
        out, mask = _select_rows(rows, k, want_values, want_mask)

    def back(arr):
        return np.moveaxis(arr.reshape(moved.shape), -1, axis)
    return (back(out) if want_values else None), (back(mask) if want_mask else None)


def _select_rows(rows, k, want_values, want_mask):
    if not is_all_finite(rows):
        raise ValueError("x contains NaN or infinity")
    mag = np.abs(rows)  # non-negative floats: their bits sort the same, as int64 keys
    keys = mag.view(np.int64) if mag.dtype == np.float64 else mag.view(np.int32).astype(np.int64)
    out = np.empty_like(rows) if want_values else np.zeros((0, 0), rows.dtype)
    mask = np.empty(rows.shape, bool) if want_mask else np.zeros((0, 0), bool)
    if rows.size:
        length = rows.shape[1]
        _kernels.select_rows(rows, keys, k, np.empty(length + _bins(length), np.int64), out, mask)
    return out, mask


def _select_flat(x, k, want_values, want_mask):
    flat = np.ascontiguousarray(x).reshape(-1)
    n = flat.size
    if k in (0, n):
        if not is_all_finite(flat):
            raise ValueError("x contains NaN or infinity")
        values = (flat.copy() if k else np.zeros_like(flat)).reshape(x.shape)
        mask = np.full(x.shape, bool(k))
        return (values if want_values else None), (mask if want_mask else None)
    if flat.dtype.kind == "c":
        # complex: select on the modulus, then pick the values
        _, mask = _select_flat(np.abs(flat), k, False, True)
        values = np.where(mask, flat, 0).reshape(x.shape) if want_values else None
        return values, (mask.reshape(x.shape) if want_mask else None)
    out = np.empty(n, flat.dtype)
    if _flat_into(flat, k, out) != 0:
        raise ValueError("x contains NaN or infinity")
    mask = _mask_of(flat, k, out).reshape(x.shape) if want_mask else None
    return (out.reshape(x.shape) if want_values else None), mask


def _bits(flat, out):
    """``(x32, x64, out32, out64)``: the kernels' views of a float32/float64 vector and its output."""
    if flat.itemsize == 8:
        return _kernels._EMPTY32, flat.view(np.int64), _kernels._EMPTY32, out.view(np.int64)
    return flat.view(np.int32), _kernels._EMPTY64, out.view(np.int32), _kernels._EMPTY64


def _flat_into_threaded(flat, k, out, n_threads):
    """:func:`_flat_into` for long vectors, its pass split among threads; ``None`` when a
    chunk's bracket overflowed (heavy ties) and the caller must run the whole selection.

    The bracket's keys come from the same strided sample as in the kernel (its order
    statistics by ``np.partition``); each thread then runs the kernel's pass alone
    (``k = -1``) on its chunk, writing the entries above the bracket and gathering those
    inside it, and the k-th largest is selected among the gathered entries, which are in
    index order, so ties still go to the lowest index.
    """
    n = flat.size
    n_sample, i_lo, i_hi, capacity = _bracket(n, k)
    wide = flat.itemsize == 8
    sample = np.abs(flat[::n // n_sample][:n_sample]).view(np.int64 if wide else np.int32)
    ranks = np.partition(sample, (i_lo, i_hi))
    inf = _kernels._INF64 if wide else _kernels._INF32
    lo = int(ranks[i_lo]) if i_lo > 0 else 0
    hi = int(ranks[i_hi]) if i_hi < n_sample - 1 else inf - 1
    if lo >= inf or hi >= inf:  # NaN or infinity in the sample
        return -1
    x32, x64, out32, out64 = _bits(flat, out)
    n_bins = _bins(capacity)
    bounds = [n * t // n_threads // 4096 * 4096 for t in range(n_threads)] + [n]

    def chunk(t):
        a, b = bounds[t], bounds[t + 1]
        work = np.empty(2 * capacity + n_bins + _FLAGS, np.int64)
        status = _kernels.select(x32[a:b], x64[a:b], -1, 0, lo, hi, capacity, n_bins, work,
                                 out32[a:b], out64[a:b])
        return status, work

    results = _parallel.run(chunk, n_threads)
    if any(status == -1 for status, _ in results):
        return -1
    if any(status == 1 for status, _ in results):
        return None
    counts = [int(work[2 * capacity]) for _, work in results]
    need = k - sum(int(work[2 * capacity + 1]) for _, work in results)
    if need < 0 or need > sum(counts):
        return None  # the bracket missed the k-th largest
    if need:
        idx = np.concatenate([work[:c] + bounds[t] for t, ((_, work), c) in enumerate(zip(results, counts))])
        values = flat[idx]
        if need < idx.size:
            kept = np.empty_like(values)
            if _flat_into(values, need, kept, threads=False) != 0:
                return -1
            values = kept
        out[idx] = values
    return 0


def _flat_into(flat, k, out, threads=True):
    """Top-k of the float32/float64 1-D C-contiguous ``flat`` (0 < k < size) into ``out``; the status."""
    n = flat.size
    if threads and n >= _THREADED_MIN:
        n_threads = _parallel.threads()
        if n_threads > 1:
            status = _flat_into_threaded(flat, k, out, n_threads)
            if status is not None:
                return status
    x32, x64, out32, out64 = _bits(flat, out)
    if n >= _SAMPLED_MIN:
        n_sample, i_lo, i_hi, capacity = _bracket(n, k)
        n_bins = _bins(capacity)
        status = _kernels.select(x32, x64, k, n_sample, i_lo, i_hi, capacity, n_bins,
                                 np.empty(2 * capacity + n_bins + _FLAGS, np.int64), out32, out64)
        if status != 1:
            return status
    # small array, or the bracket missed (heavy ties): the exact selection, the sample of everything
    n_bins = _bins(n)
    return _kernels.select(x32, x64, k, n, n - k, n - k, n, n_bins, np.empty(2 * n + n_bins + _FLAGS, np.int64),
                           out32, out64)


def _mask_of(flat, k, out):
    """The mask of the k kept entries, from the values ``out`` the kernels wrote.

    Kept entries are the nonzeros of ``out``, plus the lowest-index zeros of
    ``flat`` when the k-th largest magnitude is 0 (zeros tie, lowest first).
    """
    mask = out != 0
    missing = k - int(np.count_nonzero(mask))
    if missing:
        mask[np.flatnonzero(flat == 0)[:missing]] = True
    return mask


def hard(x, k, *, axis=None, group_size=None, return_mask=False):
    r"""Keep the ``k`` entries of largest magnitude, zero the rest.

    This is the Euclidean projection :math:`H_k(x)` onto the ``k``-sparse
    vectors used by IHT/NIHT (Blumensath & Davies 2010), the top-k mask of
    magnitude pruning and one layer of layered thresholding.

    Parameters
    ----------
    x : array_like
        Real or complex array of any shape.
    k : int
        How many entries to keep: over the whole array (``axis=None``), along
        ``axis`` (per row / per column), or per group of ``group_size``
        consecutive entries along ``axis`` (default the last axis).
    axis : int, optional
        Select independently in every 1-D slice along this axis.
    group_size : int, optional
        Select ``k`` of every ``group_size`` consecutive entries along
        ``axis``; ``group_size`` must divide that axis' length.
    return_mask : bool
        Also return the boolean mask of the kept entries.

    Returns
    -------
    values : ndarray
        ``x`` where kept, zero elsewhere; same shape and dtype as ``x``.
    mask : ndarray of bool, only if ``return_mask``.

    Notes
    -----
    One pass over the data (see :func:`cs._kernels.select`).  From
    :math:`2^{20}` entries that pass is shared by up to four threads, one
    chunk each (2 threads: 1.2x faster at :math:`2^{20}` entries, 1.5x at
    :math:`2^{21}`); ``NUMBA_NUM_THREADS`` sets how many, and 1 keeps the
    selection in the calling thread.

    Examples
    --------
    >>> hard([3., -5., 1., 5.], 2)
    array([ 0., -5.,  0.,  5.])
    >>> hard([[1., 4.], [3., 2.]], 1, axis=1)
    array([[0., 4.],
           [3., 0.]])
    """
    if (type(x) is np.ndarray and x.ndim == 1 and x.dtype in _FLOATS and type(k) is int and 0 < k < x.size
            and axis is group_size is None and not return_mask and x.flags.c_contiguous):
        # the call NIHT makes on every iteration: straight to the kernels (a microsecond of
        # the wrappers below, an eighth of the whole call on 10^3 entries)
        out = np.empty_like(x)
        if _flat_into(x, k, out) != 0:
            raise ValueError("x contains NaN or infinity")
        return out
    values, mask = _select(x, k, axis, group_size, True, return_mask)
    return (values, mask) if return_mask else values


def top_k_mask(x, k, *, axis=None, group_size=None):
    """Boolean mask of the ``k`` largest magnitudes (see :func:`hard`)."""
    return _select(x, k, axis, group_size, False, True)[1]


def support(x, k, *, axis=None):
    """Indices of the ``k`` largest magnitudes, in increasing order.

    With ``axis=None`` the flat (C order) indices, shape ``(k,)``; with an
    axis, an integer array shaped like ``x`` with ``k`` along ``axis``.
    """
    mask = top_k_mask(x, k, axis=axis)
    if axis is None:
        return np.flatnonzero(mask)
    axis = check_axis(axis, mask.ndim)
    moved = np.moveaxis(mask, axis, -1)
    rows = moved.reshape(-1, moved.shape[-1])
    cols = np.nonzero(rows)[1].reshape(moved.shape[:-1] + (k,))
    return np.moveaxis(cols, -1, axis)


def nm(x, n, m, *, axis=-1, return_mask=False):
    """N:M selection: keep the ``n`` largest of every ``m`` consecutive entries.

    The structured sparsity of N:M pruning (e.g. 2:4, as supported by sparse
    tensor cores); ``m`` must divide the length of ``axis``.
    """
    m = check_int(m, "m", low=1)
    return hard(x, check_int(n, "n", low=0, high=m, high_what="m"), axis=axis,
                group_size=m, return_mask=return_mask)


def tau_for_density(x, density):
    """The magnitude threshold that leaves a fraction ``density`` of entries.

    Returns ``tau`` such that ``hard_tau(x, tau)`` keeps the
    ``k = round(density * x.size)`` entries of largest magnitude (fewer when
    magnitudes tie at ``tau``): ``tau`` is the ``(k+1)``-th largest magnitude,
    and 0 when ``k = x.size``.
    """
    x = check_array(x, "x")
    density = check_real(density, "density", low=0.0, high=1.0)
    k = int(round(density * x.size))
    if k >= x.size:
        return 0.0
    mag = np.abs(x).reshape(-1)
    return float(np.partition(mag, x.size - 1 - k)[x.size - 1 - k])


def _elementwise(mode, x, tau, level=np.inf):
    """Soft, shifted-ReLU or hard thresholds (``_kernels.SOFT``, ``RELU``, ``HARD``) of a real
    ``x`` through the one elementwise kernel; ``tau`` a number or an array (checked here)."""
    if not _is_array_tau(tau):
        tau = _check_tau(tau)
    x = check_array(x, "x", allow_complex=False)
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    if _is_array_tau(tau):
        rows, row_len = _tau_rows(tau, x)
    else:
        rows, row_len = np.full(1, tau, flat.dtype), flat.size
    _kernels.shrink_rows(flat, rows, row_len, flat.dtype.type(level), mode, out)
    return out.reshape(x.shape)


def _check_tau(tau):
    return check_real(tau, "tau", low=0.0)


def _is_array_tau(tau):
    return np.ndim(tau) > 0


def _tau_array(tau, x):
    """An array ``tau`` (one threshold per channel, per row, ...) checked and cast to ``x``'s
    precision, as the kernels cast a scalar one: finite, >= 0, and broadcasting against ``x``
    without enlarging it."""
    tau = np.asarray(tau)
    if tau.dtype.kind not in "biuf":
        raise TypeError(f"tau must be a real number or an array of them, got dtype {tau.dtype}")
    if not np.all(np.isfinite(tau)) or np.any(tau < 0):
        raise ValueError(f"tau must be finite and >= 0 everywhere (min {np.min(tau)})")
    try:
        fits = np.broadcast_shapes(tau.shape, x.shape) == x.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"tau has shape {tau.shape}, which does not broadcast to x's shape {x.shape} "
                         "(give one threshold, or e.g. shape (B, m, 1, 1) for one per signal and channel)")
    return tau.astype(x.dtype)


def _tau_rows(tau, x):
    """``(thresholds, row_len)`` for ``_kernels.shrink_rows``: ``x`` in C order is runs of
    ``row_len`` entries over which the (broadcast) ``tau`` is constant, one threshold each."""
    t = _tau_array(tau, x)
    t = t.reshape((1,) * (x.ndim - t.ndim) + t.shape)
    varying = [axis for axis in range(x.ndim) if t.shape[axis] != 1]
    lead = varying[-1] + 1 if varying else 0  # tau is constant along the axes from `lead` on
    t = t[(slice(None),) * lead + (0,) * (x.ndim - lead)]
    return np.ascontiguousarray(np.broadcast_to(t, x.shape[:lead])).reshape(-1), math.prod(x.shape[lead:])


def _check_level(level):
    if level is None:
        return np.inf
    return check_real(level, "level", low=0.0, low_open=True)


def hard_tau(x, tau):
    """Hard thresholding at a magnitude: ``x`` where ``|x| > tau``, else 0.

    ``tau`` is a number or an array that broadcasts to ``x``'s shape (one
    threshold per channel or per signal: see :func:`soft`).
    """
    if _is_array_tau(tau):
        return _elementwise(_kernels.HARD, x, tau)
    tau = _check_tau(tau)
    x = check_array(x, "x", finite=False)  # the kernel's pass finds NaN and infinity itself
    if x.dtype.kind == "c":
        if not is_all_finite(x):
            raise ValueError("x contains NaN or infinity")
        return np.where(np.abs(x) > tau, x, 0)
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    # |x| > tau exactly when the magnitude bits of x exceed those of tau in x's precision:
    # the selection kernel's pass with the empty bracket (tau_key + 1, tau_key)
    tau_key = int(np.array(tau, flat.dtype).view(np.int64 if flat.itemsize == 8 else np.int32))
    if _kernels.select(*_kernels.as_bits(flat), -1, 0, tau_key + 1, tau_key, 0, 0, np.empty(_FLAGS, np.int64),
                       *_kernels.as_bits(out)) != 0:
        raise ValueError("x contains NaN or infinity")
    return out.reshape(x.shape)


def soft(x, tau, *, level=None):
    r"""Soft thresholding :math:`\operatorname{sign}(x)\max(|x| - \tau, 0)`.

    The proximal map of :math:`\tau\|x\|_1`.  With ``level`` the output
    magnitude is clipped at ``level``: the clipped soft threshold of Price et
    al. (ICLR 2024).  Complex input shrinks the modulus and keeps the phase.

    ``tau`` is a number, or an array that broadcasts to ``x``'s shape: one
    threshold per channel (like a CNN bias) or per signal, in one call, e.g.
    shape ``(B, m, 1, 1)`` for ``x`` of shape ``(B, m, H, W)``.  A number
    or an array runs the same compiled kernel, in ``x``'s precision (``tau``
    rounded to it first), one threshold per run of entries it is constant on.

    Examples
    --------
    >>> soft([3., -0.5, -2.], 1.)
    array([ 2.,  0., -1.])
    >>> soft([[3., 3.], [3., 3.]], [[1.], [2.]])
    array([[2., 2.],
           [1., 1.]])
    """
    level = _check_level(level)
    if _is_array_tau(tau) or not np.iscomplexobj(x):
        return _elementwise(_kernels.SOFT, x, tau, level)
    tau = _check_tau(tau)
    x = check_array(x, "x")
    mag = np.abs(x)
    shrunk = np.minimum(np.maximum(mag - tau, 0), level)
    return np.where(mag > 0, x * (shrunk / np.where(mag > 0, mag, 1)), 0).astype(x.dtype)


def shifted_relu(x, tau, *, level=None):
    r"""Shifted ReLU :math:`\max(x - \tau, 0)`, clipped at ``level`` if given.

    With ``level = m`` this is :math:`\min(\max(x - \tau, 0), m)`, the clipped
    shifted ReLU of Price et al. (ICLR 2024).  ``tau`` may be an array that
    broadcasts to ``x``'s shape (see :func:`soft`).
    """
    return _elementwise(_kernels.RELU, x, tau, _check_level(level))


def clip(x, level):
    """Clip magnitudes at ``level``: ``sign(x) * min(|x|, level)``."""
    return soft(x, 0.0, level=check_real(level, "level", low=0.0, low_open=True))


class LowRank(NamedTuple):
    """A rank-r matrix ``X = U @ diag(s) @ Vt`` with its factors."""

    X: np.ndarray
    U: np.ndarray
    s: np.ndarray
    Vt: np.ndarray

    @property
    def rank(self):
        return self.s.size


def _product(U, s, Vt):
    return (U * s) @ Vt


#: Matrices of at most this many entries are factorised on one BLAS thread.  A
#: threaded LAPACK gains nothing on a 100 x 100 SVD, and as soon as another
#: process holds a core its threads spin: measured on 2 cores with one other
#: busy process, 30 ms instead of 2.5 ms per 100 x 100 SVD (NIHT-GoDec's demo
#: solve 5-27 s instead of 0.25 s).
_ONE_BLAS_THREAD_MAX = 1 << 18
_blas = None


def _blas_threads(n_entries):
    """A context running BLAS/LAPACK on one thread for small matrices (threadpoolctl)."""
    global _blas
    if n_entries > _ONE_BLAS_THREAD_MAX:
        return contextlib.nullcontext()
    if _blas is None:
        from threadpoolctl import ThreadpoolController

        _blas = ThreadpoolController()
    return _blas.limit(limits=1, user_api="blas")


def _svd(X):
    with _blas_threads(X.size):
        return np.linalg.svd(X, full_matrices=False)


def _check_matrix(X, name="X"):
    return check_array(X, name, ndim=2)


def randomized_svd(X, r, *, n_oversamples=10, n_power_iter=2, rng=None, _checked=False):
    """Rank-r approximate SVD by randomised subspace iteration.

    Algorithm 4.4 of Halko, Martinsson & Tropp (2011): sample the range with
    a Gaussian test matrix of ``r + n_oversamples`` columns, refine with
    ``n_power_iter`` QR-orthonormalised power iterations, and take the exact
    SVD of the small projected matrix.

    Returns
    -------
    U : (m, r), s : (r,), Vt : (r, n)
    """
    if not _checked:
        X = _check_matrix(X)
        r = check_int(r, "r", low=0, high=min(X.shape), high_what=f"min(m, n) of X, shape {X.shape}")
    n_oversamples = check_int(n_oversamples, "n_oversamples", low=0)
    n_power_iter = check_int(n_power_iter, "n_power_iter", low=0)
    rng = as_rng(rng)
    m, n = X.shape
    width = min(r + n_oversamples, m, n)
    omega = rng.standard_normal((n, width)).astype(X.dtype, copy=False)
    with _blas_threads(X.size):
        Q, _ = np.linalg.qr(X @ omega)
        for _ in range(n_power_iter):
            Z, _ = np.linalg.qr(X.conj().T @ Q)
            Q, _ = np.linalg.qr(X @ Z)
        Ub, s, Vt = np.linalg.svd(Q.conj().T @ X, full_matrices=False)
        return (Q @ Ub[:, :r]), s[:r], Vt[:r]


def truncate_rank(X, r, *, method="auto", n_oversamples=10, n_power_iter=2, rng=None):
    """Best rank-``r`` approximation of ``X`` (Eckart-Young), with its factors.

    Parameters
    ----------
    X : (m, n) array_like
    r : int, 0 <= r <= min(m, n)
    method : {"auto", "exact", "randomized"}
        ``"exact"`` uses the thin SVD (LAPACK gesdd); ``"randomized"`` the
        subspace iteration of :func:`randomized_svd`; ``"auto"`` chooses the
        randomised one when ``r`` is small against ``min(m, n)``.

    Returns
    -------
    LowRank
        ``X`` (the product, X's dtype), ``U``, ``s`` and ``Vt``.
    """
    X = _check_matrix(X)
    r = check_int(r, "r", low=0, high=min(X.shape), high_what=f"min(m, n) of X, shape {X.shape}")
    method = check_choice(method, "method", {"auto", "exact", "randomized"})
    if method == "auto":
        method = "randomized" if min(X.shape) >= 200 and 4 * (r + n_oversamples) < min(X.shape) else "exact"
    if method == "exact":
        U, s, Vt = _svd(X)
        U, s, Vt = U[:, :r], s[:r], Vt[:r]
    else:
        U, s, Vt = randomized_svd(X, r, n_oversamples=n_oversamples, n_power_iter=n_power_iter,
                                  rng=rng, _checked=True)
    return LowRank(_product(U, s, Vt).astype(X.dtype, copy=False), U, s, Vt)


def svt(X, tau, *, rank_hint=None, n_oversamples=10, n_power_iter=2, rng=None):
    r"""Singular value soft thresholding :math:`U \max(\Sigma - \tau, 0) V^*`.

    The proximal map of :math:`\tau\|X\|_*` (Cai, Candès & Shen 2010).

    With ``rank_hint = k`` only the top ``k`` singular triplets are computed,
    by :func:`randomized_svd`; if even the ``k``-th singular value is above
    ``tau`` the hint was too small and the exact SVD is used instead, so the
    result is the same either way (to the randomised SVD's accuracy).  The
    randomised path was taken exactly when the returned rank is below ``k``.

    Returns
    -------
    LowRank
        Only the singular values above ``tau`` (shrunk by ``tau``).
    """
    X = _check_matrix(X)
    tau = _check_tau(tau)
    if rank_hint is not None:
        k = check_int(rank_hint, "rank_hint", low=1, high=min(X.shape), high_what="min(m, n) of X")
        U, s, Vt = randomized_svd(X, k, n_oversamples=n_oversamples, n_power_iter=n_power_iter,
                                  rng=rng, _checked=True)
        if s[-1] > tau:
            rank_hint = None  # the hint missed singular values above tau
    if rank_hint is None:
        U, s, Vt = _svd(X)
    r = int(np.count_nonzero(s > tau))
    U, s, Vt = U[:, :r], s[:r] - tau, Vt[:r]
    return LowRank(_product(U, s, Vt).astype(X.dtype, copy=False), U, s, Vt)


def warm_up(dtype=np.float64, *, size=None):
    """Compile (or load from numba's cache) the kernels a solve uses; return the seconds.

    Numba compiles each kernel on its first call in a fresh environment and
    stores it in the on-disk cache, from which later processes load it in
    milliseconds.  Call this before timing anything, so that the one-off
    compilation is reported apart (``cs demo`` prints it as "compiling (first
    run only)").  The top-k, ``hard_tau`` and finiteness kernels have one
    signature for float32 and float64 alike, so warming either precision
    warms both; ``soft`` (compiled per precision) only when ``size`` is None.

    Parameters
    ----------
    dtype : float32 or float64
    size : int, optional
        The number of entries the solve thresholds (``m * n`` for an m x n
        unknown): the top-k runs once at that size's path (exact below
        ``_SAMPLED_MIN`` entries, sampled from it on), with ``hard_tau`` and
        the finiteness check.  By default both paths and ``soft`` too.

    Returns
    -------
    float
        Wall-clock seconds spent (a fraction of a second when the cache is warm).
    """
    dtype = check_dtype(dtype)
    sizes = (_SAMPLED_MIN // 2, 2 * _SAMPLED_MIN)
    if size is not None:
        size = check_int(size, "size", low=1)
        sizes = (2 * _SAMPLED_MIN,) if size >= _SAMPLED_MIN else (_SAMPLED_MIN // 2,)
    start = time.perf_counter()
    for n in sizes:
        x = np.linspace(-1.0, 1.0, n, dtype=dtype)
        hard(x, n // 10)
    hard_tau(x, 0.5)
    is_all_finite(x)
    if size is None:
        soft(x, 0.5)
    return time.perf_counter() - start
