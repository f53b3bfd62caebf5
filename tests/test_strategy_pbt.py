"""strategy="pbt" and the Trainable protocol: exploit and explore, the
checkpoints on disk, the schedule found, the same history everywhere, bad input."""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest

from evotune import Float, InvalidParameterError, evolve
from evotune.strategies import PBT
from evotune.strategies.pbt import explore
from evotune.trainable import Trainable, TrainableObjective

DIM, ITERS, SEGMENTS, POPULATION = 50, 25, 20, 8
SPACE = {"lr": Float(1e-3, 1.0, log=True)}
KW = dict(population_size=POPULATION, generations=SEGMENTS)
#: most files seen in the checkpoint folder while a checkpoint was saved
SEEN: list[int] = []


class Descent:
    """Noisy gradient descent on a quadratic: a large step is best far from the
    optimum and a small one near it, so the best learning rate moves during
    training; the score is minus the squared distance to the optimum."""

    def setup(self, params, seed):
        self.lr = params["lr"]
        self.x = np.full(DIM, 5.0)
        self.t = 0

    def step(self):
        for _ in range(ITERS):
            noise = np.random.default_rng(self.t).normal(size=DIM)  # the same for every member
            self.x = self.x - self.lr * (self.x + noise)
            self.t += 1
        return -float(self.x @ self.x)

    def save_checkpoint(self, path):
        SEEN.append(len(os.listdir(os.path.dirname(path))))
        with open(path, "wb") as f:
            np.save(f, np.r_[self.x, self.t])

    def load_checkpoint(self, path):
        with open(path, "rb") as f:
            state = np.load(f)
        self.x, self.t = state[:-1], int(state[-1])


def fixed(params):
    """The same training with one learning rate for all its 500 steps."""
    t = Descent()
    t.setup(params, 0)
    value = math.nan
    for _ in range(SEGMENTS):
        value = t.step()
    return value


class Failing(Descent):
    def step(self):
        if self.lr > 0.5:
            raise ValueError("diverged")
        return super().step()


def _frame(result):
    cols = ["id", "generation", "origin", "param_lr", "mean_score", "status"]
    return result.history[cols].reset_index(drop=True)


# ---------------------------------------------------------------- protocol
def test_a_trainable_class_passes_the_protocol_check():
    assert isinstance(Descent(), Trainable)
    with pytest.raises(TypeError, match="no load_checkpoint"):

        class Half:
            def setup(self, params, seed): ...
            def step(self): ...
            def save_checkpoint(self, path): ...

        TrainableObjective(Half)


def test_explore_scales_or_resamples_only_the_mutable_parameters():
    from evotune import Integer
    from evotune.space import Space

    space = Space({"lr": Float(1e-4, 1.0, log=True), "width": Integer(8, 64)})
    row = space.encode({"lr": 0.1, "width": 32})
    rng = np.random.default_rng(0)
    for _ in range(20):
        new = space.decode(explore(space, row, PBT(mutable=("lr",)), rng))
        assert new["width"] == 32
        assert new["lr"] != 0.1
    scaled = space.decode(explore(space, row, PBT(resample_probability=0.0), rng))
    assert scaled["width"] in (26, 38) and round(scaled["lr"], 6) in (0.08, 0.12)


# -------------------------------------------------------------------- runs
def test_the_worst_copy_the_best_and_the_rest_go_on():
    r = evolve(Descent, SPACE, strategy=PBT(), random_state=0, **KW)
    h = r.history
    assert len(h) == POPULATION * SEGMENTS
    assert set(h["origin"][h["generation"] == 0]) == {"initial"}
    later = h[h["generation"] > 0]
    assert set(later["origin"]) == {"continued", "exploited"}
    # a quarter is replaced each generation
    assert list(r.logbook["exploited"][:-1]) == [2] * (SEGMENTS - 1)
    evs = {e.candidate_id: e for e in r.evaluations}
    for g in range(SEGMENTS - 1):
        gen = sorted((e for e in r.evaluations if e.generation == g), key=lambda e: -e.mean_score)
        nxt = [e for e in r.evaluations if e.generation == g + 1]
        top = {e.checkpoint for e in gen[:2]}
        exploited = [e for e in nxt if e.origin == "exploited"]
        assert len(exploited) == 2
        # each exploited member continued from a top member's checkpoint
        for e in exploited:
            key_from = int(e.key.rsplit("from=", 1)[1])
            assert evs[key_from].checkpoint in top
    assert (
        r.best_schedule is not None
        and len(r.best_schedule)
        == r.history.loc[r.history["mean_score"].idxmax(), "generation"] + 1
    )


