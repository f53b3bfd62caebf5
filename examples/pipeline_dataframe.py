"""Tune a Pipeline with a ColumnTransformer on a pandas DataFrame.

Categorical columns are one-hot encoded, numeric ones scaled; the search
tunes the model and a preprocessing choice together, then the refit model
predicts on new rows (with a category it never saw).

    python examples/pipeline_dataframe.py
"""

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from evotune import Categorical, EvolutionarySearchCV, Float, Integer, Space

rng = np.random.default_rng(0)
n = 600
data = pd.DataFrame(
    {
        "city": rng.choice(["paris", "lyon", "nice", "lille"], n),
        "plan": rng.choice(["basic", "plus", "pro"], n),
        "age": rng.integers(18, 80, n),
        "spend": rng.gamma(2.0, 30.0, n),
    }
)
churn = ((data["plan"] == "basic") & (data["spend"] < 50)) | (data["age"] > 70)
y = (churn ^ (rng.random(n) < 0.05)).astype(int).to_numpy()

preprocess = ColumnTransformer(
    [
        ("categories", OneHotEncoder(handle_unknown="ignore"), ["city", "plan"]),
        ("numbers", StandardScaler(), ["age", "spend"]),
    ]
)
model = Pipeline(
    [("preprocess", preprocess), ("clf", HistGradientBoostingClassifier(random_state=0))]
)
space = Space(
    {
        "clf__learning_rate": Float(0.01, 1.0, log=True),
        "clf__max_leaf_nodes": Integer(4, 64, log=True),
        "clf__max_iter": Integer(20, 100),
        "preprocess__numbers__with_mean": Categorical([True, False]),
    }
)
search = EvolutionarySearchCV(
    model, space, cv=3, population_size=8, generations=3, n_jobs=-1, random_state=0
)
search.fit(data, y)
print(f"best accuracy {search.best_score_:.4f} with {search.best_params_}")

new_customers = pd.DataFrame(
    {
        "city": ["paris", "marseille"],
        "plan": ["basic", "pro"],
        "age": [30, 75],
        "spend": [20.0, 300.0],
    }
)
print("predictions for new customers:", search.predict(new_customers).tolist())
