"""Tune an SVM pipeline on the breast-cancer data: the README's example.

python examples/quickstart.py
"""

from sklearn.datasets import load_breast_cancer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from evotune import Categorical, CrossValScore, Float, Integer, Space, evolve


def main() -> None:
    X, y = load_breast_cancer(return_X_y=True)
    space = Space(
        {
            "svc__C": Float(1e-3, 1e3, log=True),
            "svc__gamma": Float(1e-5, 1e1, log=True),
            "svc__kernel": Categorical(["rbf", "poly"]),
            "svc__degree": Integer(2, 5, when={"svc__kernel": "poly"}),
        }
    )
    objective = CrossValScore(
        make_pipeline(StandardScaler(), SVC(random_state=0)), X, y, cv=3, scoring="f1"
    )
    result = evolve(objective, space, population_size=12, generations=6, random_state=0)

    print(f"best f1 {result.best_score:.4f} with {result.best_params}")
    print(result.hall_of_fame[["rank", "mean_score", "std_score"]].head())
    print(result.logbook[["generation", "evaluations", "best", "mean"]])


if __name__ == "__main__":
    main()
