"""The model-based strategy's Gaussian process: exact gradients, a reproducible
fit, a believer equal to refitting, and a posterior that learns."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import approx_fprime

from evotune.strategies._gp import GaussianProcess


def _data(n=30, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    y = np.sin(6 * X[:, 0]) + 0.5 * X[:, 1]
    return X, (y - y.mean()) / y.std(), rng


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000))
def test_the_gradient_of_the_log_posterior_is_exact(seed):
    X, y, rng = _data(seed=seed)
    gp = GaussianProcess()
    gp.X_, gp.y_ = X, y
    theta = rng.normal(0.0, 1.0, X.shape[1] + 2)
    value, grad = gp._objective(theta)
    numeric = approx_fprime(theta, lambda t: gp._objective(t)[0], 1e-6)
    np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-3 * (1 + abs(value)))


def test_the_same_generator_gives_the_same_fit():
    X, y, _ = _data()
    a = GaussianProcess().fit(X, y, np.random.default_rng(3))
    b = GaussianProcess().fit(X, y, np.random.default_rng(3))
    assert np.array_equal(a.theta_, b.theta_)


def test_the_posterior_predicts_unseen_points():
    X, y, rng = _data(n=40, d=2)
    gp = GaussianProcess().fit(X, y, rng)
    Xt = rng.random((200, 2))
    yt = np.sin(6 * Xt[:, 0]) + 0.5 * Xt[:, 1]
    raw = np.sin(6 * X[:, 0]) + 0.5 * X[:, 1]
    mean, std = gp.predict(Xt)
    rmse = np.sqrt(np.mean((mean * raw.std() + raw.mean() - yt) ** 2))
    assert rmse < 0.1 * yt.std(), rmse
    # the spread is smaller at the data than away from it
    assert gp.predict(X)[1].mean() < std.mean()


def test_believing_points_equals_conditioning_the_joint_posterior_on_them():
    X, y, rng = _data()
    gp = GaussianProcess().fit(X, y, rng)
    cand = rng.random((50, 3))
    picks = [4, 17, 30]
    mean0, _ = gp.predict(cand)
    believer = gp.believe(cand[picks])
    mean1, std1 = believer.predict(cand)
    # the joint posterior covariance of the candidates, then conditioned on
    # exact observations at the picks (believed at the mean, so it stays)
    K = gp._k(X, X) + (gp.noise_ + 1e-8) * np.eye(len(X))
    Kc = gp._k(cand, X)
    cov = gp._k(cand, cand) - Kc @ np.linalg.solve(K, Kc.T)
    B = cov[:, picks]
    cov -= B @ np.linalg.solve(cov[np.ix_(picks, picks)] + 1e-12 * np.eye(3), B.T)
    np.testing.assert_allclose(mean1, mean0, atol=1e-6)
    np.testing.assert_allclose(std1**2, np.maximum(np.diag(cov), 0.0), rtol=1e-2, atol=1e-6)
    assert std1[picks].max() < 1e-3
    # the data's own fit is unchanged by the belief
    np.testing.assert_array_equal(believer.theta_, gp.theta_)
