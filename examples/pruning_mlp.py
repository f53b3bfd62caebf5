"""Stop hopeless trainings early: pruning and Hyperband on a neural network.

``max_steps=20`` trains each MLPClassifier epoch by epoch (``partial_fit``)
and reports each fold's validation accuracy after every epoch, so that a
pruning rule can stop a candidate that falls behind, and Hyperband can
train most candidates for a few epochs and only the best for all 20. The
same search runs three ways; compare the epochs each trained.
(``pytorch_pruning.py`` is the same with a PyTorch training loop.)

    python examples/pruning_mlp.py
"""

import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from evotune import EvolutionarySearchCV, Float, Integer, MedianPruner

warnings.simplefilter("ignore", ConvergenceWarning)
X, y = load_digits(return_X_y=True)
X = X / 16.0
space = {
    "hidden_layer_sizes": Integer(8, 64),
    "alpha": Float(1e-6, 1e-1, log=True),
    "learning_rate_init": Float(1e-4, 1e-1, log=True),
}
runs = {
    "no pruning": {},
    "MedianPruner": {"prune": MedianPruner()},
    "Hyperband": {"strategy": "hyperband", "generations": 100, "n_iter": 48},
}
for name, how in runs.items():
    search = EvolutionarySearchCV(
        MLPClassifier(random_state=0),
        space,
        cv=3,
        max_steps=20,
        population_size=8,
        generations=how.pop("generations", 6),
        random_state=0,
        **how,
    )
    search.fit(X, y)
    epochs = sum(len(r) for e in search.result_.evaluations for r in e.reports)
    print(
        f"{name:>13}: {epochs:5d} epochs trained, "
        f"best accuracy {search.best_score_:.4f} with {search.best_params_}"
    )
