r"""Convolutional dictionaries as linear operators (1-D and 2-D, circular boundary).

A convolutional dictionary :math:`D \in \mathbb{R}^{N m_{in} \times N m}` has as
atoms all :math:`N` circular shifts of ``m`` local filters
:math:`f_k \in \mathbb{R}^{m_{in} \times n}`; one filter spans every input
channel (Papyan, Sulam & Elad 2017; Papyan, Romano & Elad 2017).  Atom
:math:`(k, t)` is filter ``k`` placed at offset ``t``:

.. math::

    d_{k,t}[c, u] = f_k[c, (u - t) \bmod N],

so the synthesis :math:`X = D\Gamma` and the analysis :math:`Z = D^T V` are

.. math::

    X[c, u] = \sum_k \sum_j f_k[c, j]\, \Gamma[k, u - j], \qquad
    Z[k, t] = \sum_c \sum_j f_k[c, j]\, V[c, t + j]

(indices modulo ``N``; in 2-D every index is a pair).  Codes are stored as
``(m, *spatial)`` arrays and signals as ``(m_in, *spatial)``; the batched maps
:meth:`ConvDictionary.synthesis` and :meth:`ConvDictionary.analysis` take a
leading batch axis.

Two paths give the same result: the FFT path (filters' transforms computed
once; the channel mixing is a batched matrix product over frequencies; cost
:math:`O((m_{in} + m) N \log N + m_{in} m N)` per signal) and the direct path
(numba loops, :math:`O(m_{in} m n^d N)`, best for short filters).  A cost
model picks one (``method="auto"``); ``method="fft"`` or ``"direct"``
overrides it.

References
----------
V. Papyan, J. Sulam and M. Elad, "Working locally thinking globally:
theoretical guarantees for convolutional sparse coding", IEEE Trans. Signal
Process. 65(21), 2017.
V. Papyan, Y. Romano and M. Elad, "Convolutional neural networks analyzed via
convolutional sparse coding", JMLR 18, 2017.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft
from scipy.sparse.linalg import LinearOperator

from . import _kernels
from ._validation import as_rng, check_array, check_choice, check_dtype, check_int
from .operators import MeasurementOperator

__all__ = ["ConvDictionary", "conv_dictionary", "random_filters", "FILTER_KINDS"]

#: Filter generators of :func:`random_filters`.
FILTER_KINDS = ("gaussian", "sparse_gaussian", "sparse_sign")

# Cost model (in units of one direct multiply-add): one real FFT of a length-N
# signal costs about FFT_COST * N log2 N, one complex multiply-add of the
# channel mixing about MIX_COST; the direct path costs n^d per output entry per
# (channel, filter) pair.  Calibrated by benchmarks/bench_dcsc.py on x86-64.
FFT_COST = 1.5
MIX_COST = 6.0
DIRECT_COST = 0.75


def _check_signal_shape(signal_shape):
    if isinstance(signal_shape, (int, np.integer)):
        signal_shape = (signal_shape,)
    try:
        shape = tuple(int(s) for s in signal_shape)
    except TypeError as err:
        raise TypeError(f"signal_shape must be an int or a tuple of ints, got {signal_shape!r}") from err
    if len(shape) not in (1, 2) or any(s < 1 for s in shape):
        raise ValueError(f"signal_shape must be N or (N_h, N_w) with positive sizes, got {signal_shape!r}")
    return shape


def random_filters(n_filters, n_channels, filter_size, *, kind="gaussian", nnz=None, nonneg=False,
                   ndim=1, rng=None, dtype=np.float64):
    """Random unit-norm filters of shape ``(m, m_in, n)`` (1-D) or ``(m, m_in, n, n)`` (2-D).

    Parameters
    ----------
    n_filters, n_channels : int
        ``m`` filters spanning ``m_in`` input channels.
    filter_size : int
        Spatial support ``n`` (``n x n`` in 2-D).
    kind : {"gaussian", "sparse_gaussian", "sparse_sign"}
        i.i.d. N(0, 1) entries; or ``nnz`` nonzeros per filter at random
        positions of its ``m_in x n`` block with N(0, 1) or ±1 values.  Sparse
        filters keep ``Gamma_{i-1} = D_i Gamma_i`` sparse in a deep model.
    nnz : int
        Nonzeros per filter for the sparse kinds.
    nonneg : bool
        Take absolute values (the ReLU model: non-negative codes stay
        non-negative through the layers).

    Every filter is normalised to unit Frobenius norm, so every atom of the
    dictionary has unit l2 norm.
    """
    m = check_int(n_filters, "n_filters", low=1)
    c = check_int(n_channels, "n_channels", low=1)
    n = check_int(filter_size, "filter_size", low=1)
    kind = check_choice(kind, "kind", set(FILTER_KINDS))
    ndim = check_int(ndim, "ndim", low=1, high=2)
    rng = as_rng(rng)
    dtype = check_dtype(dtype)
    block = c * n**ndim
    if kind == "gaussian":
        if nnz is not None:
            raise ValueError("nnz is only used by the sparse filter kinds")
        F = rng.standard_normal((m, block))
    else:
        if nnz is None:
            raise ValueError(f"kind={kind!r} needs nnz, the number of nonzeros per filter")
        nnz = check_int(nnz, "nnz", low=1, high=block, high_what="the filter size m_in n^d")
        F = np.zeros((m, block))
        for row in F:
            pos = rng.choice(block, size=nnz, replace=False)
            row[pos] = (rng.standard_normal(nnz) if kind == "sparse_gaussian"
                        else 2.0 * rng.integers(0, 2, size=nnz) - 1.0)
    if nonneg:
        F = np.abs(F)
    F /= np.linalg.norm(F, axis=1, keepdims=True)
    return F.reshape((m, c) + (n,) * ndim).astype(dtype)


class ConvDictionary(MeasurementOperator):
    r"""A convolutional dictionary :math:`D`: codes ``(m, *spatial)`` to signals ``(m_in, *spatial)``.

    As a :class:`cs.operators.MeasurementOperator`, ``forward`` is the
    synthesis :math:`D\Gamma` (flattened) and ``adjoint`` the analysis
    :math:`D^T V`; ``input_shape`` is the code shape.  The batched, shaped maps
    are :meth:`synthesis` and :meth:`analysis`.

    Parameters
    ----------
    filters : array_like, shape (m, m_in, n) or (m, m_in, n_h, n_w)
    signal_shape : int or (int, int)
        ``N`` (1-D) or ``(N_h, N_w)`` (2-D); every filter side must fit.
    method : {"auto", "fft", "direct"}
        ``"auto"`` picks by the cost model for a batch of ``batch_hint``.
    normalize : bool
        Rescale every filter to unit Frobenius norm (unit-norm atoms, which
        every coherence statement assumes).  A zero filter is an error.
    dtype : float32 or float64, optional
        Default: the filters' float dtype.
    """

    def __init__(self, filters, signal_shape, *, method="auto", normalize=True, dtype=None,
                 batch_hint=64):
        filters = check_array(filters, "filters", ndim=(3, 4), allow_complex=False)
        spatial = _check_signal_shape(signal_shape)
        ndim = filters.ndim - 2
        if len(spatial) != ndim:
            raise ValueError(f"filters of shape {filters.shape} are {ndim}-D but signal_shape "
                             f"{spatial} is {len(spatial)}-D")
        if any(s < 1 for s in filters.shape):
            raise ValueError(f"filters must have positive sizes, got shape {filters.shape}")
        for n, N in zip(filters.shape[2:], spatial):
            if n > N:
                raise ValueError(f"filters of spatial size {filters.shape[2:]} are longer than the "
                                 f"signal {spatial}")
        dtype = check_dtype(filters.dtype if dtype is None else dtype)
        filters = np.array(filters, dtype=dtype)
        if normalize:
            norms = np.sqrt((filters.astype(np.float64) ** 2).reshape(filters.shape[0], -1).sum(axis=1))
            if np.any(norms == 0):
                raise ValueError(f"filters {np.flatnonzero(norms == 0).tolist()} are zero and cannot be "
                                 "normalised")
            filters /= norms.reshape((-1,) + (1,) * (filters.ndim - 1)).astype(dtype)
        self.filters = filters
        self.spatial_shape = spatial
        self.n_filters, self.n_channels = filters.shape[:2]
        self.filter_shape = filters.shape[2:]
        self.code_shape = (self.n_filters,) + spatial
        self.signal_shape = (self.n_channels,) + spatial
        self.method = check_choice(method, "method", {"auto", "fft", "direct"})
        self._freq = None
        self._matrices = {}
        n_code, n_signal = math.prod(self.code_shape), math.prod(self.signal_shape)
        LinearOperator.__init__(self, dtype=dtype, shape=(n_signal, n_code))
        self.input_shape = self.code_shape
        self.n_measurements = n_signal
        if self.method == "auto":
            self.method = self.choose_method(check_int(batch_hint, "batch_hint", low=1))

    # -- the cost model ------------------------------------------------------
    def cost(self, batch=1):
        """Modelled cost of one synthesis (or analysis) of ``batch`` signals: ``{"fft": ., "direct": .}``."""
        N = math.prod(self.spatial_shape)
        C, m, taps = self.n_channels, self.n_filters, math.prod(self.filter_shape)
        fft = batch * (FFT_COST * (C + m) * N * math.log2(max(N, 2)) + MIX_COST * C * m * (N / 2 + 1))
        direct = batch * DIRECT_COST * C * m * taps * N
        return {"fft": fft, "direct": direct}

    def choose_method(self, batch=64):
        """The path with the lower modelled cost."""
        cost = self.cost(batch)
        return "direct" if cost["direct"] < cost["fft"] else "fft"

    # -- FFT path ------------------------------------------------------------
    @property
    def _axes(self):
        return tuple(range(-len(self.spatial_shape), 0))

    def frequency_response(self):
        """The filters' FFTs, shape ``(F, m_in, m)`` over the ``F`` rfft frequencies (computed once)."""
        if self._freq is None:
            Fh = scipy.fft.rfftn(self.filters, s=self.spatial_shape, axes=self._axes)
            m, C = Fh.shape[:2]
            self._freq = np.ascontiguousarray(Fh.reshape(m, C, -1).transpose(2, 1, 0))
        return self._freq

    def _frequency_matrix(self, which, dtype):
        """The per-frequency matrix of ``which`` in ``dtype``'s complex precision, made once
        (the analysis' conjugate transpose had been copied on every product)."""
        key = (which, np.dtype(dtype))
        if key not in self._matrices:
            Fh = self.frequency_response()                         # (F, C, m)
            matrix = Fh if which == "synthesis" else np.ascontiguousarray(Fh.conj().transpose(0, 2, 1))
            self._matrices[key] = matrix.astype(np.complex64 if dtype == np.float32 else Fh.dtype, copy=False)
        return self._matrices[key]

    def _mix(self, V, matrix):
        """rfft of V (B, c_in, *spatial), per-frequency product with matrix (F, c_out, c_in), irfft."""
        B, c_in = V.shape[:2]
        Vh = scipy.fft.rfftn(V, axes=self._axes)
        fshape = Vh.shape[2:]
        Vh = Vh.reshape(B, c_in, -1).transpose(2, 1, 0)          # (F, c_in, B)
        Zh = np.matmul(matrix, Vh)                                # (F, c_out, B)
        Zh = Zh.transpose(2, 1, 0).reshape((B, matrix.shape[1]) + fshape)
        return scipy.fft.irfftn(Zh, s=self.spatial_shape, axes=self._axes)

    # -- the maps ------------------------------------------------------------
    def _batch(self, A, shape, name):
        A = np.asarray(A)
        single = A.shape == shape
        if single:
            A = A[None]
        if A.shape[1:] != shape:
            raise ValueError(f"{name} must have shape {shape} or (B,) + {shape}, got {A.shape}")
        if A.dtype != self.dtype:
            A = A.astype(np.result_type(A.dtype, self.dtype) if A.dtype.kind == "f" else self.dtype)
        return A, single

    def synthesis(self, G, *, method=None):
        r"""Signals :math:`X = D\Gamma`: codes ``(B, m, *spatial)`` (or one code) to ``(B, m_in, *spatial)``."""
        G, single = self._batch(G, self.code_shape, "G")
        X = self._apply(G, "synthesis", method)
        return X[0] if single else X

    def analysis(self, V, *, method=None):
        r"""Correlations :math:`Z = D^T V`: signals ``(B, m_in, *spatial)`` to ``(B, m, *spatial)``."""
        V, single = self._batch(V, self.signal_shape, "V")
        Z = self._apply(V, "analysis", method)
        return Z[0] if single else Z

    def _apply(self, A, which, method):
        method = self.method if method is None else check_choice(method, "method", {"fft", "direct"})
        dtype = A.dtype
        if method == "fft":
            return self._mix(A, self._frequency_matrix(which, dtype)).astype(dtype, copy=False)
        A = np.ascontiguousarray(A)
        filters = self.filters.astype(dtype, copy=False)
        B = A.shape[0]
        out_channels = self.n_channels if which == "synthesis" else self.n_filters
        out = np.empty((B, out_channels) + self.spatial_shape, dtype=dtype)
        if len(self.spatial_shape) == 1:  # one kernel: a 1-D signal is a 2-D one of height 1
            _kernels.circular_conv(filters[:, :, None], A[:, :, None], out[:, :, None], which == "analysis")
        else:
            _kernels.circular_conv(filters, A, out, which == "analysis")
        return out

    def _matvec(self, x):
        return self.synthesis(np.reshape(x, self.code_shape)).reshape(-1)

    def _rmatvec(self, y):
        return self.analysis(np.reshape(y, self.signal_shape)).reshape(-1)

    def _matmat(self, X):
        G = np.asarray(X).T.reshape((-1,) + self.code_shape)
        return self.synthesis(G).reshape(G.shape[0], -1).T

    def _rmatmat(self, Y):
        V = np.asarray(Y).T.reshape((-1,) + self.signal_shape)
        return self.analysis(V).reshape(V.shape[0], -1).T

    def adjoint(self, y):
        """The analysis ``D^T y`` of one flattened (or shaped) signal, shaped as a code."""
        y = np.asarray(y)
        if y.shape != (self.n_measurements,) and y.shape != self.signal_shape:
            raise ValueError(f"y has shape {y.shape} but the dictionary makes signals of shape "
                             f"{self.signal_shape} ({self.n_measurements} entries)")
        return self.analysis(y.reshape(self.signal_shape))

    def todense(self):
        """The explicit ``(N m_in) x (N m)`` matrix (small sizes only: tests and checks)."""
        n_code = self.shape[1]
        return self._matmat(np.eye(n_code, dtype=self.dtype))

    # -- Gram structure ------------------------------------------------------
    def correlations(self):
        r"""Filter cross-correlations :math:`r_{kl}[\delta] = \langle d_{k,t}, d_{l,t-\delta}\rangle`.

        :math:`r_{kl}[\delta] = \sum_c \sum_j f_k[c, j] f_l[c, j + \delta]`,
        computed by FFT on a circle of length :math:`L = \min(N, 2n - 1)` per
        axis (no Gram matrix).  Every off-diagonal Gram entry of ``D`` is one
        of these values: :math:`\langle d_{k,a}, d_{l,b}\rangle = r_{kl}[a - b]`
        (indices modulo ``L``; for ``N >= 2n - 1`` all other pairs of atoms do
        not overlap).

        Returns
        -------
        r : ndarray, shape (m, m, *L)
            ``r[k, l, delta]`` with lag ``delta`` stored modulo ``L``.
        """
        L = tuple(min(N, 2 * n - 1) for N, n in zip(self.spatial_shape, self.filter_shape))
        f = self.filters.astype(np.float64)
        Fh = scipy.fft.rfftn(f, s=L, axes=self._axes)             # (m, C, *freq)
        G = np.einsum("kc...,lc...->kl...", Fh.conj(), Fh)        # conj(F_k) F_l summed over channels
        return scipy.fft.irfftn(G, s=L, axes=self._axes)

    def __repr__(self):
        return (f"<ConvDictionary: {self.n_filters} filters of {self.filter_shape} over "
                f"{self.n_channels} channels, signal {self.spatial_shape}, method={self.method!r}, "
                f"dtype={self.dtype}>")


def conv_dictionary(filters, signal_shape, *, method="auto", normalize=True, dtype=None):
    """A :class:`ConvDictionary` (the factory beside those of :mod:`cs.operators`)."""
    return ConvDictionary(filters, signal_shape, method=method, normalize=normalize, dtype=dtype)
