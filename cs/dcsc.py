r"""Deep convolutional sparse coding (D-CSC / ML-CSC) and layered thresholding.

The multi-layer convolutional sparse model of Papyan, Romano & Elad (2017):

.. math::

    X = D_1 \Gamma_1,\quad \Gamma_1 = D_2 \Gamma_2,\quad \dots,\quad
    \Gamma_{L-1} = D_L \Gamma_L,\qquad Y = X + E,

with convolutional dictionaries :math:`D_i` (:class:`cs.convolution.ConvDictionary`,
``m_i`` unit-norm filters of spatial size ``n_i`` spanning ``m_{i-1}``
channels, circular boundary) and codes stored as ``(B, m_i, *spatial)``
arrays.  The forward pass of a CNN is layered thresholding,

.. math::

    \hat\Gamma_0 = Y,\qquad \hat\Gamma_i = P_{\beta_i}(D_i^T \hat\Gamma_{i-1}),

with :math:`P_\beta` hard, soft, or non-negative soft thresholding
(:math:`\max(z - \beta, 0) = \mathrm{ReLU}(z + b)` with bias :math:`b = -\beta`:
the CNN reading, :math:`W_i = D_i`), or a cardinality oracle (top-k).

This module generates models and codes, runs the forward pass, measures
recovery of the activation pathway per layer, evaluates the uniform
(worst-case) guarantee of Papyan et al. through the convolutional mutual
coherence and the stripe sparsity, and the average-case (random-sign)
one-step thresholding bound in the style of Schnass & Vandergheynst (2007)
through the 2-Babel function, and sweeps the density like a phase transition.

Provenance.  The uniform guarantee (:func:`uniform_condition`) is the
layered hard-thresholding theorem of [PRE17] as recalled in the project spec
(``specs/dcsc.md`` §3.2; its window algebra is re-derived there).  The
average-case bound (:func:`average_case_bound`) is our derivation from
Hoeffding's inequality for Rademacher sums ([SV07]'s argument; their printed
constant may differ, so it is a parameter); the Murray-Tanner theorem itself
could not be read, so nothing here reproduces its constants.

References
----------
[PRE17] V. Papyan, Y. Romano and M. Elad, "Convolutional neural networks
analyzed via convolutional sparse coding", JMLR 18(83), 2017.
[PSE17] V. Papyan, J. Sulam and M. Elad, "Working locally thinking globally:
theoretical guarantees for convolutional sparse coding", IEEE TSP 65(21), 2017.
[SV07] K. Schnass and P. Vandergheynst, "Average performance analysis for
thresholding", IEEE Signal Process. Lett. 14(11), 2007.
[MT18] M. Murray and J. Tanner, "Towards an understanding of CNNs: analysing
the recovery of activation pathways via deep convolutional sparse coding",
arXiv:1806.09888, 2018.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import numbers
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.fft

from . import _kernels, threshold
from ._validation import as_rng, check_array, check_choice, check_int, check_real
from .convolution import FILTER_KINDS, ConvDictionary, random_filters

__all__ = [
    "DCSCModel", "DCSCSample", "sample_codes", "RULES",
    "stripe_counts", "stripe_sparsity", "patch_l0", "patch_l2",
    "mutual_coherence", "coherence_lower_bound", "babel2", "interference_variance",
    "layered_threshold", "oracle_thresholds", "LayerReport", "RecoveryReport", "recovery_report",
    "recover", "LayerCondition", "uniform_condition", "average_case_bound",
    "SweepResult", "sweep", "plot_sweep",
]

#: Thresholding rules of the forward pass.
RULES = ("hard", "soft", "relu", "topk")


# --------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class DCSCModel:
    """A multi-layer convolutional sparse model: the dictionaries ``D_1 .. D_L``.

    Build one with :meth:`random` or :meth:`from_filters`.  ``channels`` is
    ``(m_0, m_1, ..., m_L)``; every layer has the same spatial shape (stride 1,
    as in the [PRE17] theory).
    """

    dictionaries: tuple

    def __post_init__(self):
        dicts = tuple(self.dictionaries)
        if not dicts:
            raise ValueError("a DCSC model needs at least one layer")
        for i, D in enumerate(dicts):
            if not isinstance(D, ConvDictionary):
                raise TypeError(f"dictionaries[{i}] must be a ConvDictionary, got {type(D).__name__}")
            if D.spatial_shape != dicts[0].spatial_shape:
                raise ValueError(f"layer {i + 1} has signal shape {D.spatial_shape} but layer 1 has "
                                 f"{dicts[0].spatial_shape}")
            if i and D.n_channels != dicts[i - 1].n_filters:
                raise ValueError(f"channel counts do not chain: layer {i + 1}'s filters span "
                                 f"{D.n_channels} channels but layer {i} has {dicts[i - 1].n_filters} "
                                 "filters")
        object.__setattr__(self, "dictionaries", dicts)

    @classmethod
    def from_filters(cls, filters, signal_shape, *, method="auto", normalize=True, dtype=None):
        """A model from a list of filter arrays ``(m_i, m_{i-1}, n_i[, n_i])``, layer 1 first."""
        if isinstance(filters, np.ndarray) or not isinstance(filters, (list, tuple)):
            raise TypeError("filters must be a list of per-layer filter arrays, layer 1 first")
        for i in range(1, len(filters)):
            have, want = np.shape(filters[i])[1:2], np.shape(filters[i - 1])[:1]
            if have != want:
                raise ValueError(f"channel counts do not chain: filters[{i}] spans {have[0] if have else '?'} "
                                 f"channels but filters[{i - 1}] has {want[0] if want else '?'} filters")
        return cls(tuple(ConvDictionary(f, signal_shape, method=method, normalize=normalize, dtype=dtype)
                         for f in filters))

    @classmethod
    def random(cls, signal_shape, n_filters, filter_size, *, kind="gaussian", nnz=None, nonneg=False,
               in_channels=1, method="auto", dtype=np.float64, rng=None):
        """A random model.

        Parameters
        ----------
        signal_shape : int or (int, int)
        n_filters, filter_size : int or sequence of int
            ``m_i`` and ``n_i`` per layer (a sequence sets the number of layers).
        kind : str or sequence of str
            Per layer, one of ``"gaussian"``, ``"sparse_gaussian"``, ``"sparse_sign"``
            (see :func:`cs.convolution.random_filters`); deeper layers usually need
            sparse filters so that ``Gamma_{i-1} = D_i Gamma_i`` stays sparse.
        nnz : int or sequence, optional
            Nonzeros per filter for the sparse kinds.
        nonneg : bool
            Non-negative filters (the ReLU model).
        in_channels : int
            ``m_0``, the channels of the signal.
        """
        n_filters, filter_size = _per_layer(n_filters, "n_filters"), _per_layer(filter_size, "filter_size")
        L = max(len(n_filters), len(filter_size))
        n_filters, filter_size = _broadcast(n_filters, L, "n_filters"), _broadcast(filter_size, L, "filter_size")
        kinds = _broadcast([kind] if isinstance(kind, str) else list(kind), L, "kind")
        nnzs = _broadcast([nnz] if nnz is None or isinstance(nnz, numbers.Integral) else list(nnz), L, "nnz")
        ndim = 1 if isinstance(signal_shape, (int, np.integer)) or len(tuple(signal_shape)) == 1 else 2
        rng = as_rng(rng)
        channels = [check_int(in_channels, "in_channels", low=1)] + list(n_filters)
        filters = [random_filters(channels[i + 1], channels[i], filter_size[i], kind=kinds[i],
                                  nnz=nnzs[i], nonneg=nonneg, ndim=ndim, rng=rng, dtype=dtype)
                   for i in range(L)]
        return cls.from_filters(filters, signal_shape, method=method, normalize=False)

    @property
    def n_layers(self):
        return len(self.dictionaries)

    @property
    def channels(self):
        """``(m_0, m_1, ..., m_L)``."""
        return (self.dictionaries[0].n_channels,) + tuple(D.n_filters for D in self.dictionaries)

    @property
    def spatial_shape(self):
        return self.dictionaries[0].spatial_shape

    @property
    def filter_shapes(self):
        return tuple(D.filter_shape for D in self.dictionaries)

    @property
    def signal_shape(self):
        return self.dictionaries[0].signal_shape

    def code_shape(self, layer):
        """Shape ``(m_i, *spatial)`` of the code of ``layer`` (1-based)."""
        return self.dictionaries[self._layer(layer) - 1].code_shape

    def _layer(self, layer):
        return check_int(layer, "layer", low=1, high=self.n_layers, high_what="the number of layers")

    def synthesize(self, top):
        """All codes from the top one: ``[Gamma_1, ..., Gamma_L]`` and ``X`` (exact zeros kept).

        ``top`` has shape ``(B, m_L, *spatial)`` (or no batch axis).  Each
        ``Gamma_{i-1} = D_i Gamma_i`` is exactly zero off the structural
        support (where no nonzero of ``Gamma_i`` meets a nonzero filter tap),
        and where contributions cancel to round-off, so supports are exact.
        """
        D_top = self.dictionaries[-1]
        top, single = D_top._batch(check_array(top, "top", allow_complex=False), D_top.code_shape, "top")
        codes = [top]
        for D in reversed(self.dictionaries):
            codes.insert(0, _exact_synthesis(D, codes[0]))
        X = codes.pop(0)
        if single:
            return [G[0] for G in codes], X[0]
        return codes, X

    def mu(self):
        """Convolutional mutual coherence of every layer (tuple)."""
        return tuple(mutual_coherence(D) for D in self.dictionaries)

    def babel2(self, S):
        """The 2-Babel function mu_2(S) of every layer (tuple; ``S`` int or one per layer)."""
        S = _broadcast(_per_layer(S, "S", low=0), self.n_layers, "S")
        return tuple(babel2(D, s) for D, s in zip(self.dictionaries, S))

    def welch_bound(self):
        """The lower bound on each layer's coherence (:func:`coherence_lower_bound`)."""
        return tuple(coherence_lower_bound(D) for D in self.dictionaries)


