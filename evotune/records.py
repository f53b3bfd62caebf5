"""Placeholder: re-exports (replaced by the records module)."""

from evotune.evaluation import Candidate, Evaluation, FoldResult, Task

__all__ = ["Candidate", "Evaluation", "FoldResult", "Task"]