def test_pbt_reaches_what_no_fixed_learning_rate_can_with_the_same_steps():
    # the same total training: 8 members x 20 segments = 8 trainings of 500 steps
    target = -0.25
    for seed in range(5):
        pbt = evolve(Descent, SPACE, strategy=PBT(), random_state=seed, **KW)
        search = evolve(
            fixed, SPACE, strategy="random", population_size=8, generations=1, random_state=seed
        )
        assert pbt.best_score >= target > search.best_score, (seed, pbt.best_score)
        # the schedule found decays the learning rate
        lrs = [p["lr"] for p in pbt.best_schedule]
        assert lrs[-1] < lrs[0]
    # no fixed rate at all reaches it: the best of a fine grid
    grid = [fixed({"lr": lr}) for lr in np.geomspace(1e-3, 1.0, 60)]
    assert max(grid) < target


def test_at_most_population_plus_two_checkpoints_are_on_disk(tmp_path):
    SEEN.clear()
    run = tmp_path / "run"
    evolve(Descent, SPACE, strategy=PBT(), random_state=0, checkpoint=run, **KW)
    assert SEEN and max(SEEN) <= POPULATION + 2
    # at the end: the checkpoints the next generation would continue from
    left = os.listdir(run / "checkpoints")
    assert 1 <= len(left) <= POPULATION and not any(n.startswith("tmp-") for n in left)


def test_without_a_run_directory_the_checkpoints_go_at_the_end():
    import glob
    import tempfile

    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "evotune-checkpoints-*")))
    evolve(Descent, SPACE, strategy=PBT(), random_state=0, population_size=4, generations=3)
    after = set(glob.glob(os.path.join(tempfile.gettempdir(), "evotune-checkpoints-*")))
    assert after == before


def test_a_failing_training_is_a_row_and_its_member_is_replaced():
    with pytest.warns(UserWarning, match="evaluations failed"):
        r = evolve(Failing, {"lr": Float(0.1, 0.9)}, strategy=PBT(), random_state=1, **KW)
    failed = r.history[r.history["status"] == "failed"]
    assert len(failed) and failed["error"].str.contains("diverged").all()
    for gen in sorted(set(failed["generation"]))[:-1]:
        nxt = r.history[r.history["generation"] == gen + 1]
        assert (nxt["origin"] == "exploited").sum() >= (failed["generation"] == gen).sum()


def test_a_resume_continues_from_the_checkpoints_exactly(tmp_path):
    whole = evolve(Descent, SPACE, strategy=PBT(), random_state=0, **KW)

    class Stop:
        n = 0

        def on_evaluation(self, evaluation):
            Stop.n += 1
            if Stop.n == 35:  # in the middle of generation 4
                raise KeyboardInterrupt

    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        evolve(
            Descent, SPACE, strategy=PBT(), random_state=0, checkpoint=run, callbacks=[Stop()], **KW
        )
    resumed = evolve(
        Descent, SPACE, strategy=PBT(), random_state=0, checkpoint=run, resume=True, **KW
    )
    pd.testing.assert_frame_equal(_frame(resumed), _frame(whole))
    assert resumed.best_schedule == whole.best_schedule