def _per_layer(value, name, low=1):
    if isinstance(value, (numbers.Integral,)) and not isinstance(value, bool):
        return [check_int(value, name, low=low)]
    try:
        values = list(value)
    except TypeError as err:
        raise TypeError(f"{name} must be an int or a sequence of ints, got {value!r}") from err
    if not values:
        raise ValueError(f"{name} must not be empty")
    return [check_int(v, f"{name}[{i}]", low=low) for i, v in enumerate(values)]


def _broadcast(values, L, name):
    if len(values) == 1:
        return list(values) * L
    if len(values) != L:
        raise ValueError(f"{name} has {len(values)} entries but the model has {L} layers")
    return list(values)


def _exact_synthesis(D, G):
    """D G with exact zeros off the structural support and where terms cancel."""
    X = D.synthesis(G)
    structure = _cached(D, "structure", lambda: ConvDictionary(np.abs(D.filters) > 0, D.spatial_shape,
                                                               method=D.method, normalize=False,
                                                               dtype=np.float64))
    struct = structure.synthesis((G != 0).astype(np.float64))
    scale = np.abs(G).reshape(G.shape[0], -1).max(axis=1, initial=0.0)
    tiny = 1e3 * np.finfo(X.dtype).eps * scale.reshape((-1,) + (1,) * (X.ndim - 1))
    X[(struct < 0.5) | (np.abs(X) <= tiny)] = 0
    return X


# --------------------------------------------------------------------------
# measures: stripes, patches, coherence, Babel
# --------------------------------------------------------------------------


def _box_sum(A, widths, starts):
    """Circular box sums over the trailing spatial axes: out[t] = sum_{d < w} A[t + start + d]."""
    out = A
    for ax, (w, s) in zip(range(-len(widths), 0), zip(widths, starts)):
        N = out.shape[ax]
        w = min(w, N)
        rolled = np.roll(out, -s, axis=ax)  # rolled[t] = A[t + s]
        ext = np.concatenate([rolled, np.take(rolled, np.arange(w - 1), axis=ax)], axis=ax)
        csum = np.cumsum(ext, axis=ax)
        zero = np.zeros_like(np.take(csum, [0], axis=ax))
        csum = np.concatenate([zero, csum], axis=ax)
        out = np.take(csum, np.arange(w, w + N), axis=ax) - np.take(csum, np.arange(N), axis=ax)
    return out


def _batched(G, name):
    G = np.asarray(G)
    if G.ndim not in (3, 4) and G.ndim != 2:
        raise ValueError(f"{name} must have shape (B, m, *spatial) or (m, *spatial), got {G.shape}")
    return G


def _filter_tuple(filter_shape, nd, name="filter_shape"):
    if isinstance(filter_shape, (numbers.Integral,)):
        filter_shape = (filter_shape,) * nd
    shape = tuple(check_int(n, name, low=1) for n in filter_shape)
    if len(shape) != nd:
        raise ValueError(f"{name}={filter_shape} must have {nd} entries (one per spatial axis)")
    return shape


def stripe_counts(G, filter_shape, *, spatial_ndim=None):
    r"""Nonzeros of every stripe: ``counts[..., t]`` over shifts ``t - n + 1 .. t + n - 1``, all channels.

    The stripe of :math:`\Gamma_i` at ``t`` holds every coefficient whose atom
    overlaps the patch of :math:`\Gamma_{i-1}` at ``t``: ``(2n - 1) m_i``
    entries in 1-D, ``(2n - 1)^2 m_i`` in 2-D ([PSE17]).  Computed as a
    circular box filter of the channel-summed indicator (O(N) per axis).

    ``G`` is ``(B, m, *spatial)``; ``spatial_ndim`` defaults to the length of
    ``filter_shape`` (1 when it is an int).  Returns ``(B, *spatial)`` ints.
    """
    nd = spatial_ndim or (1 if isinstance(filter_shape, numbers.Integral) else len(filter_shape))
    n = _filter_tuple(filter_shape, nd)
    ind = (np.asarray(G) != 0).sum(axis=-nd - 1)
    return _box_sum(ind, [2 * k - 1 for k in n], [-(k - 1) for k in n])


def stripe_sparsity(G, filter_shape):
    r"""The stripe norm :math:`\|\Gamma\|^s_{0,\infty}`: the most nonzeros in any stripe.

    ``G`` is ``(B, m, *spatial)`` (one value per signal) or ``(m, *spatial)``
    with ``filter_shape`` (``n`` or ``(n_h, n_w)``) that of the dictionary whose
    code ``G`` is.  See :func:`stripe_counts`.
    """
    G = np.asarray(G)
    nd = 1 if isinstance(filter_shape, numbers.Integral) else len(filter_shape)
    single = G.ndim == nd + 1
    counts = stripe_counts(G[None] if single else G, filter_shape, spatial_ndim=nd)
    s = counts.reshape(counts.shape[0], -1).max(axis=1)
    return int(s[0]) if single else s


def _patch(values, patch_shape, nd):
    n = _filter_tuple(patch_shape, nd, "patch_shape")
    return _box_sum(values, list(n), [0] * nd)


def patch_l0(G, patch_shape):
    r""":math:`\|\Gamma\|^p_{0,\infty}`: the most nonzeros in a patch ``[t, t + n - 1]`` over all channels.

    For :math:`\Gamma_i` the patch is that of the next layer's atoms
    (``n_{i+1}``) ([PRE17]).  ``G``: ``(B, m, *spatial)``; returns ``(B,)``.
    """
    G = np.asarray(G)
    nd = 1 if isinstance(patch_shape, numbers.Integral) else len(patch_shape)
    counts = _patch((G != 0).sum(axis=-nd - 1), patch_shape, nd)
    return counts.reshape(counts.shape[0], -1).max(axis=1)


def patch_l2(V, patch_shape):
    r""":math:`\|V\|^p_{2,\infty}`: the largest l2 norm of a patch ``[t, t + n - 1]`` over all channels.

    For the noise ``E`` and ``X`` the patch is ``n_1``; for an error in
    :math:`\Gamma_i`, ``n_{i+1}``.  ``V``: ``(B, c, *spatial)``; returns ``(B,)``.
    """
    V = np.asarray(V, dtype=np.float64)
    nd = 1 if isinstance(patch_shape, numbers.Integral) else len(patch_shape)
    energy = _patch((V * V).sum(axis=-nd - 1), patch_shape, nd)
    return np.sqrt(np.maximum(energy.reshape(energy.shape[0], -1).max(axis=1), 0.0))


