"""What one ``evotune.report_step`` call costs (issue 16: under 20 µs).

Outside a run (it does nothing), and inside a task with bounds at every step
(the check a pruning rule makes); the median of 7 runs of 200,000 calls.

    python -m benchmarks.report_step_cost
"""

from __future__ import annotations

import statistics
import time

from evotune.pruning import _LOCAL, Bounds, _Reporter, report_step

CALLS = 200_000


def _per_call() -> float:
    start = time.perf_counter()
    for step in range(CALLS):
        report_step(step, 0.5)
    return (time.perf_counter() - start) / CALLS * 1e6


def main() -> None:
    outside = statistics.median(_per_call() for _ in range(7))
    runs = []
    for _ in range(7):
        _LOCAL.reporter = _Reporter(Bounds(1.0, dict.fromkeys(range(CALLS), 0.1)))
        runs.append(_per_call())
    _LOCAL.reporter = None
    print(f"report_step outside a run: {outside:.2f} µs a call")
    print(f"report_step under a rule (a bound at every step): {statistics.median(runs):.2f} µs")


if __name__ == "__main__":
    main()
