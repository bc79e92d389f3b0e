"""Several workers on one storage finish exactly `n_trials` between them.

A trial counts against the budget once it is RUNNING, WAITING (queued for a retry),
PRUNED or COMPLETE; FAIL frees its place. A worker asks only while the budget has room
or a retry waits. Two workers may still ask at the same moment, so after asking each
one checks its trial's rank: trial numbers follow the order the storage created the
trials, and every trial numbered below ours is visible once ours exists. A trial with
`n_trials` counted trials below it is surplus: it is failed with that reason and the
worker stops.

Trials of a worker that died stay RUNNING. On RDB storages with heartbeats, Optuna's
`fail_stale_trials` fails them once their beats are older than the grace period. On
every storage (a journal file has no heartbeats) a worker also fails, at once, RUNNING
trials whose recorded owner process no longer exists on this machine. Either way the
failed trial is queued again (WAITING, same parameters) up to `max_retry` times.
"""

import logging
import os
import socket
import warnings

import optuna
from optuna.trial import Trial, TrialState

from pipeline.processes.liveness import process_running
from pipeline.search.sweeper.experimental import experimental_features
from pipeline.search.sweeper.heartbeat import beats
from pipeline.search.trial_id import trial_id
from pipeline.search.trial_link import FAIL_REASON  # noqa: F401  (re-exported: the sweeper sets it)

log = logging.getLogger(__name__)

OWNER = "worker"  # user attribute: {"host", "pid"} of the sweeper running the trial
COUNTED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)
HOST = socket.gethostname()


def fail_trial(study: optuna.Study, storage, trial_id: int, number: int, reason: str) -> None:
    storage.set_trial_user_attr(trial_id, FAIL_REASON, reason)
    study.tell(number, state=TrialState.FAIL)
    log.warning("Trial %d failed: %s", number, reason)


def queue_retry(study: optuna.Study, failed: optuna.trial.FrozenTrial, max_retry: int) -> None:
    """The same bookkeeping as a heartbeat retry: a WAITING copy, its retry history attached."""
    with experimental_features():
        optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=max_retry)(study, failed)


def reap_dead_trials(study: optuna.Study, storage, max_retry: int) -> None:
    """Fail (and queue again) the trials whose worker died."""
    if beats(storage):
        with experimental_features():
            optuna.storages.fail_stale_trials(study)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = trial.user_attrs.get(OWNER)
        if not owner or owner["host"] != HOST or process_running(owner["pid"]):
            continue
        try:
            fail_trial(
                study,
                storage,
                trial_id(trial),
                trial.number,
                f"worker process {owner['pid']} on {owner['host']} died",
            )
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another worker got there first and queued the retry
        queue_retry(study, storage.get_trial(trial_id(trial)), max_retry)


def claim_trial(study: optuna.Study, storage, n_trials: int) -> Trial | None:
    """A new (or queued) trial for this worker, or None when the budget is spent."""
    counted = study.get_trials(deepcopy=False, states=COUNTED)
    waiting = any(t.state == TrialState.WAITING for t in counted)
    if len(counted) >= n_trials and not waiting:
        return None
    with warnings.catch_warnings():
        # Optuna warns that heartbeats are meant for Study.optimize; _heartbeat.py beats for us.
        warnings.filterwarnings("ignore", message="Heartbeat of storage")
        trial = study.ask()
    storage.set_trial_user_attr(trial_id(trial), OWNER, {"host": HOST, "pid": os.getpid()})
    below = [t for t in study.get_trials(deepcopy=False, states=COUNTED) if t.number < trial.number]
    if len(below) >= n_trials:
        fail_trial(
            study,
            storage,
            trial_id(trial),
            trial.number,
            f"surplus: {n_trials} trials were already counted when it was asked",
        )
        return None
    return trial
