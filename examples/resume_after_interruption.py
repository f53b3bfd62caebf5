"""Resume a run after an interruption and end exactly where it would have.

The first attempt is cut short after two generations (here by a callback
that raises KeyboardInterrupt, as Ctrl-C would); the second call with
resume=True replays the journal, runs only what is missing, and its history
equals that of a run left alone.

    python examples/resume_after_interruption.py
"""

import tempfile
from pathlib import Path

from sklearn.datasets import load_wine
from sklearn.ensemble import RandomForestClassifier

from evotune import CrossValScore, Float, Integer, Space, evolve

X, y = load_wine(return_X_y=True)
objective = CrossValScore(RandomForestClassifier(random_state=0), X, y, cv=3)
space = Space({"n_estimators": Integer(10, 60), "max_features": Float(0.1, 1.0)})
settings = dict(population_size=6, generations=4, random_state=0)
run = Path(tempfile.mkdtemp(prefix="evotune-resume-")) / "run"


def interrupt_after_two(state):
    if state.generation == 1:
        raise KeyboardInterrupt


try:
    evolve(objective, space, checkpoint=run, callbacks=[interrupt_after_two], **settings)
except KeyboardInterrupt:
    print("interrupted after generation 1; the journal keeps every finished fold")

resumed = evolve(objective, space, checkpoint=run, resume=True, **settings)
alone = evolve(objective, space, **settings)
same = resumed.history.drop(columns=["fit_time", "score_time"]).equals(
    alone.history.drop(columns=["fit_time", "score_time"])
)
print(f"best {resumed.best_score:.4f} with {resumed.best_params}")
print(f"resumed history equals the uninterrupted one: {same}")
