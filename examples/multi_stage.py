"""Multi-stage tuning: a broad random stage, then evolution from its best.

Stage 1 samples the space widely (one large generation, Latin hypercube) and
journals it; stage 2 is a genetic search seeded with stage 1's best
candidates (a warm start from the run directory's journal), with a smaller
population that refines them.

    python examples/multi_stage.py
"""

import tempfile
from pathlib import Path

from sklearn.datasets import load_breast_cancer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from evotune import CrossValScore, Float, Space, evolve

X, y = load_breast_cancer(return_X_y=True)
objective = CrossValScore(make_pipeline(StandardScaler(), SVC(random_state=0)), X, y, cv=3)
space = Space({"svc__C": Float(1e-3, 1e3, log=True), "svc__gamma": Float(1e-5, 1e1, log=True)})

runs = Path(tempfile.mkdtemp(prefix="evotune-stages-"))
broad = evolve(
    objective, space, population_size=30, generations=1, random_state=0, checkpoint=runs / "stage1"
)
print(f"stage 1 (broad random): best {broad.best_score:.4f} of {broad.n_evaluations}")

refined = evolve(
    objective,
    space,
    population_size=8,
    generations=4,
    random_state=1,
    initial_population=runs / "stage1",
)  # its best, as generation 0
print(f"stage 2 (seeded GA): best {refined.best_score:.4f} with {refined.best_params}")
print(refined.history["origin"].value_counts().to_string())