def _cached(D, key, compute):
    """A per-dictionary cache of derived arrays (filters are fixed once a dictionary is built)."""
    cache = D.__dict__.setdefault("_dcsc_cache", {})
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _cross_terms(D):
    """Correlations with the self terms r_kk[0] zeroed (every other Gram entry)."""
    def compute():
        r = D.correlations()
        m = r.shape[0]
        off = r.copy()
        off[(np.arange(m), np.arange(m)) + (0,) * (r.ndim - 2)] = 0
        return r, off
    return _cached(D, "cross_terms", compute)


def _babel_table(D):
    """``table[S - 1] = mu_2(S)^2`` for S = 1 .. (number of correlations)."""
    def compute():
        off = _cross_terms(D)[1] ** 2
        per_atom = np.moveaxis(off, 1, 0).reshape(off.shape[1], -1)    # (l, (k, delta))
        return np.cumsum(-np.sort(-per_atom, axis=1), axis=1).max(axis=0)
    return _cached(D, "babel", compute)


def mutual_coherence(D):
    r"""Convolutional mutual coherence :math:`\mu(D) = \max_{a \ne b} |\langle d_a, d_b\rangle|`.

    By shift invariance it is the largest filter cross-correlation
    :math:`|r_{kl}[\delta]|` over :math:`(k, l, \delta) \ne (k, k, 0)` ([PSE17]),
    computed by FFT from the filters (:meth:`ConvDictionary.correlations`),
    never from the Gram matrix; for ``N >= 2n - 1`` it does not depend on ``N``.
    Assumes unit-norm atoms.
    """
    mu = float(np.abs(_cross_terms(D)[1]).max(initial=0.0))
    return 0.0 if mu < 1e-12 else mu  # FFT round-off on atoms that do not overlap


def coherence_lower_bound(D):
    r"""Lower bound on the convolutional coherence, :math:`\sqrt{(m - 1)/(m(2n - 1) - 1)}`.

    The bound of [PSE17] for one input channel in 1-D (the Welch bound of the
    ``m(2n-1)`` atoms that meet one patch, in dimension ``2n - 1``).  For
    ``m_in`` channels or 2-D we apply the same Welch form with ``d = m_in
    (2n-1)^D`` and ``M = m (2n-1)^D`` (our analogy, [D]); 0 when ``M <= d``.
    """
    taps = math.prod(2 * n - 1 for n in D.filter_shape)
    M, d = D.n_filters * taps, D.n_channels * taps
    if M <= d:
        return 0.0
    return math.sqrt((M - d) / (d * (M - 1)))


def babel2(D, S):
    r"""The 2-Babel function :math:`\mu_2(S) = \max_{|\Lambda| = S}\max_{j\notin\Lambda}
    (\sum_{i\in\Lambda}\langle d_i, d_j\rangle^2)^{1/2}` of [SV07].

    For a convolutional dictionary the inner products with atom ``(l, b)`` are
    the correlations :math:`r_{kl}[\delta]`, so :math:`\mu_2(S)` is the largest
    over ``l`` of the root of the sum of the ``S`` largest
    :math:`r_{kl}[\delta]^2` over :math:`(k, \delta) \ne (l, 0)` ([D]).  Note
    :math:`\mu_2(S) \le \sqrt{S}\,\mu`.
    """
    S = check_int(S, "S", low=0)
    return float(_babel2_many(D, np.array([S]))[0])


def _babel2_many(D, S):
    table = _babel_table(D)
    S = np.minimum(np.asarray(S, dtype=np.int64), table.size)
    return np.sqrt(np.where(S > 0, table[np.maximum(S - 1, 0)], 0.0))


def interference_variance(D, G):
    r"""Instance variance proxy :math:`v_j = \sum_{i \in \Lambda\setminus\{j\}} \Gamma_i^2 \langle d_i, d_j\rangle^2`.

    The variance of the interference :math:`I_j = \sum_{i\ne j} \Gamma_i
    \langle d_i, d_j\rangle` when the signs of :math:`\Gamma` are independent
    Rademacher (and the support and magnitudes fixed).  One FFT correlation of
    :math:`\Gamma\odot\Gamma` with the squared filter correlations, minus the
    self term ([D]).  ``G``: ``(B, m, *spatial)``; returns the same shape.
    """
    nd = len(D.spatial_shape)
    axes = tuple(range(-nd, 0))
    r = _cross_terms(D)[0]
    Qh = _cached(D, "squared_correlations_fft", lambda: _squared_correlations_fft(D, r))
    G2 = np.asarray(G, dtype=np.float64) ** 2
    Gh = scipy.fft.rfftn(G2, axes=axes)                                   # (B, k, *freq)
    Vh = np.einsum("kl...,bk...->bl...", Qh.conj(), Gh)
    v = scipy.fft.irfftn(Vh, s=D.spatial_shape, axes=axes)
    self_term = np.diagonal(r, axis1=0, axis2=1)[(0,) * nd] ** 2          # r_ll[0]^2 = 1 for unit atoms
    v -= G2 * self_term.reshape((-1,) + (1,) * nd)
    return np.maximum(v, 0.0)


