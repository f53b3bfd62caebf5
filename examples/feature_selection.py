"""Genetic feature selection: keep the columns that carry the signal.

A classification problem with 100 columns, of which only the first 20 are
informative (scikit-learn's ``make_classification`` with ``shuffle=False``);
the other 80 are noise, which blurs the distances of an RBF SVC on scaled
data. ``EvolutionaryFeatureSelector`` evolves a mask of at most 20 columns and
the SVC's ``C`` in one genome, scores each candidate by 5-fold
cross-validation, and refits the best on all the data.
"""

from sklearn.datasets import make_classification
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from evotune import EvolutionaryFeatureSelector, Float

X, y = make_classification(
    n_samples=300, n_features=100, n_informative=20, n_redundant=0, shuffle=False, random_state=0
)
model = make_pipeline(StandardScaler(), SVC(random_state=0))
cv = StratifiedKFold(5, shuffle=True, random_state=0)

selector = EvolutionaryFeatureSelector(
    model,
    cv=cv,
    max_features=20,
    param_distributions={"svc__C": Float(0.1, 100, log=True)},
    population_size=30,
    generations=25,
    n_jobs=-1,
    random_state=0,
    strategy="ga",  # genetic: crossover and mutation of the masks (the default is model_based)
)
selector.fit(X, y)

kept = selector.get_support(indices=True)
full = cross_val_score(model, X, y, cv=cv).mean()
print(f"{len(selector.history_)} candidates evaluated")
print(f"kept {len(kept)} of 100 columns: {kept.tolist()}")
print(f"{int((kept < 20).sum())} of them are among the 20 informative ones")
print(f"best CV accuracy {selector.best_score_:.3f} with {selector.best_params_}")
print(f"all 100 columns, default C: {full:.3f}")
print("the refitted model:", selector.estimator_)
