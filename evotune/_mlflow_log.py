"""Logging to MLflow within its limits: values and keys it accepts, in batches it
takes, to a tracking server checked to answer before a run starts.

:class:`~evotune.mlflow.MLflowCallback` builds its parameters, tags and metrics
here: a value past MLflow's length limit is cut with a note of its length, a
key loses the characters MLflow refuses, a metric without a finite number is
left out, and a ``log_batch`` is sent in pieces MLflow accepts. MLflow itself
is imported only when an entity is built.
"""

from __future__ import annotations

import math
import numbers
import os
import posixpath
import re
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from evotune._tracking import as_finite

# MLflow's own limits, where the installed MLflow does not say (older
# releases allowed 500 characters per parameter value)
DEFAULT_PARAM_LENGTH = 500
DEFAULT_TAG_LENGTH = 5000
_KEY_LENGTH = 250
_BATCH_PARAMS = 100
_BATCH_TAGS = 100
_BATCH_METRICS = 1000


def mlflow_limit(name: str, default: int) -> int:
    """One of the limits of the installed MLflow (``mlflow.utils.validation``)."""
    try:
        from mlflow.utils import validation
    except ImportError:  # pragma: no cover - a very old or unusual MLflow
        return default
    value = getattr(validation, name, default)
    return value if isinstance(value, int) and value > 0 else default


def _truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with a note of its real length."""
    if len(text) <= limit:
        return text
    note = f"... [truncated by evotune: {len(text)} characters]"
    return text[: max(0, limit - len(note))] + note


_BAD_KEY = re.compile(r"[^/\w.\- ]")


def _key(name: Any) -> str:
    """``name`` as a valid MLflow key: letters, digits, ``_-. /`` only, at most
    250 characters, and no path that resolves to another name."""
    key = _BAD_KEY.sub("_", str(name)) or "_"
    if posixpath.normpath(key) != key or key.startswith(("/", ".")):
        key = key.replace("/", "_").replace(".", "_")
    return key[:_KEY_LENGTH]


def _value(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def tag_dict(values: Mapping[str, Any], length: int) -> dict[str, str]:
    """Tags as ``create_run`` takes them: valid keys, values cut to ``length``."""
    return {_key(k): _truncate(_value(v), length) for k, v in values.items()}


def param_entities(values: Mapping[str, Any], length: int) -> list[Any]:
    """MLflow ``Param`` entities: valid keys, values cut to ``length``."""
    from mlflow.entities import Param

    return [Param(_key(k), _truncate(_value(v), length)) for k, v in values.items()]


def tag_entities(values: Mapping[str, Any], length: int) -> list[Any]:
    """MLflow ``RunTag`` entities: valid keys, values cut to ``length``."""
    from mlflow.entities import RunTag

    return [RunTag(_key(k), _truncate(_value(v), length)) for k, v in values.items()]


def metric_entities(values: Mapping[str, Any], step: int = 0) -> list[Any]:
    """MLflow ``Metric`` entities at ``step``, timed now; a value that is not a
    finite number is left out."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    out = []
    for k, v in values.items():
        number = as_finite(v)
        if number is not None:
            out.append(Metric(_key(k), number, now, step))
    return out


def log_batch(
    client: Any,
    run_id: str,
    *,
    metrics: list[Any] | None = None,
    params: list[Any] | None = None,
    tags: list[Any] | None = None,
) -> None:
    """``client.log_batch`` in pieces within MLflow's limits per request."""
    for piece in _chunks(params or [], _BATCH_PARAMS):
        client.log_batch(run_id, params=piece)
    for piece in _chunks(tags or [], _BATCH_TAGS):
        client.log_batch(run_id, tags=piece)
    for piece in _chunks(metrics or [], _BATCH_METRICS):
        client.log_batch(run_id, metrics=piece)


DEFAULT_CONNECT_TIMEOUT = 5.0


def resolved_uri(uri: str | os.PathLike[str] | None, mlflow: Any) -> str:
    """The tracking URI to use: MLflow's default for None, a path as a ``file:`` URI."""
    if uri is None:
        return str(mlflow.get_tracking_uri())
    if isinstance(uri, str):
        return uri
    return Path(uri).resolve().as_uri()


def check_connect_timeout(value: Any) -> float | None:
    """``connect_timeout`` as a float (seconds), or None; anything else is an error."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            "MLflowCallback: 'connect_timeout' must be a positive number of seconds or None "
            f"(no check), got {value!r}"
        )
    if not (math.isfinite(float(value)) and float(value) > 0):
        raise ValueError(
            "MLflowCallback: 'connect_timeout' must be a positive number of seconds or None "
            f"(no check), got {value!r}"
        )
    return float(value)


def _shown(uri: str) -> str:
    """``uri`` without a password, for a message."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def check_tracking_server(uri: str, timeout: float) -> None:
    """Raise a one-line ``ConnectionError`` naming ``uri`` unless an HTTP(S)
    tracking server answers there within ``timeout`` seconds.

    MLflow's client retries a server that does not answer for minutes (its
    HTTP retries with back-off), so an unreachable one is found here first.
    Any HTTP answer counts as a server (one that wants a login still
    answers); a store that is not HTTP (a file store, a database,
    ``databricks``) is not checked.

    Examples
    --------
    >>> check_tracking_server("sqlite:///mlflow.db", 1.0)   # not HTTP: nothing to check
    """
    if urlsplit(uri).scheme.lower() not in ("http", "https"):
        return
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout):
            pass
    except urllib.error.HTTPError:
        return  # a server answered, if only to refuse /health
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ConnectionError(
            f"MLflowCallback: no MLflow tracking server answers at {_shown(uri)!r} "
            f"({reason}; waited at most {timeout:g} s, see 'connect_timeout'): start it "
            "(`mlflow server --port 5000`) or give another 'tracking_uri'"
        ) from None


_QUIET_LINKS = "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"


@contextmanager
def quiet_run_links() -> Iterator[None]:
    """MLflow's client prints two lines ("View run ... at: ...") and asks the
    server for the run once more each time it ends a run on a tracking
    server: one run per evaluation made hundreds of lines. Inside this block
    it does neither; the variable is put back as it was after."""
    before = os.environ.get(_QUIET_LINKS)
    os.environ[_QUIET_LINKS] = "true"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(_QUIET_LINKS, None)
        else:
            os.environ[_QUIET_LINKS] = before


def log_artifacts(client: Any, run_id: str, result: Any, run_dir: Path | None) -> None:
    """Log ``result``'s tables, and the report's PNGs drawn from ``run_dir``'s
    journal (every session of a resumed run) or else from the result in
    memory: the same figures."""
    from evotune._figures import run_from_memory
    from evotune.journal import HALL_OF_FAME, HISTORY
    from evotune.report import load_run, write_plots

    with tempfile.TemporaryDirectory(prefix="evotune-mlflow-") as tmp:
        tables = Path(tmp) / "tables"
        tables.mkdir()
        result.history.to_csv(tables / HISTORY, index=False)
        result.hall_of_fame.to_csv(tables / HALL_OF_FAME, index=False)
        if getattr(result, "pareto_front", None) is not None:
            result.pareto_front.to_csv(tables / "pareto_front.csv", index=False)
        client.log_artifacts(run_id, str(tables))
        data = getattr(result, "figure_data", None)
        if run_dir is None and data is None:
            return
        run = (
            load_run(run_dir)
            if run_dir is not None
            else run_from_memory(result.evaluations, result.logbook, result.direction, data)
        )
        report = Path(tmp) / "report"
        write_plots(run, report)
        client.log_artifacts(run_id, str(report), "report")