@pytest.mark.slow
def test_the_same_history_at_n_jobs_2_on_dask_and_after_sigkill(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    whole = evolve(Descent, SPACE, strategy=PBT(), random_state=0, **KW)
    folder = tmp_path / "two" / "checkpoints"
    seen = []

    class Count:
        def on_evaluation(self, evaluation):
            seen.append(len(os.listdir(folder)))

    two = evolve(
        Descent,
        SPACE,
        strategy=PBT(),
        random_state=0,
        n_jobs=2,
        checkpoint=tmp_path / "two",
        callbacks=[Count()],
        **KW,
    )
    assert seen and max(seen) <= POPULATION + 2
    dask = evolve(Descent, SPACE, strategy=PBT(), random_state=0, n_jobs=2, backend="dask", **KW)
    pd.testing.assert_frame_equal(_frame(two), _frame(whole))
    pd.testing.assert_frame_equal(_frame(dask), _frame(whole))
    script = tmp_path / "killed.py"
    script.write_text(KILLED.format(tests=str(Path(__file__).parent)))
    run = tmp_path / "run"
    first = subprocess.run(
        [sys.executable, str(script), str(run)], capture_output=True, text=True, timeout=300
    )
    assert first.returncode == -9, first.stderr
    resumed = evolve(
        Descent,
        SPACE,
        strategy=PBT(),
        random_state=0,
        checkpoint=run,
        resume=True,
        n_jobs=2,
        backend="dask",
        **KW,
    )
    pd.testing.assert_frame_equal(_frame(resumed), _frame(whole))


KILLED = """
import os, signal, sys
sys.path.insert(0, {tests!r})
from test_strategy_pbt import KW, SPACE, Descent
from evotune import evolve
from evotune.strategies import PBT


class Killer:
    n = 0

    def on_evaluation(self, evaluation):
        Killer.n += 1
        if Killer.n == 29:  # in the middle of generation 3
            os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    evolve(Descent, SPACE, strategy=PBT(), random_state=0, n_jobs=2,
           checkpoint=sys.argv[1], callbacks=[Killer()], **KW)
"""


# --------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: PBT(quantile_fraction=0.0), "quantile_fraction"),
        (lambda: PBT(quantile_fraction=0.7), "quantile_fraction"),
        (lambda: PBT(resample_probability=1.5), "resample_probability"),
        (lambda: PBT(perturbation_factors=(0.8,)), "perturbation_factors"),
        (lambda: PBT(perturbation_factors=(0.8, -1)), "perturbation_factors"),
        (lambda: PBT(mutable="lr"), "mutable"),
    ],
)
def test_bad_parameters_are_named(make, message):
    with pytest.raises(InvalidParameterError, match=message):
        make()


def test_an_unknown_mutable_name_is_refused_before_any_work(tmp_path):
    with pytest.raises(InvalidParameterError, match=r"'mutable' names \['momentum'\]"):
        evolve(Descent, SPACE, strategy=PBT(mutable=["momentum"]), checkpoint=tmp_path / "r", **KW)
    assert not (tmp_path / "r").exists()


def test_pbt_needs_a_trainable_and_a_trainable_needs_pbt(tmp_path):
    with pytest.raises(InvalidParameterError, match="pass a Trainable class"):
        evolve(fixed, SPACE, strategy="pbt", **KW)
    with pytest.raises(InvalidParameterError, match="use strategy='pbt'"):
        evolve(Descent, SPACE, strategy="ga", checkpoint=tmp_path / "r", **KW)
    assert not (tmp_path / "r").exists()


def test_a_resume_with_another_quantile_is_refused(tmp_path):
    from evotune import JournalError

    run = tmp_path / "r"
    evolve(
        Descent,
        SPACE,
        strategy=PBT(),
        random_state=0,
        checkpoint=run,
        population_size=4,
        generations=2,
    )
    with pytest.raises(JournalError, match=r"'strategy_params' differs.*quantile_fraction"):
        evolve(
            Descent,
            SPACE,
            strategy=PBT(quantile_fraction=0.5),
            random_state=0,
            checkpoint=run,
            resume=True,
            population_size=4,
            generations=3,
        )
