r"""Normalised Iterative Hard Thresholding for sparse, low-rank and L+S unknowns.

One loop serves the three problems; what differs is the *model*: the
projection onto the set (hard thresholding, rank-r truncation, robust PCA),
the subspace the step size is computed on (the support, the column space,
both), and the cheapest way to measure an element of the set.

References
----------
T. Blumensath and M. E. Davies, "Normalized iterative hard thresholding:
guaranteed stability and performance", IEEE J. Sel. Topics Signal Process.
4(2):298-309, 2010.
J. Tanner and K. Wei, "Normalized iterative hard thresholding for matrix
completion", SIAM J. Sci. Comput. 35(5):S104-S125, 2013.
J. Tanner and S. Vary, "Compressed sensing of low-rank plus sparse matrices",
Appl. Comput. Harmon. Anal. 64:254-293, 2023 (arXiv:2007.09457), Algorithm 1.
"""

from __future__ import annotations

import time

import numpy as np

from .. import threshold
from .._validation import (check_choice, check_int, check_like, check_rank, check_real, check_safeguard,
                           check_sparsity)
from .result import Step, default_tol, drive, prepare

__all__ = ["niht"]

#: Most step shrinks of the sparse safeguard per iteration (each divides by kappa (1 - c) > 1).
_MAX_BACKTRACK = 100


class _Timer:
    """Accumulates the seconds spent in each named part: ``with timer("operator"): ...``.

    A plain context manager (not ``contextlib``'s generator, 4x its cost):
    a sparse NIHT iteration on n = 4096 enters it four times.
    """

    def __init__(self):
        self.seconds = {}
        self._part = self._start = None

    def __call__(self, part):
        self._part = part
        return self

    def __enter__(self):
        self._start = time.perf_counter()

    def __exit__(self, *exc):
        self.seconds[self._part] = self.seconds.get(self._part, 0.0) + time.perf_counter() - self._start

    def split(self, total):
        """The seconds by part, with the rest of ``total`` as ``"other"``."""
        seconds = dict(self.seconds)
        seconds["other"] = max(total - sum(seconds.values()), 0.0)
        return seconds


def _setup(A, b, *, tol, rate_tol, rate_window, max_iter, X_true, L_true, S_true, callback, rng):
    """Checks and set-up shared by NIHT and NAHT: the :class:`Problem`, the
    driver's stopping options and a timer."""
    prob = prepare(A, b, truth={"X_true": X_true, "L_true": L_true, "S_true": S_true},
                   callback=callback, rng=rng)
    options = dict(tol=default_tol(prob.b.dtype) if tol is None else tol, rate_tol=rate_tol,
                   window=check_int(rate_window, "rate_window", low=1),
                   max_iter=check_int(max_iter, "max_iter", low=1), truth=prob.truth,
                   callback=callback, scale=prob.scale)
    return prob, options, _Timer()


class _SparseModel:
    """k-sparse vectors (or matrices): support Gamma, projection H_k."""

    #: Images updated (not measured) at most this many iterations in a row: each update
    #: adds a rounding error of about eps ||b||, so the image drifts at most 10 eps ||b||.
    REUSE = 10

    def __init__(self, A, k):
        self.A, self.k = A, k
        self.reused = 0  # images updated, not measured, since the last measurement

    def project(self, W, aux=None):
        X, mask = threshold.hard(W, self.k, return_mask=True)
        return X, np.flatnonzero(mask)

    def direction(self, G, support):
        """A(Z) and <G, Z> for Z = P_Gamma(G), measured on the support alone.

        The supports come from the projection (sorted, in range), so the
        operator's own product is called without ``forward_sparse``'s checks.
        """
        g = G.reshape(-1)[support]
        return self.A._forward_sparse(g, support), float(np.vdot(g, g).real)

    def measure(self, X, support):
        self.reused = 0
        return self.A._forward_sparse(X.reshape(-1)[support], support)

    def image(self, X_new, support_new, support, AX, alpha, AZ):
        """``A(X_new)`` for ``X_new = H_k(X + alpha G)``: when the support is unchanged,
        ``X_new = X + alpha P_Gamma(G)`` exactly, so its image is ``AX + alpha AZ``, from
        products already made (one transform an iteration fewer for the FJLT); measured
        afresh when the support changes and after :attr:`REUSE` updates."""
        if self.reused < self.REUSE and np.array_equal(support, support_new):
            self.reused += 1
            return AX + alpha * AZ
        return self.measure(X_new, support_new)

    @staticmethod
    def same_subspace(aux, new_aux):
        return np.array_equal(aux, new_aux)

    @staticmethod
    def parts(X, aux):
        return None, None


