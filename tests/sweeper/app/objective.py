"""A tiny Hydra app for the sweeper's mechanics: a quadratic objective, no TensorFlow.

`steps` > 0 reports a value per step to the trial (like the training job's epochs) and
stops when the pruner says so; `fail_above` makes trials with a larger `x` raise;
`sleep` slows each step, so a worker can be killed mid-search; `meet` names a folder where
each job waits (a bounded while) until `meet_count` jobs have arrived, so jobs that do run at
once are seen to, however slowly their processes start; `hold_from: N` holds this process's jobs
from its N-th on (counted from 0; the basic launcher runs a worker's jobs in its process) in
the folder `hold_dir` (`held-PID-N`) until a `release` file appears there, so a test can act
while a worker is surely mid-trial; `objectives: 2` also returns -|x|, for multi-objective searches. With `tracking.enabled`, each job is an MLflow
child run of the project's multirun callback's parent, found in the job's config.
"""

import os
import threading
import time
from contextlib import nullcontext
from pathlib import Path

import hydra
from omegaconf import DictConfig

from pipeline.search.trial_link import TrialLink, has_trial


class Boom(RuntimeError):
    pass


MEET_WAIT_S = 60.0  # long for a loaded machine's process start, short for a failing test


def wait_for(condition, seconds: float = MEET_WAIT_S) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def meet(folder: str, count: int) -> None:
    """Arrive in `folder` and wait until `count` jobs have, or until MEET_WAIT_S has passed: jobs
    in one slot never meet, and the test that asks whether they ran at once then fails."""
    arrivals = Path(folder)
    arrivals.mkdir(parents=True, exist_ok=True)
    (arrivals / f"{os.getpid()}-{threading.get_ident()}").touch()  # a slot may be a thread
    wait_for(lambda: len(list(arrivals.iterdir())) >= count)


_jobs_started = 0  # by this process


def hold(folder: str, job: int) -> None:
    """Say that this process's job `job` is held in `folder`, and wait for its `release` file."""
    held = Path(folder)
    held.mkdir(parents=True, exist_ok=True)
    (held / f"held-{os.getpid()}-{job}").touch()
    wait_for((held / "release").exists)


def objective(cfg: DictConfig) -> float:
    if cfg.fail_above is not None and cfg.x > cfg.fail_above:
        raise Boom(f"x={cfg.x} is above {cfg.fail_above}")
    value = -((cfg.x - 2.0) ** 2) - cfg.y
    link = TrialLink(cfg.trial) if has_trial(cfg) else None
    if cfg.meet is not None:
        meet(cfg.meet, cfg.meet_count)
    global _jobs_started
    job, _jobs_started = _jobs_started, _jobs_started + 1
    if cfg.hold_from is not None and job >= cfg.hold_from:
        hold(cfg.hold_dir, job)
    for step in range(cfg.steps):
        time.sleep(cfg.sleep)
        if link is not None and link.report(value * (step + 1) / cfg.steps, step):
            break
    else:
        time.sleep(cfg.sleep)
    if link is not None:
        link.job_ended()
    return (value, -abs(cfg.x)) if cfg.objectives == 2 else value


def child_run(cfg: DictConfig):
    """The job's MLflow run, tagged like a training job's (its study and trial)."""
    if not cfg.tracking.enabled:
        return nullcontext()
    import mlflow

    from pipeline.tracking.lifecycle import ends_active_run
    from pipeline.tracking.records import OPTUNA_STUDY_TAG, OPTUNA_TRIAL_TAG
    from pipeline.tracking.store import experiment_id

    mlflow.set_tracking_uri(cfg.tracking.uri)
    tags = (
        {OPTUNA_STUDY_TAG: cfg.trial.study_name, OPTUNA_TRIAL_TAG: str(cfg.trial.number)}
        if has_trial(cfg)
        else {}
    )
    mlflow.start_run(
        experiment_id=experiment_id(cfg.tracking),
        parent_run_id=cfg.tracking.parent_run_id,
        run_name=f"x={cfg.x:.3f}",
        tags=tags,
    )
    return ends_active_run()


@hydra.main(version_base="1.3", config_path=".", config_name="objective")
def main(cfg: DictConfig) -> float:
    with child_run(cfg):
        value = objective(cfg)
        if cfg.tracking.enabled:
            import mlflow

            mlflow.log_metric("best/value", value if cfg.objectives == 1 else value[0])
    return value


def extra_space(cfg: DictConfig, trial) -> None:
    """A `custom_search_space` hook: the old plugin calls it with the sweep config and the trial."""
    trial.suggest_float("fail_above", cfg.x + 10.0, cfg.x + 20.0)


if __name__ == "__main__":
    main()
