"""The ask -> launch -> tell loop, in `n_jobs` slots that each start a new trial as soon as
their job ends (no batch waits for its slowest job).

A slot hands its launcher a batch of one job. Launchers that run each job in a process
of its own can be called from several slots at once; the basic launcher runs jobs in
this process, where concurrent jobs would share Hydra's global job config and the
working directory, so with it the sweeper runs one slot. More parallelism then comes
from more workers: the same command started again, on the same storage.
"""

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import optuna
from hydra.errors import HydraException
from hydra.plugins.launcher import Launcher
from omegaconf import DictConfig
from optuna.trial import Trial, TrialState

from pipeline.processes.interruption import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    TrainingInterrupted,
    received_signal,
    signals_recorded,
    stop_requested,
)
from pipeline.search.sweeper.budget import (
    FAIL_REASON,
    claim_trial,
    fail_trial,
    queue_retry,
    reap_dead_trials,
)
from pipeline.search.sweeper.failure_rule import FailureRule
from pipeline.search.sweeper.heartbeat import beats, heartbeat
from pipeline.search.sweeper.job_overrides import param_overrides, trial_overrides
from pipeline.search.sweeper.lost_jobs import (
    LostJob,
    cancel_jobs,
    cancel_requeue,
    lost_job,
    submitted_jobs,
    where_lost,
)
from pipeline.search.sweeper.outcome import finish_trial
from pipeline.search.sweeper.search_space import SearchSpace, sample
from pipeline.search.trial_id import trial_id
from pipeline.search.trial_link import JOB

log = logging.getLogger(__name__)


_POLL_S = 1.0  # how often a worker whose budget is spent looks at the trials still running


class TooManyFailures(HydraException):
    """More trials failed than `max_failure_rate` allows (_failure_rule.py)."""


@dataclass
class TrialLinkSettings:
    """What a job is told about its trial, under `key` in its config."""

    key: str
    study_name: str
    storage: str
    pruner: DictConfig | None
    patience: float | None = None  # seconds a job waits for an unreachable storage


