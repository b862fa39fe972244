"""What the RIC estimators share: the result, the operator check, seeds, extreme eigenpairs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg

from .._validation import as_rng
from ..operators import as_operator


@dataclass
class RICResult:
    """Certified estimates of the restricted isometry constants over a set.

    Attributes
    ----------
    lower : float
        :math:`1 - \\|A x_{\\min}\\|^2` for the unit-norm ``x_min``: a lower
        bound on the lower RIC ``L``.
    upper : float
        :math:`\\|A x_{\\max}\\|^2 - 1` for the unit-norm ``x_max``: a lower
        bound on the upper RIC ``U``.
    x_min, x_max : ndarray
        Unit-norm elements of the set (shaped as the operator's
        ``input_shape``) attaining ``lower`` and ``upper``.
    structure : str
        ``"sparse"``, ``"low_rank"`` or ``"low_rank+sparse"``.
    params : dict
        The set (``k`` / ``rank`` / ``sparsity``), ``input_shape`` and ``p``.
    n_evaluations : int
        Rayleigh quotients evaluated (eigen-decompositions of Gram matrices
        for the sparse set, applications of the operator otherwise).
    counts : dict
        The evaluations split by kind (samples, swaps, eigh, forward, ...).
    components : dict
        For ``low_rank+sparse``: ``L_min``, ``S_min``, ``L_max``, ``S_max``,
        the parts of ``x_min`` and ``x_max``.
    """

    lower: float
    upper: float
    x_min: np.ndarray
    x_max: np.ndarray
    structure: str
    params: dict = field(default_factory=dict)
    n_evaluations: int = 0
    counts: dict = field(default_factory=dict)
    components: dict = field(default_factory=dict)

    @property
    def delta(self):
        """The symmetric constant :math:`\\max(L, U)` (a lower bound on it)."""
        return max(self.lower, self.upper)

    def __repr__(self):
        return (f"RICResult(structure={self.structure!r}, lower={self.lower:.6g}, "
                f"upper={self.upper:.6g}, delta={self.delta:.6g}, params={self.params}, "
                f"n_evaluations={self.n_evaluations})")


def _rayleigh(A, X):
    """||A(X)||^2 / ||X||^2 computed with the operator itself (float64 sums)."""
    AX = np.asarray(A.forward(X), dtype=np.float64)
    return float(AX @ AX) / float(np.vdot(X, X).real)


def _real_operator(A, input_shape):
    """``A`` as an operator on ``input_shape`` (:meth:`~cs.operators.MeasurementOperator.reshape`), real."""
    A = as_operator(A, input_shape)
    if np.dtype(A.dtype).kind == "c":
        raise TypeError(f"A must be a real operator, got dtype {A.dtype}")
    return A


def _progress(total, desc, enabled):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, leave=False, dynamic_ncols=True)


def _entropy_of(rng):
    """One integer drawn from ``rng``: the root of every per-start generator."""
    return int(as_rng(rng).integers(2**63))


def _child(entropy, *key):
    """The generator of one task (sampling, start i, ...): it depends only on
    the root and its key, so adding starts never changes the earlier ones."""
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=key))


def _extreme_pair(G, sign):
    """The largest (sign=+1) or smallest (sign=-1) eigenpair of a symmetric matrix.

    LAPACK's ``syevr`` restricted to one eigenpair: about four times cheaper
    than the full decomposition at k = 50.
    """
    i = G.shape[0] - 1 if sign > 0 else 0
    w, V = scipy.linalg.eigh(G, subset_by_index=[i, i], check_finite=False)
    return float(w[0]), V[:, 0]


def _extreme_value(G, sign):
    i = G.shape[0] - 1 if sign > 0 else 0
    return float(scipy.linalg.eigh(G, eigvals_only=True, subset_by_index=[i, i],
                                   check_finite=False)[0])
