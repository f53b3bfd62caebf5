"""Track a run with Weights & Biases: one W&B run for the evolution.

The run's config holds the search settings and the space, its history one row
per generation (step = generation), its summary the best parameters and score,
and at the end the history table, the report's plots and the run directory
(an artifact). It runs offline here, so it needs no account and no network:
the files go to ``./wandb/``, and ``wandb sync <folder>`` uploads them later.
Drop ``mode="offline"`` to log straight to your W&B account (after
``wandb login``). Needs ``pip install ".[wandb]"``.

    python examples/wandb_tracking.py
"""

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from evotune import Categorical, CrossValScore, Float, WandbCallback, evolve

X, y = load_breast_cancer(return_X_y=True)
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=0))
space = {
    "logisticregression__C": Float(1e-3, 1e2, log=True),
    "logisticregression__class_weight": Categorical([None, "balanced"]),
}

tracker = WandbCallback(project="evotune-examples", name="breast-cancer", mode="offline")
result = evolve(
    CrossValScore(model, X, y, cv=5, scoring="roc_auc"),
    space,
    population_size=8,
    generations=4,
    random_state=0,
    checkpoint="runs/wandb_tracking",
    callbacks=[tracker],
)
print(f"best roc_auc {result.best_score:.4f} with {result.best_params}")
print(f"W&B run {tracker.run_id} written to {tracker.sync_dir}")
print(f"upload it with: wandb sync {tracker.sync_dir}")
