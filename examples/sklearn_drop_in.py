"""scikit-learn's own RandomizedSearchCV example, with one name changed.

The example of ``RandomizedSearchCV``'s docstring (scikit-learn 1.9), as it is,
except that ``RandomizedSearchCV`` became ``EvolutionarySearchCV``; then the
same search spelled with ``RandomizedSearchCV``'s keyword arguments
(``param_distributions=``, ``n_iter=``, ...), the spelling of its user guide.
``n_iter`` is the number of candidates evaluated, exactly (10 by default, as
in scikit-learn)::

    python examples/sklearn_drop_in.py
"""

from scipy.stats import uniform
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

# was: from sklearn.model_selection import RandomizedSearchCV
from evotune import EvolutionarySearchCV

# scikit-learn's docstring example -------------------------------------------
iris = load_iris()
logistic = LogisticRegression(solver="saga", tol=1e-2, max_iter=200, random_state=0)
distributions = dict(C=uniform(loc=0, scale=4), l1_ratio=[0, 1])
clf = EvolutionarySearchCV(logistic, distributions, random_state=0)
search = clf.fit(iris.data, iris.target)
print("best", search.best_params_, round(search.best_score_, 4))
print(f"{len(search.cv_results_['params'])} candidates (n_iter's default, 10)")

# the same search with RandomizedSearchCV's keyword arguments -----------------
n_iter = 20
clf = EvolutionarySearchCV(
    estimator=logistic,
    param_distributions=distributions,
    n_iter=n_iter,
    scoring="accuracy",
    n_jobs=None,
    refit=True,
    cv=5,
    verbose=0,
    pre_dispatch="2*n_jobs",
    random_state=0,
    error_score="raise",
    return_train_score=True,
)
search = clf.fit(iris.data, iris.target)
print("best", search.best_params_, round(search.best_score_, 4))
print(f"{len(search.cv_results_['params'])} candidates (n_iter={n_iter})")
