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
  This lets one compiled kernel produce values, a mask, or both.
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
# Size of the strided sample that brackets the threshold in select_flat.
_SAMPLE = 1 << 14


@numba.njit(**JIT)
def _keep_candidates(a, u, cand, n_cand, need, absmask, out, mask):
    """Keep the ``need`` largest of the candidate entries ``cand[:n_cand]``.

    ``cand`` lists indices in increasing order, so equal magnitudes at the
    threshold are kept lowest index first.
    """
    want_out = out.size > 0
    want_mask = mask.size > 0
    if need == 0:
        return
    vals = np.empty(n_cand, dtype=u.dtype)
    for j in range(n_cand):
        vals[j] = u[cand[j]] & absmask
    t_bits = np.partition(vals, n_cand - need)[n_cand - need]
    n_gt = 0
    for j in range(n_cand):
        if vals[j] > t_bits:
            n_gt += 1
    ties = need - n_gt
    for j in range(n_cand):
        keep = vals[j] > t_bits
        if vals[j] == t_bits and ties > 0:
            keep = True
            ties -= 1
        if keep:
            i = cand[j]
            if want_out:
                out[i] = a[i]
            if want_mask:
                mask[i] = True


@numba.njit(**JIT)
def _select_bracket(a, u, k, absmask, nonfinite, lo, hi, capacity, out, mask):
    """One pass: keep entries above ``hi``, gather those in [lo, hi].

    Returns the status: 0 done, -1 non-finite data, 1 the k-th largest
    magnitude was not inside the bracket (or too many candidates).
    """
    n = a.size
    # two simple loops beat one branchy loop: the first (writes and a count)
    # vectorises, the second (a rarely-true test) predicts well
    above = 0
    bad = 0
    if out.size > 0:
        zero = a.dtype.type(0)
        for i in range(n):
            v = u[i] & absmask
            keep = v > hi
            out[i] = a[i] if keep else zero
            above += keep
            bad += v >= nonfinite
    if mask.size > 0:
        above = 0
        for i in range(n):
            v = u[i] & absmask
            keep = v > hi
            mask[i] = keep
            above += keep
            bad += v >= nonfinite
    if bad:
        return -1
    cand = np.empty(capacity, dtype=np.int64)
    n_cand = 0
    for i in range(n):
        v = u[i] & absmask
        if v >= lo and v <= hi:
            if n_cand == capacity:
                return 1
            cand[n_cand] = i
            n_cand += 1
    need = k - above
    if need < 0 or need > n_cand:
        return 1
    _keep_candidates(a, u, cand, n_cand, need, absmask, out, mask)
    return 0


@numba.njit(**JIT)
def _select_histogram(a, u, k, absmask, nonfinite, shift, out, mask):
    """Radix selection: a 16-bit histogram pass, then one gathering pass."""
    n = a.size
    want_out = out.size > 0
    want_mask = mask.size > 0
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
    c = 0
    for i in range(n):
        key = (u[i] & absmask) >> shift
        keep = key > b
        if want_out:
            out[i] = a[i] if keep else 0
        if want_mask:
            mask[i] = keep
        if key == b:
            cand[c] = i
            c += 1
    _keep_candidates(a, u, cand, c, k - above, absmask, out, mask)
    return 0


@numba.njit(**JIT)
def select_flat(a, u, k, absmask, nonfinite, shift, out, mask):
    """Keep the ``k`` entries of largest magnitude of the 1-D array ``a``.

    Parameters
    ----------
    a : 1-D float32/float64 array (C contiguous).
    u : the same memory viewed as uint32/uint64.
    k : int, 0 < k < a.size.
    absmask : unsigned mask that clears the sign bit.
    nonfinite : the bit pattern of +inf; magnitude bits >= it are inf/NaN.
    shift : bits to drop so that ``(u & absmask) >> shift`` has 16 bits.
    out : float array of a's size (or size 0): a where kept, 0 elsewhere.
    mask : bool array of a's size (or size 0): True where kept.

    Returns
    -------
    status : 0 on success, -1 if ``a`` holds a NaN or an infinity.

    Notes
    -----
    A strided sample of ``_SAMPLE`` magnitudes brackets the k-th largest
    magnitude (its order statistics, widened by four standard deviations of
    the sample quantile); one pass then writes every entry above the bracket
    and gathers those inside it, and the exact threshold among those comes
    from ``np.partition``.  One read and one write of the data, against about
    ten passes for the NumPy idiom.  When the bracket misses (adversarial or
    heavily tied data) the exact radix selection of ``_select_histogram``
    runs instead, so the result never depends on the sample.
    """
    n = a.size
    if n >= 4 * _SAMPLE:
        step = n // _SAMPLE
        sample = np.empty(_SAMPLE, dtype=u.dtype)
        for j in range(_SAMPLE):
            sample[j] = u[j * step] & absmask
        q = k / n
        spread = 4.0 * np.sqrt(q * (1.0 - q) * _SAMPLE) + 8.0
        pos = _SAMPLE * (1.0 - q)
        i_lo = max(int(pos - spread), 0)
        i_hi = min(int(pos + spread), _SAMPLE - 1)
        lo = np.partition(sample, i_lo)[i_lo] if i_lo > 0 else u.dtype.type(0)
        hi = np.partition(sample, i_hi)[i_hi]
        if i_hi < _SAMPLE - 1:
            capacity = int(1.5 * (i_hi - i_lo + 1) * (n / _SAMPLE)) + 64
            status = _select_bracket(a, u, k, absmask, nonfinite, lo, hi, capacity, out, mask)
            if status <= 0:
                return status
    return _select_histogram(a, u, k, absmask, nonfinite, shift, out, mask)


@numba.njit(**JIT)
def select_rows(a, mag, k, out, mask):
    """Keep the ``k`` largest ``mag`` entries of every row of a 2-D array.

    ``a`` (rows x L, any real or complex dtype) supplies the kept values,
    ``mag`` (rows x L, float) the magnitudes compared; 0 <= k <= L.  Used for
    top-k along an axis, per group of consecutive entries and N:M selection.
    Ties are broken by the lowest index within the row.
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
        t = np.partition(scratch, length - k)[length - k]
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
