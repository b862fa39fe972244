"""Numba-jitted inner loops shared across ``cs``.

Every kernel here is private: the public functions in :mod:`cs.threshold`
(and elsewhere) validate their input, allocate the outputs and call these.
Each kernel has a plain-NumPy reference in ``tests/naive.py`` that the tests
compare it with.

Conventions
-----------
* Selection by magnitude works on the IEEE-754 bit patterns: with the sign bit
  cleared, the integer order of the bits is the order of the magnitudes (for
  finite values, -0.0 and +0.0 alike).  The selection below therefore never
  compares floats and is exact.
* Ties at the threshold are broken by the lowest index: among equal
  magnitudes, the entries that come first (in C order) are kept.
* An output array of size 0 means "not wanted": the kernel skips writing it.
  This lets one compiled kernel produce values, a mask, or both (select_rows).
* Compilation time matters: a fresh install compiles every kernel on first use
  (``benchmarks/bench_compile.py`` measures it).  Numba's cost is its front
  end, per kernel and per signature, so the kernels the solvers use have ONE
  signature for float32 and float64 alike: the data comes in as its bits,
  viewed as int32 (``x32``) and int64 (``x64``), one of the two empty, and
  every key is an int64.  No allocation (``np.empty`` costs a compilation of
  its own), no builtins such as ``min``, no ``np.partition``, one callee
  (:func:`_kth_key`); the scratch is one int64 array from the caller, used
  through offsets (slices cost more compilation, and each array argument
  costs a call ~0.1 us); the hot loops run over unsigned indices, because
  numba's wrap-around of negative ones keeps LLVM from vectorising them
  (2-4x slower passes).
"""

from __future__ import annotations

import numba
import numpy as np

#: The numba flags used by every kernel, set in one place.  ``cache=True``
#: writes the compiled code next to this module (``__pycache__``) so that a
#: new process does not recompile; none of the kernels is ``parallel``.
JIT = dict(nogil=True, cache=True)
#: The selection kernels leave out Python's division-by-zero checks (none of
#: their divisions can be by zero): less code for numba to type and LLVM to
#: optimise, measured 15-20% less compilation.
JIT_LEAN = dict(JIT, error_model="numpy")

#: Masks that clear the sign bit of float32 / float64 bit patterns (as int32 / int64).
_MASK32 = 0x7FFFFFFF
_MASK64 = 0x7FFFFFFFFFFFFFFF
#: The masked bit pattern of +inf: a masked pattern at least this is inf or NaN.
_INF32 = 0x7F800000
_INF64 = 0x7FF0000000000000
#: Entries per block of the bracket pass (its flags stay in L1); a multiple of 8.
_BLOCK = 1 << 11


@numba.njit(**JIT_LEAN)
def _kth_key(work, base, n, kth, hist, n_bins):
    """The ``kth`` smallest (0-based) of the int64 keys ``work[base:base + n]``
    (all >= 0), and how many of them exceed it: ``(t, n_above)``.

    The keys are reordered; ``work[hist:hist + n_bins]`` is the histogram.
    (Offsets into one array, not slices: fewer arrays to pass from Python,
    and slicing costs numba more compilation than the index arithmetic.)

    Bucket selection: a histogram of ``n_bins`` equal bins over [min, max]
    finds the bin holding rank ``kth``; its keys are moved to the front and
    the search repeats inside it until they are all equal.  Each round
    shrinks the range of the keys by a factor of at least ``n_bins / 2``, so
    there are at most ``63 / log2(n_bins / 2)`` rounds whatever the data,
    each a few branch-free passes (no quickselect's mispredicted swaps, no
    quadratic case).  The keys of the bins above the one kept are counted
    as they are dropped, which gives ``n_above`` for the ties at no extra
    pass.
    """
    n_above = n - n  # an int64 variable, not a literal (numba would type the result twice)
    while True:
        vmin = work[base]
        vmax = work[base]
        for i in range(np.uint64(base), np.uint64(base + n)):  # unsigned: vectorises
            v = work[i]
            vmin = v if v < vmin else vmin
            vmax = v if v > vmax else vmax
        if vmin == vmax:
            return vmin, n_above
        shift = 0
        while ((vmax - vmin) >> shift) >= n_bins:
            shift += 1
        for b in range(hist, hist + n_bins):
            work[b] = 0
        for i in range(base, base + n):
            work[hist + ((work[i] - vmin) >> shift)] += 1
        b = hist
        below = 0
        while work[b] <= kth:
            kth -= work[b]
            below += work[b]
            b += 1
        n_above += n - below - work[b]
        b -= hist
        c = base
        for i in range(base, base + n):
            v = work[i]
            if ((v - vmin) >> shift) == b:
                work[c] = v
                c += 1
        n = c - base


