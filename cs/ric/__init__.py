r"""Restricted isometry constants: certified numerical estimates and Gaussian bounds.

For a linear map :math:`\mathcal{A}` and a set :math:`\Sigma` that is a cone
(k-sparse vectors, rank-r matrices, rank-r plus s-sparse matrices) the
asymmetric restricted isometry constants are

.. math::

    L = 1 - \min_{x \in \Sigma} \frac{\|\mathcal{A}x\|^2}{\|x\|^2}, \qquad
    U = \max_{x \in \Sigma} \frac{\|\mathcal{A}x\|^2}{\|x\|^2} - 1, \qquad
    \delta = \max(L, U).

Computing them is combinatorial (NP-hard for the sparse set), so the
estimators here search the set and report the most extreme Rayleigh quotients
they meet.  Every reported value is the Rayleigh quotient of an explicit
element of the set, returned with it (``x_min``, ``x_max``): the estimates are
therefore certified *lower bounds* on the true constants, never more.  For
Gaussian matrices the asymptotic *upper* bounds of Blanchard, Cartis & Tanner
(:func:`bct_bounds`) close the sandwich from above.

Functions (modules: ``sparse``, ``matrix``, ``bounds``)
---------------------------------------------------
sparse_ric          k-sparse vectors: sampled supports, then swap local search
exact_sparse_ric    every support (tiny problems; the reference the tests use)
low_rank_ric        rank-r matrices: projected Rayleigh-quotient ascent/descent
ls_ric              rank-r plus s-sparse matrices, the same search
ric                 one entry point choosing among the three by its arguments
bct_bounds          Blanchard-Cartis-Tanner upper bounds L(delta, rho), U(delta, rho)

References
----------
J. D. Blanchard, C. Cartis and J. Tanner, "Compressed sensing: how sharp is the
restricted isometry property?", SIAM Review 53(1), 105-125, 2011.
C. Dossal, G. Peyré and J. Fadili, "A numerical exploration of compressed
sampling recovery", Linear Algebra Appl. 432(7), 2010.
J. Tanner and S. Vary, "Compressed sensing of low-rank plus sparse matrices",
Appl. Comput. Harmon. Anal. 64, 2023 (arXiv:2007.09457).
"""

from __future__ import annotations

from .._validation import check_sparsity
from ._common import RICResult, _real_operator
from .bounds import BCTBounds, bct_bounds
from .matrix import low_rank_ric, ls_ric
from .sparse import exact_sparse_ric, sparse_ric

__all__ = ["RICResult", "BCTBounds", "sparse_ric", "exact_sparse_ric", "low_rank_ric", "ls_ric",
           "ric", "bct_bounds"]


def ric(A, *, sparsity=None, rank=None, input_shape=None, rng=None, progress=False, **options):
    """Estimate restricted isometry constants over the set the arguments name.

    ``sparsity`` alone: k-sparse vectors (:func:`sparse_ric`, on the
    flattened unknown); ``rank`` alone: rank-r matrices
    (:func:`low_rank_ric`); both: rank-r plus s-sparse matrices
    (:func:`ls_ric`).  ``options`` go to that function.
    """
    if sparsity is None and rank is None:
        raise ValueError("sparsity=None and rank=None: give sparsity, rank or both to choose the set")
    if rank is None:
        A = _real_operator(A, input_shape)
        sparsity = check_sparsity(sparsity, A.input_size, "sparsity")
        if sparsity < 1:
            raise ValueError(f"sparsity={sparsity} must be >= 1")
        return sparse_ric(A, sparsity, rng=rng, progress=progress, **options)
    if sparsity is None:
        return low_rank_ric(A, rank, input_shape=input_shape, rng=rng, progress=progress, **options)
    return ls_ric(A, rank, sparsity, input_shape=input_shape, rng=rng, progress=progress, **options)
