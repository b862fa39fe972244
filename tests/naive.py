"""Plain-NumPy references for every numba kernel in cs._kernels (slow, obvious), and a few by-hand
solver steps the solver tests compare with."""

import numpy as np


def keep_largest(x, k):
    """Top-k by magnitude over the flat array, ties to the lowest index."""
    flat = np.asarray(x).reshape(-1)
    # stable sort of -|x| keeps equal magnitudes in index order
    order = np.argsort(-np.abs(flat), kind="stable")
    mask = np.zeros(flat.size, bool)
    mask[order[:k]] = True
    return np.where(mask, flat, 0).reshape(np.shape(x)), mask.reshape(np.shape(x))


def keep_largest_rows(x2d, k):
    values, masks = zip(*(keep_largest(row, k) for row in x2d)) if len(x2d) else ((), ())
    return np.array(values).reshape(x2d.shape), np.array(masks).reshape(x2d.shape)


def restricted_matvec(M, cols, v):
    """M[:, cols] @ v with M dense or scipy.sparse (densified: slow, obvious)."""
    dense = M.toarray() if hasattr(M, "toarray") else np.asarray(M)
    return dense[:, cols] @ v


def restricted_rmatvec(M, cols, y):
    """M[:, cols].T @ y."""
    dense = M.toarray() if hasattr(M, "toarray") else np.asarray(M)
    return dense[:, cols].T @ y


def soft(x, tau, level=np.inf):
    return np.sign(x) * np.minimum(np.maximum(np.abs(x) - tau, 0), level)


def shifted_relu(x, tau, level=np.inf):
    return np.minimum(np.maximum(x - tau, 0), level)


def hard_tau(x, tau):
    return np.where(np.abs(x) > tau, x, 0)


# ---------------------------------------------------------------------------
# convolution: references for the cs._kernels section "Convolutional
# dictionaries" (explicit index loops over the circular shifts).
# ---------------------------------------------------------------------------


def conv_synthesis(filters, G):
    """X[b, c, u] = sum_k sum_j f[k, c, j] G[b, k, u - j] (circular, any number of spatial axes)."""
    filters, G = np.asarray(filters), np.asarray(G)
    m, C = filters.shape[:2]
    spatial = G.shape[2:]
    X = np.zeros((G.shape[0], C) + spatial)
    for j in np.ndindex(*filters.shape[2:]):
        shifted = np.roll(G, j, axis=tuple(range(2, G.ndim)))  # shifted[..., u] = G[..., u - j]
        X += np.einsum("kc,bk...->bc...", filters[(slice(None), slice(None)) + j], shifted)
    return X


def conv_analysis(filters, V):
    """Z[b, k, t] = sum_c sum_j f[k, c, j] V[b, c, t + j] (circular)."""
    filters, V = np.asarray(filters), np.asarray(V)
    Z = np.zeros((V.shape[0], filters.shape[0]) + V.shape[2:])
    for j in np.ndindex(*filters.shape[2:]):
        shifted = np.roll(V, tuple(-i for i in j), axis=tuple(range(2, V.ndim)))  # V[..., t + j]
        Z += np.einsum("kc,bc...->bk...", filters[(slice(None), slice(None)) + j], shifted)
    return Z


def stripe_capped_support(candidates, shape, half, cap):
    """Greedy acceptance in candidate order: a candidate is kept when every stripe
    (a box of half-width ``half`` per spatial axis, circular) that contains it
    still holds fewer than ``cap`` nonzeros.  ``shape`` = (m, *spatial)."""
    accept = np.zeros(int(np.prod(shape)), bool)
    spatial = shape[1:]
    for c in candidates:
        trial = accept.copy()
        trial[c] = True
        ind = trial.reshape(shape).sum(axis=0)
        counts = ind
        for ax, (h, n) in enumerate(zip(half, spatial)):
            width = min(2 * h + 1, n)
            lo = -h if 2 * h + 1 <= n else 0
            counts = sum(np.roll(counts, -(lo + d), axis=ax) for d in range(width))
        if counts.max() <= cap:
            accept = trial
    return accept


# ============================================================================ RIC (cs.ric.sparse)
# Reference of cs._kernels.ric_swap_scores: every swap's score from explicit
# vectors, sign * (the extreme eigenvalue of A^T A on span{x - v_i e_{T_i}, e_j}).

def ric_swap_scores(M, T, v, lam, sign):
    """The 2 x 2 Rayleigh-Ritz value of every swap, from explicit vectors."""
    k, n = len(T), M.shape[1]
    x = np.zeros(n)
    x[T] = v
    out = np.full((k, n), -np.inf)
    for i in range(k):
        w = x.copy()
        w[T[i]] = 0.0
        for j in range(n):
            if j in T:
                continue
            basis = [b for b in (w / np.linalg.norm(w) if np.linalg.norm(w) > 1e-7 else None,
                                 np.eye(n)[j]) if b is not None]
            B = M @ np.column_stack(basis)
            eig = np.linalg.eigvalsh(B.T @ B)
            out[i, j] = sign * (eig[-1] if sign > 0 else eig[0])
    return out


# ---------------------------------------------------------------- solver references

def ls_first_splits(prob):
    """The one-pass L+S starts of W = A*b by hand: ``{"low_rank_first": L0 + S0, "sparse_first": ...}``."""
    from cs import threshold

    W = prob.A.adjoint(prob.b)
    L0 = threshold.truncate_rank(W, prob.rank).X
    S1 = threshold.hard(W, prob.sparsity)
    return {"low_rank_first": L0 + threshold.hard(W - L0, prob.sparsity),
            "sparse_first": threshold.truncate_rank(W - S1, prob.rank).X + S1}
