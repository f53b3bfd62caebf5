"""Tune something that is not a scikit-learn model: any callable(params) -> float.

Here a toy physics problem: choose a projectile's launch angle, speed, shape
and drag model so it lands as close as possible to a target 120 m away, with a
discrete number of simulation steps. Lower is better, so direction="minimize".

    python examples/custom_objective.py
"""

import math

from evotune import Categorical, Float, Integer, Space, evolve

TARGET = 120.0
DRAG = {"sphere": 0.47, "cube": 1.05, "teardrop": 0.04}


def miss_distance(p: dict) -> float:
    """Metres between where the projectile lands and the target."""
    angle = math.radians(p["angle"])
    vx, vy = p["speed"] * math.cos(angle), p["speed"] * math.sin(angle)
    x = y = 0.0
    dt = 10.0 / p["steps"]
    k = 0.002 * DRAG[p["shape"]] * (1.0 if p["air"] else 0.0)
    for _ in range(p["steps"]):
        v = math.hypot(vx, vy)
        vx -= k * v * vx * dt
        vy -= (9.81 + k * v * vy) * dt
        x, y = x + vx * dt, y + vy * dt
        if y < 0:
            break
    return abs(x - TARGET)


space = Space(
    {
        "angle": Float(5.0, 85.0),
        "speed": Float(10.0, 60.0),
        "shape": Categorical(list(DRAG)),
        "air": Categorical([True, False]),
        "steps": Integer(50, 2000, log=True),
    }
)
result = evolve(
    miss_distance,
    space,
    population_size=20,
    generations=10,
    direction="minimize",
    random_state=0,
)
print(f"best miss {result.best_score:.3f} m with {result.best_params}")
print(result.logbook[["generation", "evaluations", "best", "mean"]].to_string(index=False))