class _DenseModel:
    """Models whose iterates are dense matrices: measured by a full forward
    product, and without the sparse safeguard (no support to compare)."""

    reused = 0  # images are always measured

    def measure(self, X, aux):
        return self.A.forward(X)

    def image(self, X_new, aux_new, aux, AX, alpha, AZ):
        """``A(X_new)``: the projection is not linear on these sets, so a product."""
        return self.measure(X_new, aux_new)

    @staticmethod
    def same_subspace(aux, new_aux):
        return True


class _LowRankModel(_DenseModel):
    """Rank-r matrices: column space U, projection by truncated SVD."""

    def __init__(self, A, r, svd, rng):
        self.A, self.r, self.svd, self.rng = A, r, svd, rng

    def project(self, W, aux=None):
        low = threshold.truncate_rank(W, self.r, method=self.svd, rng=self.rng)
        return low.X, low.U

    def direction(self, G, U):
        """A(Z) and <G, Z> for Z = U U^T G (the gradient on the current column space)."""
        UtG = U.T @ G
        return self.A.forward(U @ UtG), float(np.vdot(UtG, UtG).real)

    @staticmethod
    def parts(X, aux):
        return X, None


class _LSModel(_DenseModel):
    """Rank-r plus s-sparse matrices: the projection is robust PCA."""

    def __init__(self, A, r, s, method, inner_tol, inner_max_iter, rng):
        from .robust_pca import _add_product, project_ls  # imported here: only L+S needs them

        self.project_ls, self.add_product = project_ls, _add_product
        self.A, self.r, self.s, self.method = A, r, s, method
        self.inner_tol, self.inner_max_iter, self.rng = inner_tol, inner_max_iter, rng
        self.outer_residual = 1.0
        self.inner_iters = 0

    def project(self, W, aux=None):
        # the inner tolerance follows the outer residual (Tanner & Vary, Sec. 4)
        tol = max(self.inner_tol * self.outer_residual, 1e-15)
        split = self.project_ls(W, self.r, self.s, method=self.method, init=aux, tol=tol,
                                max_iter=self.inner_max_iter, rng=self.rng)
        self.inner_iters += split.n_iter
        return split.L + split.S, split

    def direction(self, G, split):
        """A(Z) and <G, Z> for Z = U U^T G + P_Omega(G) (column space and support).

        ``P_Omega(G)`` by a multiplication with the support mask and the
        column-space term added in place: three passes over the matrix where
        boolean indexing took ten (3x faster on a 26,600 x 150 video).
        """
        UtG = split.U.T @ G
        Z = G * (split.S != 0)
        gz = float(np.vdot(UtG, UtG).real + np.vdot(Z, Z).real)
        return self.A.forward(self.add_product(Z, split.U, UtG)), gz

    @staticmethod
    def parts(X, split):
        return split.L, split.S


def _gradient_step(model, A, residual, aux, timer):
    """``G = A*(residual)``, the exact line-search step along its projection ``P G``:
    ``alpha = <G, PG> / ||A(PG)||^2`` (0 when ``A(PG) = 0``), and ``A(PG)``."""
    with timer("operator"):
        G = A.adjoint(residual)
        AZ, gz = model.direction(G, aux)
    denom = float(np.vdot(AZ, AZ).real)
    return G, (gz / denom if denom > 0 else 0.0), AZ


#: The L+S starts: how the first point ``W`` (``A*b``) is split into ``(L0, S0)``
#: (see ``start`` in :func:`niht` and :func:`cs.solvers.naht`).
_STARTS = ("projection", "low_rank_first", "sparse_first", "rpca")

#: AccAltProj iterations of the ``"rpca"`` start (after the method's own two-step initialisation).
_RPCA_START_ITER = 3