@numba.njit(**JIT_LEAN)
def select(x32, x64, k, n_sample, lo, hi, capacity, n_bins, work, out32, out64):
    """Keep the ``k`` entries of largest magnitude of a float vector, 0 < k < size;
    or, with ``k = -1``, those whose magnitude exceeds a threshold.

    Parameters
    ----------
    x32, x64 : the vector's bits viewed as int32 (float32 data) or int64
        (float64 data), C contiguous; the other one is empty.
    k : int.
    n_sample, lo, hi : the bracket.  With ``n_sample > 0``, ranks
        ``lo <= hi`` in a strided sample of ``n_sample`` magnitudes
        (``cs.threshold._bracket``); the exact selection is the sample of
        every entry, ``n_sample = size`` and ``lo = hi = size - k``: the
        bracket is then the threshold itself.  With ``n_sample = 0``, the
        bracket's keys themselves: with ``k = -1`` the empty bracket
        ``lo = hi + 1`` makes the kernel hard thresholding at the magnitude
        whose key is ``hi`` (one kernel, one compilation, for both).
    capacity : room for the entries inside the bracket, at least ``n_sample``.
    n_bins : bins of the bucket selection (:func:`_kth_key`).
    work : int64 scratch of ``2 * capacity + n_bins + _BLOCK + 8`` entries:
        the candidates' indices, their keys, the histogram and the flags of
        one block (``cs.threshold._work``).
    out32, out64 : the output's bits, laid out as ``x32, x64``: the input where
        kept, +0.0 elsewhere.  (The mask of the kept entries is ``out != 0``
        plus the first zeros of the input when zeros are kept;
        ``cs.threshold`` derives it.)

    With ``k = -1`` the pass is all: the candidates (the entries inside the
    bracket) are left in ``work`` (their indices from 0, their keys from
    ``capacity``), their count in ``work[2 * capacity]`` and the count of
    entries above the bracket in ``work[2 * capacity + 1]``: what
    ``cs.threshold`` merges when threads share the pass over a long vector.

    Returns
    -------
    status : 0 on success, -1 if the vector holds a NaN or an infinity, 1 if
    the bracket missed the k-th largest magnitude or held more entries than
    the capacity (heavy ties): the caller then runs the exact selection, so
    the result never depends on the sample.

    Notes
    -----
    The sample's order statistics ``lo`` and ``hi`` bracket the k-th
    largest magnitude (a one-level Floyd-Rivest selection, Comm. ACM 18(3),
    1975).  One pass then writes every entry above the bracket and gathers
    those inside it: block by block, a vectorised loop writes the output,
    counts and flags the entries inside, and a second loop reads the flags
    eight at a time and skips the groups without any (most of them).  The
    exact threshold among the gathered entries comes from the bucket
    selection, whose count of larger keys sets how many of the entries
    equal to the threshold are kept, lowest index first.  One read and one
    write of the data, against about ten passes for the NumPy idiom.  The
    exact selection (every entry the sample, ``lo = hi``) needs no bracket:
    the bucket selection gives the k-th largest key and the count above it,
    and one pass keeps what exceeds it (then the first ties), without the
    flags and the gather: 4.0 against 5.1 us at 1000 entries.
    """
    wide = x64.size > 0
    n = x64.size if wide else x32.size
    keys = capacity  # work[:capacity] holds the candidates' indices, work[keys:] their keys
    hist = 2 * capacity
    flags = hist + n_bins
    # the flags are bytes (one store of a byte, not of 8, per entry), read eight at a time
    # as the words of work[flags:]
    flag_bytes = work.view(np.uint8)
    u_fbyte = np.uint64(8 * flags)
    if n_sample == n and lo == hi and k > 0:
        # the exact selection (the whole vector is the sample): the k-th largest key t and
        # the count above it, then one pass keeps what exceeds t and the first ties
        for j in range(np.uint64(n)):
            work[np.uint64(keys) + j] = (x64[j] & _MASK64) if wide else (x32[j] & _MASK32)
        t, n_above = _kth_key(work, keys, n, lo, hist, n_bins)
        bad = False
        if wide:
            for i in range(np.uint64(n)):
                v = x64[i] & _MASK64
                out64[i] = x64[i] if v > t else 0
                bad |= v >= _INF64
        else:
            for i in range(np.uint64(n)):
                v = x32[i] & _MASK32
                out32[i] = x32[i] if v > t else 0
                bad |= v >= _INF32
        if bad:
            return -1
        ties = k - n_above
        i = 0
        while ties > 0:
            if ((x64[i] & _MASK64) if wide else (x32[i] & _MASK32)) == t:
                if wide:
                    out64[i] = x64[i]
                else:
                    out32[i] = x32[i]
                ties -= 1
            i += 1
        return 0
    if n_sample > 0:
        step = n // n_sample
        for j in range(n_sample):
            v = (x64[j * step] & _MASK64) if wide else (x32[j * step] & _MASK32)
            work[keys + j] = v
            work[j] = v  # each selection scrambles its copy
        rank_lo = lo
        rank_hi = hi
        lo = n - n
        hi = (_INF64 if wide else _INF32) - 1  # open above when rank_hi is the sample's top
        if rank_lo > 0:
            lo = _kth_key(work, keys, n_sample, rank_lo, hist, n_bins)[0]
        if rank_hi == rank_lo and rank_lo > 0:
            hi = lo  # the exact selection: the whole vector is the sample
        elif rank_hi < n_sample - 1:
            hi = _kth_key(work, keys - capacity, n_sample, rank_hi, hist, n_bins)[0]  # base 0, not a literal
    n_cand = n - n
    above = n - n
    for start in range(0, n, _BLOCK):
        stop = start + _BLOCK if start + _BLOCK < n else n
        bad = False
        inside = 0
        # The same loop for either width, so that each one vectorises; unsigned
        # indices, because numba's wrap-around of negative ones stops that.
        u_start = np.uint64(start)
        u_flags = np.uint64(flags)
        if wide:
            for i in range(u_start, np.uint64(stop)):
                v = x64[i] & _MASK64
                keep = v > hi
                out64[i] = x64[i] if keep else 0
                above += keep
                bad |= v >= _INF64
                f = (v >= lo) & (v <= hi)
                flag_bytes[u_fbyte + (i - u_start)] = f
                inside += f
        else:
            for i in range(u_start, np.uint64(stop)):
                v = x32[i] & _MASK32
                keep = v > hi
                out32[i] = x32[i] if keep else 0
                above += keep
                bad |= v >= _INF32
                f = (v >= lo) & (v <= hi)
                flag_bytes[u_fbyte + (i - u_start)] = f
                inside += f
        if bad:
            return -1
        if inside:
            if n_cand + inside > capacity:
                return 1
            u_stop = u_fbyte + np.uint64(stop - start)
            for j in range(u_stop, u_stop + np.uint64(8)):
                flag_bytes[j] = 0
            for w in range(u_flags, u_flags + np.uint64((stop - start + 7) // 8)):
                # eight flags in one word: most words hold no candidate
                if work[w]:
                    b0 = np.uint64(8) * w
                    for j in range(b0, b0 + np.uint64(8)):
                        if flag_bytes[j]:
                            i = start + np.int64(j - u_fbyte)
                            work[n_cand] = i
                            work[keys + n_cand] = (x64[i] & _MASK64) if wide else (x32[i] & _MASK32)
                            n_cand += 1
    if k < 0:
        work[hist] = n_cand  # for the caller that merges the passes of several chunks
        work[hist + 1] = above
        return 0
    need = k - above
    if need < 0 or need > n_cand:
        return 1
    if need == 0:
        return 0
    t, n_gt = _kth_key(work, keys, n_cand, n_cand - need, hist, n_bins)
    ties = need - n_gt
    for j in range(n_cand):
        i = work[j]
        v = (x64[i] & _MASK64) if wide else (x32[i] & _MASK32)
        if v > t or (v == t and ties > 0):
            ties -= v == t
            if wide:
                out64[i] = x64[i]
            else:
                out32[i] = x32[i]
    return 0


@numba.njit(**JIT)
def select_rows(a, keys, k, work, out, mask):
    """Keep the ``k`` largest ``keys`` of every row of a 2-D array.

    ``a`` (rows x L, any real or complex dtype) supplies the kept values,
    ``keys`` (rows x L, int64) the magnitudes compared: the bits of the
    non-negative float magnitudes, whose integer order is theirs; 0 <= k <= L.
    ``work`` (int64, L plus the bins of :func:`_kth_key`) is scratch.  Used
    for top-k along an axis, per group of consecutive entries and N:M
    selection.  Ties are broken by the lowest index within the row.  Rows of
    more than 16 entries select with :func:`_kth_key`, shorter ones (N:M
    groups) with k arg-max passes.
    """
    rows, length = keys.shape
    want_out = out.size > 0
    want_mask = mask.size > 0
    for r in range(rows):
        if want_out:
            for j in range(length):
                out[r, j] = 0
        if want_mask:
            for j in range(length):
                mask[r, j] = False
        if k == 0:
            continue
        if length <= 16:
            # small groups (N:M): k passes of an arg-max, ties to the lowest index
            taken = 0
            for _ in range(k):
                best = -1
                for j in range(length):
                    if not (taken >> j) & 1 and (best < 0 or keys[r, j] > keys[r, best]):
                        best = j
                taken |= 1 << best
                if want_out:
                    out[r, best] = a[r, best]
                if want_mask:
                    mask[r, best] = True
            continue
        for j in range(length):
            work[j] = keys[r, j]
        t, n_gt = _kth_key(work, length - length, length, length - k, length, work.size - length)
        ties = k - n_gt
        for j in range(length):
            v = keys[r, j]
            if v > t or (v == t and ties > 0):
                ties -= v == t
                if want_out:
                    out[r, j] = a[r, j]
                if want_mask:
                    mask[r, j] = True
    return 0


#: ``shrink_rows`` modes.
SOFT, RELU, HARD = 0, 1, 2


@numba.njit(**JIT)
def shrink_rows(a, tau, row_len, level, mode, out):
    """Elementwise thresholds of a flat real array, row by row: the rows are the
    ``tau.size`` runs of ``row_len`` consecutive entries, row ``r`` thresholded at
    ``tau[r]`` (one row of ``a.size`` for one threshold; one threshold per channel
    or per signal otherwise), ``tau`` and ``level`` in ``a``'s precision.

    * ``SOFT``: ``sign(a) * min(max(|a| - tau, 0), level)`` (``level = inf`` is plain
      soft thresholding, ``tau = 0`` clipping, both the clipped soft threshold of
      Price et al.);
    * ``RELU``: ``min(max(a - tau, 0), level)``;
    * ``HARD``: ``a`` where ``|a| > tau``, else 0 (finite ``a``; the caller checks).

    One kernel for the three (one compilation per precision, not three).
    """
    for r in range(tau.size):
        t = tau[r]
        zero = t - t  # a zero of a's precision (a literal 0.0 would widen float32 loops)
        start = r * row_len
        if mode == SOFT:
            # branch-free, so that it vectorises (at most one of the two terms is nonzero)
            for i in range(start, start + row_len):
                v = a[i]
                out[i] = min(max(v - t, zero), level) + max(min(v + t, zero), -level)
        elif mode == RELU:
            for i in range(start, start + row_len):
                v = a[i] - t
                out[i] = min(v, level) if v > 0 else 0
        else:
            for i in range(start, start + row_len):
                v = a[i]
                out[i] = v if abs(v) > t else 0
    return out


@numba.njit(**JIT_LEAN)
def _finite_bits(x32, x64):
    """True when no entry of a flat float vector (bits laid out as in
    :func:`select`) is NaN or infinite: its masked bits stay below +inf's.
    One signature for float32 and float64."""
    if x64.size:
        for i in range(x64.size):
            if (x64[i] & _MASK64) >= _INF64:
                return False
    else:
        for i in range(x32.size):
            if (x32[i] & _MASK32) >= _INF32:
                return False
    return True


_EMPTY32 = np.empty(0, np.int32)
_EMPTY64 = np.empty(0, np.int64)


def as_bits(a):
    """``(x32, x64)``: the bits of a C-contiguous float32/float64 array, the other empty."""
    if a.dtype == np.float64:
        return _EMPTY32, a.view(np.int64)
    return a.view(np.int32), _EMPTY64


def all_finite(a):
    """True when the flat float32/float64 array holds no NaN and no infinity."""
    return bool(_finite_bits(*as_bits(np.ascontiguousarray(a))))


# ---------------------------------------------------------------------------
# Products restricted to a support S of columns, y = M[:, S] @ v and
# z = M[:, S].T @ r, on the layouts users hand in, without copying M[:, S]:
# C-ordered dense (rows gathered in place), CSR and CSC.  Fortran-ordered
# dense matrices use columns_matvec / columns_rmatvec below.  ``cols`` holds
# distinct column indices (int64); every kernel overwrites ``out``.
# References: tests/naive.py (restricted_matvec, restricted_rmatvec).
# ---------------------------------------------------------------------------


@numba.njit(**JIT)
def rows_matvec(M, cols, vals, out):
    """out = M[:, cols] @ vals for a C-ordered M: each row gathered in place.

    Four rows at a time share the loads of ``cols`` and ``vals``; the cost is
    p * len(cols) multiply-adds, read from the cache lines of M that hold a
    column of S (about 1 - (1 - k/N)**8 of them for float64).
    """
    p = M.shape[0]
    k = cols.size
    zero = out.dtype.type(0)
    i = 0
    while i + 4 <= p:
        a0 = zero
        a1 = zero
        a2 = zero
        a3 = zero
        for j in range(k):
            c = cols[j]
            v = vals[j]
            a0 += M[i, c] * v
            a1 += M[i + 1, c] * v
            a2 += M[i + 2, c] * v
            a3 += M[i + 3, c] * v
        out[i] = a0
        out[i + 1] = a1
        out[i + 2] = a2
        out[i + 3] = a3
        i += 4
    while i < p:
        acc = zero
        for j in range(k):
            acc += M[i, cols[j]] * vals[j]
        out[i] = acc
        i += 1
    return out


@numba.njit(**JIT)
def rows_rmatvec(M, cols, y, out):
    """out = M[:, cols].T @ y for a C-ordered M: rows gathered in place.

    Four rows at a time, so ``out`` is read and written once per four rows.
    """
    p = M.shape[0]
    k = cols.size
    for j in range(k):
        out[j] = 0
    i = 0
    while i + 4 <= p:
        y0 = y[i]
        y1 = y[i + 1]
        y2 = y[i + 2]
        y3 = y[i + 3]
        for j in range(k):
            c = cols[j]
            out[j] += M[i, c] * y0 + M[i + 1, c] * y1 + M[i + 2, c] * y2 + M[i + 3, c] * y3
        i += 4
    while i < p:
        yi = y[i]
        for j in range(k):
            out[j] += M[i, cols[j]] * yi
        i += 1
    return out


@numba.njit(**JIT)
def _column_positions(n_cols, cols):
    """pos[c] = j where cols[j] == c, and -1 for the columns outside cols."""
    pos = np.empty(n_cols, dtype=np.int64)
    for c in range(n_cols):
        pos[c] = -1
    for j in range(cols.size):
        pos[cols[j]] = j
    return pos


@numba.njit(**JIT)
def csr_matvec(data, indices, indptr, n_cols, cols, vals, out):
    """out = M[:, cols] @ vals for M in CSR form (data, indices, indptr), p = len(indptr) - 1.

    One pass over the stored entries with a column-position map: O(nnz + N),
    no dense copy and no sliced sparse matrix.
    """
    pos = _column_positions(n_cols, cols)
    for i in range(indptr.size - 1):
        acc = out.dtype.type(0)
        for t in range(indptr[i], indptr[i + 1]):
            j = pos[indices[t]]
            if j >= 0:
                acc += data[t] * vals[j]
        out[i] = acc
    return out


@numba.njit(**JIT)
def csr_rmatvec(data, indices, indptr, n_cols, cols, y, out):
    """out = M[:, cols].T @ y for M in CSR form: O(nnz + N), no copy."""
    pos = _column_positions(n_cols, cols)
    for j in range(cols.size):
        out[j] = 0
    for i in range(indptr.size - 1):
        yi = y[i]
        for t in range(indptr[i], indptr[i + 1]):
            j = pos[indices[t]]
            if j >= 0:
                out[j] += data[t] * yi
    return out


@numba.njit(**JIT)
def csc_matvec(data, indices, indptr, cols, vals, out):
    """out = M[:, cols] @ vals for M in CSC form: only the columns in cols are read."""
    for i in range(out.size):
        out[i] = 0
    for j in range(cols.size):
        c = cols[j]
        v = vals[j]
        for t in range(indptr[c], indptr[c + 1]):
            out[indices[t]] += data[t] * v
    return out


@numba.njit(**JIT)
def csc_rmatvec(data, indices, indptr, cols, y, out):
    """out = M[:, cols].T @ y for M in CSC form: only the columns in cols are read."""
    for j in range(cols.size):
        c = cols[j]
        acc = out.dtype.type(0)
        for t in range(indptr[c], indptr[c + 1]):
            acc += data[t] * y[indices[t]]
        out[j] = acc
    return out


@numba.njit(**JIT)
def columns_matvec(M, cols, vals, out):
    """out += M[:, cols] @ vals without copying the columns (M Fortran-ordered)."""
    m = M.shape[0]
    for j in range(cols.size):
        c = cols[j]
        v = vals[j]
        for i in range(m):
            out[i] += M[i, c] * v
    return out


@numba.njit(**JIT)
def columns_rmatvec(M, cols, y, out):
    """out = M[:, cols].T @ y without copying the columns (M Fortran-ordered)."""
    m = M.shape[0]
    for j in range(cols.size):
        c = cols[j]
        acc = 0.0
        for i in range(m):
            acc += M[i, c] * y[i]
        out[j] = acc
    return out


# ---------------------------------------------------------------------------
# Convolutional dictionaries (cs.convolution) and stripe-capped supports
# (cs.dcsc).  The direct-path circular convolution: atom (k, t) of a dictionary
# is filter k placed at offset t, so synthesis is
#     X[b, c, u] = sum_k sum_j f[k, c, j] G[b, k, (u - j) mod N]
# and analysis (the adjoint) the cross-correlation
#     Z[b, k, t] = sum_c sum_j f[k, c, j] V[b, c, (t + j) mod N].
# Each wrap-around is split into two contiguous loops so that the inner
# loops vectorise.  References: tests/naive.py (section "convolution").
# ---------------------------------------------------------------------------


@numba.njit(**JIT)
def circular_conv(filters, X, out, adjoint):
    """Synthesis (``adjoint=False``) or analysis (``True``) of a batch, 2-D shapes.

    ``filters`` (m, C, nh, nw); synthesis maps codes ``X`` (B, m, H, W) to
    ``out[b, c] = sum_k f[k, c] (*) X[b, k]``, analysis maps signals
    (B, C, H, W) to ``out[b, k] = sum_c f[k, c] (x) X[b, c]``: the same loop
    with the filter's roles swapped and the shift's sign flipped.  1-D
    problems pass a unit height.  ``out`` is zeroed here.
    """
    B, n_in, H, W = X.shape
    n_out = out.shape[1]
    nh, nw = filters.shape[2], filters.shape[3]
    out[:] = 0
    for b in range(B):
        for o in range(n_out):
            for i in range(n_in):
                for ji in range(nh):
                    for jj in range(nw):
                        w = filters[o, i, ji, jj] if adjoint else filters[i, o, ji, jj]
                        if w == 0:
                            continue
                        # out[u, v] += w X[u + ji, v + jj] (analysis) or X[u - ji, v - jj] (synthesis)
                        d = jj if adjoint else (W - jj) % W
                        for u in range(H):
                            src = X[b, i, (u + ji) % H if adjoint else (u - ji + H) % H]
                            dst = out[b, o, u]
                            for v in range(W - d):
                                dst[v] += w * src[v + d]
                            for v in range(W - d, W):
                                dst[v] += w * src[v + d - W]
    return out


@numba.njit(**JIT)
def stripe_capped_support(candidates, H, W, lo_h, len_h, lo_w, len_w, cap, counts, accept):
    """Accept candidates (flat indices into (m, H, W), in the order given) while
    every stripe keeps at most ``cap`` nonzeros.

    A nonzero at spatial position (h, w) lies in the stripes centred at the
    positions (h + lo_h + i, w + lo_w + j) mod (H, W) for i < len_h, j < len_w
    (lo = -(n - 1), len = 2n - 1, or the whole circle when that is shorter);
    ``counts[h, w]`` is the number of accepted nonzeros in the stripe centred
    at (h, w).  ``counts`` must be zero on entry; ``accept`` (bool, size m H W)
    is written.
    """
    accept[:] = False
    plane = H * W
    for i in range(candidates.size):
        p = candidates[i] % plane
        h = p // W
        w = p % W
        ok = True
        for dh in range(len_h):
            row = (h + lo_h + dh + H) % H
            for dw in range(len_w):
                if counts[row, (w + lo_w + dw + W) % W] >= cap:
                    ok = False
                    break
            if not ok:
                break
        if not ok:
            continue
        accept[candidates[i]] = True
        for dh in range(len_h):
            row = (h + lo_h + dh + H) % H
            for dw in range(len_w):
                counts[row, (w + lo_w + dw + W) % W] += 1
    return accept


# ============================================================================
# Restricted isometry constants (cs.ric.sparse): the swap scores of the local
# search.  Reference: tests/naive.py::ric_swap_scores.
# ============================================================================

@numba.njit(**JIT)
def ric_swap_scores(C, corr, v, lam, gram_diag, col_norm2, in_support, sign, scores):
    """Score every swap (support row i out, column j in) by a 2 x 2 Rayleigh-Ritz value.

    With ``x`` the extreme unit eigenvector (entries ``v`` on the support T)
    of ``G = A_T^T A_T`` and eigenvalue ``lam``, removing ``T[i]`` leaves
    ``w = x - v_i e_{T_i}`` and adding column ``j`` spans ``{w, e_j}``; the
    extreme eigenvalue of ``A^T A`` compressed to that plane is

        a = ||A w||^2 / ||w||^2 = (lam (1 - 2 v_i^2) + v_i^2 G_ii) / (1 - v_i^2)
        b = <A w, a_j> / ||w|| = (corr_j - v_i C_ij) / sqrt(1 - v_i^2)
        d = ||a_j||^2,   score = (a + d)/2 + sign sqrt(((a - d)/2)^2 + b^2).

    Being a Ritz value on a subspace of the swapped support's span, the
    score is a guaranteed lower bound on the new ``lambda_max`` (sign = +1),
    or upper bound on the new ``lambda_min`` (sign = -1).  ``C = A_T^T A``
    (k x N) and ``corr = A^T A x`` (length N) make it O(1) per candidate.

    Writes ``sign * score`` (larger is better; ``-inf`` for j in T) into
    ``scores`` unless it has size 0, and returns the best ``(i, j, score)``
    (ties: the lowest ``i``, then the lowest ``j``).
    """
    k, n = C.shape
    want = scores.size > 0
    best, best_i, best_j = -np.inf, -1, -1
    for i in range(k):
        vi2 = v[i] * v[i]
        rest = 1.0 - vi2
        degenerate = rest <= 1e-13
        a = 0.0
        inv = 0.0
        if not degenerate:
            a = (lam * (1.0 - 2.0 * vi2) + vi2 * gram_diag[i]) / rest
            inv = 1.0 / np.sqrt(rest)
        for j in range(n):
            if in_support[j]:
                if want:
                    scores[i, j] = -np.inf
                continue
            d = col_norm2[j]
            if degenerate:
                s = sign * d
            else:
                b = (corr[j] - v[i] * C[i, j]) * inv
                h = 0.5 * (a - d)
                s = sign * 0.5 * (a + d) + np.sqrt(h * h + b * b)
            if want:
                scores[i, j] = s
            if s > best:
                best, best_i, best_j = s, i, j
    return best_i, best_j, sign * best
# ============================================================================ end of the RIC section
