"""Accuracy against fit time: a Pareto front of gradient-boosting models.

Benchmark case C2 (HistGradientBoostingClassifier on the digits, 3-fold
shuffled stratified CV) searched for two objectives at once by NSGA-II. The front holds
the candidates no other candidate beats on both accuracy and fit time; the
run directory's report draws it (runs/multi_objective/report/pareto.png).
"""

from sklearn.datasets import load_digits
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold

from evotune import CrossValScore, Float, Integer, evolve
from evotune.report import load_run, write_plots

if __name__ == "__main__":
    X, y = load_digits(return_X_y=True)
    objective = CrossValScore(
        HistGradientBoostingClassifier(random_state=0),
        X,
        y,
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        scoring="accuracy",
    )
    space = {
        "learning_rate": Float(1e-3, 1.0, log=True),
        "max_leaf_nodes": Integer(8, 128),
        "min_samples_leaf": Integer(1, 64),
        "l2_regularization": Float(1e-6, 10.0, log=True),
        "max_iter": Integer(20, 100),
    }
    result = evolve(
        objective,
        space,
        population_size=10,
        generations=4,
        strategy="nsga2",  # several objectives: NSGA-II (not the default, "model_based")
        objectives={"score": "maximize", "fit_time": "minimize"},
        n_jobs=-1,
        random_state=0,
        checkpoint="runs/multi_objective",
    )
    front = result.pareto_front
    print(f"Pareto front: {len(front)} of {len(result.history)} candidates")
    columns = ["param_max_iter", "param_max_leaf_nodes", "objective_score", "objective_fit_time"]
    print(front[columns])
    plots = write_plots(load_run("runs/multi_objective"))
    print("wrote", ", ".join(str(p) for p in plots))
    print(f"best accuracy {result.best_score:.4f} with {result.best_params}")
