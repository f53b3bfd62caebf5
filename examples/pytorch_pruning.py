"""Prune a PyTorch training loop: report each epoch, let evotune stop the hopeless.

The objective trains a small network on digits and calls
``report_step(epoch, accuracy)`` after each epoch. With ``prune=MedianPruner()``
a candidate whose accuracy falls below the median of the earlier candidates at
the same epoch is stopped there (``report_step`` raises ``evotune.Pruned``;
let it through). With ``strategy=Hyperband(max_resource=EPOCHS)`` most
candidates train a few epochs and only the best train all of them.
``pruning_mlp.py`` is the same with scikit-learn's MLPClassifier.

Needs PyTorch (``pip install torch``).

    python examples/pytorch_pruning.py
"""

try:
    import torch
except ImportError:
    raise SystemExit("this example needs PyTorch: pip install torch") from None

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from evotune import Float, Integer, MedianPruner, evolve, report_step
from evotune.strategies import Hyperband

EPOCHS = 20
X, y = load_digits(return_X_y=True)
X_train, X_val, y_train, y_val = (
    torch.tensor(a, dtype=torch.float32 if a.dtype.kind == "f" else torch.long)
    for a in train_test_split(X / 16.0, y, test_size=0.3, random_state=0)
)


def train(params):
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, params["hidden"]),
        torch.nn.ReLU(),
        torch.nn.Linear(params["hidden"], 10),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=params["lr"], momentum=0.9)
    accuracy = 0.0
    for epoch in range(EPOCHS):
        for batch in torch.randperm(len(X_train)).split(64):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(X_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            accuracy = (model(X_val).argmax(1) == y_val).float().mean().item()
        report_step(epoch, accuracy)  # may raise evotune.Pruned: let it through
    return accuracy


if __name__ == "__main__":
    space = {"hidden": Integer(8, 128), "lr": Float(1e-4, 1.0, log=True)}
    runs = {
        "MedianPruner": {"prune": MedianPruner(), "generations": 5},
        "Hyperband": {"strategy": Hyperband(max_resource=EPOCHS), "max_evaluations": 40},
    }
    for name, how in runs.items():
        result = evolve(
            train, space, population_size=8, random_state=0, **{"generations": 100, **how}
        )
        epochs = sum(len(r) for e in result.evaluations for r in e.reports)
        print(
            f"{name}: {epochs} epochs, best accuracy {result.best_score:.4f} {result.best_params}"
        )
