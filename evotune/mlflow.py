"""Experiment tracking with MLflow: :class:`MLflowCallback`.

One parent MLflow run per evolution and one child run per evaluation, logged
through MLflow's client API (:class:`mlflow.MlflowClient`) with explicit run
ids, so nothing depends on MLflow's "active run": the callback runs in the
process that called :func:`evotune.evolve`, whatever backend scores the
candidates.

MLflow is an optional dependency (``pip install ".[mlflow]"`` in evotune's checkout);
importing :mod:`evotune` or this module does not import it, creating a
:class:`MLflowCallback` does.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evotune._mlflow_log import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_PARAM_LENGTH,
    DEFAULT_TAG_LENGTH,
    check_connect_timeout,
    check_tracking_server,
    log_artifacts,
    log_batch,
    metric_entities,
    mlflow_limit,
    param_entities,
    quiet_run_links,
    resolved_uri,
    tag_dict,
    tag_entities,
)
from evotune._tracking import evaluation_metrics
from evotune._version import __version__
from evotune.callbacks import Callback
from evotune.journal import peek_meta
from evotune.settings import search_settings_json

__all__ = ["MLflowCallback"]

INSTALL_HINT = 'pip install ".[mlflow]" from evotune\'s checkout'

_PARENT_RUN_ID = "mlflow.parentRunId"
# evaluation statuses whose child run is FAILED; "ok" and "raced" are FINISHED
_FAILED = ("failed", "timeout", "crashed")


def _import_mlflow() -> Any:
    """The ``mlflow`` module, or an ImportError that says how to install it."""
    try:
        import mlflow
    except ImportError as exc:
        raise ImportError(
            f"MLflowCallback needs MLflow, which is not installed: {INSTALL_HINT} "
            "(or install 'mlflow' itself for a local database and the MLflow UI)"
        ) from exc
    return mlflow


class MLflowCallback(Callback):
    """Log a run to MLflow: one parent run per evolution, one child run per
    evaluation.

    - The parent run gets the search settings and the space as parameters
      (the settings of ``meta.json`` too when there is a run directory),
      ``tags``, the logbook row of each generation as metrics (``step`` is the
      generation: ``best``, ``mean``, ``std``, ``evaluations``, ``failed``,
      ``elapsed``, ``n_evaluations``, and ``front`` / ``hypervolume`` with
      several objectives), at the end ``best_score``, the best parameters as
      ``best.<name>`` parameters, the ``stop_reason`` tag and, with
      ``log_artifacts``, ``history.csv``, ``hall_of_fame.csv`` (and
      ``pareto_front.csv``) and the report PNGs (``report/``: progress,
      parameters, timeline; from the run directory when there is one, else
      from the result in memory).
      It ends FINISHED; KILLED after Ctrl-C or SIGTERM, FAILED after an error.
    - Each evaluation is a child run (nested under the parent by MLflow's
      ``mlflow.parentRunId`` tag) named ``candidate-<id>``: its parameters,
      metrics ``mean_score``, ``std_score``, ``split<k>_score`` (one per
      fold), ``fit_time``, ``score_time`` (seconds, summed over folds) and
      ``mean_<metric>`` for the objective's other metrics, tags
      ``evotune.candidate_id``, ``evotune.generation``, ``evotune.origin``,
      ``evotune.status`` and ``evotune.error`` (the error text, if any). Its
      status is FAILED when the candidate failed, timed out or crashed. The
      best candidate's run is tagged ``evotune.best=true`` at the end.

    Values MLflow cannot store are adapted: a metric that is not a finite
    number is left out (the status tag says why), a parameter or tag value
    past MLflow's limit is cut with a note of its length, and a key with
    characters MLflow refuses has them replaced by ``_``. A tracking store
    that fails after the run started is reported once as a warning, and the
    run goes on.

    Parameters
    ----------
    tracking_uri : str or path, optional
        Where to log: ``"http://host:5000"``, ``"sqlite:///mlflow.db"``,
        ``"file:/path/mlruns"``, ``"databricks"``; a path is taken as a local
        file store. By default MLflow's own (``MLFLOW_TRACKING_URI``, or
        :func:`mlflow.set_tracking_uri`).
    experiment_name : str, default="evotune"
        The MLflow experiment; created when it does not exist.
    run_name : str, optional
        The parent run's name (by default MLflow makes one up).
    nested : bool, default=True
        Log the evaluations as child runs of the parent run. With False they
        are top-level runs of the experiment, linked to the parent by the tag
        ``evotune.parent_run_id``.
    log_artifacts : bool, default=True
        Log the result tables and the report PNGs at the end.
    tags : dict, optional
        Tags of the parent run.
    run_dir : path, optional
        The run's directory (``evolve``'s ``checkpoint``), whose report PNGs
        and settings are logged. When not given, the evolution's ``run_dir``
        attribute is used if it has one.
    connect_timeout : float or None, default=5.0
        Seconds to wait for an ``http(s)://`` tracking server to answer. It is
        checked when the callback is made and again when a run starts, so a
        server that is not there is a one-line ``ConnectionError`` naming the
        URI at once, before any file is written (MLflow's own client would
        retry it for minutes). None skips the check.

    Attributes
    ----------
    run_id : str or None
        The parent run's id, once the run started.
    experiment_id : str or None
    child_run_ids : dict
        Candidate id -> the id of its evaluation's run.

    Examples
    --------
    >>> import os, tempfile
    >>> from evotune import Float, evolve
    >>> from evotune.mlflow import MLflowCallback
    >>> os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow 3 asks to opt in to file stores
    >>> store = "file:" + tempfile.mkdtemp()
    >>> tracker = MLflowCallback(store, experiment_name="doc", log_artifacts=False)
    >>> res = evolve(lambda p: -(p["x"] - 1) ** 2, {"x": Float(-3, 3)},
    ...              population_size=4, generations=2, random_state=0, callbacks=[tracker])
    >>> from mlflow import MlflowClient
    >>> parent = MlflowClient(store).get_run(tracker.run_id)
    >>> parent.info.status, len(tracker.child_run_ids) == res.n_evaluations
    ('FINISHED', True)
    """

    def __init__(
        self,
        tracking_uri: str | os.PathLike[str] | None = None,
        experiment_name: str = "evotune",
        run_name: str | None = None,
        nested: bool = True,
        log_artifacts: bool = True,
        tags: Mapping[str, Any] | None = None,
        *,
        run_dir: str | os.PathLike[str] | None = None,
        connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        if tracking_uri is not None and not isinstance(tracking_uri, (str, os.PathLike)):
            raise TypeError(
                "MLflowCallback: 'tracking_uri' must be a URI string, a path or None, "
                f"got {tracking_uri!r}"
            )
        if isinstance(tracking_uri, str) and not tracking_uri.strip():
            raise ValueError(
                "MLflowCallback: 'tracking_uri' must not be empty; use None for the default"
            )
        if not isinstance(experiment_name, str) or not experiment_name.strip():
            raise ValueError(
                "MLflowCallback: 'experiment_name' must be a non-empty string, "
                f"got {experiment_name!r}"
            )
        if run_name is not None and not isinstance(run_name, str):
            raise TypeError(
                f"MLflowCallback: 'run_name' must be a string or None, got {run_name!r}"
            )
        for name, flag in (("nested", nested), ("log_artifacts", log_artifacts)):
            if not isinstance(flag, bool):
                raise TypeError(f"MLflowCallback: {name!r} must be True or False, got {flag!r}")
        if tags is not None and not (
            isinstance(tags, Mapping) and all(isinstance(k, str) and k for k in tags)
        ):
            raise TypeError(
                "MLflowCallback: 'tags' must be a dict with non-empty string keys or None, "
                f"got {tags!r}"
            )
        if run_dir is not None and not isinstance(run_dir, (str, os.PathLike)):
            raise TypeError(f"MLflowCallback: 'run_dir' must be a path or None, got {run_dir!r}")
        timeout = check_connect_timeout(connect_timeout)
        mlflow = _import_mlflow()  # a missing MLflow is an error here, before any work
        if timeout is not None:  # and so is a server that is not there
            check_tracking_server(resolved_uri(tracking_uri, mlflow), timeout)
        self.connect_timeout = timeout
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.run_name = run_name
        self.nested = nested
        self.log_artifacts = log_artifacts
        self.tags = dict(tags) if tags is not None else None
        self.run_dir = run_dir
        self.run_id: str | None = None
        self.experiment_id: str | None = None
        self.child_run_ids: dict[int, str] = {}
        self._client: Any = None
        self._uri: str | None = None
        self._active_dir: Path | None = None
        self._warned = self._offline = False
        self._param_length = DEFAULT_PARAM_LENGTH
        self._tag_length = DEFAULT_TAG_LENGTH

    # ------------------------------------------------------------- helpers
    def _resolved_uri(self, mlflow: Any) -> str:
        return resolved_uri(self.tracking_uri, mlflow)

    def _experiment(self) -> str:
        client = self._client
        found = client.get_experiment_by_name(self.experiment_name)
        if found is None:
            try:
                return str(client.create_experiment(self.experiment_name))
            except Exception:
                # made meanwhile by another process?
                found = client.get_experiment_by_name(self.experiment_name)
                if found is None:
                    raise
        if getattr(found, "lifecycle_stage", "active") == "deleted":
            raise ValueError(
                f"MLflowCallback: 'experiment_name' {self.experiment_name!r} names a deleted "
                f"experiment in {self._uri!r}; restore it or choose another name"
            )
        return str(found.experiment_id)

    def _guard(self, what: str, action: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one logging call; a failure is a warning (the first one only).
        A tracking server that stopped answering is asked nothing more: MLflow
        would retry each call for minutes."""
        if self._offline or not self._answers():
            return None
        try:
            return action(*args, **kwargs)
        except Exception as exc:
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"MLflowCallback: could not log {what} to {self._uri!r} ({exc}); the run "
                    "goes on, and further logging errors of this run are not reported",
                    RuntimeWarning,
                    stacklevel=3,
                )
            return None

    def _answers(self) -> bool:
        """Whether an http(s) tracking server still answers within connect_timeout."""
        if self.connect_timeout is None or self._uri is None:
            return True
        try:
            check_tracking_server(self._uri, self.connect_timeout)
        except ConnectionError:
            self._offline = True
            warnings.warn(
                f"MLflowCallback: the tracking server at {self._uri!r} stopped answering; "
                "the run goes on, and nothing more of it is logged there (its history "
                "keeps every evaluation)",
                RuntimeWarning,
                stacklevel=4,
            )
            return False
        return True

    def _settings(self, evolution: Any) -> dict[str, Any]:
        # the search settings as declared once (evotune.settings), in their
        # JSON form; a run directory's meta.json adds the run's
        settings: dict[str, Any] = {}
        for name, value in search_settings_json(evolution.settings).items():
            if value is not None:
                settings[name] = (
                    value if isinstance(value, (str, int, float)) else json.dumps(value)
                )
        if evolution.budget is not None:
            settings["budget"] = evolution.budget
        if self._active_dir is not None:
            try:
                meta = peek_meta(self._active_dir) or {}
            except Exception:
                meta = {}
            for name, value in dict(meta.get("settings", {})).items():
                if value is not None:
                    settings[name] = value if isinstance(value, str) else json.dumps(value)
        space = getattr(evolution, "space", None)
        if isinstance(space, Mapping):
            for name, param in space.items():
                settings[f"space.{name}"] = repr(param)
        return settings

    # --------------------------------------------------------------- hooks
    def on_run_start(self, evolution: Any) -> None:
        """Create the experiment if needed and start the parent run."""
        mlflow = _import_mlflow()
        self.run_id, self.experiment_id, self.child_run_ids = None, None, {}
        self._warned = self._offline = False
        self._uri = self._resolved_uri(mlflow)
        if self.connect_timeout is not None:
            check_tracking_server(self._uri, self.connect_timeout)
        self._param_length = mlflow_limit("MAX_PARAM_VAL_LENGTH", DEFAULT_PARAM_LENGTH)
        self._tag_length = mlflow_limit("MAX_TAG_VAL_LENGTH", DEFAULT_TAG_LENGTH)
        run_dir = self.run_dir if self.run_dir is not None else evolution.run_dir
        self._active_dir = Path(run_dir) if run_dir is not None else None
        tags: dict[str, Any] = {
            "evotune.version": __version__,
            "evotune.direction": evolution.direction,
            "evotune.strategy": evolution.settings.strategy,
        }
        if self._active_dir is not None:
            tags["evotune.run_dir"] = str(self._active_dir.resolve())
        tags.update(self.tags or {})
        try:
            self._client = mlflow.MlflowClient(tracking_uri=self._uri)
            self.experiment_id = self._experiment()
            run = self._client.create_run(
                self.experiment_id,
                run_name=self.run_name,
                tags=tag_dict(tags, self._tag_length),
            )
        except ValueError:
            self._client = None
            raise
        except Exception as exc:
            self._client = None
            raise RuntimeError(
                f"MLflowCallback: cannot start a run of experiment {self.experiment_name!r} "
                f"at tracking URI {self._uri!r}: {exc}"
            ) from exc
        self.run_id = str(run.info.run_id)
        params = param_entities(self._settings(evolution), self._param_length)
        self._guard("the settings", log_batch, self._client, self.run_id, params=params)
        space: Any = getattr(evolution, "space", None)
        if self.log_artifacts and space is not None and hasattr(space, "to_dict"):
            text = json.dumps(space.to_dict(), indent=2, default=repr)
            self._guard("space.json", self._client.log_text, self.run_id, text, "space.json")

    def on_evaluation(self, evaluation: Any) -> None:
        """Log one evaluation as a child run of the parent run."""
        if self.run_id is None or self._client is None:
            return
        ev = evaluation
        tags: dict[str, Any] = {
            "evotune.candidate_id": ev.candidate_id,
            "evotune.generation": ev.generation,
            "evotune.origin": ev.origin,
            "evotune.status": ev.status,
        }
        if ev.error:
            tags["evotune.error"] = ev.error
        if self.nested:
            tags[_PARENT_RUN_ID] = self.run_id
        else:
            tags["evotune.parent_run_id"] = self.run_id
        metrics = evaluation_metrics(ev)
        status = "FAILED" if ev.status in _FAILED else "FINISHED"
        self._guard(
            "an evaluation", self._log_child, ev.candidate_id, tags, ev.params, metrics, status
        )

    def _log_child(
        self,
        candidate_id: int,
        tags: dict[str, Any],
        params: Mapping[str, Any],
        metrics: dict[str, Any],
        status: str,
    ) -> None:
        client = self._client
        run = client.create_run(
            self.experiment_id,
            run_name=f"candidate-{candidate_id}",
            tags=tag_dict(tags, self._tag_length),
        )
        run_id = str(run.info.run_id)
        self.child_run_ids[int(candidate_id)] = run_id
        try:
            log_batch(
                client,
                run_id,
                metrics=metric_entities(metrics),
                params=param_entities(params, self._param_length),
            )
        finally:
            with quiet_run_links():  # the parent run's link is printed once, at its end
                client.set_terminated(run_id, status)

    def on_generation_end(self, state: Any) -> None:
        """Log the generation's logbook row as metrics, ``step`` = generation."""
        if self.run_id is None or self._client is None:
            return None
        record = {k: v for k, v in dict(state.record).items() if k != "generation"}
        record["n_evaluations"] = state.n_evaluations
        metrics = metric_entities(record, step=int(state.generation))
        self._guard("the logbook", log_batch, self._client, self.run_id, metrics=metrics)
        return None

    def on_run_end(self, result: Any) -> None:
        """Log the best candidate and the artifacts, and end the parent run."""
        if self.run_id is None or self._client is None:
            return
        try:
            if result is None:
                self._end_interrupted()
            else:
                self._end_finished(result)
        finally:
            self._client = None

    def _end_interrupted(self) -> None:
        exc = sys.exc_info()[1]
        interrupted = exc is None or isinstance(exc, KeyboardInterrupt)
        tags: dict[str, Any] = {"evotune.stop_reason": "interrupted" if interrupted else "error"}
        if not interrupted:
            tags["evotune.error"] = f"{type(exc).__name__}: {exc}"
        assert self.run_id is not None
        stop = tag_entities(tags, self._tag_length)
        self._guard("the stop", log_batch, self._client, self.run_id, tags=stop)
        self._guard(
            "the end of the run",
            self._client.set_terminated,
            self.run_id,
            "KILLED" if interrupted else "FAILED",
        )

    def _end_finished(self, result: Any) -> None:
        run_id = self.run_id
        assert run_id is not None
        tags: dict[str, Any] = {"evotune.stop_reason": result.stop_reason}
        params: dict[str, Any] = {}
        hof = result.hall_of_fame
        best_id = int(hof["id"].iloc[0]) if len(hof) and "id" in hof else None
        if best_id is not None:
            tags["evotune.best_candidate_id"] = best_id
        for name, value in (result.best_params or {}).items():
            params[f"best.{name}"] = value
        metrics = {"best_score": result.best_score}
        self._guard(
            "the best candidate",
            log_batch,
            self._client,
            run_id,
            metrics=metric_entities(metrics, step=max(0, len(result.logbook) - 1)),
            params=param_entities(params, self._param_length),
            tags=tag_entities(tags, self._tag_length),
        )
        child = self.child_run_ids.get(best_id) if best_id is not None else None
        if child is not None:
            self._guard("the best tag", self._client.set_tag, child, "evotune.best", "true")
        if self.log_artifacts:
            self._guard(
                "the artifacts", log_artifacts, self._client, self.run_id, result, self._active_dir
            )
        self._guard("the end of the run", self._client.set_terminated, run_id, "FINISHED")

    # ------------------------------------------------------------- the rest
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_client"] = None  # a copy (scikit-learn's clone) starts without one
        return state

    def __repr__(self) -> str:
        return (
            f"MLflowCallback(tracking_uri={self.tracking_uri!r}, "
            f"experiment_name={self.experiment_name!r}, run_name={self.run_name!r}, "
            f"nested={self.nested}, log_artifacts={self.log_artifacts}, tags={self.tags!r})"
        )
