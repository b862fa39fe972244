"""Seeded generators of the problems compressed sensing studies.

Every generator takes a keyword-only ``rng`` (an int seed, a
``numpy.random.SeedSequence`` or a ``Generator``) and no global state.

References
----------
J. Tanner and S. Vary, "Compressed sensing of low-rank plus sparse matrices",
Appl. Comput. Harmon. Anal. 64, 2023 (arXiv:2007.09457), Section 5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np

from .. import operators as ops
from .._validation import as_rng, check_choice, check_dtype, check_int, check_memory, check_real, check_shape

__all__ = [
    "sparse_vector", "low_rank", "sparse_matrix", "LSMatrix", "ls_matrix",
    "Problem", "sparse_problem", "low_rank_problem", "ls_problem",
    "rank_from_rho", "OPERATORS",
]

#: Operator factories by name: each takes ``(p, input_shape, rng=, dtype=)``.
OPERATORS: dict[str, Callable] = {
    "gaussian": ops.gaussian,
    "rademacher": ops.rademacher,
    "fjlt": ops.fjlt,
    "fjlt2d": ops.fjlt2d,
    "dct": ops.subsampled_dct,
    "entries": ops.entry_sampling,
    "expander": ops.sparse_expander,
}


def _check_shape2(shape, dtype=np.float64):
    """A matrix shape of positive ints whose matrix fits in memory."""
    m, n = check_shape(shape, "shape", ndim=2)
    check_memory(m * n, dtype, f"a {m} x {n} matrix")
    return m, n


def sparse_vector(n, k, *, values="gaussian", rng=None, dtype=np.float64):
    """A ``k``-sparse vector of length ``n`` on a uniformly random support.

    ``values``: ``"gaussian"`` (N(0, 1)) or ``"sign"`` (±1, the hardest case
    for l1 and the one of the Donoho-Tanner phase transition).
    """
    n = check_int(n, "n", low=1)
    k = check_int(k, "k", low=0, high=n, high_what="n")
    values = check_choice(values, "values", {"gaussian", "sign"})
    dtype = check_dtype(dtype)
    check_memory(n, dtype, f"a vector of {n} entries")
    rng = as_rng(rng)
    x = np.zeros(n, dtype=dtype)
    where = rng.choice(n, size=k, replace=False)
    x[where] = rng.standard_normal(k) if values == "gaussian" else rng.choice([-1.0, 1.0], size=k)
    return x


def low_rank(shape, r, *, rng=None, dtype=np.float64):
    """A rank-``r`` matrix ``P @ Q.T`` with i.i.d. N(0, 1) factors."""
    m, n = _check_shape2(shape)
    r = check_int(r, "r", low=0, high=min(m, n), high_what="min(m, n)")
    dtype = check_dtype(dtype)
    rng = as_rng(rng)
    P = rng.standard_normal((m, r))
    Q = rng.standard_normal((n, r))
    return (P @ Q.T).astype(dtype)


def sparse_matrix(shape, s, *, scale=1.0, rng=None, dtype=np.float64):
    """An ``s``-sparse matrix, nonzeros uniform in ``[-scale, scale]``, random positions."""
    m, n = _check_shape2(shape)
    s = check_int(s, "s", low=0, high=m * n, high_what="m * n")
    scale = check_real(scale, "scale", low=0.0)
    dtype = check_dtype(dtype)
    rng = as_rng(rng)
    S = np.zeros(m * n, dtype=dtype)
    S[rng.choice(m * n, size=s, replace=False)] = rng.uniform(-scale, scale, size=s)
    return S.reshape(m, n)


class LSMatrix(NamedTuple):
    """A low-rank plus sparse matrix ``X = L + S``."""

    X: np.ndarray
    L: np.ndarray
    S: np.ndarray


def ls_matrix(shape, r, s, *, c=1.0, rng=None, dtype=np.float64):
    r"""A rank-``r`` plus ``s``-sparse matrix as in Tanner & Vary (2023).

    :math:`L = PQ^T` with Gaussian factors; :math:`S` has ``s`` nonzeros at
    uniformly random positions, uniform in
    :math:`[-c\,\mathrm{mean}|L|,\ c\,\mathrm{mean}|L|]`, so ``c`` sets the
    sparse component's magnitude relative to the low-rank one.
    """
    c = check_real(c, "c", low=0.0)
    rng = as_rng(rng)
    L = low_rank(shape, r, rng=rng, dtype=dtype)
    scale = c * float(np.mean(np.abs(L))) if r > 0 else c
    S = sparse_matrix(shape, s, scale=scale, rng=rng, dtype=dtype)
    return LSMatrix(L + S, L, S)


def rank_from_rho(rho_r, p, shape):
    r"""The rank ``r`` with :math:`r(m + n - r) \approx \rho_r\, p` (nearest integer).

    :math:`r(m+n-r)` is the dimension of the rank-r matrices, so
    :math:`\rho_r = r(m+n-r)/p` is their oversampling ratio.

    >>> rank_from_rho(0.1, 5000, (100, 100))
    3
    """
    m, n = check_shape(shape, "shape", ndim=2)
    rho_r = check_real(rho_r, "rho_r", low=0.0)
    p = check_int(p, "p", low=1)
    target = rho_r * p
    disc = (m + n) ** 2 - 4.0 * target
    r = ((m + n) - math.sqrt(disc)) / 2 if disc >= 0 else min(m, n)
    return int(min(max(round(r), 0), min(m, n)))


def _operator(operator, p, input_shape, rng, dtype):
    if callable(operator):
        return ops.as_operator(operator(p, input_shape, rng=rng, dtype=dtype), input_shape)
    factory = OPERATORS.get(operator)
    if factory is None:
        raise ValueError(f"operator must be one of {sorted(OPERATORS)} or a callable "
                         f"(p, input_shape, rng=, dtype=) -> operator; got {operator!r}")
    return factory(p, input_shape, rng=rng, dtype=dtype)


@dataclass
class Problem:
    """A recovery problem: the operator, its measurements and the truth.

    ``x`` is the unknown (a vector or a matrix); for L+S problems ``L`` and
    ``S`` are its components.  ``rank`` and ``sparsity`` are the parameters a
    solver is told; ``params`` records how the problem was drawn.
    """

    A: ops.MeasurementOperator
    b: np.ndarray
    x: np.ndarray
    L: np.ndarray | None = None
    S: np.ndarray | None = None
    rank: int | None = None
    sparsity: int | None = None
    params: dict = field(default_factory=dict)

    @property
    def X(self):
        return self.x


def _check_delta(delta):
    return check_real(delta, "delta", low=0.0, high=1.0, low_open=True)


def _check_rho(rho, name):
    return check_real(rho, name, low=0.0)


def sparse_problem(n, delta, rho, *, operator="gaussian", values="gaussian", rng=None,
                   dtype=np.float64):
    """A k-sparse vector measured by p = round(delta n) measurements, k = round(rho p)."""
    n = check_int(n, "n", low=1)
    delta = _check_delta(delta)
    rho = _check_rho(rho, "rho")
    p = max(1, round(delta * n))
    k = min(round(rho * p), n)
    rng = as_rng(rng)
    x = sparse_vector(n, k, values=values, rng=rng, dtype=dtype)
    A = _operator(operator, p, (n,), rng, dtype)
    return Problem(A, A.forward(x), x, sparsity=k,
                   params=dict(n=n, delta=delta, rho=rho, p=p, k=k, operator=str(operator)))


def low_rank_problem(shape, delta, rho_r, *, operator="gaussian", rng=None, dtype=np.float64):
    """A rank-r matrix measured by p = round(delta m n), r from ``rank_from_rho``."""
    m, n = _check_shape2(shape)
    delta = _check_delta(delta)
    rho_r = _check_rho(rho_r, "rho_r")
    p = max(1, round(delta * m * n))
    r = rank_from_rho(rho_r, p, (m, n))
    rng = as_rng(rng)
    X = low_rank((m, n), r, rng=rng, dtype=dtype)
    A = _operator(operator, p, (m, n), rng, dtype)
    return Problem(A, A.forward(X), X, L=X, rank=r,
                   params=dict(shape=(m, n), delta=delta, rho_r=rho_r, p=p, r=r, operator=str(operator)))


def ls_problem(shape, delta, rho_r, rho_s, *, operator="fjlt", c=1.0, rng=None, dtype=np.float64):
    r"""A low-rank plus sparse recovery problem from the phase-transition parameters.

    :math:`\delta = p/(mn)`, :math:`\rho_r = r(m+n-r)/p` and
    :math:`\rho_s = s/p` give ``p = round(delta m n)``, ``r`` (nearest
    integer, :func:`rank_from_rho`) and ``s = round(rho_s p)``; ``X = L + S``
    is drawn by :func:`ls_matrix` and measured by ``operator``.

    Parameters
    ----------
    shape : (m, n)
    delta, rho_r, rho_s : float
    operator : str or callable
        A name from :data:`OPERATORS` or ``f(p, input_shape, rng=, dtype=)``.
    c : float
        Relative magnitude of the sparse entries (see :func:`ls_matrix`).
    rng : seed or Generator

    Returns
    -------
    Problem
        With ``A``, ``b = A(X)``, ``x`` (= ``X``), ``L``, ``S``, ``rank``,
        ``sparsity`` and ``params``.

    Examples
    --------
    >>> prob = ls_problem((100, 100), 0.5, 0.1, 0.1, rng=0)
    >>> prob.A.n_measurements, prob.rank, prob.sparsity
    (5000, 3, 500)
    """
    m, n = _check_shape2(shape)
    delta = _check_delta(delta)
    rho_r = _check_rho(rho_r, "rho_r")
    rho_s = _check_rho(rho_s, "rho_s")
    p = max(1, round(delta * m * n))
    r = rank_from_rho(rho_r, p, (m, n))
    s = min(round(rho_s * p), m * n)
    rng = as_rng(rng)
    X, L, S = ls_matrix((m, n), r, s, c=c, rng=rng, dtype=dtype)
    A = _operator(operator, p, (m, n), rng, dtype)
    return Problem(A, A.forward(X), X, L=L, S=S, rank=r, sparsity=s,
                   params=dict(shape=(m, n), delta=delta, rho_r=rho_r, rho_s=rho_s, p=p, r=r, s=s,
                               c=c, operator=str(operator)))
