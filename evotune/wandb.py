"""Experiment tracking with Weights & Biases: :class:`WandbCallback`.

One W&B run per evolution and, only when asked, one per evaluation. The
callback holds its own run objects (``wandb.init(reinit="create_new")``), so
it neither needs nor changes a run of yours that is active, and it runs in the
process that called :func:`evotune.evolve`, whatever backend scores the
candidates.

W&B is an optional dependency (``pip install ".[wandb]"`` in evotune's
checkout); importing :mod:`evotune` or this module does not import it,
creating a :class:`WandbCallback` does.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evotune._version import __version__
from evotune._wandb_log import (
    FAILED,
    artifact_name,
    check_arguments,
    check_with_wandb,
    evaluation_config,
    evaluation_summary,
    logbook_row,
    plain_params,
    report_pngs,
    run_config,
    table_rows,
)
from evotune.callbacks import Callback

__all__ = ["WandbCallback"]

INSTALL_HINT = 'pip install ".[wandb]" from evotune\'s checkout'

# the exit codes a W&B run ends with: a run cut by Ctrl-C as a shell reports it
_INTERRUPTED, _ERROR = 130, 1


def _import_wandb() -> Any:
    """The ``wandb`` module, or an ImportError that says how to install it."""
    try:
        import wandb
    except ImportError as exc:
        raise ImportError(
            f"WandbCallback needs Weights & Biases, which is not installed: {INSTALL_HINT}"
        ) from exc
    return wandb


class WandbCallback(Callback):
    """Log a run to Weights & Biases: one W&B run per evolution, and one per
    evaluation when asked.

    - The evolution's run (``job_type="evolution"``) gets the search settings
      and the space as its config (``meta.json``'s settings too when there is a
      run directory; the space under ``space``), the logbook row of each
      generation in its history with ``step`` = generation (``best``,
      ``mean``, ``std``, ``evaluations``, ``failed``, ``elapsed``,
      ``n_evaluations``, ...), and at the end in its summary ``best_score``,
      ``best_params``, ``best_candidate_id``, ``stop_reason`` and
      ``n_evaluations``; the history as a ``wandb.Table`` (``history``), the
      report's PNGs as images (``report/progress`` ...; from the run
      directory when there is one, else from the result in memory) with
      ``log_report``, and the run directory as an artifact (type
      ``evotune-run``, named ``evotune-<folder>``) with ``log_artifact``.
      It ends with exit code 0; 130 after Ctrl-C or SIGTERM, 1 after an error
      (``stop_reason`` is then ``interrupted`` or ``error``).
    - With ``log_evaluations``, each evaluation is a run of its own
      (``job_type="evaluation"``, named ``candidate-<id>``, in the evolution
      run's group): its parameters as config, and in its summary
      ``mean_score``, ``std_score``, ``split<k>_score``, ``fit_time``,
      ``score_time``, ``mean_<metric>``, ``status`` and ``error``; it ends
      with exit code 1 when the candidate failed, timed out or crashed. A W&B
      run takes seconds to start online, so this is off by default.

    A logging call that fails after the run started (a full disk, a run
    finished by someone else) is reported once as a warning, and the run
    goes on. At the end the callback finishes its runs and, unless another
    W&B run is still active in this process, shuts W&B's service process and
    threads down (``wandb.teardown``), so that evotune's process pool can
    fork its workers again. Online, W&B's usage telemetry keeps two threads
    of its own after the run (the pool then spawns its workers);
    ``WANDB_ERROR_REPORTING=false`` avoids them.

    Parameters
    ----------
    project, entity, name, group, notes : str, optional
        As ``wandb.init``'s; ``name`` and ``notes`` are those of the
        evolution's run. ``group`` defaults to the evolution run's id when
        ``log_evaluations`` is True.
    tags : list of str, optional
        Tags of the evolution's run.
    mode : {"online", "offline", "disabled", "shared"}, optional
        As ``wandb.init``'s; by default W&B's own (``WANDB_MODE``). Offline
        runs need no network and no account: ``wandb sync <sync_dir>`` uploads
        one later.
    dir : path, optional
        The folder under which W&B writes its ``wandb/`` files (``WANDB_DIR``
        by default).
    log_evaluations : bool, default=False
        One W&B run per evaluation.
    log_report : bool, default=True
        Log the history table and the report's PNGs at the end.
    log_artifact : bool, default=True
        Log the run directory as an artifact at the end (when there is one).
    run_dir : path, optional
        The run's directory (``evolve``'s ``checkpoint``); by default the
        evolution's own.

    Attributes
    ----------
    run_id : str or None
        The evolution run's id, once it started.
    sync_dir : str or None
        Where W&B wrote the evolution run's local files.
    evaluation_run_ids : dict
        Candidate id -> the id of its evaluation's run (``log_evaluations``).

    Examples
    --------
    >>> import tempfile
    >>> from evotune import Float, evolve
    >>> from evotune.wandb import WandbCallback
    >>> tracker = WandbCallback(project="doc", mode="offline", dir=tempfile.mkdtemp(),
    ...                         log_report=False)
    >>> res = evolve(lambda p: -(p["x"] - 1) ** 2, {"x": Float(-3, 3)},
    ...              population_size=4, generations=2, random_state=0, callbacks=[tracker])
    >>> sorted(p.name for p in Path(tracker.sync_dir).glob("*.wandb")) == [
    ...     f"run-{tracker.run_id}.wandb"]
    True
    """

    def __init__(
        self,
        project: str | None = None,
        entity: str | None = None,
        name: str | None = None,
        group: str | None = None,
        tags: Sequence[str] | None = None,
        notes: str | None = None,
        mode: str | None = None,
        dir: str | os.PathLike[str] | None = None,
        log_evaluations: bool = False,
        log_report: bool = True,
        log_artifact: bool = True,
        *,
        run_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        checked = check_arguments(
            project=project,
            entity=entity,
            name=name,
            group=group,
            tags=tags,
            notes=notes,
            mode=mode,
            dir=dir,
            log_evaluations=log_evaluations,
            log_report=log_report,
            log_artifact=log_artifact,
            run_dir=run_dir,
        )
        wandb = _import_wandb()  # a missing W&B is an error here, before any work
        check_with_wandb(wandb, checked["project"], checked["tags"])
        self.project: str | None = checked["project"]
        self.entity: str | None = checked["entity"]
        self.name: str | None = checked["name"]
        self.group: str | None = checked["group"]
        self.tags: list[str] | None = checked["tags"]
        self.notes: str | None = checked["notes"]
        self.mode: str | None = mode
        self.dir = dir
        self.log_evaluations = log_evaluations
        self.log_report = log_report
        self.log_artifact = log_artifact
        self.run_dir = run_dir
        self.run_id: str | None = None
        self.sync_dir: str | None = None
        self.evaluation_run_ids: dict[int, str] = {}
        self._run: Any = None
        self._group: str | None = None
        self._active_dir: Path | None = None
        self._eval_settings: Any = None
        self._warned = False
        self._step = 0  # the last generation logged

    # ------------------------------------------------------------- helpers
    def _guard(self, what: str, action: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one logging call; a failure is a warning (the first one only)."""
        try:
            return action(*args, **kwargs)
        except Exception as exc:
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"WandbCallback: could not log {what} to W&B run {self.run_id!r} "
                    f"({type(exc).__name__}: {exc}); the run goes on, and further logging "
                    "errors of this run are not reported",
                    RuntimeWarning,
                    stacklevel=3,
                )
            return None

    def _init_kwargs(self) -> dict[str, Any]:
        """What every run of this callback shares."""
        kwargs: dict[str, Any] = {"reinit": "create_new"}
        for key in ("project", "entity", "mode"):
            if getattr(self, key) is not None:
                kwargs[key] = getattr(self, key)
        if self.dir is not None:
            Path(self.dir).mkdir(parents=True, exist_ok=True)
            kwargs["dir"] = str(self.dir)
        return kwargs

    # --------------------------------------------------------------- hooks
    def on_run_start(self, evolution: Any) -> None:
        """Start the evolution's W&B run with the settings as its config."""
        wandb = _import_wandb()
        self.run_id = self.sync_dir = None
        self.evaluation_run_ids = {}
        self._warned, self._step = False, 0
        run_dir = self.run_dir if self.run_dir is not None else evolution.run_dir
        self._active_dir = Path(run_dir) if run_dir is not None else None
        config = run_config(evolution, self._active_dir)
        config["evotune"] = {
            "version": __version__,
            "direction": evolution.direction,
            "run_dir": str(self._active_dir.resolve()) if self._active_dir else None,
        }
        try:
            kwargs = self._init_kwargs()
        except OSError as exc:
            raise RuntimeError(
                f"WandbCallback: cannot start a W&B run: its 'dir' {str(self.dir)!r} cannot "
                f"be made ({exc})"
            ) from exc
        if self.group is None and self.log_evaluations:
            kwargs["id"] = secrets.token_hex(4)  # also the group of its evaluations' runs
        self._group = self.group if self.group is not None else kwargs.get("id")
        try:
            if self.mode in ("offline", "disabled") and wandb.run is None:
                # W&B's own telemetry follows the global settings, not the run's
                # mode: without this it would start threads that reach for its
                # server. Left alone while a run of someone else is active: they
                # are its settings, and the teardown at the end resets them.
                wandb.setup(settings=wandb.Settings(mode=self.mode))
            run = wandb.init(
                name=self.name,
                group=self._group,
                job_type="evolution",
                tags=self.tags,
                notes=self.notes,
                config=config,
                **kwargs,
            )
        except Exception as exc:
            self._teardown()  # the service it may have started, and its threads
            raise RuntimeError(
                f"WandbCallback: cannot start a W&B run (project {self.project!r}, "
                f"mode {self.mode!r}): {type(exc).__name__}: {exc}"
            ) from exc
        self._run = run
        self.run_id = str(run.id)
        if not getattr(run, "disabled", False):  # a disabled run writes nothing
            self.sync_dir = self._guard("the run's folder", lambda: str(run.settings.sync_dir))

    def on_evaluation(self, evaluation: Any) -> None:
        """With ``log_evaluations``, log one evaluation as a W&B run of its own."""
        if self.log_evaluations and self._run is not None:
            self._guard("an evaluation", self._log_evaluation, evaluation)

    def _log_evaluation(self, ev: Any) -> None:
        import wandb

        if self._eval_settings is None:
            self._eval_settings = _evaluation_settings(wandb)
        run = wandb.init(
            name=f"candidate-{ev.candidate_id}",
            group=self._group,
            job_type="evaluation",
            config=evaluation_config(ev),
            settings=self._eval_settings,
            **self._init_kwargs(),
        )
        self.evaluation_run_ids[int(ev.candidate_id)] = str(run.id)
        try:
            run.summary.update(evaluation_summary(ev))
        finally:
            run.finish(exit_code=_ERROR if ev.status in FAILED else 0)

    def on_generation_end(self, state: Any) -> None:
        """Log the generation's logbook row, ``step`` = generation."""
        if self._run is not None:
            row = logbook_row(dict(state.record), state.n_evaluations)
            self._step = int(state.generation)
            self._guard("the logbook", self._run.log, row, step=self._step)
        return None

    def on_run_end(self, result: Any) -> None:
        """Log the best candidate, the tables, images and artifact; end the run."""
        run = self._run
        if run is None:
            return
        try:
            if result is None:
                exc = sys.exc_info()[1]
                interrupted = exc is None or isinstance(exc, KeyboardInterrupt)
                end = {"stop_reason": "interrupted" if interrupted else "error"}
                if not interrupted:
                    end["error"] = f"{type(exc).__name__}: {exc}"
                self._guard("the stop", run.summary.update, end)
                code = _INTERRUPTED if interrupted else _ERROR
            else:
                self._end_finished(run, result)
                code = 0
            self._guard("the end of the run", run.finish, exit_code=code)
        finally:
            self._run = None
            self._teardown()

    def _end_finished(self, run: Any, result: Any) -> None:
        import wandb

        hof = result.hall_of_fame
        summary: dict[str, Any] = {
            "best_score": result.best_score,
            "best_params": plain_params(result.best_params),
            "stop_reason": result.stop_reason,
            "n_evaluations": int(result.n_evaluations),
        }
        if len(hof) and "id" in hof:
            summary["best_candidate_id"] = int(hof["id"].iloc[0])
        self._guard("the best candidate", run.summary.update, summary)
        step = self._step  # W&B drops what is logged to a step before its last
        if self.log_report:
            columns, rows = table_rows(result.history)
            table = self._guard(
                "the history table", wandb.Table, columns=columns, data=rows, allow_mixed_types=True
            )
            if table is not None:
                self._guard("the history table", run.log, {"history": table}, step=step)
            self._guard("the report's images", self._log_images, run, result, step)
        if self.log_artifact and self._active_dir is not None:
            self._guard("the run directory", self._log_run_dir, run)

    def _log_images(self, run: Any, result: Any, step: int) -> None:
        import wandb

        with tempfile.TemporaryDirectory(prefix="evotune-wandb-") as tmp:
            pngs = report_pngs(result, self._active_dir, Path(tmp))
            if pngs:
                images = {f"report/{p.stem}": wandb.Image(str(p)) for p in pngs}
                run.log(images, step=step)  # W&B copies each file as it is logged

    def _log_run_dir(self, run: Any) -> None:
        import wandb

        assert self._active_dir is not None
        artifact = wandb.Artifact(
            artifact_name(self._active_dir),
            type="evotune-run",
            description=f"evotune run directory {self._active_dir.resolve()}",
        )
        artifact.add_dir(str(self._active_dir))
        run.log_artifact(artifact)

    def _teardown(self) -> None:
        """Close W&B's service process and threads unless a run of someone else
        is still active: a process with threads is not safely forked."""
        wandb = sys.modules.get("wandb")
        if wandb is None or getattr(wandb, "run", None) is not None:
            return
        self._guard("the end of W&B's service", wandb.teardown)

    # ------------------------------------------------------------- the rest
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_run"] = state["_eval_settings"] = None  # a copy (a clone) starts without
        return state

    def __repr__(self) -> str:
        return (
            f"WandbCallback(project={self.project!r}, entity={self.entity!r}, "
            f"name={self.name!r}, mode={self.mode!r}, log_evaluations={self.log_evaluations}, "
            f"log_report={self.log_report}, log_artifact={self.log_artifact})"
        )


def _evaluation_settings(wandb: Any) -> Any:
    """The settings of an evaluation's run: quiet, no console capture, and
    without the system metrics, the list of installed packages and the machine
    description W&B records per run (0.03 s a run offline instead of 0.17 s).
    Those three are W&B's private settings; a W&B that no longer has them
    gets the public two."""
    quiet = {"silent": True, "console": "off"}
    try:
        return wandb.Settings(
            **quiet, x_disable_stats=True, x_save_requirements=False, x_disable_meta=True
        )
    except Exception:
        return wandb.Settings(**quiet)
