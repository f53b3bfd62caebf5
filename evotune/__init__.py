"""evotune: evolutionary hyperparameter tuning.

Examples
--------
>>> from evotune import Float, evolve
>>> res = evolve(lambda p: -(p["x"] - 1) ** 2, {"x": Float(-3, 3)},
...              population_size=6, generations=4, random_state=0)
>>> abs(res.best_params["x"] - 1) < 0.5
True
"""

from evotune.backends import Backend, SerialBackend
from evotune.engine import AllFailedError, Evolution, GenerationState, evolve
from evotune.evaluation import Candidate, Evaluation, Evaluator, FoldResult, FunctionObjective
from evotune.objective import CrossValScore
from evotune.result import Result
from evotune.space import Categorical, Float, Integer, Parameter, Space

__version__ = "0.1.0"

__all__ = [
    "AllFailedError",
    "Backend",
    "Candidate",
    "Categorical",
    "CrossValScore",
    "Evaluation",
    "Evaluator",
    "Evolution",
    "Float",
    "FoldResult",
    "FunctionObjective",
    "GenerationState",
    "Integer",
    "Parameter",
    "Result",
    "SerialBackend",
    "Space",
    "__version__",
    "evolve",
]
