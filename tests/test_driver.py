"""The one iteration driver (cs.solvers.result.drive) and the immutable SolveResult."""

import dataclasses

import numpy as np
import pytest

from cs.datasets.synthetic import ls_problem, sparse_problem
from cs.solvers import MESSAGES, SolveResult, Status, iht, naht, niht, rpca
from cs.solvers.result import Step, drive


def geometric(rate=0.5, fixed_after=None):
    """A toy step: the residual shrinks by ``rate``; a fixed point after ``fixed_after``."""
    def step(n_iter):
        return Step(rate ** n_iter, np.array([rate ** n_iter]), step=float(n_iter),
                    extras={"twice": 2 * n_iter}, fixed_point=fixed_after is not None and n_iter >= fixed_after)
    return step


def test_order_record_stop_callback_status():
    seen = []

    def callback(it):
        # the iteration is already recorded when the callback sees it
        seen.append((it.n_iter, len(run_history()["residual"])))
        return it.n_iter == 10  # asks to stop at the iteration where tol is met

    holder = {}

    def run_history():
        return holder["run"].history

    def step(n_iter):
        return geometric()(n_iter)

    # a driver whose history we can peek at from inside the callback
    from cs.solvers import result as result_module
    original = result_module.Run.__init__

    def init(self, *args):
        original(self, *args)
        holder["run"] = self

    result_module.Run.__init__ = init
    try:
        run = drive(step, solver="toy", tol=1e-3, callback=callback)
    finally:
        result_module.Run.__init__ = original
    assert [k for k, _ in seen] == list(range(1, 11))
    assert all(k == recorded for k, recorded in seen)
    # 0.5^10 < 1e-3: the stop test holds first, so the callback's True does not change the status
    assert run.status == Status.TOLERANCE and run.n_iter == 10
    res = run.result()
    assert res.converged and res.reason == MESSAGES[Status.TOLERANCE]
    np.testing.assert_array_equal(res.history["twice"], 2 * np.arange(1, 11))
    np.testing.assert_array_equal(res.history["step"], np.arange(1, 11))


def test_callback_stop_fixed_point_and_max_iter():
    run = drive(geometric(), solver="toy", tol=1e-12, callback=lambda it: it.n_iter == 3)
    assert run.status == Status.CALLBACK and run.n_iter == 3 and not run.result().converged
    run = drive(geometric(fixed_after=4), solver="toy", tol=1e-12)
    assert run.status == Status.NO_PROGRESS and run.n_iter == 4
    run = drive(geometric(rate=0.99), solver="toy", tol=1e-12, rate_tol=None, max_iter=7)
    assert run.status == Status.MAX_ITER and run.n_iter == 7
    run = drive(geometric(rate=0.99), solver="toy", tol=1e-12, window=5)  # rate 0.99 < 0.999: no stall
    assert run.status == Status.MAX_ITER and run.n_iter == 1000
    run = drive(geometric(rate=0.9995), solver="toy", tol=1e-12, window=5)
    assert run.status == Status.STALLED and run.n_iter == 6
    run = drive(lambda n: Step(np.nan, np.zeros(1)), solver="toy", tol=1e-3)
    assert run.status == Status.DIVERGED and run.n_iter == 1


def test_first_iterate_and_scale():
    truth = np.array([2.0])
    run = drive(lambda n: Step(0.0, np.array([1.0])), first=lambda: Step(1.0, np.array([0.5])),
                solver="toy", tol=1e-3, truth={"X": truth}, scale=2.0)
    assert run.n_iter == 1 and run.history["residual"] == [1.0, 0.0]
    assert run.history["error_X"] == [0.5, 0.0]  # the truth is compared in the scaled units
    assert run.result().x[0] == 2.0                # and the estimate comes back in the caller's
    shown = []
    drive(lambda n: Step(0.0, np.array([1.0])), solver="toy", tol=1e-3, scale=4.0,
          callback=lambda it: shown.append(it.x[0]))
    assert shown == [4.0]


