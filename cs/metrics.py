"""Error measures and the success rule of phase-transition experiments."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validation import check_array, check_real

__all__ = ["relative_error", "psnr", "SupportScore", "support_recovery", "is_success"]


def _pair(estimate, truth):
    estimate = check_array(estimate, "estimate", finite=False)
    truth = check_array(truth, "truth")
    if estimate.shape != truth.shape:
        raise ValueError(f"estimate has shape {estimate.shape} but truth has shape {truth.shape}")
    return estimate, truth


def relative_error(estimate, truth):
    r""":math:`\|\hat X - X\|_F / \|X\|_F` (the absolute error when ``X = 0``).

    A non-finite estimate has error ``inf``.
    """
    estimate, truth = _pair(estimate, truth)
    err = float(np.linalg.norm((estimate - truth).ravel()))
    if not np.isfinite(err):
        return np.inf
    norm = float(np.linalg.norm(truth.ravel()))
    return err / norm if norm > 0 else err


def psnr(estimate, truth, *, data_range=None):
    r"""Peak signal-to-noise ratio in dB: :math:`10\log_{10}(R^2 / \mathrm{MSE})`.

    ``data_range`` R defaults to ``max(truth) - min(truth)``.  Returns
    ``inf`` for a perfect estimate.
    """
    estimate, truth = _pair(estimate, truth)
    if data_range is None:
        data_range = float(truth.max() - truth.min()) if truth.size else 0.0
    data_range = check_real(data_range, "data_range", low=0.0, low_open=True)
    mse = float(np.mean(np.abs(estimate - truth) ** 2))
    return np.inf if mse == 0 else 10.0 * np.log10(data_range ** 2 / mse)


class SupportScore(NamedTuple):
    """Precision, recall and F-measure of an estimated support."""

    precision: float
    recall: float
    f_measure: float


def support_recovery(estimate, truth, *, tol=0.0):
    """Compare the supports ``|estimate| > tol`` and ``truth != 0``.

    Precision is the fraction of the estimated support that is true, recall
    the fraction of the true support found, and the F-measure their harmonic
    mean.  An empty support counts as precision (or recall) 1.
    """
    estimate, truth = _pair(estimate, truth)
    tol = check_real(tol, "tol", low=0.0)
    found = np.abs(estimate) > tol
    true = truth != 0
    hits = int(np.count_nonzero(found & true))
    n_found, n_true = int(found.sum()), int(true.sum())
    precision = hits / n_found if n_found else 1.0
    recall = hits / n_true if n_true else 1.0
    f_measure = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return SupportScore(precision, recall, f_measure)


def is_success(estimate, truth, *, tol=1e-3):
    """The phase-transition success rule: relative error of X below ``tol``."""
    return relative_error(estimate, truth) < check_real(tol, "tol", low=0.0, low_open=True)
