import numpy as np
import pytest

from cs import metrics


def test_relative_error_and_success():
    x = np.array([3.0, 4.0])
    assert metrics.relative_error(x, x) == 0.0
    assert metrics.relative_error(np.zeros(2), x) == 1.0
    assert metrics.relative_error([3.0, 4.5], x) == pytest.approx(0.1)
    assert metrics.relative_error([1.0, 0.0], np.zeros(2)) == 1.0
    assert metrics.relative_error([np.nan, 0.0], x) == np.inf
    assert metrics.is_success([3.0, 4.0 + 1e-4], x)
    assert not metrics.is_success([3.0, 4.1], x)


def test_psnr():
    truth = np.array([0.0, 1.0, 0.0, 1.0])
    est = truth + np.array([0.1, 0.0, 0.0, 0.0])
    assert metrics.psnr(est, truth) == pytest.approx(10 * np.log10(1 / (0.01 / 4)))
    assert metrics.psnr(truth, truth) == np.inf


def test_support_recovery():
    truth = np.array([1.0, 0, 2, 0, 0])
    est = np.array([0.9, 0.2, 0, 0, 0])
    score = metrics.support_recovery(est, truth)
    assert score.precision == 0.5 and score.recall == 0.5 and score.f_measure == 0.5
    assert metrics.support_recovery(est, truth, tol=0.5).precision == 1.0


def test_shape_mismatch_is_named():
    with pytest.raises(ValueError, match=r"estimate has shape \(3,\) but truth has shape \(2,\)"):
        metrics.relative_error(np.ones(3), np.ones(2))
