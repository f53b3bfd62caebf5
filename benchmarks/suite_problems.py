"""The problems of the public suite: (model, data set) pairs with documented spaces.

In the spirit of Bayesmark (the problem set of the 2020 black-box optimisation
challenge for ML hyperparameters): the same model families (decision tree,
random forest, AdaBoost, k-nearest neighbours, SVM, an MLP trained by adam,
linear models) on scikit-learn's bundled data sets, each with its own space.
Bayesmark's spaces were the guide; the ranges below are ours (Bayesmark's
"logit" ranges of fractions are searched on a linear scale here, since
:class:`~benchmarks.cases.Param` knows linear and log scales only).

Every problem is a :class:`Problem`, a :class:`~benchmarks.cases.Case` with 5
shuffled folds (``StratifiedKFold(5, shuffle=True, random_state=0)`` for
classifiers, ``KFold`` for the regressor problems), so every runner of
:mod:`benchmarks.peers` takes it as it is. Scoring: ``accuracy`` for the
classifiers, ``neg_mean_squared_error`` on the diabetes target. Estimators
have ``random_state=0``; SVM, KNN, MLP and logistic regression sit behind a
``StandardScaler`` in a pipeline (their parameters are then ``model__...``).

Cost: median seconds of one evaluation (a 5-fold cross-validation) over 30
random configurations, ``n_jobs=1``, one BLAS thread (:func:`measure`, i.e.
``python -m benchmarks.suite_problems``), 2026-12-02 23:53 UTC on the 2-core
development machine while other processes kept it busy (load average 3), so
read them as upper bounds:

===============  =======  ===============  =======
problem          s/eval   problem          s/eval
===============  =======  ===============  =======
dt-breast        0.031    dt-diabetes      0.016
dt-digits        0.037    rf-diabetes      0.102
rf-wine          0.118    knn-diabetes     0.050
ada-iris         0.418    svr-diabetes     0.052
knn-wine         0.037    lasso-diabetes   0.013
svm-breast       0.069
mlp-iris         0.243
lr-breast        0.094
===============  =======  ===============  =======

Their sum, 1.28 s, times 8 tools x 5 seeds x (30 + 60) evaluations is about
4,600 core-seconds of fitting for the whole suite. The tools' own costs come
on top and are larger: a fresh interpreter per job (2-4 s: Python,
scikit-learn, the tool), and per evaluation BayesSearchCV's Gaussian process
(about 1-2 s at 60 evaluations) and SMAC's random forest (about 0.5 s).
Left out after measuring them (same conditions): knn-digits 2.9 s (a
Minkowski ``p`` of 3 or 4 is a slow generic metric), ada-breast 1.2,
ada-wine 0.76, ada-diabetes 0.78, mlp-diabetes 0.37, mlp-wine 0.22,
rf-digits 0.21, knn-breast 0.16; AdaBoost's ``n_estimators`` range was halved
(about 2 ms per estimator, 5 folds).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.cases import Case, Param

__all__ = ["PROBLEMS", "Problem", "get_problem", "measure"]

# evotune's population in the suite: the same for budgets 30 and 60
SUITE_POPULATION = 10
# adam epochs of the MLP problems: caps their cost (convergence warnings are ignored)
MLP_MAX_ITER = 30


@dataclass(frozen=True)
class Problem(Case):
    """One suite problem: a :class:`~benchmarks.cases.Case` cross-validated on 5 folds.

    ``budget`` and ``population`` are the nominal ones (the suite runs
    budgets 30 and 60 with ``population`` for both); ``model`` and
    ``dataset`` name the two halves of the problem.
    """

    model: str = ""
    dataset: str = ""
    folds: int = 5
    cost: float = math.nan  # measured median seconds per evaluation (see COSTS)

    def cv(self) -> Any:
        """``folds`` shuffled folds, ``random_state=0`` (stratified for classifiers)."""
        from sklearn.model_selection import KFold, StratifiedKFold

        if self.stratified:
            return StratifiedKFold(self.folds, shuffle=True, random_state=0)
        return KFold(self.folds, shuffle=True, random_state=0)


# ----------------------------------------------------------------- data
def _load(name: str) -> tuple[np.ndarray, np.ndarray]:
    """One of scikit-learn's bundled data sets, as ``(X, y)``."""
    from sklearn import datasets

    loader = getattr(datasets, f"load_{name}")
    return loader(return_X_y=True)


# ----------------------------------------------------------------- estimators
def _scaled(model: Any) -> Any:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline([("scale", StandardScaler()), ("model", model)])


def _tree(classifier: bool) -> Any:
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    cls = DecisionTreeClassifier if classifier else DecisionTreeRegressor
    return cls(random_state=0)


