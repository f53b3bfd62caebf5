"""Text from a run directory made safe for a terminal (see :mod:`evotune._figures._text`)."""

from evotune._figures._text import printable

__all__ = ["printable"]
