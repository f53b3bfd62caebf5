"""Tune a small neural network that stops early by itself.

MLPClassifier(early_stopping=True) holds out part of each training fold and
stops when its validation score stalls, so a bad learning rate costs little;
the search tunes the architecture, the L2 penalty and the learning rate.

    python examples/neural_network.py
"""

from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from evotune import Categorical, EvolutionarySearchCV, Float

X, y = load_digits(return_X_y=True)
model = make_pipeline(
    StandardScaler(),
    MLPClassifier(early_stopping=True, max_iter=60, n_iter_no_change=5, random_state=0),
)
space = {
    "mlpclassifier__hidden_layer_sizes": Categorical([(32,), (64,), (32, 32)]),
    "mlpclassifier__alpha": Float(1e-6, 1e-1, log=True),
    "mlpclassifier__learning_rate_init": Float(1e-4, 1e-1, log=True),
}
search = EvolutionarySearchCV(
    model, space, cv=3, population_size=6, generations=2, n_jobs=-1, random_state=0
)
search.fit(X, y)
print(f"best accuracy {search.best_score_:.4f} with {search.best_params_}")