def _forest(classifier: bool) -> Any:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    cls = RandomForestClassifier if classifier else RandomForestRegressor
    return cls(n_estimators=10, random_state=0)


def _ada(classifier: bool) -> Any:
    from sklearn.ensemble import AdaBoostClassifier, AdaBoostRegressor

    cls = AdaBoostClassifier if classifier else AdaBoostRegressor
    return cls(random_state=0)


def _knn(classifier: bool) -> Any:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    cls = KNeighborsClassifier if classifier else KNeighborsRegressor
    return _scaled(cls())


def _svm(classifier: bool) -> Any:
    from sklearn.svm import SVC, SVR

    return _scaled(SVC(kernel="rbf", random_state=0) if classifier else SVR(kernel="rbf"))


def _mlp(classifier: bool) -> Any:
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    cls = MLPClassifier if classifier else MLPRegressor
    return _scaled(cls(solver="adam", early_stopping=True, max_iter=MLP_MAX_ITER, random_state=0))


def _logistic(classifier: bool) -> Any:
    from sklearn.linear_model import LogisticRegression

    return _scaled(LogisticRegression(max_iter=100))


def _lasso(classifier: bool) -> Any:
    from sklearn.linear_model import Lasso

    return Lasso(random_state=0, max_iter=1000)


# ----------------------------------------------------------------- spaces
# Bayesmark's tree space (its fractions are logit-scaled; linear here)
_TREE = (
    Param("max_depth", "int", 1, 15),
    Param("min_samples_split", "float", 0.01, 0.5),
    Param("min_samples_leaf", "float", 0.005, 0.25),
    Param("min_weight_fraction_leaf", "float", 0.0, 0.25),
    Param("max_features", "float", 0.05, 1.0),
)
# impurity decrease is in the criterion's units: Gini for a classifier, the
# squared error of the diabetes target (variance about 5,900) for a regressor
_TREE_CLS = (*_TREE, Param("min_impurity_decrease", "float", 0.0, 0.05))
_TREE_REG = (*_TREE, Param("min_impurity_decrease", "float", 0.0, 100.0))

# n_estimators: Bayesmark's 10..100 halved, since each estimator costs about 2 ms
_ADA = (
    Param("n_estimators", "int", 10, 50),
    Param("learning_rate", "float", 1e-4, 10.0, log=True),
)
_KNN = (
    Param("model__n_neighbors", "int", 1, 25),
    Param("model__p", "int", 1, 4),
    Param("model__weights", "cat", choices=("uniform", "distance")),
)
_SVM = (
    Param("model__C", "float", 1e-2, 1e3, log=True),
    Param("model__gamma", "float", 1e-5, 1.0, log=True),
    Param("model__tol", "float", 1e-5, 1e-1, log=True),
)
_SVR = (*_SVM, Param("model__epsilon", "float", 1e-2, 1e2, log=True))
_MLP = (
    Param("model__hidden_layer_sizes", "int", 50, 200),
    Param("model__alpha", "float", 1e-5, 1e1, log=True),
    Param("model__batch_size", "int", 10, 250),
    Param("model__learning_rate_init", "float", 1e-5, 1e-1, log=True),
    Param("model__tol", "float", 1e-5, 1e-1, log=True),
    Param("model__validation_fraction", "float", 0.1, 0.5),
    Param("model__beta_1", "float", 0.5, 0.99),
    Param("model__beta_2", "float", 0.9, 0.9999),
    Param("model__epsilon", "float", 1e-9, 1e-6, log=True),
)
# intercept_scaling matters to liblinear only: a conditional parameter
_LOGISTIC = (
    Param("model__C", "float", 1e-2, 1e2, log=True),
    Param("model__solver", "cat", choices=("lbfgs", "liblinear", "newton-cg", "saga")),
    Param(
        "model__intercept_scaling",
        "float",
        1e-2,
        1e2,
        log=True,
        when={"model__solver": ("liblinear",)},
    ),
)
_LASSO = (
    Param("alpha", "float", 1e-4, 1e1, log=True),
    Param("tol", "float", 1e-5, 1e-1, log=True),
    Param("selection", "cat", choices=("cyclic", "random")),
)