def _squared_correlations_fft(D, r):
    """rfft over the signal circle of r_kl[delta]^2 placed at lag delta mod N."""
    nd = len(D.spatial_shape)
    q = np.zeros((D.n_filters, D.n_filters) + D.spatial_shape)
    index = []
    for L, N in zip(r.shape[2:], D.spatial_shape):
        lags = np.arange(L)
        lags = np.where(lags <= L // 2, lags, lags - L) if L < N else lags   # lag delta of index i
        index.append(lags % N)
    q[(slice(None), slice(None)) + np.ix_(*index)] = r ** 2
    return scipy.fft.rfftn(q, axes=tuple(range(-nd, 0)))                  # (k, l, *freq)


# --------------------------------------------------------------------------
# codes
# --------------------------------------------------------------------------


@dataclass
class DCSCSample:
    """A batch of model instances.

    Attributes
    ----------
    codes : list of ndarray
        ``[Gamma_1, ..., Gamma_L]``, each ``(B, m_i, *spatial)``.
    X : ndarray
        The clean signals ``D_1 Gamma_1``, ``(B, m_0, *spatial)``.
    Y : ndarray
        The observations ``X + E``.
    noise : ndarray or None
        ``E``.
    inputs : list of ndarray
        What layer ``i`` analyses when it is run on its own: ``Y`` for layer 1;
        ``Gamma_{i-1}`` (nested) or ``D_i Gamma_i`` (per-layer random) for ``i >= 2``.
    mode : {"nested", "per_layer_random"}
    signs : {"rademacher", "positive"}
    """

    codes: list
    X: np.ndarray
    Y: np.ndarray
    noise: np.ndarray | None
    inputs: list
    mode: str
    signs: str

    @property
    def batch(self):
        return self.X.shape[0]


def _amplitudes(amplitude, size, rng):
    if isinstance(amplitude, str):
        amplitude = (amplitude,)
    kind = amplitude[0] if len(amplitude) else None
    if kind == "pm1" and len(amplitude) == 1:
        return np.ones(size)
    if kind == "uniform" and len(amplitude) == 3:
        a = check_real(amplitude[1], "amplitude low", low=0.0)
        b = check_real(amplitude[2], "amplitude high", low=a)
        if b == 0:
            raise ValueError("amplitude=('uniform', 0, 0) draws only zeros")
        return rng.uniform(a, b, size)
    if kind == "gaussian" and len(amplitude) == 2:
        a = check_real(amplitude[1], "amplitude shift", low=0.0)
        return np.abs(rng.standard_normal(size)) + a
    raise ValueError(f"amplitude must be 'pm1', ('uniform', a, b) or ('gaussian', shift), got {amplitude!r}")


def _draw_code(shape, filter_shape, density, cap, amplitude, signs, rng, batch):
    """One layer's random codes (B, m, *spatial): support, magnitudes, signs."""
    size = math.prod(shape)
    G = np.zeros((batch, size))
    spatial = shape[1:]
    nd = len(spatial)
    for b in range(batch):
        if density is not None:
            cand = np.flatnonzero(rng.random(size) < density)
            cand = rng.permutation(cand)
        else:
            cand = rng.permutation(size)
        if cap is not None:
            H, W = (1,) + spatial if nd == 1 else spatial
            nh, nw = (1,) + filter_shape if nd == 1 else filter_shape
            lens = [min(2 * n - 1, N) for n, N in ((nh, H), (nw, W))]
            los = [-(n - 1) if 2 * n - 1 <= N else 0 for n, N in ((nh, H), (nw, W))]
            accept = np.empty(size, bool)
            _kernels.stripe_capped_support(cand.astype(np.int64), H, W, los[0], lens[0], los[1], lens[1],
                                           cap, np.zeros((H, W), np.int64), accept)
            cand = np.flatnonzero(accept)
        vals = _amplitudes(amplitude, cand.size, rng)
        if signs == "rademacher":
            vals *= 2.0 * rng.integers(0, 2, size=cand.size) - 1.0
        G[b, cand] = vals
    return G.reshape((batch,) + shape)


def sample_codes(model, *, density=None, stripe_sparsity=None, batch=1, amplitude="pm1",
                 signs="rademacher", mode="nested", noise=0.0, rng=None, dtype=None):
    r"""Draw codes of a DCSC model (a batch of ``batch`` instances).

    Parameters
    ----------
    model : DCSCModel
    density : float in [0, 1], optional
        Bernoulli density of the support (the top layer in ``"nested"`` mode;
        every layer, or one value per layer, in ``"per_layer_random"``).
    stripe_sparsity : int, optional
        Cap on :math:`\|\Gamma\|^s_{0,\infty}`: candidates (the Bernoulli
        support, or every entry when ``density`` is None) are accepted in
        random order while every stripe keeps at most this many nonzeros; with
        no density the support is a maximal such set (stripe sparsity exactly
        the cap).
    amplitude : "pm1" | ("uniform", a, b) | ("gaussian", a)
        Magnitudes 1, Uniform[a, b], or |N(0, 1)| + a.
    signs : {"rademacher", "positive"}
        Independent random signs (the one-step analysis of [SV07] needs them)
        or all positive (the ReLU model, with non-negative filters).
    mode : {"nested", "per_layer_random"}
        ``"nested"``: the exact model of [PRE17], ``Gamma_L`` drawn and
        ``Gamma_{i-1} = D_i Gamma_i`` (sparse filters keep it sparse).
        ``"per_layer_random"``: every layer an independent convolutional
        sparse instance with its own random support and signs, layer ``i``
        observing ``D_i Gamma_i``.  This is the setting in which the
        per-layer random-sign bound is rigorous; it is our assumption for the
        "modified model" of [MT18], whose definition we could not read.
    noise : float
        Standard deviation of i.i.d. Gaussian noise ``E`` added to ``X``.
    rng : int or Generator

    Returns
    -------
    DCSCSample
    """
    if not isinstance(model, DCSCModel):
        raise TypeError(f"model must be a DCSCModel, got {type(model).__name__}")
    batch = check_int(batch, "batch", low=1)
    mode = check_choice(mode, "mode", {"nested", "per_layer_random"})
    signs = check_choice(signs, "signs", {"rademacher", "positive"})
    noise = check_real(noise, "noise", low=0.0)
    if density is None and stripe_sparsity is None:
        raise ValueError("give density, stripe_sparsity, or both")
    L = model.n_layers
    n_draws = L if mode == "per_layer_random" else 1
    if density is not None:
        dens = [density] if np.ndim(density) == 0 else list(density)
        if len(dens) > 1 and mode == "nested":
            raise ValueError("nested mode draws only the top layer: give one density")
        dens = [check_real(d, "density", low=0.0, high=1.0) for d in _broadcast(dens, n_draws, "density")]
    else:
        dens = [None] * n_draws
    if stripe_sparsity is not None:
        caps = [stripe_sparsity] if np.ndim(stripe_sparsity) == 0 else list(stripe_sparsity)
        if len(caps) > 1 and mode == "nested":
            raise ValueError("nested mode draws only the top layer: give one stripe_sparsity")
        caps = [check_int(c, "stripe_sparsity", low=0) for c in _broadcast(caps, n_draws, "stripe_sparsity")]
    else:
        caps = [None] * n_draws
    rng = as_rng(rng)
    dtype = model.dictionaries[0].dtype if dtype is None else np.dtype(dtype)
    if mode == "nested":
        D = model.dictionaries[-1]
        top = _draw_code(D.code_shape, D.filter_shape, dens[0], caps[0], amplitude, signs, rng, batch)
        codes, X = model.synthesize(top.astype(dtype))
        inputs = [None] + codes[:-1]
    else:
        codes, inputs = [], []
        for i, D in enumerate(model.dictionaries):
            G = _draw_code(D.code_shape, D.filter_shape, dens[i], caps[i], amplitude, signs, rng,
                           batch).astype(dtype)
            codes.append(G)
            inputs.append(_exact_synthesis(D, G))
        X = inputs[0]
    E = (noise * rng.standard_normal(X.shape)).astype(dtype) if noise > 0 else None
    Y = X + E if E is not None else X.copy()
    inputs[0] = Y
    return DCSCSample(codes=codes, X=X, Y=Y, noise=E, inputs=inputs, mode=mode, signs=signs)


# --------------------------------------------------------------------------
# layered thresholding
# --------------------------------------------------------------------------


def _threshold_array(beta, B, m, layer, rule):
    """Thresholds of one layer as a (B, m) array (scalar, per channel (m,), or per signal (B,) / (B, m))."""
    beta = np.asarray(beta, dtype=np.float64)
    name = f"thresholds[{layer - 1}]"
    if not np.all(np.isfinite(beta)):
        raise ValueError(f"{name} must be finite")
    if rule == "topk":
        if np.any(beta < 0) or np.any(beta != np.round(beta)):
            raise ValueError(f"{name} must be non-negative integer counts k for rule='topk', got {beta}")
    elif np.any(beta < 0):
        raise ValueError(f"{name}={beta.min()} must be >= 0 (thresholds are non-negative; the ReLU "
                         "bias is -threshold)")
    if beta.ndim == 0:
        return np.full((B, m), float(beta))
    if rule == "topk":
        if beta.shape != (B,):
            raise ValueError(f"{name} for rule='topk' must be one count or one per signal ({B},), "
                             f"got shape {beta.shape}")
        return np.repeat(beta[:, None], m, axis=1)
    if beta.shape == (m,):
        return np.broadcast_to(beta, (B, m)).copy()
    if beta.shape == (B,):
        return np.repeat(beta[:, None], m, axis=1)
    if beta.shape in ((B, m), (B, 1)):
        return np.broadcast_to(beta, (B, m)).copy()
    raise ValueError(f"{name} must be a scalar, one per channel ({m},), one per signal ({B},) or "
                     f"({B}, {m}); got shape {beta.shape}")


def _apply_rule(Z, beta, rule):
    """P_beta(Z) through cs.threshold; beta is (B, m): one call (the kernel's for one threshold)."""
    B, m = Z.shape[:2]
    if rule == "topk":
        k = beta[:, 0].astype(np.int64)
        flat = Z.reshape(B, -1)
        if np.all(k == k[0]):
            return threshold.hard(flat, int(k[0]), axis=1).reshape(Z.shape)
        return np.stack([threshold.hard(row, int(kb)) for row, kb in zip(flat, k)]).reshape(Z.shape)
    func = {"hard": threshold.hard_tau, "soft": threshold.soft, "relu": threshold.shifted_relu}[rule]
    if np.all(beta == beta.flat[0]):
        return func(Z, float(beta.flat[0]))
    return func(Z, beta.reshape(beta.shape + (1,) * (Z.ndim - 2)))  # one threshold per signal and channel


def _check_rule(rule):
    return check_choice(rule, "rule", set(RULES))


def layered_threshold(model, Y, thresholds, *, rule="hard", method=None):
    r"""The forward pass: :math:`\hat\Gamma_i = P_{\beta_i}(D_i^T \hat\Gamma_{i-1})`, :math:`\hat\Gamma_0 = Y`.

    Parameters
    ----------
    model : DCSCModel
    Y : ndarray, (B, m_0, *spatial) or (m_0, *spatial)
    thresholds : scalar or list with one entry per layer
        Each entry a scalar, one per channel ``(m_i,)`` (like a CNN bias), one
        per signal ``(B,)`` or ``(B, m_i)``; non-negative.  For ``rule="topk"``
        the counts ``k`` kept per signal (over all channels and positions).
    rule : {"hard", "soft", "relu", "topk"}
        :math:`H_\beta(z) = z 1\{|z| > \beta\}`; :math:`S_\beta(z) =
        \mathrm{sign}(z)\max(|z| - \beta, 0)`; :math:`\max(z - \beta, 0)`
        (ReLU with bias :math:`-\beta`); keep the ``k`` largest :math:`|z|`.
        All through :mod:`cs.threshold`.

    Returns
    -------
    list of ndarray
        ``[hat Gamma_1, ..., hat Gamma_L]``.
    """
    rule = _check_rule(rule)
    D1 = model.dictionaries[0]
    Y, single = D1._batch(check_array(Y, "Y", allow_complex=False), D1.signal_shape, "Y")
    betas = _layer_thresholds(thresholds, model.n_layers)
    estimates, current = [], Y
    for i, D in enumerate(model.dictionaries):
        beta = _threshold_array(betas[i], Y.shape[0], D.n_filters, i + 1, rule)
        current = _apply_rule(D.analysis(current, method=method), beta, rule)
        estimates.append(current)
    return [G[0] for G in estimates] if single else estimates


def _layer_thresholds(thresholds, L):
    if isinstance(thresholds, (list, tuple)):
        if len(thresholds) != L:
            raise ValueError(f"thresholds has {len(thresholds)} entries but the model has {L} layers")
        return list(thresholds)
    return [thresholds] * L


def _extremes(G):
    """Per signal: the smallest and largest nonzero magnitudes (0, 0 when empty)."""
    mag = np.abs(G).reshape(G.shape[0], -1)
    gmax = mag.max(axis=1, initial=0.0)
    gmin = np.where(mag > 0, mag, np.inf).min(axis=1, initial=np.inf)
    return np.where(np.isfinite(gmin), gmin, 0.0), gmax


def oracle_thresholds(sample, rule="hard"):
    """Per layer and signal: ``|Gamma_i^min| / 2`` (``rule="topk"``: the true counts ``||Gamma_i||_0``)."""
    rule = _check_rule(rule)
    if rule == "topk":
        return [np.count_nonzero(G.reshape(G.shape[0], -1), axis=1) for G in sample.codes]
    return [_extremes(G)[0] / 2 for G in sample.codes]


# --------------------------------------------------------------------------
# recovery report
# --------------------------------------------------------------------------


@dataclass
class LayerReport:
    """Recovery of one layer, one entry per signal of the batch."""

    support_ok: np.ndarray
    sign_ok: np.ndarray
    false_positives: np.ndarray
    false_negatives: np.ndarray
    rel_error: np.ndarray
    patch_error: np.ndarray
    nnz: np.ndarray
    stripe: np.ndarray


@dataclass
class RecoveryReport:
    """Per-layer recovery reports and the whole path.

    ``path_ok[b]`` is True when every layer's support was recovered exactly
    for signal ``b`` (the [PRE17] notion).  ``success()`` gives the rates;
    ``conditional()`` the rate of layer ``i`` among the signals whose layers
    ``1 .. i-1`` all succeeded.
    """

    layers: list
    path_ok: np.ndarray

    def success(self):
        """Support-recovery rate of every layer, then of the path."""
        return [float(r.support_ok.mean()) for r in self.layers] + [float(self.path_ok.mean())]

    def conditional(self):
        rates, ok = [], np.ones_like(self.path_ok)
        for r in self.layers:
            rates.append(float(r.support_ok[ok].mean()) if ok.any() else float("nan"))
            ok = ok & r.support_ok
        return rates


def recovery_report(codes, estimates, filter_shapes):
    """Compare estimated codes with the truth, layer by layer.

    Parameters
    ----------
    codes, estimates : lists of (B, m_i, *spatial) arrays
    filter_shapes : list of each layer's filter shape (the stripe is
        measured with ``n_i``; the patch error with ``n_{i+1}``, the top layer
        with a patch of one position over all channels).
    """
    if len(codes) != len(estimates):
        raise ValueError(f"codes has {len(codes)} layers but estimates has {len(estimates)}")
    layers = []
    L = len(codes)
    for i, (G, H) in enumerate(zip(codes, estimates)):
        G, H = np.asarray(G), np.asarray(H)
        if G.shape != H.shape:
            raise ValueError(f"layer {i + 1}: codes have shape {G.shape} but estimates {H.shape}")
        B = G.shape[0]
        true_s, est_s = G != 0, H != 0
        fp = np.count_nonzero((est_s & ~true_s).reshape(B, -1), axis=1)
        fn = np.count_nonzero((true_s & ~est_s).reshape(B, -1), axis=1)
        sign_bad = np.count_nonzero((true_s & (np.sign(G) != np.sign(H))).reshape(B, -1), axis=1)
        err = (H - G).reshape(B, -1)
        norm = np.linalg.norm(G.reshape(B, -1), axis=1)
        rel = np.linalg.norm(err, axis=1) / np.where(norm > 0, norm, 1.0)
        patch = filter_shapes[i + 1] if i + 1 < L else (1,) * len(filter_shapes[i])
        layers.append(LayerReport(
            support_ok=(fp == 0) & (fn == 0), sign_ok=(fp == 0) & (sign_bad == 0),
            false_positives=fp, false_negatives=fn, rel_error=rel,
            patch_error=patch_l2(H - G, patch), nnz=np.count_nonzero(true_s.reshape(B, -1), axis=1),
            stripe=stripe_sparsity(G, filter_shapes[i])))
    path = np.logical_and.reduce([r.support_ok for r in layers])
    return RecoveryReport(layers=layers, path_ok=path)


# --------------------------------------------------------------------------
# the uniform guarantee of Papyan, Romano & Elad
# --------------------------------------------------------------------------


@dataclass
class LayerCondition:
    r"""The [PRE17] layered-thresholding condition of one layer, one entry per signal.

    ``ok``: :math:`s_i < \tfrac12(1 + \tfrac{1}{\mu_i}\tfrac{|\Gamma_i^{min}|}{|\Gamma_i^{max}|})
    - \tfrac{1}{\mu_i}\tfrac{\epsilon_{i-1}}{|\Gamma_i^{max}|}`; ``bound`` is that
    right-hand side; the admissible thresholds are ``lower < beta < upper``
    (:math:`K_i = s_i\mu_i|\Gamma_i^{max}| + \epsilon_{i-1}`,
    :math:`|\Gamma_i^{min}| - (s_i - 1)\mu_i|\Gamma_i^{max}| - \epsilon_{i-1}`),
    non-empty exactly when ``ok``.  ``eps_in`` bounds the patch error of the
    layer's input, ``eps_out`` that of its estimate.  ``unique_ok`` is the
    uniqueness check :math:`s_i < \tfrac12(1 + 1/\mu_i)`.
    """

    mu: float
    stripe: np.ndarray
    gamma_min: np.ndarray
    gamma_max: np.ndarray
    bound: np.ndarray
    ok: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    eps_in: np.ndarray
    eps_out: np.ndarray
    unique_ok: np.ndarray


def uniform_condition(model, sample, *, rule="hard", thresholds="theory", eps0=None, window_position=0.5):
    r"""The uniform (worst-case) guarantee of [PRE17] for every layer of a sample.

    Layered hard (and soft, and, for non-negative models, ReLU) thresholding
    recovers the support and signs of every layer when, for all ``i``,
    :math:`s_i < \tfrac12(1 + \tfrac1{\mu_i}\tfrac{|\Gamma_i^{min}|}{|\Gamma_i^{max}|})
    - \tfrac1{\mu_i}\tfrac{\epsilon_{i-1}}{|\Gamma_i^{max}|}` and the threshold
    lies in the window ``(lower, upper)``.  The errors propagate as
    :math:`\epsilon_i = \sqrt{\|\Gamma_i\|^p_{0,\infty}}(\epsilon_{i-1} +
    \mu_i(s_i - 1)|\Gamma_i^{max}| + \beta_i)` with :math:`\beta_i` only for the
    shrinking rules (soft, ReLU).  In ``"per_layer_random"`` samples every
    layer's input is exact, so :math:`\epsilon_{i-1} = 0` for ``i >= 2``.

    Parameters
    ----------
    thresholds : "theory" | "oracle_mid" | list
        Used only to propagate :math:`\beta_i` into the errors of soft/ReLU:
        the point ``window_position`` of the window (0.5: its midpoint),
        ``|Gamma_i^min| / 2``, or given values.
    window_position : float in (0, 1)
        Where in the window ``"theory"`` puts the threshold; shrinking rules
        propagate smaller errors with thresholds near the lower end.
    eps0 : float or (B,) array, optional
        :math:`\epsilon_0 \ge \|E\|^p_{2,\infty}`; default: measured on the
        sample's noise (patch ``n_1``), 0 without noise.

    Returns
    -------
    list of LayerCondition
    """
    rule = _check_rule(rule)
    B = sample.batch
    shapes = model.filter_shapes
    if eps0 is None:
        eps = patch_l2(sample.noise, shapes[0]) if sample.noise is not None else np.zeros(B)
    else:
        eps = np.broadcast_to(np.asarray(eps0, dtype=np.float64), (B,)).copy()
        if np.any(eps < 0):
            raise ValueError("eps0 must be >= 0")
    given = None if isinstance(thresholds, str) else _layer_thresholds(thresholds, model.n_layers)
    if given is None:
        thresholds = check_choice(thresholds, "thresholds", {"theory", "oracle_mid"})
    window_position = check_real(window_position, "window_position", low=0.0, high=1.0, low_open=True,
                                 high_open=True)
    out = []
    for i, (D, G) in enumerate(zip(model.dictionaries, sample.codes)):
        if i and sample.mode == "per_layer_random":
            eps = np.zeros(B)
        mu = mutual_coherence(D)
        s = stripe_sparsity(G, D.filter_shape)
        gmin, gmax = _extremes(G)
        empty = gmax == 0
        safe_max = np.where(empty, 1.0, gmax)
        if mu > 0:
            bound = 0.5 * (1 + gmin / (mu * safe_max)) - eps / (mu * safe_max)
        else:  # orthogonal atoms: any stripe sparsity
            bound = np.full(B, np.inf)
        bound = np.where(empty, np.inf, bound)
        lower = s * mu * gmax + eps
        upper = np.where(empty, np.inf, gmin - (s - 1) * mu * gmax - eps)
        ok = lower < upper  # the same as s < bound when mu > 0, and right for mu = 0
        unique = s < (0.5 * (1 + 1 / mu) if mu > 0 else np.inf)
        if rule in ("soft", "relu"):
            if given is not None:
                beta = _threshold_array(given[i], B, D.n_filters, i + 1, rule).max(axis=1)
            elif thresholds == "oracle_mid":
                beta = gmin / 2
            else:
                beta = _in_window(lower, upper, window_position)
        else:
            beta = 0.0
        patch = shapes[i + 1] if i + 1 < model.n_layers else (1,) * len(D.filter_shape)
        eps_out = np.sqrt(patch_l0(G, patch)) * (eps + mu * np.maximum(s - 1, 0) * gmax + beta)
        out.append(LayerCondition(mu=mu, stripe=s, gamma_min=gmin, gamma_max=gmax, bound=bound, ok=ok,
                                  lower=lower, upper=upper, eps_in=eps, eps_out=eps_out, unique_ok=unique))
        eps = eps_out
    return out


def _in_window(lower, upper, position):
    """The point ``position`` of the way from lower to upper (``lower + 1`` when upper is infinite)."""
    span = np.where(np.isfinite(upper), upper - lower, 2.0)
    return np.maximum(lower + position * span, 0.0)


def _resolve_thresholds(model, sample, thresholds, rule, eps0=None, window_position=0.5):
    """Per-layer thresholds: given values, ``"oracle_mid"``, ``"theory"`` (window midpoints) or ``"oracle"`` (topk)."""
    if not isinstance(thresholds, str):
        return _layer_thresholds(thresholds, model.n_layers)
    if rule == "topk":
        check_choice(thresholds, "thresholds", {"oracle", "oracle_mid"})
        return oracle_thresholds(sample, "topk")
    thresholds = check_choice(thresholds, "thresholds", {"theory", "oracle_mid"})
    if thresholds == "oracle_mid":
        return oracle_thresholds(sample, rule)
    conds = uniform_condition(model, sample, rule=rule, thresholds="theory", eps0=eps0,
                              window_position=window_position)
    return [_in_window(c.lower, c.upper, window_position) for c in conds]


def recover(model, sample, *, rule="hard", thresholds="oracle_mid", window_position=0.5, method=None):
    """Run the forward pass on a sample and report recovery per layer and for the path.

    Nested samples go through the chain :func:`layered_threshold` from ``Y``;
    per-layer random samples run every layer on its own exact input
    ``D_i Gamma_i`` (``Y`` for layer 1).  ``thresholds``: ``"oracle_mid"``
    (``|Gamma_i^min| / 2`` per signal), ``"theory"`` (the point ``window_position``,
    by default the midpoint, of the [PRE17] window per signal), ``"oracle"`` (``rule="topk"``: the true
    counts), or explicit per-layer values as in :func:`layered_threshold`.

    Returns
    -------
    (RecoveryReport, estimates, thresholds used)
    """
    rule = _check_rule(rule)
    betas = _resolve_thresholds(model, sample, thresholds, rule, window_position=window_position)
    if sample.mode == "nested":
        estimates = layered_threshold(model, sample.Y, betas, rule=rule, method=method)
    else:
        estimates = []
        for i, D in enumerate(model.dictionaries):
            beta = _threshold_array(betas[i], sample.batch, D.n_filters, i + 1, rule)
            estimates.append(_apply_rule(D.analysis(sample.inputs[i], method=method), beta, rule))
    return recovery_report(sample.codes, estimates, model.filter_shapes), estimates, betas


# --------------------------------------------------------------------------
# the average-case (random-sign) one-step thresholding bound
# --------------------------------------------------------------------------


def average_case_bound(model, sample, thresholds, *, rule="hard", constant=8.0, form="instance",
                       estimates=None):
    r"""Upper bound on the probability that one-step thresholding misses a layer's support.

    Random-sign model ([SV07]): for atom ``j`` the correlation is
    :math:`z_j = \Gamma_j + I_j + \langle d_j, e\rangle` with interference
    :math:`I_j = \sum_{i \in \Lambda\setminus\{j\}} \Gamma_i\langle d_i, d_j\rangle`.
    With independent Rademacher signs, Hoeffding gives
    :math:`P(|I_j| \ge t) \le 2\exp(-4t^2/(c\, v_j))` (``c = constant``; ``c = 8``
    is Hoeffding's own :math:`2\exp(-t^2/(2v_j))`).  Thresholding at
    :math:`\beta` keeps the support (and signs) unless some ``j`` in the
    support has :math:`|I_j| \ge |\Gamma_j| - \beta - \epsilon` or some ``j``
    off it has :math:`|I_j| \ge \beta - \epsilon`; a union bound gives

    * ``form="instance"`` (default):
      :math:`\sum_j 2\exp(-4 t_j^2/(c\, v_j))` with :math:`v_j` of
      :func:`interference_variance` and :math:`t_j` as above;
    * ``form="uniform"``: :math:`2K\exp(-4t^2/(c\,\mu_2(s)^2\|\Gamma\|_\infty^2))`
      with ``K`` atoms, ``s`` the stripe sparsity, :math:`\mu_2` of
      :func:`babel2` and :math:`t = \min(|\Gamma^{min}| - \beta, \beta) - \epsilon`;
      at :math:`\beta = |\Gamma^{min}|/2` this is [SV07]'s form
      :math:`2K\exp(-|\Gamma^{min}|^2/(c\,\mu_2^2\|\Gamma\|_\infty^2))`.

    Each bound is clipped to 1; the path bound is the (clipped) sum over
    layers.  ``epsilon`` bounds :math:`|\langle d_j, e\rangle|` by the patch
    norm of the layer's input error: the noise for layer 1; for deeper layers
    of a nested sample, the measured patch error of the previous estimate
    (``estimates``, else the [PRE17] bound).  The bound is rigorous for
    single-layer and per-layer random samples with Rademacher signs; for deeper
    layers of nested samples the signs of ``Gamma_{i-1} = D_i Gamma_i`` are not
    independent, so it is a heuristic there (``rigorous`` says which).

    Returns
    -------
    dict with ``layers`` (B, L) bounds, ``path`` (B,), ``rigorous`` (L,) bools.
    """
    rule = _check_rule(rule)
    if rule == "topk":
        raise ValueError("the average-case bound is for threshold rules (hard, soft, relu), not topk")
    if sample.signs != "rademacher":
        raise ValueError("the average-case bound needs independent random signs (signs='rademacher')")
    form = check_choice(form, "form", {"instance", "uniform"})
    constant = check_real(constant, "constant", low=0.0, low_open=True)
    B, L = sample.batch, model.n_layers
    betas = _layer_thresholds(thresholds, L)
    shapes = model.filter_shapes
    eps = patch_l2(sample.noise, shapes[0]) if sample.noise is not None else np.zeros(B)
    conds = None
    bounds = np.zeros((B, L))
    rigorous = np.zeros(L, bool)
    for i, (D, G) in enumerate(zip(model.dictionaries, sample.codes)):
        if i and sample.mode == "per_layer_random":
            eps = np.zeros(B)
        elif i:
            if estimates is not None:
                eps = patch_l2(np.asarray(estimates[i - 1]) - sample.codes[i - 1], shapes[i])
            else:
                conds = conds or uniform_condition(model, sample, rule=rule, thresholds=betas)
                eps = conds[i - 1].eps_out
        rigorous[i] = i == 0 or sample.mode == "per_layer_random"
        beta = _threshold_array(betas[i], B, D.n_filters, i + 1, rule)
        bshape = (B, D.n_filters) + (1,) * len(D.spatial_shape)
        beta = beta.reshape(bshape)
        epsb = eps.reshape((B,) + (1,) * (G.ndim - 1))
        mag = np.abs(G)
        on = mag > 0
        if form == "instance":
            v = interference_variance(D, G)
            t = np.where(on, mag - beta, beta) - epsb
            with np.errstate(divide="ignore", invalid="ignore"):
                term = np.where(t > 0, 2 * np.exp(-4 * t * t / (constant * v)), 2.0)
            term = np.where((t > 0) & (v == 0), 0.0, term)
            bounds[:, i] = term.reshape(B, -1).sum(axis=1)
        else:
            gmin, gmax = _extremes(G)
            s = stripe_sparsity(G, D.filter_shape)
            K = math.prod(D.code_shape)
            t = np.minimum(gmin[:, None] - beta.reshape(B, -1), beta.reshape(B, -1)).min(axis=1) - eps
            mu2 = _babel2_many(D, s)
            with np.errstate(divide="ignore", invalid="ignore"):
                b = np.where(t > 0, 2 * K * np.exp(-4 * t * t / (constant * mu2**2 * gmax**2)), 1.0)
            bounds[:, i] = np.where((t > 0) & (mu2 * gmax == 0), 0.0, b)
    bounds = np.minimum(bounds, 1.0)
    return {"layers": bounds, "path": np.minimum(bounds.sum(axis=1), 1.0), "rigorous": rigorous}


# --------------------------------------------------------------------------
# the sweep
# --------------------------------------------------------------------------

_COLUMNS = ["density", "layer", "trials", "successes", "success", "success_conditional", "sign_success",
            "mean_nnz", "mean_stripe", "max_stripe", "uniform_ok", "uniform_bound", "mu",
            "avg_bound", "avg_bound_success", "avg_bound_rigorous", "mean_fp", "mean_fn",
            "mean_rel_error", "seconds"]


@dataclass
class SweepResult:
    """A density sweep: one row per (density, layer) with ``layer`` 1..L or ``"path"``.

    Columns: ``density``; ``trials`` and ``successes`` (exact support);
    ``success``; ``success_conditional`` (among trials whose earlier layers
    succeeded); ``sign_success``; ``mean_nnz``; ``mean_stripe`` and
    ``max_stripe`` (stripe sparsity of the true code); ``uniform_ok`` (the
    fraction of trials meeting the [PRE17] condition) and ``uniform_bound`` (the
    mean right-hand side of that condition, in nonzeros per stripe); ``mu``;
    ``avg_bound`` (mean over trials of the clipped average-case failure bound)
    and ``avg_bound_success`` = 1 - ``avg_bound``; ``mean_fp``, ``mean_fn``,
    ``mean_rel_error``; ``seconds``.
    """

    rows: list
    meta: dict = field(default_factory=dict)
    path: Path | None = None

    def column(self, name, layer="path"):
        """One column for one layer (``"path"`` or 1..L), in density order."""
        sel = sorted((r for r in self.rows if str(r["layer"]) == str(layer)), key=lambda r: r["density"])
        return np.array([float(r[name]) for r in sel])

    def crossing(self, level=0.5, *, layer="path", x="mean_stripe"):
        """Where ``success`` first falls through ``level`` (linear interpolation in ``x``); NaN if never."""
        xs, ys = self.column(x, layer), self.column("success", layer)
        for j in range(1, len(xs)):
            if ys[j - 1] >= level > ys[j]:
                return float(xs[j - 1] + (ys[j - 1] - level) * (xs[j] - xs[j - 1]) / (ys[j - 1] - ys[j]))
        return float("nan")


def _fingerprint(model):
    h = hashlib.sha1()
    for D in model.dictionaries:
        h.update(np.ascontiguousarray(D.filters, dtype=np.float64).tobytes())
        h.update(repr(D.spatial_shape).encode())
    return h.hexdigest()[:16]


def _read_rows(path):
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for k, v in r.items():
            if k != "layer":
                r[k] = float(v)
        r["layer"] = r["layer"] if r["layer"] == "path" else int(r["layer"])
    return rows


def sweep(model, densities, *, trials=100, batch=256, rule="hard", thresholds="oracle_mid",
          amplitude="pm1", signs="rademacher", mode="nested", noise=0.0, stripe_cap=None,
          constant=8.0, seed=0, out=None, progress=False, method=None):
    r"""Success of layered thresholding against density: a phase-transition sweep.

    For every density of the grid, ``trials`` seeded instances (vectorised in
    batches of ``batch`` over one fixed dictionary, whose transforms are
    reused) are drawn with :func:`sample_codes`, run through :func:`recover`,
    and summarised per layer and for the path, with the [PRE17] uniform
    condition and the average-case bound (:func:`average_case_bound`, instance
    form, random signs only) beside the measured success.

    Parameters
    ----------
    model : DCSCModel
    densities : sequence of float in [0, 1]
    trials, batch : int
    rule, thresholds : see :func:`recover`
    amplitude, signs, mode, noise : see :func:`sample_codes`; ``stripe_cap``
        caps the stripe sparsity of the drawn codes.
    constant : float
        The constant ``c`` of the average-case bound.
    seed : int
        Trials of grid point ``density`` in chunk ``j`` use
        ``SeedSequence([seed, round(density * 2**32), j])``, so a point's
        result does not depend on the rest of the grid.
    out : path, optional
        A folder: ``sweep.csv`` gets every finished grid point as it ends
        (appended and flushed) and ``sweep.json`` the parameters; rerunning
        with the same parameters skips the points already there (resume),
        and different parameters raise ``ValueError``.
    progress : bool
        A tqdm progress bar over the trials.

    Returns
    -------
    SweepResult
    """
    if not isinstance(model, DCSCModel):
        raise TypeError(f"model must be a DCSCModel, got {type(model).__name__}")
    dens = sorted({check_real(d, "densities", low=0.0, high=1.0) for d in np.atleast_1d(densities)})
    if not dens:
        raise ValueError("densities must not be empty")
    trials = check_int(trials, "trials", low=1)
    batch = check_int(batch, "batch", low=1)
    rule = _check_rule(rule)
    seed = check_int(seed, "seed", low=0)
    L = model.n_layers
    meta = dict(fingerprint=_fingerprint(model), channels=list(model.channels),
                filter_shapes=[list(s) for s in model.filter_shapes], spatial_shape=list(model.spatial_shape),
                trials=trials, batch=batch, rule=rule,
                thresholds=thresholds if isinstance(thresholds, str) else repr(thresholds),
                amplitude=amplitude if isinstance(amplitude, str) else list(amplitude), signs=signs,
                mode=mode, noise=float(noise), stripe_cap=stripe_cap, constant=float(constant), seed=seed)
    rows, csv_path = [], None
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        csv_path, meta_path = out / "sweep.csv", out / "sweep.json"
        if meta_path.exists() and csv_path.exists():
            old = json.loads(meta_path.read_text())
            if old != json.loads(json.dumps(meta)):
                diff = sorted(k for k in set(old) | set(meta) if old.get(k) != json.loads(json.dumps(meta)).get(k))
                raise ValueError(f"{out} holds a sweep with other parameters ({', '.join(diff)}); "
                                 "use another folder")
            rows = _read_rows(csv_path)
        else:
            meta_path.write_text(json.dumps(meta, indent=1))
            with open(csv_path, "w", newline="") as fh:
                csv.writer(fh).writerow(_COLUMNS)
    done = {r["density"] for r in rows}
    todo = [d for d in dens if not any(math.isclose(d, e, rel_tol=1e-12, abs_tol=1e-15) for e in done)]
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo) * trials, desc="dcsc sweep", disable=not progress, leave=False,
               dynamic_ncols=True)
    try:
        for d in todo:
            start = time.perf_counter()
            acc = _Accumulator(L)
            for j, lo in enumerate(range(0, trials, batch)):
                size = min(batch, trials - lo)
                rng = np.random.default_rng(np.random.SeedSequence([seed, int(round(d * 2**32)), j]))
                sample = sample_codes(model, density=d, stripe_sparsity=stripe_cap, batch=size,
                                      amplitude=amplitude, signs=signs, mode=mode, noise=noise, rng=rng)
                conds = given = None
                if isinstance(thresholds, str) and thresholds == "theory" and rule != "topk":
                    # the theory's thresholds are the window midpoints of the uniform condition:
                    # computed once here, not again inside recover
                    conds = uniform_condition(model, sample, rule=rule, thresholds="theory")
                    given = [_in_window(c.lower, c.upper, 0.5) for c in conds]
                report, estimates, betas = recover(model, sample, rule=rule,
                                                   thresholds=thresholds if given is None else given,
                                                   method=method)
                if conds is None:
                    conds = uniform_condition(model, sample, rule=rule, thresholds=betas if rule != "topk"
                                              else "theory")
                avg = None
                if signs == "rademacher" and rule != "topk":
                    avg = average_case_bound(model, sample, betas, rule=rule, constant=constant,
                                             estimates=estimates)
                acc.add(report, conds, avg)
                bar.update(size)
            new = acc.rows(d, time.perf_counter() - start)
            rows.extend(new)
            if csv_path is not None:
                with open(csv_path, "a", newline="") as fh:
                    writer = csv.DictWriter(fh, fieldnames=_COLUMNS)
                    writer.writerows(new)
                    fh.flush()
                    os.fsync(fh.fileno())
    finally:
        bar.close()
    rows.sort(key=lambda r: (r["density"], str(r["layer"])))
    return SweepResult(rows=rows, meta=meta, path=csv_path)


