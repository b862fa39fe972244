"""Numba-jitted inner loops shared across ``cs``.

Every kernel here is private: the public functions in :mod:`cs.threshold`
(and elsewhere) validate their input, allocate the outputs and call these.
Each kernel has a plain-NumPy reference in ``tests/naive.py`` that the tests
compare it with.

Conventions
-----------
* Selection by magnitude works on the IEEE-754 bit patterns: with the sign bit
  cleared, the unsigned integer order of the bits is the order of the
  magnitudes (for finite values, -0.0 and +0.0 alike).  The radix selection
  below therefore never compares floats and is exact.
* Ties at the threshold are broken by the lowest index: among equal
  magnitudes, the entries that come first (in C order) are kept.
* An output array of size 0 means "not wanted": the kernel skips writing it.
  This lets one compiled kernel produce values, a mask, or both (select_rows).
* Compilation time matters (a fresh install compiles every kernel on first
  use): no ``np.partition`` (seconds per dtype), few numpy calls inside
  kernels, shallow call graphs (numba re-optimises a callee in every caller),
  one output loop per kernel.  ``benchmarks/bench_compile.py`` measures it.
"""

from __future__ import annotations

import numba
import numpy as np

#: The numba flags used by every kernel, set in one place.  ``cache=True``
#: writes the compiled code next to this module (``__pycache__``) so that a
#: new process does not recompile; none of the kernels is ``parallel``.
JIT = dict(nogil=True, cache=True)

_RADIX_BITS = 16
_N_BINS = 1 << _RADIX_BITS
# Sizes of the strided sample that brackets the threshold in select_flat.
_SAMPLE = 1 << 14
_SAMPLE_MAX = 1 << 16
_BUCKETS = 1 << 10
# Rows at least this long select with buckets in select_rows (unsigned keys).
_ROW_BUCKETS_MIN = 1 << 10
# Entries per block of the bracket pass (a multiple of 8; fits in L1 with its flags).
_BLOCK = 1 << 12


@numba.njit(**JIT)
def _kth_smallest(vals, n, kth):
    """The ``kth`` smallest (0-based) of ``vals[:n]``, reordering ``vals`` in place.

    Hoare's quickselect (Comm. ACM 4(7), 1961) in the form of Press et al.,
    *Numerical Recipes* (``select``): a median-of-three pivot whose middle
    candidate sits at a pseudo-random position, so no ordering of the input
    makes it quadratic in expectation.  Replaces ``np.partition``, whose numba
    implementation takes seconds to compile for every dtype.
    """
    lo = 0
    hi = n - 1
    state = 12345
    while True:
        if hi <= lo + 1:
            if hi == lo + 1 and vals[hi] < vals[lo]:
                vals[lo], vals[hi] = vals[hi], vals[lo]
            return vals[kth]
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        mid = lo + 1 + state % (hi - lo - 1)
        vals[mid], vals[lo + 1] = vals[lo + 1], vals[mid]
        if vals[lo] > vals[hi]:
            vals[lo], vals[hi] = vals[hi], vals[lo]
        if vals[lo + 1] > vals[hi]:
            vals[lo + 1], vals[hi] = vals[hi], vals[lo + 1]
        if vals[lo] > vals[lo + 1]:
            vals[lo], vals[lo + 1] = vals[lo + 1], vals[lo]
        # vals[lo] <= pivot <= vals[hi] are the sentinels of the two scans
        pivot = vals[lo + 1]
        i = lo + 1
        j = hi
        while True:
            i += 1
            while vals[i] < pivot:
                i += 1
            j -= 1
            while vals[j] > pivot:
                j -= 1
            if j < i:
                break
            vals[i], vals[j] = vals[j], vals[i]
        vals[lo + 1] = vals[j]
        vals[j] = pivot
        if j >= kth:
            hi = j - 1
        if j <= kth:
            lo = i


