"""A small Gaussian process for the model-based strategy (NumPy and SciPy only).

The kernel is a Matérn 5/2 with one length scale per feature, an amplitude
and a noise level. Its hyperparameters are the maximum a posteriori under
weak priors (a log-normal length scale whose median grows with the square
root of the number of features, as Hvarfner, Hellsten and Nardi, 2024,
recommend for the unit cube), found by L-BFGS-B with the exact gradient from
a start at the priors' modes and from a few starts drawn from the priors.
The run's generator draws those starts, so a fit is reproducible.

The posterior is the *latent* function's (without the noise), because the
acquisition asks where the function is good, not where a noisy fit would be.
:meth:`GaussianProcess.believe` adds pending points believed at their mean
(the kriging believer): the mean does not move, only the spread shrinks
around them.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve, solve_triangular
from scipy.optimize import minimize

__all__ = ["GaussianProcess"]

_SQRT5 = np.sqrt(5.0)
# bounds of the log hyperparameters: length scales, amplitude, noise
_LOG_LS = (np.log(1e-2), np.log(1e2))
_LOG_AMP = (np.log(5e-2), np.log(2e1))
_LOG_NOISE = (np.log(1e-6), np.log(1.0))
# priors: (mean, standard deviation) of the log amplitude and log noise
_PRIOR_AMP = (0.0, 1.0)
_PRIOR_NOISE = (np.log(1e-2), 1.5)
_LS_SIGMA = np.sqrt(3.0)


def _ls_prior_mean(d: int) -> float:
    return float(np.sqrt(2.0) + 0.5 * np.log(max(d, 1)))


def _sq_dist(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    d2 = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
    return np.maximum(d2, 0.0)


def _matern(r: np.ndarray) -> np.ndarray:
    s = _SQRT5 * r
    return (1.0 + s + s * s / 3.0) * np.exp(-s)


class GaussianProcess:
    """A GP regressor with a Matérn 5/2 ARD kernel, fitted by MAP.

    Parameters
    ----------
    n_restarts : int, default=2
        Extra starts of the hyperparameters' optimisation, drawn from the priors.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((20, 2)); y = np.sin(6 * X[:, 0])
    >>> gp = GaussianProcess().fit(X, (y - y.mean()) / y.std(), rng)
    >>> mean, std = gp.predict(X[:3])
    >>> bool(np.allclose(mean, gp.predict(X[:3])[0])), bool((std > 0).all())
    (True, True)
    """

    def __init__(self, n_restarts: int = 2) -> None:
        self.n_restarts = n_restarts
        self._n_believed = 0

    # fitting --------------------------------------------------------------
    def _objective(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log posterior of the hyperparameters and its gradient."""
        X, y = self.X_, self.y_
        n, d = X.shape
        ls, amp, noise = np.exp(theta[:d]), np.exp(theta[d]), np.exp(theta[d + 1])
        Xs = X / ls
        r = np.sqrt(_sq_dist(Xs, Xs))
        K_sig = amp * _matern(r)
        K = K_sig + (noise + 1e-8) * np.eye(n)
        try:
            L = cho_factor(K, lower=True)
        except LinAlgError:
            return 1e10, np.zeros_like(theta)
        alpha = cho_solve(L, y)
        nll = 0.5 * y @ alpha + np.log(np.diag(L[0])).sum()
        W = cho_solve(L, np.eye(n)) - np.outer(alpha, alpha)
        grad = np.empty_like(theta)
        # d K / d log l_i = amp * 5/3 (1 + sqrt5 r) exp(-sqrt5 r) * (dx_i / l_i)^2
        common = W * (amp * 5.0 / 3.0 * (1.0 + _SQRT5 * r) * np.exp(-_SQRT5 * r))
        for i in range(d):
            diff = Xs[:, i][:, None] - Xs[:, i][None, :]
            grad[i] = 0.5 * np.sum(common * diff * diff)
        grad[d] = 0.5 * np.sum(W * K_sig)
        grad[d + 1] = 0.5 * noise * np.trace(W)
        # the priors
        mu = _ls_prior_mean(d)
        nll += 0.5 * np.sum((theta[:d] - mu) ** 2) / _LS_SIGMA**2
        grad[:d] += (theta[:d] - mu) / _LS_SIGMA**2
        for j, (m, s) in ((d, _PRIOR_AMP), (d + 1, _PRIOR_NOISE)):
            nll += 0.5 * (theta[j] - m) ** 2 / s**2
            grad[j] += (theta[j] - m) / s**2
        return float(nll), grad

    def fit(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> GaussianProcess:
        """Fit to ``X`` (features in about [0, 1]) and standardised ``y``."""
        self.X_ = np.asarray(X, dtype=np.float64)
        self.y_ = np.asarray(y, dtype=np.float64)
        d = self.X_.shape[1]
        mu = _ls_prior_mean(d)
        bounds = [_LOG_LS] * d + [_LOG_AMP, _LOG_NOISE]
        low, high = np.array(bounds).T
        starts = [np.r_[np.full(d, mu), _PRIOR_AMP[0], _PRIOR_NOISE[0]]]
        for _ in range(self.n_restarts):
            draw = np.r_[
                rng.normal(mu, _LS_SIGMA, d),
                rng.normal(*_PRIOR_AMP),
                rng.normal(*_PRIOR_NOISE),
            ]
            starts.append(draw)
        best: tuple[float, np.ndarray] | None = None
        for start in starts:
            res = minimize(
                self._objective,
                np.clip(start, low, high),
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": 200},
            )
            if best is None or res.fun < best[0]:
                best = (float(res.fun), res.x)
        assert best is not None
        self.theta_ = best[1]
        self._factor()
        return self

    def _factor(self) -> None:
        d = self.X_.shape[1]
        self.ls_ = np.exp(self.theta_[:d])
        self.amp_ = float(np.exp(self.theta_[d]))
        self.noise_ = float(np.exp(self.theta_[d + 1]))
        n = len(self.X_)
        noise = np.full(n, self.noise_ + 1e-8)
        noise[n - self._n_believed :] = 1e-8
        K = self._k(self.X_, self.X_) + np.diag(noise)
        jitter = 1e-8
        while True:
            try:
                self.L_ = np.linalg.cholesky(K + jitter * np.eye(n))
                break
            except np.linalg.LinAlgError:
                jitter *= 10
        self.alpha_ = cho_solve((self.L_, True), self.y_)

    def _k(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        return self.amp_ * _matern(np.sqrt(_sq_dist(A / self.ls_, B / self.ls_)))

    def refactor(self, X: np.ndarray, y: np.ndarray, n_believed: int = 0) -> GaussianProcess:
        """Condition on ``X`` and ``y`` with the fitted hyperparameters; the
        last ``n_believed`` rows are pending points believed at their mean,
        without noise (the kriging believer: the mean does not move, the
        spread around them shrinks to zero, so the next pick looks elsewhere)."""
        self.X_ = np.asarray(X, dtype=np.float64)
        self.y_ = np.asarray(y, dtype=np.float64)
        self._n_believed = n_believed
        self._factor()
        return self

    def believe(self, P: np.ndarray) -> GaussianProcess:
        """This posterior conditioned on the pending rows ``P`` at their mean."""
        if len(P) == 0:
            return self
        mean, _ = self.predict(P)
        n_believed = self._n_believed + len(P)
        other = GaussianProcess(self.n_restarts)
        other.theta_ = self.theta_
        return other.refactor(np.vstack([self.X_, P]), np.r_[self.y_, mean], n_believed)

    @classmethod
    def with_theta(cls, theta: np.ndarray) -> GaussianProcess:
        """A GP with the given log hyperparameters, to be conditioned with :meth:`refactor`."""
        gp = cls()
        gp.theta_ = np.asarray(theta, dtype=np.float64)
        return gp

    # predicting -----------------------------------------------------------
    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The latent function's posterior mean and standard deviation."""
        X = np.asarray(X, dtype=np.float64)
        Ks = self._k(X, self.X_)
        V = solve_triangular(self.L_, Ks.T, lower=True)
        var = self.amp_ - (V * V).sum(0)
        return Ks @ self.alpha_, np.sqrt(np.maximum(var, 1e-18))