class _Accumulator:
    """Sums over the batches of one grid point."""

    def __init__(self, L):
        self.L = L
        self.parts = []

    def add(self, report, conds, avg):
        self.parts.append((report, conds, avg))

    def rows(self, density, seconds):
        cat = np.concatenate
        reports = [p[0] for p in self.parts]
        conds = [p[1] for p in self.parts]
        avgs = [p[2] for p in self.parts]
        n = sum(r.path_ok.size for r in reports)
        rows = []
        prev_ok = np.ones(n, bool)
        all_cond_ok = np.ones(n, bool)
        for i in range(self.L):
            ok = cat([r.layers[i].support_ok for r in reports])
            cond_ok = cat([c[i].ok for c in conds])
            all_cond_ok &= cond_ok
            bound = cat([c[i].bound for c in conds])
            finite = np.isfinite(bound)
            avg = cat([a["layers"][:, i] for a in avgs]) if avgs[0] is not None else None
            rows.append(self._row(density, i + 1, n, ok, ok[prev_ok].mean() if prev_ok.any() else np.nan,
                                  cat([r.layers[i].sign_ok for r in reports]),
                                  cat([r.layers[i].nnz for r in reports]),
                                  cat([r.layers[i].stripe for r in reports]), cond_ok,
                                  bound[finite].mean() if finite.any() else np.inf, conds[0][i].mu, avg,
                                  avgs[0]["rigorous"][i] if avgs[0] is not None else False,
                                  cat([r.layers[i].false_positives for r in reports]),
                                  cat([r.layers[i].false_negatives for r in reports]),
                                  cat([r.layers[i].rel_error for r in reports]), seconds))
            prev_ok = prev_ok & ok
        path_ok = cat([r.path_ok for r in reports])
        top = rows[-1]
        avg = cat([a["path"] for a in avgs]) if avgs[0] is not None else None
        rows.append(self._row(density, "path", n, path_ok, path_ok.mean(), path_ok, np.array([top["mean_nnz"]]),
                              cat([r.layers[-1].stripe for r in reports]), all_cond_ok, top["uniform_bound"],
                              top["mu"], avg, bool(avgs[0] is not None and avgs[0]["rigorous"].all()),
                              np.array([np.nan]), np.array([np.nan]), np.array([np.nan]), seconds))
        return rows

    @staticmethod
    def _row(density, layer, n, ok, cond, sign_ok, nnz, stripe, cond_ok, bound, mu, avg, rigorous, fp, fn,
             rel, seconds):
        avg_mean = float(avg.mean()) if avg is not None else float("nan")
        return dict(density=density, layer=layer, trials=n, successes=int(ok.sum()), success=float(ok.mean()),
                    success_conditional=float(cond), sign_success=float(np.mean(sign_ok)),
                    mean_nnz=float(np.mean(nnz)), mean_stripe=float(np.mean(stripe)),
                    max_stripe=float(np.max(stripe)), uniform_ok=float(np.mean(cond_ok)),
                    uniform_bound=float(bound), mu=float(mu), avg_bound=avg_mean,
                    avg_bound_success=1.0 - avg_mean, avg_bound_rigorous=int(bool(rigorous)),
                    mean_fp=float(np.mean(fp)), mean_fn=float(np.mean(fn)), mean_rel_error=float(np.mean(rel)),
                    seconds=float(seconds))