def test_solve_result_is_immutable():
    prob = sparse_problem(128, 0.5, 0.1, rng=0)
    res = iht(prob.A, prob.b, sparsity=prob.sparsity)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.reason = "rewritten"
    with pytest.raises(ValueError):
        res.history["residual"][0] = 0.0
    assert isinstance(SolveResult(x=np.zeros(2)), SolveResult)


def test_every_iterative_solver_reports_through_the_callback():
    prob = ls_problem((20, 20), 0.6, 0.1, 0.05, rng=0)
    for solver, kwargs in ((niht, {}), (naht, {})):
        seen = []
        res = solver(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity,
                     callback=lambda it: seen.append((it.n_iter, it.residual)) or it.n_iter == 2, **kwargs)
        assert res.status == Status.CALLBACK and res.n_iter == 2
        assert [k for k, _ in seen] == [1, 2]
        assert [r for _, r in seen] == list(res.history["residual"][1:])
    seen = []
    res = rpca(prob.x, rank=prob.rank, callback=lambda it: seen.append(it.n_iter) or it.n_iter == 2, rng=0)
    assert res.status == Status.CALLBACK and seen == [1, 2]


def test_rng_normalised_once_and_drawn_from():
    prob = ls_problem((30, 30), 0.6, 0.1, 0.05, rng=1)
    runs = [niht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, svd="randomized", rng=7,
                 max_iter=5) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].X, runs[1].X)
    gen = np.random.default_rng(7)
    state = gen.bit_generator.state["state"]["state"]
    niht(prob.A, prob.b, rank=prob.rank, svd="randomized", rng=gen, max_iter=3)
    # the low-rank model draws its randomised SVDs from the caller's generator
    assert gen.bit_generator.state["state"]["state"] != state
    gen = np.random.default_rng(7)
    naht(prob.A, prob.b, rank=prob.rank, sparsity=prob.sparsity, svd="randomized", rng=gen, max_iter=3)
    assert gen.bit_generator.state["state"]["state"] != state


def test_iterate_unpacks_like_a_tuple_and_scales_only_what_is_read():
    reads = []

    class Counting(Step):
        def estimate(self):
            reads.append("x")
            return super().estimate()

    L, S = np.array([1.0, 0.0]), np.array([0.0, 3.0])
    seen = []
    drive(lambda n: Counting(0.0, None, L, S), solver="toy", tol=1e-3, scale=2.0,
          callback=lambda it: seen.append(it))
    (it,) = seen
    assert reads == []  # the progress-bar case: nothing read, nothing formed
    n_iter, x, L_shown, S_shown, residual = it
    assert (n_iter, residual, len(it)) == (1, 0.0, 5) and reads == ["x"]
    assert np.array_equal(x, [2.0, 6.0]) and np.array_equal(L_shown, 2 * L) and np.array_equal(S_shown, 2 * S)
    assert it.x is x and np.array_equal(it[1], x) and it[-1] == 0.0 and it[:2][0] == 1
    assert reads == ["x"]  # read once, then kept


@pytest.mark.parametrize("solver", [niht, naht])
def test_rate_window_sets_the_stall_test_window(solver):
    # a noisy L+S problem: the residual levels off at the noise, and the stall test ends the run
    prob = ls_problem((30, 30), 0.6, 0.1, 0.05, rng=0)
    b = prob.b + 1e-2 * np.linalg.norm(prob.b) / np.sqrt(prob.b.size) * np.random.default_rng(1).standard_normal(
        prob.b.size)
    runs = {w: solver(prob.A, b, rank=prob.rank, sparsity=prob.sparsity, rate_tol=0.99, rate_window=w, rng=0)
            for w in (3, 15)}
    assert all(r.status == Status.STALLED for r in runs.values())
    assert runs[3].n_iter < runs[15].n_iter
    for w, r in runs.items():  # stopped at the first iteration whose w-iteration rate passed rate_tol
        h = r.history["residual"]
        assert (h[-1] / h[-1 - w]) ** (1 / w) > 0.99
        assert all((h[j] / h[j - w]) ** (1 / w) <= 0.99 for j in range(w, len(h) - 1))
    with pytest.raises(ValueError, match="rate_window"):
        solver(prob.A, b, rank=prob.rank, sparsity=prob.sparsity, rate_window=0)