_MODELS: dict[str, tuple[Callable[[bool], Any], tuple[Param, ...], tuple[Param, ...]]] = {
    # model: (estimator factory, classifier space, regressor space)
    "dt": (_tree, _TREE_CLS, _TREE_REG),
    "rf": (_forest, _TREE_CLS, _TREE_REG),
    "ada": (_ada, _ADA, _ADA),
    "knn": (_knn, _KNN, _KNN),
    "svm": (_svm, _SVM, _SVR),
    "mlp": (_mlp, _MLP, _MLP),
    "lr": (_logistic, _LOGISTIC, ()),
    "lasso": (_lasso, (), _LASSO),
}
_TITLES = {
    "dt": "DecisionTree",
    "rf": "RandomForest(10 trees)",
    "ada": "AdaBoost",
    "knn": "StandardScaler + KNN",
    "svm": "StandardScaler + SVM(rbf)",
    "mlp": f"StandardScaler + MLP(adam, early stopping, max_iter={MLP_MAX_ITER})",
    "lr": "StandardScaler + LogisticRegression",
    "lasso": "Lasso",
}
_REGRESSION = {"diabetes"}
_SHORT = {"breast_cancer": "breast"}


def _problem(model: str, dataset: str) -> Problem:
    factory, cls_space, reg_space = _MODELS[model]
    classifier = dataset not in _REGRESSION
    short = _SHORT.get(dataset, dataset)
    name = f"{'svr' if model == 'svm' and not classifier else model}-{short}"
    return Problem(
        name=name,
        title=f"{_TITLES[model]} on {dataset}",
        make_estimator=functools.partial(factory, classifier),
        load_data=functools.partial(_load, dataset),
        params=cls_space if classifier else reg_space,
        scoring="accuracy" if classifier else "neg_mean_squared_error",
        budget=60,
        population=SUITE_POPULATION,
        stratified=classifier,
        model=model,
        dataset=dataset,
        cost=COSTS.get(name, math.nan),
    )


# median seconds per evaluation (one 5-fold CV) of 30 random configurations (measure())
COSTS: dict[str, float] = {
    "dt-breast": 0.031,
    "dt-digits": 0.037,
    "rf-wine": 0.118,
    "ada-iris": 0.418,
    "knn-wine": 0.037,
    "svm-breast": 0.069,
    "mlp-iris": 0.243,
    "lr-breast": 0.094,
    "dt-diabetes": 0.016,
    "rf-diabetes": 0.102,
    "knn-diabetes": 0.050,
    "svr-diabetes": 0.052,
    "lasso-diabetes": 0.013,
}

_PAIRS: Sequence[tuple[str, str]] = (
    ("dt", "breast_cancer"),
    ("dt", "digits"),
    ("rf", "wine"),
    ("ada", "iris"),
    ("knn", "wine"),
    ("svm", "breast_cancer"),
    ("mlp", "iris"),
    ("lr", "breast_cancer"),
    ("dt", "diabetes"),
    ("rf", "diabetes"),
    ("knn", "diabetes"),
    ("svm", "diabetes"),
    ("lasso", "diabetes"),
)
# measured and left out: see the module docstring


PROBLEMS: dict[str, Problem] = {p.name: p for p in (_problem(m, d) for m, d in _PAIRS)}


def get_problem(name: str) -> Problem:
    """The suite problem called ``name`` (e.g. ``"dt-digits"``)."""
    try:
        return PROBLEMS[name]
    except KeyError:
        raise ValueError(f"unknown problem {name!r}; the problems are {sorted(PROBLEMS)}") from None


def measure(names: Sequence[str] = (), n: int = 30, seed: int = 0) -> dict[str, float]:
    """Median seconds per evaluation (one cross-validation) of ``n`` random configurations.

    Runs ``RandomizedSearchCV(n_iter=n, n_jobs=1)`` on each problem and
    prints the median, the maximum and the wall time per evaluation.
    """
    from sklearn.model_selection import RandomizedSearchCV

    from benchmarks.peers import sklearn_distributions

    out = {}
    for name in names or list(PROBLEMS):
        problem = get_problem(name)
        X, y = problem.load_data()
        start = time.perf_counter()
        search = RandomizedSearchCV(
            problem.make_estimator(),
            sklearn_distributions(problem),
            n_iter=n,
            scoring=problem.scoring,
            cv=problem.cv(),
            random_state=seed,
            refit=False,
            error_score=np.nan,
        ).fit(X, y)
        wall = (time.perf_counter() - start) / n
        res = search.cv_results_
        costs = (res["mean_fit_time"] + res["mean_score_time"]) * problem.folds
        out[name] = float(np.median(costs))
        print(
            f"{name:16} median {np.median(costs):.3f} s/eval, max {np.max(costs):.3f}, "
            f"wall {wall:.3f} s/eval, best {np.nanmax(res['mean_test_score']):.5g}",
            flush=True,
        )
    return out


if __name__ == "__main__":
    import sys
    import warnings

    warnings.filterwarnings("ignore")
    measure(sys.argv[1:])
