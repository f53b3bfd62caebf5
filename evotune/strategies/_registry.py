"""The registry of strategy names: ``name -> "module:Class"``.

It imports nothing, so :mod:`evotune.settings` can check a name against it
and the strategy modules can import the settings without a cycle. Adding a
strategy is its module plus one line here.
"""

from __future__ import annotations

REGISTRY: dict[str, str] = {
    "ga": "evotune.strategies.ga:GA",
    "mu_plus_lambda": "evotune.strategies.mu_plus_lambda:MuPlusLambda",
    "mu_comma_lambda": "evotune.strategies.mu_comma_lambda:MuCommaLambda",
    "steady_state": "evotune.strategies.steady_state:SteadyState",
    "nsga2": "evotune.strategies.nsga2:NSGA2",
    "random": "evotune.strategies.random_search:RandomSearch",
    "grid": "evotune.strategies.grid:GridSearch",
    "model_based": "evotune.strategies.model_based:ModelBased",
    "hyperband": "evotune.strategies.hyperband:Hyperband",
    "pbt": "evotune.strategies.pbt:PBT",
}

#: the names ``strategy=`` takes
STRATEGY_NAMES: tuple[str, ...] = tuple(REGISTRY)