class Search:
    def __init__(
        self,
        study: optuna.Study,
        storage,
        space: SearchSpace,
        sweep_config: DictConfig,
        launcher: Launcher,
        validate: Callable[[Sequence[Sequence[str]]], None] | None,
        *,
        n_trials: int,
        max_failure_rate: float,
        max_retry: int,
        link: TrialLinkSettings | None,
        batch: int = 1,
    ):
        self.study, self.storage, self.space = study, storage, space
        self.sweep_config, self.launcher, self.validate = sweep_config, launcher, validate
        self.n_trials, self.max_retry, self.link = n_trials, max_retry, link
        self.failure_rule = FailureRule(max_failure_rate, batch, n_trials)
        self.failures: list[str] = []
        self.too_many_failures = False
        self._lock = threading.Lock()
        # This worker's slots claim one at a time: two slots that both saw room would ask two
        # trials for one place, and the later would be failed as surplus (_budget.py).
        self._claim_lock = threading.Lock()
        self._stop = threading.Event()
        self._stopping = False  # Ctrl-C or SIGTERM: the jobs in flight are being cancelled
        self.stopped_trials: list[int] = []

    def run(self, slots: int) -> None:
        if slots == 1 and self.validate is None:  # the basic launcher: the job in this thread
            self._slot()
        else:
            with signals_recorded(), ThreadPoolExecutor(slots, thread_name_prefix="slot") as pool:
                futures = [pool.submit(self._slot) for _ in range(slots)]
                while wait(futures, timeout=_POLL_S).not_done:
                    if stop_requested() and not self._stopping:
                        self._stop_jobs()
                if self._stopping:
                    raise self._stopped()
                for future in futures:
                    future.result()
        if self.too_many_failures:
            raise TooManyFailures(f"{self.failure_rule.explain()}; last: {self.failures[-1]}")

    def _stop_jobs(self) -> None:
        """Ctrl-C or SIGTERM: no new trial; the jobs in flight cancelled (a SLURM launcher's,
        queued or running; local launchers' children get the signal from the terminal or end
        with this process), their trials failed and queued again for the same command."""
        self._stopping = True
        self._stop.set()
        if getattr(self.launcher, "_EXECUTOR", None) == "slurm":
            cancel_jobs(submitted_jobs(Path(str(self.sweep_config.hydra.sweep.dir))))

    def _stopped(self) -> TrainingInterrupted:
        terminated = received_signal() == signal.SIGTERM
        cancelled = (
            f"; the jobs of trials {', '.join(map(str, sorted(self.stopped_trials)))} were "
            "cancelled and their trials queued again"
            if self.stopped_trials
            else ""
        )
        return TrainingInterrupted(
            f"the search was stopped by {'SIGTERM' if terminated else 'Ctrl-C'}{cancelled}; "
            "the same command resumes it",
            EXIT_TERMINATED if terminated else EXIT_INTERRUPTED,
        )

    def _slot(self) -> None:
        try:
            while not self._stop.is_set():
                reap_dead_trials(self.study, self.storage, self.max_retry)
                with self._claim_lock:
                    trial = claim_trial(self.study, self.storage, self.n_trials)
                if trial is not None:
                    self._run_trial(trial)
                elif self._others_may_fail():
                    self._stop.wait(_POLL_S)
                else:
                    return
        except BaseException:
            self._stop.set()  # the other slots finish their current job, then stop
            raise

    def _others_may_fail(self) -> bool:
        """The budget is spent, but trials still run (here or on other workers). With heartbeats
        a dead worker's trial fails after the grace period and is queued again, so a worker
        waits for them rather than leave a retry with nobody to run it. Without heartbeats a
        trial on another machine could stay RUNNING for ever: no waiting."""
        return beats(self.storage) and bool(
            self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        )

    def _overrides(self, trial: Trial) -> list[str]:
        overrides = param_overrides(self.space, sample(self.space, trial, self.sweep_config))
        if self.link is not None:
            overrides += trial_overrides(
                self.link.key,
                trial.number,
                self.link.study_name,
                self.link.storage,
                self.link.pruner,
                self.link.patience,
            )
        return overrides

    def _run_trial(self, trial: Trial) -> None:
        overrides = self._overrides(trial)
        try:
            if self.validate is not None:
                self.validate([overrides])
            with heartbeat(self.storage, trial_id(trial)):
                (job_return,) = self.launcher.launch([overrides], initial_job_idx=trial.number)
        except Exception as error:
            lost = lost_job(error)
            if lost is not None:  # the scheduler ended the job: the trial's failure, not ours
                self._fail_lost(trial, lost)
                return
            # Raised before the job ran (a job's own errors come back in job_return): its config
            # does not compose, or the launcher failed. The user's to fix, not the trial's.
            self._fail_unlaunched(trial, f"the job could not be launched: {error}")
            raise
        state = finish_trial(self.study, self.storage, trial, job_return)
        log.info("Trial %d %s", trial.number, state.name)
        self._record(trial, state)

    def _fail_lost(self, trial: Trial, lost: LostJob) -> None:
        cancel_requeue(lost)
        recorded = self.storage.get_trial(trial_id(trial)).user_attrs.get(JOB, {})
        host = where_lost(lost) or recorded.get("host")  # the job's own record, if no accounting
        reason = lost.reason(host)
        if self._stopping:
            reason = f"{reason} when the search was stopped"
            self.stopped_trials.append(trial.number)
        fail_trial(self.study, self.storage, trial_id(trial), trial.number, reason)
        if lost.retry or self._stopping:  # not the trial's own failure: run again, not counted
            queue_retry(self.study, self.storage.get_trial(trial_id(trial)), self.max_retry)
        else:
            self._record(trial, TrialState.FAIL)

    def _fail_unlaunched(self, trial: Trial, reason: str) -> None:
        fail_trial(self.study, self.storage, trial_id(trial), trial.number, reason)

    def _record(self, trial: Trial, state: TrialState) -> None:
        failed = state == TrialState.FAIL
        reason = (
            self.storage.get_trial(trial_id(trial)).user_attrs.get(FAIL_REASON) if failed else None
        )
        with self._lock:
            if failed:
                self.failures.append(f"trial {trial.number}: {reason}")
            if self.failure_rule.record(failed):
                self.too_many_failures = True
                self._stop.set()  # the other slots finish their current job, then stop