@numba.njit(**JIT)
def _kth_smallest_bits(vals, n, kth):
    """The ``kth`` smallest (0-based) of the unsigned keys ``vals[:n]`` (overwritten).

    Bucket selection: a histogram of ``_BUCKETS`` equal bins over
    [min, max] finds the bin holding rank ``kth``; its keys are moved to the
    front and the search repeats inside it.  Each round shrinks the range of
    the keys by a factor of at least ``_BUCKETS / 2``, so there are at most
    eight rounds on 64-bit keys whatever the data; the passes are simple loops
    without data-dependent swaps, several times faster than quickselect's
    mispredicted branches.  An insertion sort finishes the last few keys (no
    call to another kernel: every call level costs numba another optimisation
    of the callee when compiling, so the selection kernels stay shallow).
    """
    hist = np.empty(_BUCKETS, dtype=np.int64)
    while n > 16:
        vmin = vals[0]
        vmax = vals[0]
        for i in range(n):
            v = vals[i]
            vmin = min(vmin, v)
            vmax = max(vmax, v)
        if vmin == vmax:
            return vmin
        span = vmax - vmin
        shift = 0
        while (span >> shift) >= _BUCKETS:
            shift += 1
        for b in range(_BUCKETS):
            hist[b] = 0
        for i in range(n):
            hist[(vals[i] - vmin) >> shift] += 1
        below = 0
        b = 0
        while below + hist[b] <= kth:
            below += hist[b]
            b += 1
        c = np.intp(0)  # not a literal 0: numba would compile the callee twice
        for i in range(n):
            v = vals[i]
            if ((v - vmin) >> shift) == b:
                vals[c] = v
                c += 1
        n = c
        kth -= below
    for i in range(1, n):
        v = vals[i]
        j = i - 1
        while j >= 0 and vals[j] > v:
            vals[j + 1] = vals[j]
            j -= 1
        vals[j + 1] = v
    return vals[kth]


@numba.njit(**JIT)
def _keep_candidates(a, cand, cvals, n_cand, need, out):
    """Keep (copy into ``out``) the ``need`` largest of the entries ``cand[:n_cand]``.

    ``cvals`` holds their magnitude bits.  ``cand`` lists indices in
    increasing order, so equal magnitudes at the threshold are kept lowest
    index first.
    """
    if need == 0:
        return
    vals = np.empty(n_cand, dtype=cvals.dtype)
    for j in range(n_cand):
        vals[j] = cvals[j]
    t_bits = _kth_smallest_bits(vals, n_cand, n_cand - need)
    n_gt = 0
    for j in range(n_cand):
        n_gt += cvals[j] > t_bits
    ties = need - n_gt
    for j in range(n_cand):
        v = cvals[j]
        keep = v > t_bits
        if v == t_bits and ties > 0:
            keep = True
            ties -= 1
        if keep:
            out[cand[j]] = a[cand[j]]


@numba.njit(**JIT)
def select_small(a, u, k, absmask, nonfinite, out):
    """Keep the ``k`` entries of largest magnitude of a small 1-D array.

    Same arguments and status as :func:`select_flat`.  Bucket selection on a
    copy of all the magnitude bits, then one writing pass and a pass for the
    ties: no 65,536-bin histogram and no sample, so it is the path below the
    crossover (8192 entries, ``cs.threshold._SAMPLED_MIN``) measured by
    ``benchmarks/bench_threshold.py --crossover``.
    """
    n = a.size
    vals = np.empty(n, dtype=u.dtype)
    bad = 0
    for i in range(n):
        v = u[i] & absmask
        vals[i] = v
        bad += v >= nonfinite
    if bad:
        return -1
    t_bits = _kth_smallest_bits(vals, n, n - k)
    above = 0
    zero = a.dtype.type(0)
    for i in range(n):
        keep = (u[i] & absmask) > t_bits
        out[i] = a[i] if keep else zero
        above += keep
    ties = k - above
    i = 0
    while ties > 0:
        if (u[i] & absmask) == t_bits:
            out[i] = a[i]
            ties -= 1
        i += 1
    return 0


