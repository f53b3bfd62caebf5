"""Choosing the estimator itself: an SVM or a random forest, each with its own parameters.

A ``Categorical`` of estimator instances replaces the pipeline's ``clf`` step;
each sub-parameter exists only ``when`` its estimator is the one chosen
(the condition names the same instance). About 20 s on 2 cores::

    python examples/choose_estimator.py
"""

from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from evotune import Categorical, EvolutionarySearchCV, Float, Integer, Space

X, y = load_breast_cancer(return_X_y=True)
svc = SVC(random_state=0)
forest = RandomForestClassifier(n_estimators=50, random_state=0)
space = Space(
    {
        "clf": Categorical([svc, forest]),
        "clf__C": Float(1e-2, 1e3, log=True, when={"clf": svc}),
        "clf__gamma": Float(1e-5, 1e-1, log=True, when={"clf": svc}),
        "clf__max_depth": Integer(2, 16, when={"clf": forest}),
        "clf__min_samples_leaf": Integer(1, 10, when={"clf": forest}),
    }
)
pipeline = Pipeline([("scale", StandardScaler()), ("clf", svc)])
search = EvolutionarySearchCV(pipeline, space, n_iter=16, cv=3, random_state=0)
search.fit(X, y)

print("best", search.best_params_, round(search.best_score_, 4))
for name, group in search.history_.groupby(search.history_["param_clf"].astype(str)):
    print(f"{len(group):2d} candidates {name}: best {group['mean_score'].max():.4f}")