def _first_split(W, rank, sparsity, start, svd, rng):
    """The first L+S split of ``W`` by the rule ``start`` (one of :data:`_STARTS`): an
    :class:`~cs.solvers.LSSplit` and the flat support of its ``S``.  (NIHT's
    ``"projection"`` start calls its own L+S projection instead, with its options.)

    Every rule is positively homogeneous (``split(cW) = c split(W)`` for ``c > 0``):
    hard thresholding keeps a count, not a level, and AccAltProj's thresholds are
    multiples of singular values, so the scale of ``A*b`` (``p/(mn)`` of ``X`` for the
    FJLT) shrinks the start without changing which entries or subspace it picks.
    """
    from .robust_pca import LSSplit, project_ls  # imported here: only L+S needs them

    if start in ("rpca", "projection"):
        # "projection": NIHT's default first projection (inner_tol 0.1 times the relative residual 1)
        options = dict(tol=0.0, max_iter=_RPCA_START_ITER) if start == "rpca" else dict(tol=0.1, max_iter=50)
        split = project_ls(W, rank, sparsity, rng=rng, **options)
        return split, np.flatnonzero(split.S)
    if start == "low_rank_first":
        low = threshold.truncate_rank(W, rank, method=svd, rng=rng)
        S, mask = threshold.hard(W - low.X, sparsity, return_mask=True)
    else:  # "sparse_first"
        S, mask = threshold.hard(W, sparsity, return_mask=True)
        low = threshold.truncate_rank(W - S, rank, method=svd, rng=rng)
    return LSSplit(low.X, S, low.U, low.Vt.T, 0), np.flatnonzero(mask)


def _check_init(init, shape, scale, pair_ok):
    """``(W, warm)``: the point whose projection starts NIHT, and the L+S warm start."""
    if init is None:
        return None
    if pair_ok and isinstance(init, tuple) and len(init) in (2, 5):  # (L0, S0) or an LSSplit
        L0, S0 = (check_like(part, f"init[{i}]", shape, what="the unknown", flat_ok=False) / scale
                  for i, part in enumerate(init[:2]))
        return L0 + S0, (L0, S0)
    return check_like(init, "init", shape) / scale, None