@numba.njit(**JIT)
def select_histogram(a, u, k, absmask, nonfinite, shift, out):
    """Exact radix selection: a 16-bit histogram pass, then one gathering pass.

    The fallback of :func:`select_flat` when its sampled bracket misses
    (adversarial or heavily tied data); compiled only when first needed.
    ``shift`` drops the bits below the 16 most significant magnitude bits.
    """
    n = a.size
    hist = np.zeros(_N_BINS, dtype=np.int64)
    for i in range(n):
        v = u[i] & absmask
        if v >= nonfinite:
            return -1
        hist[v >> shift] += 1
    above = 0
    b = _N_BINS - 1
    while above + hist[b] < k:
        above += hist[b]
        b -= 1
    cand = np.empty(hist[b], dtype=np.int64)
    cvals = np.empty(hist[b], dtype=u.dtype)
    c = np.intp(0)
    for i in range(n):
        v = u[i] & absmask
        key = v >> shift
        out[i] = a[i] if key > b else 0
        if key == b:
            cand[c] = i
            cvals[c] = v
            c += 1
    _keep_candidates(a, cand, cvals, c, k - above, out)
    return 0


@numba.njit(**JIT)
def select_flat(a, u, k, absmask, nonfinite, out):
    """Keep the ``k`` entries of largest magnitude of the 1-D array ``a``.

    Parameters
    ----------
    a : 1-D float32/float64 array (C contiguous).
    u : the same memory viewed as uint32/uint64.
    k : int, 0 < k < a.size.
    absmask : unsigned mask that clears the sign bit.
    nonfinite : the bit pattern of +inf; magnitude bits >= it are inf/NaN.
    out : float array of a's size: a where kept, 0 elsewhere.  (The mask of
        the kept entries is ``out != 0`` plus the first zeros of ``a`` when
        zeros are kept; ``cs.threshold`` derives it, so that one compiled
        loop serves both.)

    Returns
    -------
    status : 0 on success, -1 if ``a`` holds a NaN or an infinity, 1 if the
    sampled bracket missed (or ``a`` is too small to sample): the
    caller then runs :func:`select_small` (small arrays) or
    :func:`select_histogram`.  The caller dispatches, so that each path is
    compiled only when first used.

    Notes
    -----
    A strided sample of up to 65,536 magnitudes (a one-level
    Floyd-Rivest selection, Comm. ACM 18(3), 1975) brackets the k-th
    largest magnitude (its order statistics, widened by four standard
    deviations of the sample quantile); one pass then writes every entry
    above the bracket and gathers those inside it, and the exact threshold
    among those comes from the bucket selection.  One read and one write of the data,
    against about ten passes for the NumPy idiom.  When the bracket misses,
    an exact selection runs instead (quickselect on everything, or the radix
    selection for large arrays), so the result never depends on the sample.
    """
    n = a.size
    # n/16 up to 2^14 entries, then n/128 up to 2^16: measured best with
    # benchmarks/bench_threshold.py (a wider sample narrows the bracket, and
    # the bracket's candidates are what the second scan pays for)
    n_sample = min(_SAMPLE_MAX, n // 16, max(_SAMPLE, n // 128))
    if n_sample < 64:
        return 1
    step = n // n_sample
    sample = np.empty(n_sample, dtype=u.dtype)
    sample2 = np.empty(n_sample, dtype=u.dtype)  # each selection scrambles its copy
    for j in range(n_sample):
        sample[j] = u[j * step] & absmask
        sample2[j] = sample[j]
    q = k / n
    spread = 4.0 * np.sqrt(q * (1.0 - q) * n_sample) + 8.0
    pos = n_sample * (1.0 - q)
    i_lo = max(int(pos - spread), 0)
    i_hi = min(int(pos + spread), n_sample - 1)
    if i_lo > 0:
        lo = _kth_smallest_bits(sample2, n_sample, i_lo)
    else:
        lo = u.dtype.type(0)
    if i_hi < n_sample - 1:
        hi = _kth_smallest_bits(sample, n_sample, i_hi)
    else:  # the bracket reaches the largest sampled magnitude: leave it open above
        hi = nonfinite - u.dtype.type(1)
    capacity = min(int(1.5 * (i_hi - i_lo + 1) * (n / n_sample)) + 64, n)
    # Block by block (the block stays in L1): the first loop writes the kept
    # entries, counts them and flags the entries inside the bracket, with
    # stores and sums only, so it vectorises; the second reads the flags
    # eight at a time and skips the all-zero words (most of them), so the
    # branch of gathering is paid only near the threshold.
    # (v - lo) <= width is lo <= v <= hi in unsigned arithmetic.
    width = hi - lo
    flags = np.empty(_BLOCK, dtype=np.uint8)
    cand = np.empty(capacity, dtype=np.int64)
    cvals = np.empty(capacity, dtype=u.dtype)
    n_cand = np.intp(0)  # not a literal 0: numba would compile the callee twice
    above = 0
    bad = 0
    zero = a.dtype.type(0)
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        size = stop - start
        for i in range(size, _BLOCK):
            flags[i] = 0
        # slices, not a[start + i]: with an offset index the loop does not vectorise
        a_blk = a[start:stop]
        u_blk = u[start:stop]
        out_blk = out[start:stop]
        for i in range(size):
            v = u_blk[i] & absmask
            keep = v > hi
            out_blk[i] = a_blk[i] if keep else zero
            above += keep
            bad += v >= nonfinite
            flags[i] = (v - lo) <= width
        for w in range(0, _BLOCK, 8):
            # eight flags at once (LLVM loads them as one word)
            if (flags[w] | flags[w + 1] | flags[w + 2] | flags[w + 3]
                    | flags[w + 4] | flags[w + 5] | flags[w + 6] | flags[w + 7]):
                for j in range(w, w + 8):
                    if flags[j]:
                        if n_cand == capacity:
                            return -1 if bad else 1
                        i = start + j
                        cand[n_cand] = i
                        cvals[n_cand] = u[i] & absmask
                        n_cand += 1
    if bad:
        return -1
    need = k - above
    if need < 0 or need > n_cand:
        return 1
    _keep_candidates(a, cand, cvals, n_cand, need, out)
    return 0


@numba.njit(**JIT)
def select_rows(a, mag, k, out, mask):
    """Keep the ``k`` largest ``mag`` entries of every row of a 2-D array.

    ``a`` (rows x L, any real or complex dtype) supplies the kept values,
    ``mag`` (rows x L) the magnitudes compared, as floats or as the unsigned
    bit patterns of non-negative floats (same order); 0 <= k <= L.  Used for
    top-k along an axis, per group of consecutive entries and N:M selection.
    Ties are broken by the lowest index within the row.  Rows of at least
    ``_ROW_BUCKETS_MIN`` entries select with buckets, shorter ones with
    quickselect, groups of at most 16 with k arg-max passes.
    """
    rows, length = mag.shape
    want_out = out.size > 0
    want_mask = mask.size > 0
    scratch = np.empty(length, dtype=mag.dtype)
    taken = np.zeros(min(length, 16), dtype=np.bool_)
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
            for j in range(length):
                taken[j] = False
            for _ in range(k):
                best = -1
                for j in range(length):
                    if not taken[j] and (best < 0 or mag[r, j] > mag[r, best]):
                        best = j
                taken[best] = True
                if want_out:
                    out[r, best] = a[r, best]
                if want_mask:
                    mask[r, best] = True
            continue
        for j in range(length):
            scratch[j] = mag[r, j]
        if length >= _ROW_BUCKETS_MIN:
            t = _kth_smallest_bits(scratch, length, length - k)
        else:
            t = _kth_smallest(scratch, length, length - k)
        n_gt = 0
        for j in range(length):
            if mag[r, j] > t:
                n_gt += 1
        ties = k - n_gt
        for j in range(length):
            v = mag[r, j]
            keep = v > t
            if v == t and ties > 0:
                keep = True
                ties -= 1
            if keep:
                if want_out:
                    out[r, j] = a[r, j]
                if want_mask:
                    mask[r, j] = True
    return 0


@numba.njit(**JIT)
def soft(a, tau, level, out):
    """out = sign(a) * min(max(|a| - tau, 0), level) on a flat real array.

    ``level = inf`` is plain soft thresholding; ``tau = 0`` is clipping at
    ``level``; both together are the clipped soft threshold of Price et al.
    """
    for i in range(a.size):
        v = a[i]
        if v > tau:
            out[i] = min(v - tau, level)
        elif v < -tau:
            out[i] = max(v + tau, -level)
        else:
            out[i] = 0
    return out


@numba.njit(**JIT)
def shifted_relu(a, tau, level, out):
    """out = min(max(a - tau, 0), level) on a flat real array."""
    for i in range(a.size):
        v = a[i] - tau
        out[i] = min(v, level) if v > 0 else 0
    return out


@numba.njit(**JIT)
def hard_tau(a, tau, out):
    """out = a where |a| > tau, else 0 (flat real array)."""
    for i in range(a.size):
        v = a[i]
        out[i] = v if abs(v) > tau else 0
    return out


@numba.njit(**JIT)
def all_finite(a):
    """True when the flat real array holds no NaN and no infinity."""
    for i in range(a.size):
        if not np.isfinite(a[i]):
            return False
    return True


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
# (cs.dcsc).  Direct-path circular convolutions: atom (k, t) of a dictionary
# is filter k placed at offset t, so synthesis is
#     X[b, c, u] = sum_k sum_j f[k, c, j] G[b, k, (u - j) mod N]
# and analysis (the adjoint) the cross-correlation
#     Z[b, k, t] = sum_c sum_j f[k, c, j] V[b, c, (t + j) mod N].
# Each wrap-around is split into two contiguous loops so that the inner
# loops vectorise.  References: tests/naive.py (section "convolution").
# ---------------------------------------------------------------------------


@numba.njit(**JIT)
def conv1d_synthesis(filters, G, out):
    """out[b, c] = sum_k f[k, c] (*) G[b, k] (circular convolution); out zeroed here."""
    m, C, n = filters.shape
    B, _, N = G.shape
    out[:] = 0
    for b in range(B):
        for k in range(m):
            g = G[b, k]
            for c in range(C):
                x = out[b, c]
                for j in range(n):
                    w = filters[k, c, j]
                    if w == 0:
                        continue
                    for u in range(j, N):
                        x[u] += w * g[u - j]
                    for u in range(j):
                        x[u] += w * g[u - j + N]
    return out


@numba.njit(**JIT)
def conv1d_analysis(filters, V, out):
    """out[b, k] = sum_c f[k, c] (x) V[b, c] (circular cross-correlation); out zeroed here."""
    m, C, n = filters.shape
    B, _, N = V.shape
    out[:] = 0
    for b in range(B):
        for k in range(m):
            z = out[b, k]
            for c in range(C):
                v = V[b, c]
                for j in range(n):
                    w = filters[k, c, j]
                    if w == 0:
                        continue
                    for t in range(N - j):
                        z[t] += w * v[t + j]
                    for t in range(N - j, N):
                        z[t] += w * v[t + j - N]
    return out


@numba.njit(**JIT)
def conv2d_synthesis(filters, G, out):
    """2-D circular convolution: out[b, c] = sum_k f[k, c] (*) G[b, k]; out zeroed here."""
    m, C, nh, nw = filters.shape
    B, _, H, W = G.shape
    out[:] = 0
    for b in range(B):
        for k in range(m):
            for c in range(C):
                for ji in range(nh):
                    for jj in range(nw):
                        w = filters[k, c, ji, jj]
                        if w == 0:
                            continue
                        for u in range(H):
                            src = G[b, k, (u - ji + H) % H]
                            dst = out[b, c, u]
                            for v in range(jj, W):
                                dst[v] += w * src[v - jj]
                            for v in range(jj):
                                dst[v] += w * src[v - jj + W]
    return out


@numba.njit(**JIT)
def conv2d_analysis(filters, V, out):
    """2-D circular cross-correlation: out[b, k] = sum_c f[k, c] (x) V[b, c]; out zeroed here."""
    m, C, nh, nw = filters.shape
    B, _, H, W = V.shape
    out[:] = 0
    for b in range(B):
        for k in range(m):
            for c in range(C):
                for ji in range(nh):
                    for jj in range(nw):
                        w = filters[k, c, ji, jj]
                        if w == 0:
                            continue
                        for t in range(H):
                            src = V[b, c, (t + ji) % H]
                            dst = out[b, k, t]
                            for s in range(W - jj):
                                dst[s] += w * src[s + jj]
                            for s in range(W - jj, W):
                                dst[s] += w * src[s + jj - W]
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
