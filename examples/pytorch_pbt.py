"""Population-based training of a PyTorch network: its learning rate and
momentum change while it trains.

A Trainable builds the network and its optimizer in ``setup``, trains a
segment of two epochs in ``step``, and saves and loads the weights and the
optimizer's state. After a checkpoint is loaded, ``reset_config`` puts the
(perturbed) learning rate and momentum into the optimizer, whose saved state
holds the old ones. ``pbt_sgd.py`` is the same with scikit-learn.

Needs PyTorch (``pip install torch``).

    python examples/pytorch_pbt.py
"""

try:
    import torch
except ImportError:
    raise SystemExit("this example needs PyTorch: pip install torch") from None

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from evotune import Float, evolve
from evotune.strategies import PBT

X, y = load_digits(return_X_y=True)
X_train, X_val, y_train, y_val = (
    torch.tensor(a, dtype=torch.float32 if a.dtype.kind == "f" else torch.long)
    for a in train_test_split(X / 16.0, y, test_size=0.3, random_state=0)
)


class DigitsNet:
    def setup(self, params, seed):
        torch.manual_seed(seed)
        self.model = torch.nn.Sequential(
            torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10)
        )
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=1.0)
        self.reset_config(params)

    def reset_config(self, params):
        for group in self.optimizer.param_groups:
            group["lr"], group["momentum"] = params["lr"], params["momentum"]

    def step(self):
        for _ in range(2):
            for batch in torch.randperm(len(X_train)).split(64):
                self.optimizer.zero_grad()
                out = self.model(X_train[batch])
                torch.nn.functional.cross_entropy(out, y_train[batch]).backward()
                self.optimizer.step()
        with torch.no_grad():
            return (self.model(X_val).argmax(1) == y_val).float().mean().item()

    def save_checkpoint(self, path):
        torch.save({"model": self.model.state_dict(), "opt": self.optimizer.state_dict()}, path)

    def load_checkpoint(self, path):
        state = torch.load(path)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["opt"])


if __name__ == "__main__":
    space = {"lr": Float(1e-4, 1.0, log=True), "momentum": Float(0.0, 0.99)}
    result = evolve(
        DigitsNet, space, strategy=PBT(), population_size=8, generations=8, random_state=0
    )
    print(f"best validation accuracy {result.best_score:.4f} with {result.best_params}")
    print("the winner's schedule:", [round(p["lr"], 4) for p in result.best_schedule])
