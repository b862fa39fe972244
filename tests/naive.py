"""Plain-NumPy references for every numba kernel in cs._kernels (slow, obvious)."""

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
