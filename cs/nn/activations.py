r"""PyTorch modules for the sparsity-inducing activations, the activation sparsifiers and
the edge-of-chaos initialisation.

Thin counterparts of :mod:`cs.activations` for training: the elementwise maps
are written with ``torch.clamp`` so that autograd differentiates them (the
NumPy versions in :mod:`cs.threshold` cannot be inside a torch graph); the
tests check every module against the NumPy function it mirrors.

* :class:`ClippedShiftedReLU` :math:`\min(\max(x - \tau, 0), m)` and
  :class:`ClippedSoftThreshold` :math:`\operatorname{sign}(x)\min(\max(|x| - \tau, 0), m)`
  (``m = inf``: unclipped); :func:`sparse_activation` builds the one an
  :class:`cs.activations.EdgeOfChaos` describes.
* :class:`TopKActivation`: the ``k`` largest (weighted) magnitudes per token.
* :class:`ThresholdSparsifier`: :math:`x \odot 1[|x_i| w_i > t]`, from a
  calibrated :class:`cs.activations.ActivationSparsifier` (TEAL, CHESS, WINA).
* :func:`eoc_init_`: weights :math:`N(0, \sigma_w^2/\text{fan-in})`, biases
  :math:`N(0, \sigma_b^2)` for every Linear and Conv layer of a module.

References
----------
I. Price, N. Daultry Ball, S. C. H. Lam, A. C. Jones and J. Tanner, "Deep
neural network initialization with sparsity inducing activations", ICLR 2024.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .. import activations as _act
from .._validation import check_int, check_real

__all__ = ["ClippedShiftedReLU", "ClippedSoftThreshold", "sparse_activation", "TopKActivation",
           "ThresholdSparsifier", "eoc_init_", "fan_in"]


class ClippedShiftedReLU(nn.Module):
    r""":math:`\min(\max(x - \tau, 0), m)`, the clipped shifted ReLU ("CReLU" in Price et al.).

    Its derivative is 1 on :math:`(\tau, \tau + m)` and 0 elsewhere.

    Parameters
    ----------
    tau : float >= 0
    m : float > 0 or inf
    """

    def __init__(self, tau, m=math.inf):
        super().__init__()
        self.tau = check_real(tau, "tau", low=0.0)
        self.m = _act._check_m(m)

    def forward(self, x):
        return torch.clamp(x - self.tau, min=0.0, max=None if self.m == math.inf else self.m)

    def extra_repr(self):
        return f"tau={self.tau:.4g}, m={self.m:.4g}"


class ClippedSoftThreshold(nn.Module):
    r""":math:`\operatorname{sign}(x)\min(\max(|x| - \tau, 0), m)`, the clipped soft threshold ("CST")."""

    def __init__(self, tau, m=math.inf):
        super().__init__()
        self.tau = check_real(tau, "tau", low=0.0)
        self.m = _act._check_m(m)

    def forward(self, x):
        mag = torch.clamp(x.abs() - self.tau, min=0.0, max=None if self.m == math.inf else self.m)
        return torch.sign(x) * mag

    def extra_repr(self):
        return f"tau={self.tau:.4g}, m={self.m:.4g}"


def sparse_activation(eoc):
    """The module of an :class:`cs.activations.EdgeOfChaos` (its ``kind``, ``tau`` and ``m``)."""
    if not isinstance(eoc, _act.EdgeOfChaos):
        raise TypeError(f"eoc must be a cs.activations.EdgeOfChaos, got {type(eoc).__name__}")
    cls = ClippedShiftedReLU if eoc.kind == "shifted_relu" else ClippedSoftThreshold
    return cls(eoc.tau, eoc.m)


def _weights_buffer(module, channel_weights):
    if channel_weights is None:
        module.register_buffer("channel_weights", None)
        return
    w = torch.as_tensor(np.asarray(channel_weights, dtype=np.float64), dtype=torch.float32)
    if w.ndim != 1 or not torch.all(torch.isfinite(w)) or torch.any(w < 0):
        raise ValueError("channel_weights must be a finite nonnegative vector")
    module.register_buffer("channel_weights", w)


def _scores(x, w):
    s = x.detach().abs()
    if w is not None:
        if x.shape[-1] != w.numel():
            raise ValueError(f"x has {x.shape[-1]} channels on its last axis but the sparsifier "
                             f"was calibrated for {w.numel()}")
        s = s * w.to(s.dtype)
    return s


class TopKActivation(nn.Module):
    r"""Keep the ``k`` largest :math:`|x_i| w_i` of every token (last axis), zero the rest.

    ``channel_weights`` ``w`` (default ones) gives WINA's top-k with the
    weight-column norms.  The gradient flows through the kept entries only.
    Ties are broken as ``torch.topk`` breaks them.
    """

    def __init__(self, k, channel_weights=None):
        super().__init__()
        self.k = check_int(k, "k", low=0)
        _weights_buffer(self, channel_weights)

    @classmethod
    def from_sparsifier(cls, sparsifier):
        """From a top-k :class:`cs.activations.ActivationSparsifier` (``top_k`` or ``wina(k=...)``)."""
        if sparsifier.k is None:
            raise ValueError("sparsifier is a threshold sparsifier: use ThresholdSparsifier")
        return cls(sparsifier.k, sparsifier.channel_weights)

    def forward(self, x):
        k = min(self.k, x.shape[-1])
        if k == 0:
            return x * 0
        idx = torch.topk(_scores(x, self.channel_weights), k, dim=-1, sorted=False).indices
        mask = torch.zeros_like(x, dtype=torch.bool).scatter_(-1, idx, True)
        return x * mask

    def extra_repr(self):
        return f"k={self.k}, weighted={self.channel_weights is not None}"


class ThresholdSparsifier(nn.Module):
    r"""Zero :math:`x_i` where :math:`|x_i| w_i \le t` (TEAL, CHESS, WINA; per channel on the last axis).

    Build it from a calibrated :class:`cs.activations.ActivationSparsifier`
    with :meth:`from_sparsifier`.  Buffers ``threshold`` and
    ``channel_weights`` travel with ``state_dict``.
    """

    def __init__(self, threshold, channel_weights=None):
        super().__init__()
        self.register_buffer("threshold", torch.tensor(check_real(threshold, "threshold", low=0.0)))
        _weights_buffer(self, channel_weights)

    @classmethod
    def from_sparsifier(cls, sparsifier):
        if sparsifier.k is not None:
            raise ValueError("sparsifier is a top-k sparsifier: use TopKActivation")
        return cls(sparsifier.threshold, sparsifier.channel_weights)

    def forward(self, x):
        return x * (_scores(x, self.channel_weights) > self.threshold.to(x.dtype))


def fan_in(module):
    """Inputs per output unit: ``in_features`` (Linear) or ``in_channels / groups * prod(kernel)`` (Conv)."""
    w = module.weight
    return int(w.shape[1] * math.prod(w.shape[2:]))


_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


@torch.no_grad()
def eoc_init_(module, sigma_w2, sigma_b2=0.0, *, generator=None):
    r"""Initialise every Linear and Conv layer of ``module`` at given weight and bias variances.

    Weights :math:`W_{ij} \sim N(0, \sigma_w^2/N)` with :math:`N` the fan-in
    (:func:`fan_in`; for a convolution the kernel window times the input
    channels per group), biases :math:`b_i \sim N(0, \sigma_b^2)`.  With the
    ``sigma_w2``, ``sigma_b2`` of :func:`cs.activations.edge_of_chaos` the
    network starts at the edge of chaos with the requested activation
    sparsity (Price et al., ICLR 2024).  ``sigma_w2`` may also be an
    ``EdgeOfChaos`` (then ``sigma_b2`` is taken from it).

    Returns
    -------
    int
        The number of layers initialised.
    """
    if isinstance(sigma_w2, _act.EdgeOfChaos):
        sigma_w2, sigma_b2 = sigma_w2.sigma_w2, sigma_w2.sigma_b2
    sigma_w2 = check_real(sigma_w2, "sigma_w2", low=0.0)
    sigma_b2 = check_real(sigma_b2, "sigma_b2", low=0.0)
    layers = [mod for mod in module.modules() if isinstance(mod, _LAYERS)]
    for layer in layers:
        layer.weight.normal_(0.0, math.sqrt(sigma_w2 / fan_in(layer)), generator=generator)
        if layer.bias is not None:
            layer.bias.normal_(0.0, math.sqrt(sigma_b2), generator=generator)
    return len(layers)
