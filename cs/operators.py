r"""Measurement operators :math:`\mathcal{A}: \mathbb{R}^{\text{input\_shape}} \to \mathbb{R}^p`.

Every operator is a :class:`scipy.sparse.linalg.LinearOperator` of shape
``(p, N)`` on flattened (C order) unknowns, so it composes with SciPy's
solvers, and also offers the shaped maps ``forward(X)`` (``input_shape`` to
``(p,)``) and ``adjoint(y)`` (``(p,)`` to ``input_shape``).  Operators whose
rows are orthonormal (:math:`\mathcal{A}\mathcal{A}^* = I`) say so with
``orthonormal_rows = True``; solvers use it (e.g. the exact projection onto
``{X : A(X) = b}``).

Factories
---------
gaussian, rademacher     dense i.i.d. matrices, entries of variance 1/p
fjlt                     random signs, orthonormal DCT, p random rows (Tanner & Vary 2023)
fjlt2d                   the same with the separable 2-D DCT (matrices; all cores)
subsampled_dct           the same without the signs
entry_sampling           p observed entries (matrix completion)
sparse_expander          d nonzeros of 1/sqrt(d) per column (Berinde et al. 2008)
identity                 p = N, every entry observed
as_operator              an explicit matrix, or anything with matvec/rmatvec/shape
conv_dictionary          multi-channel convolutional dictionaries, 1-D and 2-D (:mod:`cs.convolution`)

References
----------
J. Tanner and S. Vary, "Compressed sensing of low-rank plus sparse matrices",
Appl. Comput. Harmon. Anal. 64, 2023 (arXiv:2007.09457).
N. Ailon and B. Chazelle, "The fast Johnson-Lindenstrauss transform and
approximate nearest neighbors", SIAM J. Comput. 39(1), 2009.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import scipy.fft
import scipy.sparse
from scipy.sparse.linalg import LinearOperator

from . import _kernels, _parallel
from ._validation import (as_rng, check_array, check_dtype, check_int, check_memory, check_real,
                          check_shape, is_all_finite)

try:
    # The same pocketfft transforms without scipy.fft's backend dispatch, which
    # doubled the cost of a length-4096 DCT (62 against 122 us per call, equal
    # output bit for bit, float32 kept): for 1-D products of small operators.
    from scipy.fftpack import dct as _dct1d, idct as _idct1d
except ImportError:  # pragma: no cover - a SciPy without the legacy module
    _dct1d, _idct1d = scipy.fft.dct, scipy.fft.idct


def _pocketfft_entry():
    """pocketfft's own entry point, under both of those: the orthonormal DCT-II/III of a
    real float32/float64 vector in place, without their argument handling (21 against
    25 us a call at N = 4096).  It is private to SciPy, so it is used only if it imports
    and gives the public function's numbers on a probe; otherwise (and for any other
    input) the public functions above.  The tests compare the two bit for bit."""
    try:
        from scipy.fft._pocketfft.pypocketfft import dct

        probe = np.arange(1.0, 6.0)
        if np.array_equal(dct(probe.copy(), 2, (0,), 1, None, 1, None), _dct1d(probe, type=2, norm="ortho")):
            return dct
    except Exception:  # pragma: no cover - a SciPy that moved or changed it
        pass
    return None  # pragma: no cover


_pocketfft_dct = _pocketfft_entry()
_REAL_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _dct_inplace(z, inverse):
    """Orthonormal DCT-II (or its inverse, the DCT-III) of the 1-D ``z``, in place when it can."""
    if _pocketfft_dct is not None and z.dtype in _REAL_FLOATS and z.flags.c_contiguous:
        # (array, type, axes, 1 = the 1/sqrt(N) scaling of norm="ortho", out, threads, orthogonalize
        # as norm="ortho" implies)
        return _pocketfft_dct(z, 3 if inverse else 2, (0,), 1, z, 1, None)
    return (_idct1d if inverse else _dct1d)(z, type=2, norm="ortho", overwrite_x=True)

__all__ = [
    "MeasurementOperator", "DenseOperator", "DCTOperator", "EntrySampling",
    "SparseMatrixOperator", "IdentityOperator", "WrappedOperator",
    "gaussian", "rademacher", "fjlt", "fjlt2d", "subsampled_dct", "entry_sampling",
    "sparse_expander", "identity", "as_operator", "check_problem", "dot_test", "norm_squared",
    "ConvDictionary", "conv_dictionary", "random_filters",
]

_CONVOLUTION = ("ConvDictionary", "conv_dictionary", "random_filters")


def __getattr__(name):
    # cs.convolution subclasses MeasurementOperator, so it is loaded on first use
    if name in _CONVOLUTION:
        from . import convolution

        return getattr(convolution, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _check_shape(input_shape):
    return check_shape(input_shape, "input_shape")


def _check_p(p, size):
    return check_int(p, "p", low=1, high=size, high_what="the size of the unknown")


class MeasurementOperator(LinearOperator):
    """Base class: a linear map from ``input_shape`` to ``p`` measurements.

    Subclasses implement ``_matvec`` and ``_rmatvec`` on flat vectors; the
    shaped maps, the checks and the sparse-support shortcuts are here.

    Attributes
    ----------
    input_shape : tuple
        ``(n,)`` for vectors or ``(m, n)`` for matrices.
    n_measurements : int
        ``p``, the number of measurements.
    orthonormal_rows : bool
        True when :math:`\\mathcal{A}\\mathcal{A}^* = I`.
    """

    orthonormal_rows = False

    def __init__(self, input_shape, n_measurements, dtype):
        self.input_shape = _check_shape(input_shape)
        self.n_measurements = int(n_measurements)
        super().__init__(dtype=np.dtype(dtype), shape=(self.n_measurements, math.prod(self.input_shape)))

    @property
    def input_size(self):
        return self.shape[1]

    def reshape(self, input_shape):
        """The same operator acting on unknowns of ``input_shape`` (same number of entries).

        Keeps everything else (``orthonormal_rows``, the restricted products);
        returns ``self`` when the shape does not change.
        """
        shape = _check_shape(input_shape)
        if shape == self.input_shape:
            return self
        if math.prod(shape) != self.input_size:
            raise ValueError(f"input_shape={shape} has {math.prod(shape)} entries but the operator acts "
                             f"on {self.input_size}")
        reshaped = copy.copy(self)
        reshaped.input_shape = shape
        return reshaped

    def todense(self):
        """The ``p x N`` matrix of the operator (on flattened unknowns).

        Explicit matrices are returned as they are stored (no copy); any
        other operator is materialised from ``p`` adjoints, after checking
        that the matrix fits in memory (MemoryError naming its size).
        """
        check_memory(self.n_measurements * self.input_size, self.dtype,
                     f"the dense {self.n_measurements} x {self.input_size} matrix of {type(self).__name__}")
        return self._todense()

    def _todense(self):
        p, size = self.shape
        dense = np.empty((p, size), dtype=self.dtype)
        step = max(1, (1 << 22) // max(size, 1))  # about 32 MiB of adjoints at a time
        for start in range(0, p, step):
            stop = min(p, start + step)
            block = np.zeros((p, stop - start), dtype=self.dtype)
            block[np.arange(start, stop), np.arange(stop - start)] = 1
            dense[start:stop] = np.asarray(self.rmatmat(block)).conj().T
        return dense

    def _support(self, support, values=None, values_name="values"):
        """``support`` as int64 flat indices inside the unknown, matching ``values`` in length.

        Checked here, before any restricted kernel reads memory by these indices.
        """
        support = np.asarray(support)
        if support.size == 0:
            support = support.astype(np.int64)
        if support.ndim != 1 or support.dtype.kind not in "iu":
            raise TypeError(f"support must be a 1-D array of integer indices, got dtype {support.dtype} "
                            f"and shape {support.shape}")
        support = support.astype(np.int64, copy=False)
        if support.size and (support.min() < 0 or support.max() >= self.input_size):
            raise ValueError(f"support holds indices outside [0, {self.input_size}) "
                             f"(min {support.min()}, max {support.max()})")
        if values is not None and np.shape(values) != (support.size,):
            raise ValueError(f"{values_name} has shape {np.shape(values)} but support has "
                             f"{support.size} entries")
        return support

    def forward(self, X):
        """Measurements ``A(X)``, shape ``(p,)``; ``X`` of ``input_shape`` (or flat)."""
        X = np.asarray(X)
        if X.shape != self.input_shape and X.shape != (self.input_size,):
            raise ValueError(f"X has shape {X.shape} but the operator expects input_shape "
                             f"{self.input_shape}")
        return self._matvec(X.reshape(-1))

    def adjoint(self, y):
        """The adjoint ``A*(y)``, shaped as ``input_shape``."""
        y = np.asarray(y)
        if y.shape != (self.n_measurements,):
            raise ValueError(f"y has shape {y.shape} but the operator makes "
                             f"{self.n_measurements} measurements")
        return self._rmatvec(y).reshape(self.input_shape)

    def forward_sparse(self, values, support):
        """``A(x)`` for ``x`` zero off the flat indices ``support`` (``values`` on them).

        Subclasses with a cheaper restricted product (an explicit matrix
        costs ``p * len(support)``, not ``p * N``) override ``_forward_sparse``.
        """
        values = np.asarray(values)
        return self._forward_sparse(values, self._support(support, values))

    def adjoint_at(self, y, support):
        """The entries ``support`` (flat indices) of ``A*(y)``."""
        y = np.asarray(y)
        if y.shape != (self.n_measurements,):
            raise ValueError(f"y has shape {y.shape} but the operator makes {self.n_measurements} "
                             "measurements")
        return self._adjoint_at(y, self._support(support))

    def restricted(self, support):
        """The columns ``support`` (flat indices) of the operator, as a ``p x len(support)``
        :class:`~scipy.sparse.linalg.LinearOperator` for iterative least squares (LSQR) on a
        support; the support is checked once here, not on every product."""
        support = self._support(support)
        return LinearOperator((self.n_measurements, support.size), dtype=self.dtype,
                              matvec=lambda v: self._forward_sparse(np.ravel(v), support),
                              rmatvec=lambda y: self._adjoint_at(np.ravel(y), support))

    def _forward_sparse(self, values, support):
        x = np.zeros(self.input_size, dtype=np.result_type(self.dtype, values))
        x[support] = values
        return self._matvec(x)

    def _adjoint_at(self, y, support):
        return self._rmatvec(y)[support]

    def __repr__(self):
        return (f"<{type(self).__name__}: input_shape={self.input_shape}, "
                f"p={self.n_measurements}, dtype={self.dtype}>")


#: Tiles of the Fortran-ordered copy (see :func:`_fortran_copy`), and the size from which threads share it.
_TILE = 128
_THREADED_COPY_MIN = 1 << 20


def _fortran_copy(matrix):
    """A Fortran-ordered copy of a 2-D array, made tile by tile, the columns shared among threads.

    ``np.asfortranarray`` on a C-ordered matrix walks one of the two arrays
    with a stride of a whole row: 78 ms for 2048 x 4096 in float64 (13
    forward-adjoint pairs).  Copying 128 x 128 tiles, each read and written
    within the cache, takes 36 ms, and 19 ms in two threads (NumPy's copies
    release the GIL; :mod:`cs._parallel` says how many threads).
    """
    out = np.empty(matrix.shape, matrix.dtype, order="F")
    rows, cols = matrix.shape
    n_tasks = _parallel.threads() if matrix.size >= _THREADED_COPY_MIN else 1
    bounds = [cols * t // n_tasks // _TILE * _TILE for t in range(n_tasks)] + [cols]

    def columns(t):
        for j in range(bounds[t], bounds[t + 1], _TILE):
            stop = min(j + _TILE, bounds[t + 1])
            for i in range(0, rows, _TILE):
                out[i:i + _TILE, j:stop] = matrix[i:i + _TILE, j:stop]

    _parallel.run(columns, n_tasks)
    return out


def _check_dense_fits(p, size, dtype, what):
    check_memory(p * size, dtype, f"a dense {what} operator of {p} x {size}",
                 hint="; use a fast operator (fjlt, subsampled_dct, entry_sampling, sparse_expander)")


class DenseOperator(MeasurementOperator):
    """An explicit ``p x N`` matrix ``M`` acting on the flattened unknown.

    Restricted products (``forward_sparse``, ``adjoint_at``: what NIHT, HTP
    and CoSaMP spend their time in) cost ``p * len(support)`` through numba
    kernels that read the matrix in place: column by column when it is
    Fortran-ordered, row by row (a gather) when it is C-ordered.  With
    ``layout="fortran"`` (the default) a C-ordered matrix is copied once into
    Fortran order, costing one more ``p x N`` array (64 MB for 2048 x 4096 in
    float64) and the time of six forward-adjoint pairs (38 ms there, copied
    tile by tile), and making those products 5-8x cheaper than the row
    gather; ``layout="keep"`` uses the caller's array as it is, with no copy.
    """

    def __init__(self, matrix, input_shape=None, *, layout="fortran", _finite=False):
        matrix = np.asarray(matrix)
        if matrix.ndim != 2:
            raise ValueError(f"A must be a 2-D matrix, got shape {matrix.shape}")
        matrix = check_array(matrix, "A", finite=not _finite)
        if layout not in ("fortran", "keep"):
            raise ValueError(f"layout must be 'fortran' or 'keep', got {layout!r}")
        if layout == "fortran" and not matrix.flags.f_contiguous:
            # one copy of p x N entries buys restricted products that read k columns in place
            check_memory(matrix.size, matrix.dtype, f"a Fortran-ordered copy of the {matrix.shape[0]} x "
                         f"{matrix.shape[1]} matrix A", hint="; pass layout='keep' to use it as it is")
            matrix = _fortran_copy(matrix)
        input_shape = (matrix.shape[1],) if input_shape is None else _check_shape(input_shape)
        if math.prod(input_shape) != matrix.shape[1]:
            raise ValueError(f"input_shape {input_shape} has {math.prod(input_shape)} entries but the "
                             f"matrix has {matrix.shape[1]} columns")
        self.matrix = matrix
        super().__init__(input_shape, matrix.shape[0], matrix.dtype)

    def _matvec(self, x):
        return self.matrix @ np.ravel(x)

    def _rmatvec(self, y):
        return self.matrix.T.conj() @ np.ravel(y)

    def _matmat(self, X):
        return self.matrix @ X

    def _rmatmat(self, Y):
        return self.matrix.T.conj() @ Y

    def _kernel_layout(self, other):
        """'F' or 'C' when a numba kernel reads the real matrix in place, else None."""
        M = self.matrix
        if M.dtype.kind != "f" or np.asarray(other).dtype.kind != "f":
            return None
        return "F" if M.flags.f_contiguous else "C" if M.flags.c_contiguous else None

    def _forward_sparse(self, values, support):
        layout = self._kernel_layout(values)
        if layout is None:
            return self.matrix[:, support] @ values
        dtype = np.result_type(self.dtype, values)
        values = values.astype(dtype, copy=False)
        if layout == "F":
            return _kernels.columns_matvec(self.matrix, support, values,
                                           np.zeros(self.n_measurements, dtype))
        return _kernels.rows_matvec(self.matrix, support, values, np.empty(self.n_measurements, dtype))

    def _adjoint_at(self, y, support):
        layout = self._kernel_layout(y)
        if layout is None:
            return self.matrix[:, support].T.conj() @ y
        dtype = np.result_type(self.dtype, y)
        kernel = _kernels.columns_rmatvec if layout == "F" else _kernels.rows_rmatvec
        return kernel(self.matrix, support, y.astype(dtype, copy=False), np.empty(support.size, dtype))

    def _todense(self):
        return self.matrix


def _dense_random(kind, p, input_shape, rng, dtype):
    input_shape = _check_shape(input_shape)
    size = math.prod(input_shape)
    p = check_int(p, "p", low=1)  # dense operators may also over-determine (p > N)
    dtype = check_dtype(dtype)
    _check_dense_fits(p, size, dtype, kind)
    rng = as_rng(rng)
    scale = dtype.type(1.0 / math.sqrt(p))
    # drawn as (N, p) and transposed: a Fortran-ordered p x N matrix whose
    # columns are contiguous, so products restricted to a support are cheap
    if kind == "gaussian" and dtype == np.float64:
        # scaled as drawn: the same numbers as standard_normal * scale, one pass fewer
        # (a sixth of the draw, which is as long as a small phase-transition trial's solve)
        return DenseOperator(rng.normal(0.0, scale, (size, p)).T, input_shape, _finite=True)
    if kind == "gaussian":
        matrix = rng.standard_normal((size, p), dtype=dtype).T
    else:
        matrix = (2 * rng.integers(0, 2, size=(size, p), dtype=np.int8) - 1).astype(dtype).T
    matrix *= scale
    return DenseOperator(matrix, input_shape, _finite=True)


def gaussian(p, input_shape, *, rng=None, dtype=np.float64):
    """Dense Gaussian operator, i.i.d. entries N(0, 1/p), so E||A x||^2 = ||x||^2."""
    return _dense_random("gaussian", p, input_shape, rng, dtype)


def rademacher(p, input_shape, *, rng=None, dtype=np.float64):
    """Dense Rademacher (Bernoulli ±1) operator scaled by 1/sqrt(p)."""
    return _dense_random("rademacher", p, input_shape, rng, dtype)


class DCTOperator(MeasurementOperator):
    r"""Subsampled orthonormal DCT, optionally after random signs (the FJLT).

    :math:`\mathcal{A}(X) = P_\Omega\, C\, D\, \operatorname{vec}(X)` with
    :math:`D` a diagonal of random signs (or the identity), :math:`C` the
    orthonormal DCT-II of length ``N`` and :math:`P_\Omega` the restriction to
    ``p`` random rows.  Never forms a matrix: ``O(N log N)`` per product.  Its
    rows are orthonormal, :math:`\mathcal{A}\mathcal{A}^* = I`, and
    :math:`E\|\mathcal{A}x\|^2 = (p/N)\|x\|^2`.

    With ``separable=True`` (matrix unknowns) :math:`C` is the orthonormal
    2-D DCT-II :math:`C_m \otimes C_n` instead, computed as batches of short
    transforms on every core (``scipy.fft.dctn``): still orthonormal, and
    with the random signs still a bounded orthonormal system (entries at most
    :math:`2/\sqrt{N}` against :math:`\sqrt{2/N}`), so the same
    restricted-isometry arguments apply (Krahmer & Ward, SIAM J. Math. Anal.
    43(3), 2011).  It is 3-4x faster than one DCT of length N on a 150 x 26600
    video matrix (float32, 2 cores); the default keeps the paper's operator.
    Its structure costs isometry on small sizes: the DCT's mirror symmetry
    pairs columns ``j`` and ``n - 1 - j``, and ``cs ric --operator fjlt2d
    --shape 10 10 --rank 1`` finds a rank-1 matrix on two such columns in its
    null space (lower RIC 1.0, against 0.92 for the FJLT); use it on large
    matrices, where recovery was measured equal (the video tests).
    """

    orthonormal_rows = True

    def __init__(self, p, input_shape, *, signs=True, separable=False, rng=None, dtype=np.float64):
        input_shape = _check_shape(input_shape)
        size = math.prod(input_shape)
        p = _check_p(p, size)
        dtype = check_dtype(dtype)
        check_memory(3 * size, np.float64, f"an FJLT/DCT operator on {size} entries")
        rng = as_rng(rng)
        self.rows = np.sort(rng.choice(size, size=p, replace=False))
        self.signs = (2.0 * rng.integers(0, 2, size=size) - 1).astype(dtype) if signs else None
        if separable and len(input_shape) != 2:
            raise ValueError(f"separable=True needs a matrix input_shape, got {input_shape}")
        self.separable = bool(separable)
        super().__init__(input_shape, p, dtype)

    def _dct(self, z, inverse=False):
        if self.separable:
            transform = scipy.fft.idctn if inverse else scipy.fft.dctn
            return transform(z.reshape(self.input_shape), type=2, norm="ortho", overwrite_x=True,
                             workers=-1).reshape(-1)
        return _dct_inplace(z, inverse)

    def _forward_sparse(self, values, support):
        # the signs applied to the support's values alone, not to a vector of N zeros
        z = np.zeros(self.input_size, dtype=np.result_type(values, self.dtype))
        z[support] = values if self.signs is None else values * self.signs[support]
        return self._dct(z)[self.rows]

    def _matvec(self, x):
        x = np.ravel(x)
        z = x * self.signs if self.signs is not None else np.array(x, dtype=np.result_type(x, self.dtype))
        return self._dct(z)[self.rows]

    def _rmatvec(self, y):
        y = np.ravel(y)
        z = np.zeros(self.input_size, dtype=np.result_type(y, self.dtype))
        z[self.rows] = y
        z = self._dct(z, inverse=True)
        if self.signs is not None:
            z *= self.signs
        return z


def fjlt(p, input_shape, *, separable=False, rng=None, dtype=np.float64):
    """Fast Johnson-Lindenstrauss transform: signs, orthonormal DCT, p random rows.

    The fast operator of Tanner & Vary (2023); see :class:`DCTOperator`.
    ``separable=True`` (matrix unknowns) uses the 2-D DCT, faster on large
    matrices because its short transforms run on every core.
    """
    return DCTOperator(p, input_shape, signs=True, separable=separable, rng=rng, dtype=dtype)


def fjlt2d(p, input_shape, *, rng=None, dtype=np.float64):
    """The separable FJLT, ``fjlt(..., separable=True)``: signs, 2-D DCT, p random rows."""
    return fjlt(p, input_shape, separable=True, rng=rng, dtype=dtype)


def subsampled_dct(p, input_shape, *, rng=None, dtype=np.float64):
    """p random rows of the orthonormal DCT (no random signs)."""
    return DCTOperator(p, input_shape, signs=False, rng=rng, dtype=dtype)


class EntrySampling(MeasurementOperator):
    """Observe ``p`` entries of the unknown chosen uniformly without replacement."""

    orthonormal_rows = True

    def __init__(self, p, input_shape, *, rng=None, dtype=np.float64):
        input_shape = _check_shape(input_shape)
        size = math.prod(input_shape)
        p = _check_p(p, size)
        dtype = check_dtype(dtype)
        check_memory(2 * size, np.float64, f"entry sampling of {size} entries")
        self.rows = np.sort(as_rng(rng).choice(size, size=p, replace=False))
        super().__init__(input_shape, p, dtype)

    def _matvec(self, x):
        return np.ravel(x)[self.rows]

    def _rmatvec(self, y):
        z = np.zeros(self.input_size, dtype=np.result_type(y, self.dtype))
        z[self.rows] = np.ravel(y)
        return z

    def _forward_sparse(self, values, support):
        x = np.zeros(self.input_size, dtype=np.result_type(values, self.dtype))
        x[support] = values
        return x[self.rows]


def entry_sampling(p, input_shape, *, rng=None, dtype=np.float64):
    """Matrix completion: observe p entries chosen uniformly at random."""
    return EntrySampling(p, input_shape, rng=rng, dtype=dtype)


class SparseMatrixOperator(MeasurementOperator):
    """A ``scipy.sparse`` matrix acting on the flattened unknown."""

    def __init__(self, matrix, input_shape=None):
        matrix = scipy.sparse.csr_array(matrix)
        if matrix.ndim != 2 or not is_all_finite(matrix.data):
            raise ValueError("A (a sparse matrix) contains NaN or infinity")
        input_shape = (matrix.shape[1],) if input_shape is None else _check_shape(input_shape)
        if math.prod(input_shape) != matrix.shape[1]:
            raise ValueError(f"input_shape {input_shape} has {math.prod(input_shape)} entries but the "
                             f"matrix has {matrix.shape[1]} columns")
        self.matrix = matrix
        self._matrix_t = matrix.T.tocsr()
        # int64 indices once (the kernels' type), not on every restricted product
        self._csc_index = (self._matrix_t.indices.astype(np.int64, copy=False),
                           self._matrix_t.indptr.astype(np.int64, copy=False))
        super().__init__(input_shape, matrix.shape[0], matrix.dtype)

    def _matvec(self, x):
        return self.matrix @ np.ravel(x)

    def _rmatvec(self, y):
        return self._matrix_t @ np.ravel(y)

    def _csc(self, other):
        # the CSR form of M^T is the CSC form of M: restricted products read only S's columns
        if self.matrix.dtype.kind != "f" or np.asarray(other).dtype.kind != "f":
            return None
        return (self._matrix_t.data, *self._csc_index)

    def _forward_sparse(self, values, support):
        csc = self._csc(values)
        if csc is None:
            return self.matrix[:, support] @ values
        dtype = np.result_type(self.dtype, values)
        return _kernels.csc_matvec(*csc, support, values.astype(dtype, copy=False),
                                   np.empty(self.n_measurements, dtype))

    def _adjoint_at(self, y, support):
        csc = self._csc(y)
        if csc is None:
            return self._rmatvec(y)[support]
        dtype = np.result_type(self.dtype, y)
        return _kernels.csc_rmatvec(*csc, support, y.astype(dtype, copy=False),
                                    np.empty(support.size, dtype))

    def _todense(self):
        return self.matrix.toarray()


#: Rounds of redrawing repeated rows in sparse_expander before Floyd's algorithm.
_EXPANDER_REDRAWS = 8


def sparse_expander(p, input_shape, d=8, *, rng=None, dtype=np.float64):
    """Sparse expander: each column has ``d`` nonzeros equal to 1/sqrt(d).

    The rows of each column are a uniformly random ``d``-subset of the ``p``
    rows: drawn with replacement and redrawn while they repeat, at most 8
    times, then by Floyd's algorithm (``d`` draws, no rejection), so that
    even ``d`` close to ``p`` ends at once; the columns have unit norm.
    (Berinde, Gilbert, Indyk, Karloff & Strauss 2008.)
    """
    input_shape = _check_shape(input_shape)
    size = math.prod(input_shape)
    p = check_int(p, "p", low=1)
    d = check_int(d, "d", low=1, high=p, high_what="p")
    dtype = check_dtype(dtype)
    check_memory(3 * size * d, np.int64, f"a sparse expander with {size} x {d} nonzeros")
    rng = as_rng(rng)
    rows = rng.integers(0, p, size=(size, d))
    # redraw the columns that picked a row twice, a bounded number of times
    # (each round keeps the draw uniform over d-subsets) ...
    bad = np.arange(size)
    for _ in range(_EXPANDER_REDRAWS):
        srt = np.sort(rows[bad], axis=1)
        bad = bad[(srt[:, 1:] == srt[:, :-1]).any(axis=1)]
        if bad.size == 0:
            break
        rows[bad] = rng.integers(0, p, size=(bad.size, d))
    else:
        # ... then Floyd's algorithm, which needs no rejection whatever d / p:
        # for j = p-d..p-1 draw t in [0, j] and take t unless already taken, else j
        for i, j in enumerate(range(p - d, p)):
            t = rng.integers(0, j + 1, size=bad.size)
            taken = (rows[bad, :i] == t[:, None]).any(axis=1)
            rows[bad, i] = np.where(taken, j, t)
    cols = np.repeat(np.arange(size), d)
    vals = np.full(size * d, 1.0 / math.sqrt(d), dtype=dtype)
    matrix = scipy.sparse.csc_array((vals, (rows.ravel(), cols)), shape=(p, size))
    return SparseMatrixOperator(matrix, input_shape)


class IdentityOperator(MeasurementOperator):
    """Every entry observed: p = N, A = I."""

    orthonormal_rows = True

    def __init__(self, input_shape, dtype=np.float64):
        input_shape = _check_shape(input_shape)
        super().__init__(input_shape, math.prod(input_shape), check_dtype(dtype))

    def _matvec(self, x):
        return np.array(np.ravel(x))

    def _rmatvec(self, y):
        return np.array(np.ravel(y))

    def _forward_sparse(self, values, support):
        x = np.zeros(self.input_size, dtype=np.result_type(values, self.dtype))
        x[support] = values
        return x


def identity(input_shape, *, dtype=np.float64):
    """The identity: full observation (robust PCA as a measurement problem)."""
    return IdentityOperator(input_shape, dtype=dtype)


class WrappedOperator(MeasurementOperator):
    """Any object with ``matvec``, ``rmatvec`` and ``shape`` (SciPy, PyLops)."""

    def __init__(self, op, input_shape=None):
        self.op = op
        n = int(op.shape[1])
        input_shape = (n,) if input_shape is None else _check_shape(input_shape)
        if math.prod(input_shape) != n:
            raise ValueError(f"input_shape {input_shape} has {math.prod(input_shape)} entries but the "
                             f"operator acts on {n}")
        super().__init__(input_shape, int(op.shape[0]), getattr(op, "dtype", np.float64))

    def _matvec(self, x):
        return np.ravel(self.op.matvec(np.ravel(x)))

    def _rmatvec(self, y):
        return np.ravel(self.op.rmatvec(np.ravel(y)))


def as_operator(A, input_shape=None, *, layout="fortran"):
    """Return ``A`` as a :class:`MeasurementOperator`.

    Accepts an operator of this module (returned as is, or checked against
    ``input_shape``), a dense or ``scipy.sparse`` matrix, or any object with
    ``matvec``, ``rmatvec`` and ``shape``.  ``input_shape`` defaults to the
    flat vector ``(N,)``.  ``layout`` is passed to :class:`DenseOperator`: a
    C-ordered NumPy matrix is copied once into Fortran order unless
    ``layout="keep"``.
    """
    if isinstance(A, MeasurementOperator):
        return A if input_shape is None else A.reshape(input_shape)
    if scipy.sparse.issparse(A):
        return SparseMatrixOperator(A, input_shape)
    if isinstance(A, np.ndarray):
        return DenseOperator(A, input_shape, layout=layout)
    if all(hasattr(A, attr) for attr in ("matvec", "rmatvec", "shape")):
        return WrappedOperator(A, input_shape)
    if isinstance(A, (list, tuple)):
        return DenseOperator(np.asarray(A), input_shape)
    raise TypeError("A must be a MeasurementOperator, a matrix, or an object with matvec, rmatvec "
                    f"and shape; got {type(A).__name__}")


def check_problem(A, b, *, input_shape=None, b_name="b"):
    """Return ``(operator, b)`` after checking that they fit together.

    ``A`` is anything :func:`as_operator` accepts (reshaped to
    ``input_shape`` when given); ``b`` must be a finite real or complex
    vector with one entry per measurement.

    >>> A, b = check_problem(np.eye(3), [1, 2, 3])
    >>> A.input_shape, b.dtype
    ((3,), dtype('float64'))
    """
    A = as_operator(A, input_shape)
    b = check_array(b, b_name, ndim=1)
    if b.size != A.n_measurements:
        raise ValueError(f"{b_name} has {b.size} entries but the operator makes "
                         f"{A.n_measurements} measurements")
    return A, b


def norm_squared(A, *, rng=None, max_iter=20, rtol=0.0):
    r"""A power-iteration estimate of :math:`\|\mathcal{A}\|_2^2 = \lambda_{\max}(\mathcal{A}^*\mathcal{A})`.

    The Rayleigh quotient of :math:`\mathcal{A}^*\mathcal{A}` at the
    normalised iterate, from a Gaussian start drawn from ``rng``: a lower
    bound that rises to the top eigenvalue.  Stops after ``max_iter``
    products or when two estimates agree to ``rtol``.  IHT's safe step and
    the linearised ADMM's step both come from it.

    Examples
    --------
    >>> import numpy as np
    >>> M = np.diag([3.0, 1.0, 0.5])
    >>> round(norm_squared(M, rng=0, max_iter=100), 6)
    9.0
    """
    A = as_operator(A)
    max_iter = check_int(max_iter, "max_iter", low=1)
    rtol = check_real(rtol, "rtol", low=0.0)
    v = as_rng(rng).standard_normal(A.input_size).astype(A.dtype, copy=False)
    estimate = 0.0
    for _ in range(max_iter):
        norm = float(np.linalg.norm(v))
        if not norm > 0:
            return estimate
        v = v / norm
        w = A.rmatvec(A.matvec(v))
        new = float(np.vdot(v, w).real)
        if abs(new - estimate) <= rtol * abs(new):
            return new
        estimate, v = new, w
    return estimate


def dot_test(A, *, rng=None, rtol=None, return_values=False):
    r"""Check the adjoint: :math:`\langle A x, y\rangle = \langle x, A^* y\rangle`.

    Draws Gaussian ``x`` and ``y`` from ``rng`` and compares the two inner
    products with a tolerance relative to the larger of their magnitudes.

    Parameters
    ----------
    A : operator (anything :func:`as_operator` accepts)
    rtol : float, optional
        Default 1e-4 for float32 operators and 1e-10 for float64.
    return_values : bool
        Also return the two inner products.

    Returns
    -------
    passed : bool  (and ``(lhs, rhs)`` if ``return_values``)
    """
    A = as_operator(A)
    rng = as_rng(rng)
    if rtol is None:
        rtol = 1e-4 if A.dtype == np.float32 else 1e-10
    rtol = check_real(rtol, "rtol", low=0.0)
    x = rng.standard_normal(A.input_size).astype(A.dtype)
    y = rng.standard_normal(A.n_measurements).astype(A.dtype)
    lhs = float(np.vdot(A.matvec(x), y).real)
    rhs = float(np.vdot(x, A.rmatvec(y)).real)
    passed = abs(lhs - rhs) <= rtol * max(abs(lhs), abs(rhs))
    return (passed, (lhs, rhs)) if return_values else passed
