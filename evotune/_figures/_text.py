"""Text from a run directory made safe for a terminal.

A journal is data from whoever wrote it: an error message, a status, a stop
reason or a parameter name may hold an ANSI escape sequence (which recolours,
moves the cursor, retitles the window or worse), a carriage return (which
overwrites what was printed before it) or a bidirectional override (which
reorders it). The report prints them escaped, as Python writes them in a
string literal, so what is on the screen is what is in the file.
"""

from __future__ import annotations

import re

# C0 controls but newline, DEL, C1 controls; the Unicode line and paragraph
# separators; the bidirectional marks, embeddings, overrides and isolates
_UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_UNSAFE_OR_NEWLINE = re.compile(f"[\n{_UNSAFE.pattern[1:-1]}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str, *, newlines: bool = False) -> str:
    """``text`` with every control character escaped (``"\\x1b"``, ``"\\r"``
    as ``"\\x0d"``, ...); newlines are kept only with ``newlines=True``.

    Parameters
    ----------
    text : str
    newlines : bool, default=False
        Keep ``"\\n"`` (for text laid out in lines).

    Returns
    -------
    str

    Examples
    --------
    >>> printable("\\x1b[31mred\\x1b[0m\\r")
    '\\\\x1b[31mred\\\\x1b[0m\\\\x0d'
    >>> printable("a\\nb", newlines=True), printable("a\\nb")
    ('a\\nb', 'a\\\\x0ab')
    """
    pattern = _UNSAFE if newlines else _UNSAFE_OR_NEWLINE
    return pattern.sub(_escape, str(text))
