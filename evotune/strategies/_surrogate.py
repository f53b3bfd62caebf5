"""Probabilistic surrogates of a run's history, for the model-based strategy.

The surrogate is a Gaussian process (:mod:`~evotune.strategies._gp`). A
forest of randomised trees with the trees' disagreement as the spread (as
SMAC's) was measured too and found fewer good models at 30-60 evaluations
(``benchmarks/results/``), so it is not offered.

What the model sees of a genome (:func:`model_features`): numeric genes as
their unit-interval position (log ranges already are log; an integer at the
centre of its bin), a categorical
gene one-hot, a mask's bits as they are, and an *inactive* parameter (one
whose ``when`` conditions fail) as a constant: two genomes that differ only in
inactive genes are the same point to the model, so a parameter of another
branch is never a feature.

Scores are standardised through a Yeo-Johnson power transform (as HEBO
does), so a few disastrous scores do not flatten the model around the good
ones; failures take the worst finite score.
"""

from __future__ import annotations

import numpy as np

from evotune.space import Space
from evotune.strategies._gp import GaussianProcess
from operators.schema import BIT, CATEGORICAL, INTEGER, integer_to_unit, unit_to_integer

__all__ = [
    "MAX_FIT_POINTS",
    "fit_hyperparameters",
    "model_features",
    "subsample",
    "transform_scores",
]

#: rows the kernel's hyperparameters are fitted on (the posterior uses all)
MAX_FIT_POINTS = 80

# what an inactive numeric gene reads as: outside [0, 1], so a branch's genes
# never look like another branch's
_INACTIVE = -0.5


def _conditional(space: Space) -> bool:
    return any(getattr(p, "when", None) for p in space.values())


def active_genes(space: Space, genes: np.ndarray) -> np.ndarray:
    """Boolean ``(n, d)``: which genes belong to an active parameter."""
    out = np.ones(genes.shape, dtype=bool)
    if not _conditional(space):
        return out
    slices = space.slices
    for name, on in space.active_rows(genes).items():
        out[~on, slices[name]] = False
    return out


def model_features(space: Space, genes: np.ndarray) -> np.ndarray:
    """The model's view of encoded ``genes`` (see the module's docstring).

    Examples
    --------
    >>> from evotune import Categorical, Float, Integer
    >>> s = Space({"k": Categorical(["a", "b"]), "d": Integer(1, 3, when={"k": "b"})})
    >>> model_features(s, np.array([[0.0, 0.1], [0.0, 0.9], [1.0, 0.9]])).round(3)
    array([[ 1.   ,  0.   , -0.5  ],
           [ 1.   ,  0.   , -0.5  ],
           [ 0.   ,  1.   ,  0.833]])
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
        elif schema.kinds[j] == INTEGER:
            # the centre of the integer's bin: genes of one integer are one point
            bounds = (schema.low[j], schema.high[j], schema.log[j])
            centre = integer_to_unit(unit_to_integer(col, *bounds), *bounds)
            columns.append(np.where(on, centre, _INACTIVE)[:, None])
        else:
            columns.append(np.where(on, col, _INACTIVE)[:, None])
    return np.hstack(columns)


# the Yeo-Johnson exponents tried (a grid: cheap, and the same on every machine)
_YJ_LAMBDAS = np.round(np.linspace(-2.0, 4.0, 61), 10)


def _yeo_johnson(x: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """The Yeo-Johnson transform of ``x`` for each exponent of ``lam``:
    shape ``(len(lam), len(x))``, every exponent at once."""
    lam = np.asarray(lam, dtype=np.float64)[:, None]
    pos = x >= 0
    lp = np.log1p(np.abs(x))[None, :]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # the limits at lambda 0 (positive side) and 2 (negative side) are logs
        up = np.where(np.abs(lam) < 1e-12, lp, np.expm1(lam * lp) / lam)
        two = 2.0 - lam
        down = np.where(np.abs(two) < 1e-12, -lp, -np.expm1(two * lp) / two)
    return np.where(pos[None, :], up, down)


def _yj_llf(x: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """The Yeo-Johnson log-likelihood of each exponent of ``lam`` (normal model)."""
    t = _yeo_johnson(x, lam)
    with np.errstate(invalid="ignore", over="ignore"):
        var = t.var(axis=1)
        jac = (lam - 1) * np.sum(np.sign(x) * np.log1p(np.abs(x)))
        llf = -0.5 * len(x) * np.log(np.where(var > 0, var, 1.0)) + jac
    return np.where(np.isfinite(var) & (var > 0), llf, -np.inf)


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
    t = _yeo_johnson(y, _YJ_LAMBDAS[[int(np.argmax(_yj_llf(y, _YJ_LAMBDAS)))]])[0]
    if not np.isfinite(t).all() or np.ptp(t) == 0:
        t = y
    return (t - t.mean()) / t.std()


def fit_hyperparameters(X: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """The GP's log hyperparameters, fitted on at most :data:`MAX_FIT_POINTS`
    rows (the best half and the most recent), with one BLAS thread. A pure
    function of its arguments, so a resumed run refits the same.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> theta = fit_hyperparameters(rng.random((10, 2)), rng.normal(size=10), seed=0)
    >>> theta.shape  # two length scales, the amplitude, the noise
    (4,)
    """
    from threadpoolctl import threadpool_limits

    sub = subsample(y, MAX_FIT_POINTS)
    with threadpool_limits(1):
        gp = GaussianProcess().fit(X[sub], y[sub], np.random.default_rng(seed))
    return np.asarray(gp.theta_)


def subsample(fitness: np.ndarray, k: int) -> np.ndarray:
    """Sorted indices of at most ``k`` rows: the best half and the most recent.

    Examples
    --------
    >>> subsample(np.array([5.0, 1.0, 4.0, 2.0, 3.0]), 3).tolist()
    [0, 3, 4]
    """
    fit = np.asarray(fitness, dtype=np.float64)
    idx = np.arange(len(fit))
    if len(fit) <= k:
        return idx
    half = k // 2
    order = np.argsort(-np.where(np.isfinite(fit), fit, -np.inf), kind="stable")
    best = np.sort(order[:half])
    rest = np.setdiff1d(idx, best)[-(k - half) :]
    return np.sort(np.concatenate([best, rest]))
