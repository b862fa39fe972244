r"""Sparsity-inducing activations, their Gaussian-process maps, and activation sparsifiers.

The activations
---------------
The two natural sparsifying activations and their clipped forms (Price,
Daultry Ball, Lam, Jones & Tanner, ICLR 2024), all with a threshold
:math:`\tau \ge 0` and a clipping level :math:`m > 0` (``m = inf``: no clip):

* shifted ReLU           :math:`\max(x - \tau, 0)`,
* soft threshold         :math:`\operatorname{sign}(x)\max(|x| - \tau, 0)`,
* clipped shifted ReLU   :math:`\min(\max(x - \tau, 0), m)` (the paper's "CReLU"),
* clipped soft threshold :math:`\operatorname{sign}(x)\min(\max(|x| - \tau, 0), m)` ("CST").

"CReLU" also names the *concatenated* ReLU (Shang et al. 2016), hence the
long public names; the maps below take ``kind="shifted_relu"`` or
``kind="soft_threshold"`` with a clipping level ``m``.  The activations call
:mod:`cs.threshold` (``shifted_relu``, ``soft``).

The Gaussian-process maps
-------------------------
In a wide random network :math:`h^l = W^l\phi(h^{l-1}) + b^l`,
:math:`W_{ij} \sim N(0, \sigma_w^2/N)`, :math:`b_i \sim N(0, \sigma_b^2)`,
the pre-activations of a layer are Gaussian with variance :math:`q^l` and

.. math::
    q^{l+1} = V(q^l) = \sigma_w^2\,E_z[\phi(\sqrt{q^l} z)^2] + \sigma_b^2,
    \qquad \chi_1 = \sigma_w^2\,E_z[\phi'(\sqrt{q^*} z)^2],

with :math:`z \sim N(0, 1)` and :math:`q^* = V(q^*)`.  The edge of chaos is
:math:`\chi_1 = 1`.  With :math:`\sigma = \sqrt q`, :math:`a = \tau/\sigma`,
:math:`b = (\tau + m)/\sigma` (:math:`b = \infty` without clip),
:math:`I_0 = \Phi(b) - \Phi(a)` and :math:`k = 1` for the shifted ReLU,
:math:`k = 2` for the soft threshold (derived here; checked against Monte
Carlo and finite differences in the tests):

.. math::
    E[\phi^2] &= k\{q[(1 + a^2) I_0 - a\varphi(a) - (b - 2a)\varphi(b)] + m^2\bar\Phi(b)\},\\
    E[\phi'^2] &= k I_0, \qquad E[\phi\phi''] = -k(b - a)\varphi(b),\\
    V'(q) &= \sigma_w^2 (E[\phi'^2] + E[\phi\phi''])
           = \sigma_w^2 k[I_0 - (b - a)\varphi(b)],\\
    V''(q) &= \frac{\sigma_w^2 k}{2q}[a\varphi(a) - b\varphi(b) - (b - a)(b^2 - 1)\varphi(b)],

(:math:`V'` by the heat equation :math:`\partial_q E f(\sqrt q z) = \tfrac12 E f''(\sqrt q z)`,
with :math:`\phi''` the Dirac masses at the kinks; :math:`V''` by differentiating
:math:`V'`).  The fraction of exact zeros is :math:`\Phi(a)` (shifted ReLU) or
:math:`2\Phi(a) - 1` (soft threshold); the fraction at the clip, :math:`k\bar\Phi(b)`.

Without clip :math:`V'(q^*) = \chi_1 = 1` at the edge of chaos and
:math:`V''(q^*) = \sigma_w^2 k a\varphi(a)/(2q^*) > 0`: the fixed point is
approached from below but repels from above, and a finite network's
fluctuations push the variance up, where the sparsity falls and the variance
grows geometrically.  With a clip, :math:`V'(q^*) = 1 - \sigma_w^2 k (m/\sigma)
\varphi(b) < 1` (a stable fixed point) and :math:`V \le \sigma_w^2 m^2 + \sigma_b^2`.

Activation sparsifiers (training free)
--------------------------------------
Each is a hard-threshold mask :math:`x \mapsto x \odot 1[|x_i| w_i > t]` on
the last axis (``cs.threshold.hard_tau``), or the top ``k`` of
:math:`|x_i| w_i` per token (``cs.threshold.top_k_mask``):

* TEAL (Liu et al. 2024): :math:`w = 1`, :math:`t` the magnitude below which
  a fraction ``sparsity`` of calibration entries lies (one per tensor);
* CHESS (He et al. 2024): :math:`w_i = \sqrt{E[u_i^2]}` from the up
  projection, so the channel-wise threshold on the gate is
  :math:`t_i = \sqrt{T/E[u_i^2]}` with :math:`T` the quantile of the
  importance :math:`g_i^2 E[u_i^2]`;
* WINA (2025): :math:`w_i = \|W_{:,i}\|_2`, the norm of the weight column
  the input channel multiplies;
* top-k per token (Li et al., "The lazy neuron phenomenon", ICLR 2023).

References
----------
I. Price, N. Daultry Ball, S. C. H. Lam, A. C. Jones and J. Tanner, "Deep
neural network initialization with sparsity inducing activations", ICLR 2024.
B. Poole, S. Lahiri, M. Raghu, J. Sohl-Dickstein and S. Ganguli, "Exponential
expressivity in deep neural networks through transient chaos", NeurIPS 2016.
J. Liu et al., "Training-free activation sparsity in large language models"
(TEAL), 2024.  J. He et al., "CHESS: optimizing LLM inference via
channel-wise thresholding and selective sparsification", 2024.  "WINA:
weight informed neuron activation for accelerating LLM inference", 2025.
Z. Li et al., "The lazy neuron phenomenon", ICLR 2023.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import integrate, optimize
from scipy.special import ndtr, ndtri

from . import threshold
from ._validation import check_array, check_choice, check_int, check_real

__all__ = [
    "clipped_shifted_relu", "clipped_soft_threshold",
    "clipped_shifted_relu_grad", "clipped_soft_threshold_grad",
    "KINDS", "GaussianMoments", "gaussian_moments", "VarianceMap", "variance_map",
    "chi1", "fixed_point", "correlation_map", "expected_sparsity", "tau_for_sparsity",
    "EdgeOfChaos", "edge_of_chaos", "ClipProfile", "clip_level_profile", "suggest_clip",
    "ActivationSparsifier", "teal", "chess", "wina", "top_k", "top_k_per_token",
]

KINDS = ("shifted_relu", "soft_threshold")
_SQRT_2PI = np.sqrt(2.0 * np.pi)


# --------------------------------------------------------------------------- activations

def _check_m(m):
    if m is None:
        return np.inf
    if isinstance(m, (int, float, np.floating, np.integer)) and not isinstance(m, bool) and m == np.inf:
        return np.inf
    return check_real(m, "m", low=0.0, low_open=True)


def _level(m):
    return None if m == np.inf else m


def clipped_shifted_relu(x, tau, m=np.inf):
    r"""The clipped shifted ReLU :math:`\min(\max(x - \tau, 0), m)` ("CReLU").

    With ``m = inf`` this is the shifted ReLU :math:`\max(x - \tau, 0)`; with
    ``tau = 0`` and ``m = inf`` the ReLU.  Computed by
    :func:`cs.threshold.shifted_relu`; the output has ``x``'s dtype.

    Parameters
    ----------
    x : array_like, real
    tau : float >= 0
        The shift; inputs at or below it give exact zeros.
    m : float > 0 or inf
        The clipping level of the output.

    References
    ----------
    Price et al., "Deep neural network initialization with sparsity inducing
    activations", ICLR 2024.

    Examples
    --------
    >>> clipped_shifted_relu([-1.0, 0.5, 1.5, 4.0], 1.0, 2.0)
    array([0. , 0. , 0.5, 2. ])
    """
    return threshold.shifted_relu(x, tau, level=_level(_check_m(m)))


def clipped_soft_threshold(x, tau, m=np.inf):
    r"""The clipped soft threshold :math:`\operatorname{sign}(x)\min(\max(|x| - \tau, 0), m)` ("CST").

    With ``m = inf`` this is soft thresholding.  Computed by
    :func:`cs.threshold.soft`.

    Examples
    --------
    >>> clipped_soft_threshold([-4.0, -1.5, 0.5, 1.5], 1.0, 2.0)
    array([-2. , -0.5,  0. ,  0.5])
    """
    return threshold.soft(x, tau, level=_level(_check_m(m)))


def _grad_mask(u, tau, m):
    return ((u > tau) & (u < tau + m))


def clipped_shifted_relu_grad(x, tau, m=np.inf):
    r"""Derivative of :func:`clipped_shifted_relu`: 1 on :math:`(\tau, \tau + m)`, else 0.

    At the two kinks (measure zero) the value 0 is returned.  Same dtype as ``x``.
    """
    x = check_array(x, "x", allow_complex=False)
    tau = check_real(tau, "tau", low=0.0)
    return _grad_mask(x, tau, _check_m(m)).astype(x.dtype)


def clipped_soft_threshold_grad(x, tau, m=np.inf):
    r"""Derivative of :func:`clipped_soft_threshold`: 1 where :math:`\tau < |x| < \tau + m`, else 0."""
    x = check_array(x, "x", allow_complex=False)
    tau = check_real(tau, "tau", low=0.0)
    return _grad_mask(np.abs(x), tau, _check_m(m)).astype(x.dtype)


# --------------------------------------------------------------------------- Gaussian moments

def _check_kind(kind):
    return check_choice(kind, "kind", set(KINDS))


def _check_tau(kind, tau):
    # the maps hold for a negative shift of the (one-sided) shifted ReLU; the soft threshold needs tau >= 0
    return check_real(tau, "tau", low=0.0 if kind == "soft_threshold" else None)


def _check_q(q, name="q"):
    q = np.asarray(q, dtype=float)
    if not np.all(np.isfinite(q)) or np.any(q <= 0):
        raise ValueError(f"{name}={q if q.ndim == 0 else '[...]'} must be finite and > 0")
    return q


def _pdf(x):
    return np.exp(-0.5 * x * x) / _SQRT_2PI


class GaussianMoments(NamedTuple):
    r"""Moments of :math:`\phi(\sqrt q z)`, :math:`z \sim N(0, 1)` (arrays shaped like ``q``).

    Fields: ``e_phi`` :math:`E[\phi]`, ``e_phi2`` :math:`E[\phi^2]`,
    ``e_dphi2`` :math:`E[\phi'^2]`, ``e_phi_ddphi`` :math:`E[\phi\phi'']`
    (:math:`\phi''` the Dirac masses at the kinks), ``d2_e_phi2``
    :math:`\partial_q^2 E[\phi^2]`, ``sparsity`` (fraction of exact zeros),
    ``saturation`` (fraction at the clip, :math:`|\phi| = m`).
    """

    e_phi: np.ndarray
    e_phi2: np.ndarray
    e_dphi2: np.ndarray
    e_phi_ddphi: np.ndarray
    d2_e_phi2: np.ndarray
    sparsity: np.ndarray
    saturation: np.ndarray


def _moments(kind, q, tau, m):
    k = 1.0 if kind == "shifted_relu" else 2.0
    sigma = np.sqrt(q)
    a = tau / sigma
    pa = _pdf(a)
    if m == np.inf:
        I0 = ndtr(-a)
        e_phi2 = k * q * ((1 + a * a) * I0 - a * pa)
        pb = bpb = gap = sat = np.zeros_like(a)
        e_phi = sigma * (pa - a * I0) if k == 1 else np.zeros_like(a)
        d2 = k / (2 * q) * a * pa
    else:
        b = (tau + m) / sigma
        pb = _pdf(b)
        I0 = ndtr(-a) - ndtr(-b)
        sat = ndtr(-b)
        gap = b - a
        bpb = b * pb
        e_phi2 = k * (q * ((1 + a * a) * I0 - a * pa - (b - 2 * a) * pb) + m * m * sat)
        e_phi = sigma * (pa - pb - a * I0) + m * sat if k == 1 else np.zeros_like(a)
        d2 = k / (2 * q) * (a * pa - bpb - gap * (b * b - 1) * pb)
    sparsity = ndtr(a) if k == 1 else 2 * ndtr(a) - 1
    return GaussianMoments(e_phi, e_phi2, k * I0, -k * gap * pb, d2, sparsity, k * sat)


def gaussian_moments(kind, q, *, tau, m=np.inf):
    r"""Closed-form moments of the activation at a Gaussian input of variance ``q``.

    See the module docstring for the formulas (no Monte Carlo).  ``q`` may be
    an array; ``tau`` may be negative for the shifted ReLU (a left shift).

    Returns
    -------
    GaussianMoments
    """
    kind = _check_kind(kind)
    tau = _check_tau(kind, tau)
    return _moments(kind, _check_q(q), tau, _check_m(m))


class VarianceMap(NamedTuple):
    """The variance map and its first two derivatives at ``q`` (arrays shaped like ``q``)."""

    q: np.ndarray
    V: np.ndarray
    dV: np.ndarray
    d2V: np.ndarray


def variance_map(kind, q, *, tau, sigma_w2, sigma_b2, m=np.inf):
    r"""The large-width variance map :math:`V(q) = \sigma_w^2 E[\phi(\sqrt q z)^2] + \sigma_b^2`.

    With its derivatives :math:`V'(q) = \sigma_w^2(E[\phi'^2] + E[\phi\phi''])`
    and :math:`V''(q)`, in closed form (module docstring).

    Parameters
    ----------
    kind : {"shifted_relu", "soft_threshold"}
    q : float or array, > 0
        Pre-activation variance.
    tau, m : the threshold and clipping level of the activation.
    sigma_w2, sigma_b2 : weight and bias variances (weights ``N(0, sigma_w2 / fan_in)``).

    Returns
    -------
    VarianceMap
        ``q``, ``V``, ``dV``, ``d2V``.
    """
    kind = _check_kind(kind)
    tau = _check_tau(kind, tau)
    sigma_w2 = check_real(sigma_w2, "sigma_w2", low=0.0)
    sigma_b2 = check_real(sigma_b2, "sigma_b2", low=0.0)
    q = _check_q(q)
    mo = _moments(kind, q, tau, _check_m(m))
    return VarianceMap(q, sigma_w2 * mo.e_phi2 + sigma_b2, sigma_w2 * (mo.e_dphi2 + mo.e_phi_ddphi),
                       sigma_w2 * mo.d2_e_phi2)


def chi1(kind, q, *, tau, sigma_w2, m=np.inf):
    r""":math:`\chi_1 = \sigma_w^2 E[\phi'(\sqrt q z)^2]`, the slope of the correlation map at 1.

    :math:`\chi_1 < 1`: ordered phase (inputs' correlations go to 1);
    :math:`\chi_1 > 1`: chaotic; :math:`\chi_1 = 1`: the edge of chaos
    (Poole et al. 2016).
    """
    kind = _check_kind(kind)
    sigma_w2 = check_real(sigma_w2, "sigma_w2", low=0.0)
    return sigma_w2 * _moments(kind, _check_q(q), _check_tau(kind, tau), _check_m(m)).e_dphi2


def fixed_point(kind, *, tau, sigma_w2, sigma_b2, m=np.inf, q0=1.0, rtol=1e-12):
    r"""The limit of the variance recursion :math:`q^{l+1} = V(q^l)` started at ``q0``.

    :math:`V` is increasing (the activations' squares grow with :math:`|x|`),
    so the recursion moves monotonically towards the nearest fixed point in
    the direction of :math:`V(q_0) - q_0`.  That fixed point is located on a
    geometric grid and polished by Brent's method; a tangential fixed point
    (:math:`V(q) - q \ge 0` touching 0, the unclipped activations at the
    edge of chaos) is found by minimising :math:`V(q) - q` and accepted when
    the minimum is below ``1e-9 q``.

    Returns
    -------
    float
        The fixed point; ``inf`` when the variance grows without bound
        (no fixed point within ``1e12 q0``), 0 when it decays to 0.
    """
    kind = _check_kind(kind)
    tau = _check_tau(kind, tau)
    m = _check_m(m)
    sigma_w2 = check_real(sigma_w2, "sigma_w2", low=0.0)
    sigma_b2 = check_real(sigma_b2, "sigma_b2", low=0.0)
    q0 = check_real(q0, "q0", low=0.0, low_open=True)

    def gap(q):
        return sigma_w2 * _moments(kind, np.asarray(q, float), tau, m).e_phi2 + sigma_b2 - q

    g0 = float(gap(q0))
    if abs(g0) <= rtol * q0:
        return q0
    up = g0 > 0
    grid = q0 * np.geomspace(1.0, 1e12 if up else 1e-12, 600)
    g = gap(grid)
    crossed = np.flatnonzero(g <= 0) if up else np.flatnonzero(g >= 0)
    last = crossed[0] if crossed.size else grid.size - 1
    # a tangential fixed point before the first crossing: a local minimum of the gap near 0
    sign = 1.0 if up else -1.0
    sg = sign * g
    for i in range(1, last - 1):
        if sg[i] <= sg[i - 1] and sg[i] <= sg[i + 1]:
            lo, hi = sorted((grid[i - 1], grid[i + 1]))
            res = optimize.minimize_scalar(lambda t: sign * float(gap(t)), bounds=(lo, hi),
                                           method="bounded", options={"xatol": 1e-12 * hi})
            if res.fun <= 1e-9 * res.x:
                return float(res.x)
    if crossed.size:
        lo, hi = sorted((grid[last - 1], grid[last]))
        return float(optimize.brentq(gap, lo, hi, xtol=1e-300, rtol=max(rtol, 4e-16)))
    return np.inf if up else 0.0


def _relu_part_mean(mu, s, t):
    """E[max(Y - t, 0)] for Y ~ N(mu, s^2), s > 0."""
    d = mu - t
    return d * ndtr(d / s) + s * _pdf(d / s)


def _conditional_mean(kind, mu, s, tau, m):
    """E[phi(Y)] for Y ~ N(mu, s^2): the inner expectation of the correlation map."""
    def crelu(mu_):
        out = _relu_part_mean(mu_, s, tau)
        if m != np.inf:
            out = out - _relu_part_mean(mu_, s, tau + m)
        return out
    if kind == "shifted_relu":
        return crelu(mu)
    return crelu(mu) - crelu(-mu)


def _phi(kind, x, tau, m):
    """The activation at a scalar, for the quadrature (the same cs.threshold kernels)."""
    phi = clipped_shifted_relu if kind == "shifted_relu" else clipped_soft_threshold
    return float(phi(np.float64(x), tau, m))


def correlation_map(kind, c, *, tau, sigma_w2, sigma_b2, q_star, m=np.inf):
    r"""The correlation map :math:`R(c) = (\sigma_w^2 E[\phi(u_1)\phi(u_2)] + \sigma_b^2)/q^*`.

    :math:`u_1 = \sqrt{q^*} z_1`, :math:`u_2 = \sqrt{q^*}(c z_1 + \sqrt{1 - c^2} z_2)`:
    the correlation of two inputs' pre-activations one layer on, both at the
    fixed-point variance ``q_star``.  The expectation over :math:`z_2` is a
    closed form (:math:`E[\max(Y - t, 0)] = d\Phi(d/s) + s\varphi(d/s)`,
    :math:`d = \mu - t`, for :math:`Y \sim N(\mu, s^2)`), the one over
    :math:`z_1` adaptive quadrature (``scipy.integrate.quad``) on the pieces
    where :math:`\phi(u_1)` is linear or constant.  :math:`R(1) = 1` at a
    fixed point and :math:`R'(1) = \chi_1`.

    Parameters
    ----------
    c : float or array in [-1, 1]

    Returns
    -------
    ndarray shaped like ``c``
    """
    kind = _check_kind(kind)
    tau = _check_tau(kind, tau)
    m = _check_m(m)
    sigma_w2 = check_real(sigma_w2, "sigma_w2", low=0.0)
    sigma_b2 = check_real(sigma_b2, "sigma_b2", low=0.0)
    q_star = float(_check_q(q_star, "q_star"))
    c_arr = np.asarray(c, dtype=float)
    if not np.all(np.isfinite(c_arr)) or np.any(np.abs(c_arr) > 1):
        raise ValueError("c must lie in [-1, 1]")
    sigma = np.sqrt(q_star)
    a = tau / sigma
    b = (tau + m) / sigma
    # pieces of z1 on which phi(sigma z1) is nonzero and smooth: linear on (a, b), constant beyond b
    pieces = [(a, b)] + ([(b, np.inf)] if m != np.inf else [])
    if kind == "soft_threshold":
        pieces += [(-hi, -lo) for lo, hi in pieces]
    edges = [e for lo, hi in pieces for e in (lo, hi) if np.isfinite(e)]

    def cross(ci):
        s = sigma * np.sqrt(max(1.0 - ci * ci, 0.0))

        def integrand(z1):
            mu = sigma * ci * z1
            inner = _phi(kind, mu, tau, m) if s == 0.0 else _conditional_mean(kind, mu, s, tau, m)
            return _phi(kind, sigma * z1, tau, m) * inner * _pdf(z1)

        # the inner expectation bends sharply (width s) where c z1 crosses a kink: split there too
        width = s / (sigma * abs(ci)) if ci != 0 else 0.0
        kinks = [k / ci + j * width for k in edges if ci != 0 for j in (-8, -2, -0.5, 0, 0.5, 2, 8)]
        total = 0.0
        for lo, hi in pieces:
            cuts = sorted({lo, hi, *[k for k in kinks if lo < k < hi]})
            total += sum(integrate.quad(integrand, u, v, epsabs=1e-14, epsrel=1e-12, limit=200)[0]
                         for u, v in zip(cuts[:-1], cuts[1:]))
        return total

    out = np.array([cross(ci) for ci in c_arr.reshape(-1)]).reshape(c_arr.shape)
    return (sigma_w2 * out + sigma_b2) / q_star


def expected_sparsity(kind, q, *, tau):
    r"""Expected fraction of exact zeros of the activation at a Gaussian input of variance ``q``.

    :math:`\Phi(\tau/\sqrt q)` for the (clipped) shifted ReLU,
    :math:`2\Phi(\tau/\sqrt q) - 1` for the (clipped) soft threshold; the
    clip does not change it.
    """
    kind = _check_kind(kind)
    return _moments(kind, _check_q(q), _check_tau(kind, tau), np.inf).sparsity


def tau_for_sparsity(kind, sparsity, q=1.0):
    r"""The threshold giving an expected fraction ``sparsity`` of zeros at variance ``q``.

    The inverse of :func:`expected_sparsity`: :math:`\tau = \sqrt q\,\Phi^{-1}(s)`
    (shifted ReLU; negative below ``s = 1/2``) or
    :math:`\tau = \sqrt q\,\Phi^{-1}((1 + s)/2)` (soft threshold).
    """
    kind = _check_kind(kind)
    sparsity = check_real(sparsity, "sparsity", low=0.0, high=1.0, low_open=kind == "shifted_relu",
                          high_open=True)
    q = float(_check_q(q))
    p = sparsity if kind == "shifted_relu" else (1.0 + sparsity) / 2
    return float(np.sqrt(q) * ndtri(p))


# --------------------------------------------------------------------------- edge of chaos

@dataclass(frozen=True)
class EdgeOfChaos:
    r"""An edge-of-chaos initialisation with a target activation sparsity.

    Attributes
    ----------
    kind, sparsity, q_star, m : the request.
    tau : the activation's threshold.
    sigma_w2, sigma_b2 : weight variance (times 1/fan-in) and bias variance.
    dV, d2V : :math:`V'(q^*)` and :math:`V''(q^*)`; ``dV < 1`` is a stable
        fixed point, ``dV = 1`` with ``d2V > 0`` one that repels from above.
    chi1 : :math:`\chi_1` (1 by construction).
    saturation : expected fraction of outputs at the clip.
    """

    kind: str
    sparsity: float
    q_star: float
    m: float
    tau: float
    sigma_w2: float
    sigma_b2: float
    dV: float
    d2V: float
    chi1: float
    saturation: float

    @property
    def stable(self):
        """True when :math:`V'(q^*) < 1`: perturbations of the variance decay geometrically."""
        return self.dV < 1 - 1e-12

    def activation(self, x):
        """Apply the activation with this ``tau`` and ``m`` (NumPy)."""
        f = clipped_shifted_relu if self.kind == "shifted_relu" else clipped_soft_threshold
        return f(x, self.tau, self.m)


def _eoc(kind, sparsity, q_star, m):
    tau = tau_for_sparsity(kind, sparsity, q_star)
    mo = _moments(kind, np.asarray(q_star), tau, m)
    e_dphi2 = float(mo.e_dphi2)
    if e_dphi2 <= 0:
        raise ValueError(f"m={m} is too small: the activation is flat at q_star={q_star}")
    sigma_w2 = 1.0 / e_dphi2
    sigma_b2 = q_star - sigma_w2 * float(mo.e_phi2)
    return tau, sigma_w2, sigma_b2, mo


def edge_of_chaos(kind, sparsity, q_star=1.0, m=np.inf):
    r"""The (tau, sigma_w^2, sigma_b^2) putting a network at the edge of chaos with a given sparsity.

    With :math:`\tau` from :func:`tau_for_sparsity` at :math:`q^*`,
    :math:`\sigma_w^2 = 1/E[\phi'(\sqrt{q^*} z)^2]` (so :math:`\chi_1 = 1`) and
    :math:`\sigma_b^2 = q^* - \sigma_w^2 E[\phi^2]` (so :math:`V(q^*) = q^*`).
    At ``sparsity=0.5``, ``m=inf`` the shifted ReLU gives the He
    initialisation (:math:`\tau = 0`, :math:`\sigma_w^2 = 2`, :math:`\sigma_b^2 = 0`).

    Parameters
    ----------
    kind : {"shifted_relu", "soft_threshold"}
    sparsity : float in [0, 1)
        Target fraction of zero activations at the fixed point (at least 0.5
        for the shifted ReLU, whose threshold must be >= 0).
    q_star : float > 0
        Fixed-point variance of the pre-activations.
    m : float > 0 or inf
        Clipping level (``inf``: the unclipped activation, unstable).

    Returns
    -------
    EdgeOfChaos

    Raises
    ------
    ValueError
        When no such initialisation exists (it would need :math:`\sigma_b^2 < 0`)
        or needs a negative threshold.

    References
    ----------
    Price et al., ICLR 2024; Poole et al., NeurIPS 2016.

    Examples
    --------
    >>> e = edge_of_chaos("shifted_relu", 0.5)
    >>> round(e.tau, 12), round(e.sigma_w2, 12), round(e.sigma_b2, 12)
    (0.0, 2.0, 0.0)
    """
    kind = _check_kind(kind)
    sparsity = check_real(sparsity, "sparsity", low=0.0, high=1.0, low_open=kind == "shifted_relu",
                          high_open=True)
    q_star = check_real(q_star, "q_star", low=0.0, low_open=True)
    m = _check_m(m)
    tau, sigma_w2, sigma_b2, mo = _eoc(kind, sparsity, q_star, m)
    if sigma_b2 < -1e-12 * q_star:
        raise ValueError(f"sparsity={sparsity} with m={m} is impossible at the edge of chaos: "
                         f"it needs sigma_b^2 = {sigma_b2:.4g} < 0 (tau = {tau:.4g})")
    if tau < 0:
        raise ValueError(f"sparsity={sparsity} must be >= 0.5 for the shifted ReLU: it needs the "
                         f"negative threshold tau = {tau:.4g}")
    sigma_b2 = max(sigma_b2, 0.0)
    return EdgeOfChaos(kind, sparsity, q_star, m, tau, sigma_w2, sigma_b2,
                       dV=float(sigma_w2 * (mo.e_dphi2 + mo.e_phi_ddphi)),
                       d2V=float(sigma_w2 * mo.d2_e_phi2), chi1=float(sigma_w2 * mo.e_dphi2),
                       saturation=float(mo.saturation))


@dataclass(frozen=True, eq=False)
class ClipProfile:
    """Edge-of-chaos quantities over a grid of clipping levels ``m`` (arrays, NaN where impossible)."""

    kind: str
    sparsity: float
    q_star: float
    tau: float
    m: np.ndarray
    sigma_w2: np.ndarray
    sigma_b2: np.ndarray
    dV: np.ndarray
    d2V: np.ndarray
    saturation: np.ndarray


def clip_level_profile(kind, sparsity, m_grid, q_star=1.0):
    r"""How the edge-of-chaos initialisation depends on the clipping level.

    For each ``m`` in ``m_grid``: :math:`\sigma_w^2`, :math:`\sigma_b^2`,
    :math:`V'(q^*)`, :math:`V''(q^*)` and the saturated fraction, the
    quantities Price et al. (ICLR 2024) read off to choose ``m``: small ``m``
    gives a strongly contracting variance map (small :math:`V'`) but many
    saturated units; as ``m`` grows :math:`V'(q^*) \to 1` and
    :math:`V''(q^*)` turns positive, the unstable unclipped case.

    Returns
    -------
    ClipProfile
    """
    kind = _check_kind(kind)
    sparsity = check_real(sparsity, "sparsity", low=0.0, high=1.0, low_open=kind == "shifted_relu",
                          high_open=True)
    q_star = check_real(q_star, "q_star", low=0.0, low_open=True)
    m_grid = check_array(m_grid, "m_grid", ndim=1, finite=False, allow_complex=False).astype(float)
    if np.any(np.isnan(m_grid)) or np.any(m_grid <= 0):
        raise ValueError("m_grid must hold clipping levels > 0 (inf allowed)")
    rows = []
    tau = tau_for_sparsity(kind, sparsity, q_star)
    for m in m_grid:
        t, sw2, sb2, mo = _eoc(kind, sparsity, q_star, float(m))
        if sb2 < -1e-12 * q_star:
            rows.append((np.nan,) * 5)
        else:
            rows.append((sw2, max(sb2, 0.0), sw2 * float(mo.e_dphi2 + mo.e_phi_ddphi),
                         sw2 * float(mo.d2_e_phi2), float(mo.saturation)))
    cols = np.array(rows, dtype=float).reshape(-1, 5).T
    return ClipProfile(kind, sparsity, q_star, tau, m_grid, *cols)


def suggest_clip(kind, sparsity, q_star=1.0, *, m_grid=None, max_dV=0.8):
    r"""A suggested clipping level: the largest ``m`` with :math:`V'(q^*) \le` ``max_dV`` and :math:`V''(q^*) \le 0`.

    This rule is the package's, not the paper's (Price et al. choose ``m``
    from plots of :math:`V'(q^*)` and :math:`V''(q^*)` against ``m``; their
    exact rule was not recovered).  Reasoning: :math:`V'(q^*) \le 0.8`
    makes a perturbation of the variance shrink by at least 20 % per layer,
    :math:`V''(q^*) \le 0` makes the map concave at :math:`q^*` so that large
    upward excursions are contracted at least as fast, and the largest such
    ``m`` saturates the fewest units.  ``m_grid`` defaults to
    ``sqrt(q_star) * geomspace(0.05, 20, 400)``.

    Raises
    ------
    ValueError
        When no ``m`` on the grid satisfies the rule.
    """
    kind = _check_kind(kind)
    q_star = check_real(q_star, "q_star", low=0.0, low_open=True)
    max_dV = check_real(max_dV, "max_dV", low=0.0, low_open=True)
    if m_grid is None:
        m_grid = np.sqrt(q_star) * np.geomspace(0.05, 20.0, 400)
    prof = clip_level_profile(kind, sparsity, m_grid, q_star)
    ok = (prof.dV <= max_dV) & (prof.d2V <= 0)
    if not np.any(ok):
        raise ValueError(f"max_dV={max_dV}: no clipping level on the grid has V'(q*) <= {max_dV} "
                         "and V''(q*) <= 0")
    return float(np.max(prof.m[ok]))


# --------------------------------------------------------------------------- sparsifiers

@dataclass(frozen=True, eq=False)
class ActivationSparsifier:
    r"""A training-free activation sparsifier: keep :math:`x_i` where :math:`|x_i| w_i > t`.

    Or, with ``k``, the ``k`` largest :math:`|x_i| w_i` of every token (last
    axis).  Build one with :func:`teal`, :func:`chess`, :func:`wina` or
    :func:`top_k`; apply it with ``sparsifier(x)`` or get the keep-mask with
    ``sparsifier.mask(x)``.

    Attributes
    ----------
    method : str
    threshold : float or None
        Scalar threshold on the score :math:`|x_i| w_i`.
    channel_weights : (d,) ndarray or None
        The per-channel weights :math:`w` (None: all ones).
    k : int or None
        Keep the top ``k`` per token instead of thresholding.
    """

    method: str
    threshold: float | None = None
    channel_weights: np.ndarray | None = None
    k: int | None = None

    @property
    def channel_thresholds(self):
        r"""The equivalent threshold :math:`t/w_i` on :math:`|x_i|` of each channel (inf where :math:`w_i = 0`)."""
        if self.threshold is None:
            raise ValueError("a top-k sparsifier has no threshold")
        if self.channel_weights is None:
            return None
        w = self.channel_weights
        with np.errstate(divide="ignore"):
            return np.where(w > 0, self.threshold / np.where(w > 0, w, 1.0), np.inf)

    def scores(self, x):
        """:math:`|x| \\odot w` (broadcast along the last axis)."""
        return self._scores(check_array(x, "x", allow_complex=False))

    def _scores(self, x):
        if self.channel_weights is None:
            return np.abs(x)
        if x.ndim == 0 or x.shape[-1] != self.channel_weights.size:
            raise ValueError(f"x has {x.shape[-1] if x.ndim else 0} channels on its last axis but the "
                             f"sparsifier was calibrated for {self.channel_weights.size}")
        return np.abs(x) * self.channel_weights.astype(x.dtype, copy=False)

    def mask(self, x):
        """Boolean keep-mask shaped like ``x``."""
        return self._mask(check_array(x, "x", allow_complex=False))

    def _mask(self, x):
        s = self._scores(x)
        if self.k is not None:
            return threshold.top_k_mask(s, min(self.k, s.shape[-1]), axis=-1)
        return threshold.hard_tau(s, self.threshold) != 0

    def __call__(self, x):
        x = check_array(x, "x", allow_complex=False)  # checked once: the mask's scores trust it
        return np.where(self._mask(x), x, x.dtype.type(0))


def _calibrated(method, scores, sparsity, weights):
    sparsity = check_real(sparsity, "sparsity", low=0.0, high=1.0)
    return ActivationSparsifier(method, threshold.tau_for_density(scores, 1.0 - sparsity), weights)


def teal(samples, sparsity):
    r"""TEAL: one magnitude threshold per tensor, calibrated to a target sparsity.

    The threshold :math:`t` leaves a fraction ``sparsity`` of the calibration
    entries with :math:`|x| \le t` (exact empirical quantile,
    :func:`cs.threshold.tau_for_density`); applied to new inputs it zeros
    :math:`|x| \le t`.  Applied to an FFN's gate this is also the CATS baseline.

    Parameters
    ----------
    samples : array_like
        Calibration activations of the tensor (any shape).
    sparsity : float in [0, 1]

    References
    ----------
    J. Liu, P. Ponnusamy, T. Cai, H. Guo, Y. Kim and B. Athiwaratkun,
    "Training-free activation sparsity in large language models", 2024.
    """
    samples = check_array(samples, "samples", allow_complex=False)
    return _calibrated("teal", np.abs(samples), sparsity, None)


def chess(gate, up, sparsity):
    r"""CHESS: channel-wise thresholds on an FFN's gate activations from the up projection.

    Zeroing :math:`g_i` removes :math:`g_i u_i` from the FFN's product, of
    expected square :math:`g_i^2 E[u_i^2]`.  The importance
    :math:`g_i^2 E[u_i^2]` is thresholded at its calibration quantile
    :math:`T`, i.e. :math:`|g_i|` at :math:`t_i = \sqrt{T/E[u_i^2]}`
    (``channel_thresholds``); implemented as weights :math:`w_i = \sqrt{E[u_i^2]}`
    and a scalar threshold :math:`\sqrt T` on :math:`|g_i| w_i`.

    Parameters
    ----------
    gate, up : (n_tokens, d) array_like
        Calibration gate activations and up-projection outputs.
    sparsity : float in [0, 1]

    References
    ----------
    J. He, S. Wu, W. Wen, C. J. Xue and Q. Li, "CHESS: optimizing LLM
    inference via channel-wise thresholding and selective sparsification", 2024.
    """
    gate = check_array(gate, "gate", ndim=2, allow_complex=False)
    up = check_array(up, "up", ndim=2, allow_complex=False)
    if gate.shape != up.shape:
        raise ValueError(f"up has shape {up.shape} but gate has shape {gate.shape}")
    w = np.sqrt(np.mean(np.square(up, dtype=np.float64), axis=0))
    return _calibrated("chess", np.abs(gate) * w, sparsity, w)


def wina(samples, weight, sparsity=None, *, k=None):
    r"""WINA: scores :math:`|x_i|\,\|W_{:,i}\|_2`, weighting each input by its weight column.

    The output error of zeroing a set :math:`S` of inputs of :math:`y = Wx`
    is :math:`\|\sum_{i \in S} x_i W_{:,i}\|`; with orthogonal columns its
    square is :math:`\sum_{i \in S} x_i^2 \|W_{:,i}\|^2`, which keeping the
    largest scores minimises.  Either a threshold calibrated on ``samples`` to
    ``sparsity``, or (``k``) the top ``k`` scores per token.

    Parameters
    ----------
    samples : (..., d_in) array_like or None
        Calibration inputs of the layer (unused with ``k``).
    weight : (d_out, d_in) array_like
        The layer's weight, as in ``torch.nn.Linear``.
    sparsity : float in [0, 1], optional
    k : int, optional

    References
    ----------
    S. Chen et al., "WINA: weight informed neuron activation for
    accelerating large language model inference", 2025.
    """
    weight = check_array(weight, "weight", ndim=2, allow_complex=False)
    w = np.linalg.norm(weight.astype(np.float64), axis=0)
    if (sparsity is None) == (k is None):
        raise ValueError("give exactly one of sparsity and k")
    if k is not None:
        return ActivationSparsifier("wina", None, w, check_int(k, "k", low=0, high=w.size,
                                                                high_what="d_in of weight"))
    samples = check_array(samples, "samples", allow_complex=False)
    if samples.ndim == 0 or samples.shape[-1] != w.size:
        raise ValueError(f"samples must have d_in={w.size} channels on the last axis, got shape {samples.shape}")
    return _calibrated("wina", np.abs(samples) * w, sparsity, w)


def top_k(k):
    """The top-``k`` per token sparsifier (keep the ``k`` largest magnitudes of the last axis)."""
    return ActivationSparsifier("top_k", None, None, check_int(k, "k", low=0))


def top_k_per_token(x, k):
    """Keep the ``k`` largest magnitudes of every token (last axis), zero the rest.

    :func:`cs.threshold.hard` along the last axis: exactly ``k`` nonzeros per
    token for nonzero data (Li et al., ICLR 2023).
    """
    return threshold.hard(x, k, axis=-1)
