"""Population-based training: the learning rate changes while the model trains.

A Trainable trains ``SGDClassifier`` on digits a few epochs at a time
(``partial_fit``) and keeps its model in a checkpoint. Each generation trains
every member of the population one segment further; then the worst quarter
copy the model and parameters of a member of the best quarter and perturb
them. The winner's parameters over its training, ``best_schedule``, show the
schedule PBT found. (``pytorch_pbt.py`` is the same with a PyTorch model.)

    python examples/pbt_sgd.py
"""

import pickle
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split

from evotune import Float, evolve
from evotune.strategies import PBT

X, y = load_digits(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(X / 16.0, y, test_size=0.3, random_state=0)


class DigitsSGD:
    """One training of a linear model by SGD, continued segment by segment."""

    def setup(self, params, seed):
        self.model = SGDClassifier(
            loss="log_loss", learning_rate="constant", random_state=seed, **params
        )

    def reset_config(self, params):
        # after a checkpoint is loaded: the (perturbed) parameters take over
        self.model.set_params(**params)

    def step(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(3):  # three epochs a segment
                self.model.partial_fit(X_train, y_train, classes=np.arange(10))
        return self.model.score(X_val, y_val)

    def save_checkpoint(self, path):
        with open(path, "wb") as f:
            pickle.dump(self.model, f)

    def load_checkpoint(self, path):
        with open(path, "rb") as f:
            self.model = pickle.load(f)


if __name__ == "__main__":
    space = {"eta0": Float(1e-4, 1.0, log=True), "alpha": Float(1e-6, 1e-2, log=True)}
    result = evolve(
        DigitsSGD, space, strategy=PBT(), population_size=8, generations=10, random_state=0
    )
    print(f"best validation accuracy {result.best_score:.4f} with {result.best_params}")
    print("the winner's learning rate, segment by segment:")
    print("  " + ", ".join(f"{p['eta0']:.3g}" for p in result.best_schedule))
