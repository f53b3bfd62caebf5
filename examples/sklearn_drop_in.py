"""scikit-learn's own RandomizedSearchCV example, with one name changed.

The example of RandomizedSearchCV's documentation, as it is, except that
``RandomizedSearchCV`` became ``EvolutionarySearchCV`` (and ``penalty``, which
scikit-learn 1.8 deprecated, became ``l1_ratio``):

    python examples/sklearn_drop_in.py
"""

from scipy.stats import uniform
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from evotune import (
    EvolutionarySearchCV,
)  # was: from sklearn.model_selection import RandomizedSearchCV

iris = load_iris()
logistic = LogisticRegression(solver="saga", tol=1e-2, max_iter=200, random_state=0)
distributions = dict(C=uniform(loc=0, scale=4), l1_ratio=[0.0, 1.0])
clf = EvolutionarySearchCV(logistic, distributions, random_state=0)
search = clf.fit(iris.data, iris.target)
print("best", search.best_params_, round(search.best_score_, 4))
print(
    f"{len(search.cv_results_['params'])} candidates, "
    f"{int((search.history_['status'] != 'ok').sum())} failed"
)
