"""Probabilistic surrogates of a run's history, for the model-based strategy.

A surrogate predicts, for encoded genomes, a mean and a spread of the
(transformed) fitness. Two are kept, chosen by measurement (see
``benchmarks/results/``):

- ``"gp"``: a Gaussian process with a Matérn 5/2 kernel, one length scale per
  feature, a learned noise level (scikit-learn's ``GaussianProcessRegressor``);
- ``"forest"``: an ensemble of randomised trees, the spread being the trees'
  disagreement, as SMAC's random forest.

What the model sees of a genome (:func:`model_features`): numeric genes as
their unit-interval position (log ranges already are log), a categorical
gene one-hot, a mask's bits as they are, and an *inactive* parameter (one
whose ``when`` conditions fail) as a constant: two genomes that differ only in
inactive genes are the same point to the model, so a parameter of another
branch is never a feature.

Scores are standardised through a Yeo-Johnson power transform (as HEBO
does), so a few disastrous scores do not flatten the model around the good
ones; failures take the worst finite score.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evotune.space import Space
from operators.schema import BIT, CATEGORICAL

__all__ = ["SURROGATES", "Surrogate", "fit_surrogate", "model_features", "transform_scores"]

#: the names ``surrogate=`` takes
SURROGATES = ("gp", "forest")

# what an inactive numeric gene reads as: outside [0, 1], so a branch's genes
# never look like another branch's
_INACTIVE = -0.5


def _conditional(space: Space) -> bool:
    return any(getattr(p, "when", None) for p in space.values())


def active_genes(space: Space, genes: np.ndarray) -> np.ndarray:
    """Boolean ``(n, d)``: which genes belong to an active parameter."""
    n, d = genes.shape
    out = np.ones((n, d), dtype=bool)
    if not _conditional(space):
        return out
    slices = space.slices
    for i in range(n):
        _, active = space.decode_all(genes[i])
        for name, on in active.items():
            if not on:
                out[i, slices[name]] = False
    return out


def model_features(space: Space, genes: np.ndarray) -> np.ndarray:
    """The model's view of encoded ``genes`` (see the module's docstring).

    Examples
    --------
    >>> from evotune import Categorical, Float, Integer
    >>> s = Space({"k": Categorical(["a", "b"]), "d": Integer(1, 3, when={"k": "b"})})
    >>> model_features(s, np.array([[0.0, 0.1], [0.0, 0.9], [1.0, 0.9]]))
    array([[ 1. ,  0. , -0.5],
           [ 1. ,  0. , -0.5],
           [ 0. ,  1. ,  0.9]])
    """
    genes = np.atleast_2d(np.asarray(genes, dtype=np.float64))
    schema = space.schema
    active = active_genes(space, genes)
    columns: list[np.ndarray] = []
    for j in range(genes.shape[1]):
        col, on = genes[:, j], active[:, j]
        if schema.kinds[j] == CATEGORICAL:
            k = int(schema.n_choices[j])
            one_hot = (np.round(col)[:, None] == np.arange(k)[None, :]).astype(np.float64)
            columns.append(one_hot * on[:, None])
        elif schema.kinds[j] == BIT:
            columns.append(np.where(on, col, 0.0)[:, None])
        else:
            columns.append(np.where(on, col, _INACTIVE)[:, None])
    return np.hstack(columns)


def transform_scores(fitness: np.ndarray) -> np.ndarray:
    """Fitness ('higher is better', ``-inf`` for a failure) as standardised
    model targets: failures take the worst finite value, then a Yeo-Johnson
    transform and standardisation.

    Examples
    --------
    >>> y = transform_scores(np.array([0.9, 0.8, -np.inf, 0.95]))
    >>> bool(y[2] == y.min()), bool(abs(y.mean()) < 1e-9)
    (True, True)
    """
    y = np.asarray(fitness, dtype=np.float64).copy()
    finite = np.isfinite(y)
    y[~finite] = y[finite].min() if finite.any() else 0.0
    if np.ptp(y) == 0:
        return np.zeros_like(y)
    y = (y - y.mean()) / y.std()
    from scipy.stats import yeojohnson

    try:
        t, _ = yeojohnson(y)
    except (ValueError, FloatingPointError, OverflowError):
        t = y
    if not np.isfinite(t).all() or np.ptp(t) == 0:
        t = y
    return (t - t.mean()) / t.std()


class Surrogate:
    """A fitted model: :meth:`predict` gives the mean and the spread."""

    def __init__(self, kind: str, X: np.ndarray, y: np.ndarray, seed: int) -> None:
        self.kind = kind
        self.X = X
        self.y = y
        self.seed = seed
        self._model = self._fit(X, y, optimise=True)

    def _fit(self, X: np.ndarray, y: np.ndarray, optimise: bool) -> Any:
        if self.kind == "forest":
            from sklearn.ensemble import ExtraTreesRegressor

            model = ExtraTreesRegressor(
                n_estimators=48, min_samples_leaf=2, max_features=1.0, bootstrap=True,
                random_state=self.seed, n_jobs=1,
            )
            return model.fit(X, y)
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        if optimise:
            kernel: Any = ConstantKernel(1.0, (1e-2, 1e2)) * Matern(
                length_scale=np.full(X.shape[1], 0.5), length_scale_bounds=(1e-2, 1e2), nu=2.5
            ) + WhiteKernel(1e-2, (1e-6, 1.0))
        else:
            kernel = self._model.kernel_
        gp = GaussianProcessRegressor(
            kernel=kernel,
            normalize_y=False,
            optimizer="fmin_l_bfgs_b" if optimise else None,
            n_restarts_optimizer=2 if optimise else 0,
            random_state=self.seed,
        )
        return gp.fit(X, y)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation at the rows of ``X``."""
        if self.kind == "forest":
            per_tree = np.stack([t.predict(X) for t in self._model.estimators_])
            return per_tree.mean(axis=0), per_tree.std(axis=0) + 1e-9
        mean, std = self._model.predict(X, return_std=True)
        return mean, np.maximum(std, 1e-9)

    def believe(self, x: np.ndarray, value: float) -> None:
        """Condition on a pending point as if it scored ``value`` (the kriging
        believer): the next pick of a batch then looks elsewhere."""
        self.X = np.vstack([self.X, x[None, :]])
        self.y = np.append(self.y, value)
        self._model = self._fit(self.X, self.y, optimise=False)


def fit_surrogate(kind: str, X: np.ndarray, y: np.ndarray, seed: int) -> Surrogate:
    """Fit a ``kind`` surrogate (one of :data:`SURROGATES`) with one BLAS
    thread, so the driver's result does not depend on the machine's threads."""
    import warnings

    from threadpoolctl import threadpool_limits

    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes of the kernel's optimiser
        return Surrogate(kind, X, y, seed)
