"""How busy the workers were (see :mod:`evotune._figures._timeline`)."""

from evotune._figures._timeline import Timeline, worker_timeline

__all__ = ["Timeline", "worker_timeline"]