def niht(A, b, *, sparsity=None, rank=None, projection="accaltproj", tol=None, rate_tol=0.999,
         rate_window=15, max_iter=1000, svd="auto", safeguard=None, inner_tol=0.1, inner_max_iter=50,
         init=None, start="projection", callback=None, X_true=None, L_true=None, S_true=None, rng=None):
    r"""Normalised Iterative Hard Thresholding (NIHT).

    Solves :math:`\min \|b - \mathcal{A}(X)\|_2` over one of three sets, by
    the iteration

    .. math::

        G_j = \mathcal{A}^*(b - \mathcal{A}(X_j)),\quad
        \alpha_j = \frac{\langle G_j, P_j G_j\rangle}{\|\mathcal{A}(P_j G_j)\|_2^2},\quad
        X_{j+1} = \Pi(X_j + \alpha_j G_j),

    where :math:`P_j` projects onto the subspace of the current iterate and
    :math:`\Pi` onto the set:

    * ``sparsity=k``: k-sparse vectors (Blumensath & Davies 2010).
      :math:`P_j` restricts to the support; :math:`\Pi = H_k`.  With
      ``safeguard=(c, kappa)``, when the support changes the step is shrunk
      by ``kappa * (1 - c)`` until
      :math:`\alpha_j \le (1-c)\|X_{j+1}-X_j\|^2/\|\mathcal{A}(X_{j+1}-X_j)\|^2`.
    * ``rank=r``: rank-r matrices (Tanner & Wei 2013). :math:`P_j G = U_j U_j^T G`
      with :math:`U_j` the column space of :math:`X_j`; :math:`\Pi` is the
      rank-r truncated SVD.
    * ``rank=r, sparsity=s``: low-rank plus sparse matrices, Algorithm 1 of
      Tanner & Vary (2023).  :math:`P_j G = U_jU_j^TG + P_{\Omega_j}G` on the
      column space of :math:`L_j` and the support of :math:`S_j`; :math:`\Pi`
      is robust PCA (``projection``: ``"accaltproj"`` or ``"godec"``),
      warm-started from the previous :math:`(L_j, S_j)` with inner tolerance
      ``inner_tol`` times the current relative residual.

    The numerator :math:`\langle G, PG\rangle = \|PG\|^2` makes
    :math:`\alpha_j` the exact line search along :math:`P_jG_j`.  Each
    iteration costs one adjoint, the measurement of :math:`P_jG_j` and of the
    new iterate (for explicit matrices and sparse iterates restricted to the
    support: ``p k`` operations, not ``p N``).  For sparse unknowns the last
    is free while the support stays put: then
    :math:`X_{j+1} = X_j + \alpha_j P_jG_j` exactly, and
    :math:`\mathcal{A}(X_{j+1}) = \mathcal{A}(X_j) + \alpha_j
    \mathcal{A}(P_jG_j)` from the products already made (measured afresh
    every ten such updates, and before the residual is trusted to stop).

    Parameters
    ----------
    A : operator
        A :class:`cs.operators.MeasurementOperator`, a matrix, or anything with
        ``matvec``/``rmatvec``/``shape`` (then vectors only).
    b : (p,) array
        The measurements.
    sparsity, rank : int, optional
        The set; at least one must be given.
    projection : {"accaltproj", "godec"}
        The robust PCA used as the L+S projection.
    tol : float, optional
        Stop when :math:`\|b - \mathcal{A}(X)\|/\|b\|` < tol (default 1e-9 in
        float64, 1e-5 in float32).
    rate_tol, rate_window : float, int
        Stop when the mean convergence rate over the last ``rate_window``
        iterations, :math:`(r_j / r_{j-w})^{1/w}`, exceeds ``rate_tol``.  The
        long default window suits exact recovery; on noisy data, whose
        residual levels off at the noise, a short one (``cs.video`` uses 5)
        stops once the plateau is reached instead of 15 iterations into it.
    max_iter : int
    svd : {"auto", "exact", "randomized"}
        How rank-r truncations are computed (see :func:`cs.threshold.truncate_rank`).
    safeguard : (c, kappa) or None
        The step-size safeguard of Blumensath & Davies for sparse problems,
        off by default: ``0 < c < 1`` and ``kappa > 1/(1 - c)``, so that
        every backtracking step shrinks the step (at most 100 shrinks per
        iteration); their convergence proof needs it, and ``(0.01, 2.0)``
        is their choice.  ``None`` takes the plain normalised step even when
        the support changes.  Measured by ``benchmarks/study_safeguard.py
        --trials 20`` (n = 1024, delta 0.1/0.3/0.5, 20 trials a cell), the 50 %
        frontiers rho* (safeguard / plain) are .217/.223, .321/.312,
        .388/.377 for Gaussian matrices and .214/.229, .344/.345, .431/.435
        for the subsampled DCT -- equal within the trials' noise -- while the
        plain step's median solve is 1.3-2.5x faster (the safeguard costs a
        selection and a product per shrink): hence the default.
    inner_tol, inner_max_iter : float, int
        Robust PCA inner tolerance factor and iteration cap (L+S only).
    init : array or (L0, S0), optional
        Warm start: ``X_0`` is the projection of ``init`` onto the set
        instead of that of :math:`\mathcal{A}^*b`; for L+S a pair (or an
        :class:`~cs.solvers.LSSplit`) also warm-starts that first robust PCA.
    start : {"projection", "low_rank_first", "sparse_first", "rpca"}
        L+S only: how the first point :math:`W = \mathcal{A}^*b` (or an array
        ``init``; a pair needs no split) is split into :math:`(L_0, S_0)`:

        * ``"projection"`` (default): the L+S projection itself, robust PCA
          (``projection``) from its own initialisation to the inner tolerance
          (``inner_tol``; on :math:`\mathcal{A}^*b` it stops after two
          AccAltProj iterations);
        * ``"low_rank_first"``: :math:`L_0 = H_r(W)`, :math:`S_0 = H_s(W - L_0)`
          (NAHT's start in Tanner & Vary 2023, Algorithm 2);
        * ``"sparse_first"``: :math:`S_0 = H_s(W)`, :math:`L_0 = H_r(W - S_0)`;
        * ``"rpca"``: three AccAltProj iterations on :math:`W` from its
          initialisation (:func:`~cs.solvers.project_ls`, ``max_iter=3``).

        Every rule is positively homogeneous, so the scale of
        :math:`\mathcal{A}^*b` (:math:`p/(mn)` of :math:`X` for the FJLT) only
        shrinks :math:`X_0`; the first normalised step rescales it.
        ``benchmarks/study_ls_init.py`` compares the four by the 50 % frontier
        (100 x 100, FJLT, :math:`\delta = 0.35`, 20 trials a cell): on
        :math:`\rho_r = \rho_s` they all cross at 0.195-0.196 (rank 3 is
        recovered, rank 4 is not), on :math:`\rho_r = 0.05` at
        :math:`\rho_s` = 0.257 (projection), 0.259 (low_rank_first), 0.258
        (sparse_first), 0.262 (rpca) -- within the noise, and ``rpca``'s lead
        vanished on 280 fresh trials -- so the default stays.
    callback : callable, optional
        ``callback(Iterate)`` after every iteration; returning True stops.
    X_true, L_true, S_true : arrays, optional
        The truth, to record ``error_X``/``error_L``/``error_S`` histories.
    rng : seed or Generator
        For randomised SVDs; normalised once, then drawn from in turn by every
        truncation and robust PCA projection of the run.

    Returns
    -------
    SolveResult
        ``x``/``X`` (shaped as the operator's ``input_shape``), ``L`` and
        ``S`` (L+S and low-rank), histories, and ``info['seconds']``: time
        split by part (``operator``, ``projection``, ``other``).

    Examples
    --------
    >>> from cs.datasets.synthetic import sparse_problem
    >>> prob = sparse_problem(256, 0.5, 0.1, rng=0)
    >>> res = niht(prob.A, prob.b, sparsity=prob.sparsity)
    >>> res.converged, bool(abs(res.x - prob.x).max() < 1e-6)
    (True, True)
    """
    prob, options, timer = _setup(A, b, tol=tol, rate_tol=rate_tol, rate_window=rate_window,
                                  max_iter=max_iter, X_true=X_true,
                                  L_true=L_true, S_true=S_true, callback=callback, rng=rng)
    A, b = prob.A, prob.b
    if sparsity is None and rank is None:
        raise ValueError("give sparsity=k (sparse vectors), rank=r (low-rank matrices) or both (L+S)")
    if sparsity is not None:
        sparsity = check_sparsity(sparsity, A.input_size)
    if rank is not None:
        rank = check_rank(rank, A.input_shape)
    projection = check_choice(projection, "projection", {"accaltproj", "godec"})
    svd = check_choice(svd, "svd", {"auto", "exact", "randomized"})
    c, kappa = (None, None) if safeguard is None else check_safeguard(safeguard)
    if rank is None:
        model, name = _SparseModel(A, sparsity), "niht-sparse"
    elif sparsity is None:
        model, name = _LowRankModel(A, rank, svd, prob.rng), "niht-lowrank"
    else:
        model = _LSModel(A, rank, sparsity, projection, check_real(inner_tol, "inner_tol", low=0.0),
                         check_int(inner_max_iter, "inner_max_iter", low=1), prob.rng)
        name = f"niht-ls-{projection}"
    start = check_choice(start, "start", _STARTS)
    initial = _check_init(init, A.input_shape, prob.scale, isinstance(model, _LSModel))
    b_norm = float(np.linalg.norm(b)) or 1.0
    it = {}  # the current iterate X, its subspace, A(X), the residual and its relative norm

    def accept(X, aux, AX, alpha):
        residual = b - AX
        rel = float(np.linalg.norm(residual)) / b_norm
        if model.reused and rel < options["tol"]:
            # an updated image says "converged": the stop test gets the measured one
            with timer("operator"):
                AX = model.measure(X, aux)
            residual = b - AX
            rel = float(np.linalg.norm(residual)) / b_norm
        it.update(X=X, aux=aux, AX=AX, residual=residual)
        it["rel"] = model.outer_residual = rel
        L, S = model.parts(X, aux)
        return Step(it["rel"], X, L, S, step=alpha)

    def first():
        with timer("operator"):
            W, warm = (A.adjoint(b), None) if initial is None else initial
        with timer("projection"):
            if warm is None and start != "projection" and isinstance(model, _LSModel):
                warm = _first_split(W, rank, sparsity, start, svd, prob.rng)[0]
                W = warm.L + warm.S  # already in the set: the projection returns it
            X, aux = model.project(W, warm)
        with timer("operator"):
            return accept(X, aux, model.measure(X, aux), np.nan)

    def step(n_iter):
        X, aux, AX = it["X"], it["aux"], it["AX"]
        G, alpha, AZ = _gradient_step(model, A, it["residual"], aux, timer)
        for _ in range(_MAX_BACKTRACK):
            with timer("projection"):
                X_new, aux_new = model.project(X + alpha * G, aux)
            with timer("operator"):
                AX_new = model.image(X_new, aux_new, aux, AX, alpha, AZ)
            if c is None or alpha == 0.0 or model.same_subspace(aux, aux_new):
                break
            # Blumensath-Davies safeguard: A(X_new - X) = AX_new - AX costs nothing extra
            diff, dA = X_new - X, AX_new - AX
            omega = (1 - c) * float(np.vdot(diff, diff).real) / max(float(np.vdot(dA, dA).real), 1e-300)
            if alpha <= omega:
                break
            alpha /= kappa * (1 - c)
        return accept(X_new, aux_new, AX_new, alpha)

    run = drive(step, first=first, solver=name, **options)
    info = {"seconds": timer.split(run.seconds)}
    if isinstance(model, _LSModel):
        info["inner_iterations"] = model.inner_iters
    return run.result(info=info)
