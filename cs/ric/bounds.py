r"""Blanchard-Cartis-Tanner upper bounds on the RICs of Gaussian matrices (SIAM Review 53(1), 2011)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.optimize
from scipy.special import xlogy

__all__ = ["BCTBounds", "bct_bounds"]


def _entropy(p):
    """Shannon entropy with natural logarithms, H(0) = H(1) = 0."""
    return -(xlogy(p, p) + xlogy(1.0 - p, 1.0 - p))


def _psi_min(lam, rho):
    return _entropy(rho) + 0.5 * ((1.0 - rho) * np.log(lam) + 1.0 - rho + xlogy(rho, rho) - lam)


def _psi_max(lam, rho):
    return 0.5 * ((1.0 + rho) * np.log(lam) + 1.0 + rho - xlogy(rho, rho) - lam)


def _lambda_min(delta, rho):
    """The root lambda <= 1 - rho of delta psi_min(lambda, rho) + H(rho delta) = 0."""
    if rho >= 1.0:
        return 0.0
    h = _entropy(rho * delta)

    def gap(lam):
        return delta * _psi_min(lam, rho) + h

    hi = 1.0 - rho  # gap(hi) = delta H(rho) / 2 + h > 0, and gap increases on (0, hi]
    lo = 0.5 * hi
    while gap(lo) > 0:
        lo *= 0.5
        if lo < 1e-300:
            return 0.0
    return scipy.optimize.brentq(gap, lo, hi, xtol=1e-15, rtol=1e-14)


def _lambda_max(delta, rho):
    """The root lambda >= 1 + rho of delta psi_max(lambda, rho) + H(rho delta) = 0."""
    h = _entropy(rho * delta)

    def gap(lam):
        return delta * _psi_max(lam, rho) + h

    lo = 1.0 + rho  # gap(lo) > 0, and gap decreases on [lo, inf)
    hi = 2.0 * lo
    while gap(hi) > 0:
        lo, hi = hi, 2.0 * hi
    return scipy.optimize.brentq(gap, lo, hi, xtol=1e-14, rtol=1e-14)


def _upper_bound(delta, rho):
    """min over nu in [rho, 1] of lambda_max(delta, nu), minus 1."""
    if rho >= 1.0:
        return _lambda_max(delta, 1.0) - 1.0
    grid = np.linspace(rho, 1.0, 41)
    values = np.array([_lambda_max(delta, nu) for nu in grid])
    i = int(np.argmin(values))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    best = values[i]
    if b > a:
        opt = scipy.optimize.minimize_scalar(lambda nu: _lambda_max(delta, nu), bounds=(a, b),
                                             method="bounded", options=dict(xatol=1e-10))
        best = min(best, float(opt.fun))
    return best - 1.0


class BCTBounds(NamedTuple):
    """Upper bounds on the lower and upper RICs of Gaussian matrices."""

    L: float | np.ndarray
    U: float | np.ndarray


def bct_bounds(delta, rho):
    r"""Blanchard-Cartis-Tanner upper bounds :math:`\mathcal{L}(\delta,\rho)`, :math:`\mathcal{U}(\delta,\rho)`.

    For an ``n x N`` matrix with i.i.d. :math:`N(0, 1/n)` entries, as
    :math:`k/n \to \rho` and :math:`n/N \to \delta`, the RICs on k-sparse
    vectors satisfy :math:`L(k,n,N) < \mathcal{L}(\delta,\rho) + \epsilon`
    and :math:`U(k,n,N) < \mathcal{U}(\delta,\rho) + \epsilon` with
    probability tending to one, for every :math:`\epsilon > 0`
    (Blanchard, Cartis & Tanner 2011, Definition 2.2 and Theorem 2.3).  With
    the Shannon entropy :math:`H(p) = -p\ln p - (1-p)\ln(1-p)`,

    .. math::

        \psi_{\min}(\lambda,\rho) &= H(\rho) + \tfrac12\left[(1-\rho)\ln\lambda + 1 - \rho
            + \rho\ln\rho - \lambda\right],\\
        \psi_{\max}(\lambda,\rho) &= \tfrac12\left[(1+\rho)\ln\lambda + 1 + \rho
            - \rho\ln\rho - \lambda\right],

    :math:`\lambda_{\min}(\delta,\rho) \le 1-\rho` solves
    :math:`\delta\,\psi_{\min}(\lambda,\rho) + H(\rho\delta) = 0` and
    :math:`\lambda_{\max}(\delta,\rho) \ge 1+\rho` solves
    :math:`\delta\,\psi_{\max}(\lambda,\rho) + H(\rho\delta) = 0` (the
    exponents of Edelman's tail bounds on the extreme eigenvalues of a
    Wishart matrix, balanced against the :math:`\binom{N}{k} \approx
    e^{N H(\rho\delta)}` supports of the union bound); then

    .. math::

        \mathcal{L}(\delta,\rho) = 1 - \lambda_{\min}(\delta,\rho), \qquad
        \mathcal{U}(\delta,\rho) = \min_{\nu\in[\rho,1]} \lambda_{\max}(\delta,\nu) - 1.

    Normalisation: the bounds are for entries of variance ``1 / n`` with
    ``n`` the number of measurements, which is the variance ``1/p`` of
    :func:`cs.operators.gaussian` (``p`` measurements): so for
    ``gaussian(p, N)`` and sparsity ``k`` use ``delta = p / N`` and
    ``rho = k / p``.  For other variances ``s^2``, the ratios scale by
    ``s^2 n``.

    Parameters
    ----------
    delta : float or array_like, in (0, 1]
        Undersampling ratio ``p / N``.
    rho : float or array_like, in (0, 1]
        Oversampling ratio ``k / p``; broadcast against ``delta``.

    Returns
    -------
    BCTBounds
        ``(L, U)``, floats or arrays of the broadcast shape.
    """
    arrays = {}
    for name, value in (("delta", delta), ("rho", rho)):
        if value is None or isinstance(value, (bool, np.bool_, str, bytes)):
            raise TypeError(f"{name} must be a number or an array of numbers, got {name}={value!r}")
        try:
            arr = arrays[name] = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a number or an array of numbers, got {name}={value!r}") from None
        if not np.all(np.isfinite(arr)) or np.any(arr <= 0) or np.any(arr > 1):
            raise ValueError(f"{name} must lie in (0, 1], got {name}={arr if arr.ndim else float(arr)}")
    try:
        d, r = np.broadcast_arrays(arrays["delta"], arrays["rho"])
    except ValueError:
        raise ValueError(f"delta (shape {arrays['delta'].shape}) and rho (shape {arrays['rho'].shape}) "
                         "do not broadcast together") from None
    L = np.empty(d.shape)
    U = np.empty(d.shape)
    for idx in np.ndindex(d.shape):
        L[idx] = 1.0 - _lambda_min(float(d[idx]), float(r[idx]))
        U[idx] = _upper_bound(float(d[idx]), float(r[idx]))
    if d.ndim == 0:
        return BCTBounds(float(L), float(U))
    return BCTBounds(L, U)