def plot_sweep(result, path=None, *, title=None):
    """Success per layer and for the path against stripe sparsity, with both bounds.

    Solid lines: measured success; dotted vertical lines: the [PRE17] uniform
    bound (mean right-hand side of the condition, nonzeros per stripe); dashed
    lines: 1 - the average-case failure bound.  Saves to ``path`` when given.
    Returns the matplotlib figure.
    """
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    layers = sorted({r["layer"] for r in result.rows if r["layer"] != "path"})
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for idx, layer in enumerate(layers + (["path"] if len(layers) > 1 else [])):
        c = colors[idx % len(colors)]
        x = result.column("mean_stripe", layer)
        label = f"layer {layer}" if layer != "path" else "path"
        ax.plot(x, result.column("success", layer), "o-", color=c, ms=3, label=f"{label}: measured")
        avg = result.column("avg_bound_success", layer)
        if np.isfinite(avg).any():
            ax.plot(x, np.clip(avg, 0, 1), "--", color=c, label=f"{label}: 1 - average-case bound")
        if layer != "path":
            ub = result.column("uniform_bound", layer)
            ub = ub[np.isfinite(ub)]
            if ub.size:
                ax.axvline(float(np.mean(ub)), ls=":", color=c, label=f"{label}: uniform bound")
    ax.set_xlabel(r"stripe sparsity $\|\Gamma\|^s_{0,\infty}$ (mean over trials)")
    ax.set_ylabel("probability of exact support recovery")
    ax.set_ylim(-0.03, 1.03)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
