"""The job's end of the sweeper-to-job channel, which is the Optuna storage itself.

The sweeper asks the study for a trial and puts its number, the study name, the storage
and the pruner into the job's config (`trial.*`). The job reopens that trial here,
reports an intermediate value per epoch and asks the pruner; when told to stop, it
records the epoch in the trial's user attributes, where the sweeper reads it and tells
the study PRUNED. Only the sweeper ever finishes a trial.
"""

import os
import socket
import time
from typing import Any

from omegaconf import DictConfig, OmegaConf

PRUNED_AT_STEP = "pruned_at_step"  # user attribute: the step after which the pruner stopped the job
FAIL_REASON = "fail_reason"  # user attribute: why a trial is FAIL (set by the sweeper)
# user attribute: {"host", "pid", "started", "ended"} (Unix seconds) of the job's process, and
# "slurm_job", its SLURM job id, under a SLURM launcher
JOB = "job"
# user attribute: earlier runs of the trial's job that never ended (a node lost, then the job
# requeued by the scheduler), oldest first
EARLIER_ATTEMPTS = "earlier_attempts"


def build_pruner(pruner_cfg: DictConfig | None):
    """The pruner a `_target_` config describes; Optuna's NopPruner without one. The sweeper
    builds its study's pruner here, and each job rebuilds the same one."""
    import optuna
    from hydra.utils import instantiate

    return instantiate(pruner_cfg) if pruner_cfg else optuna.pruners.NopPruner()


class TrialLink:
    def __init__(self, trial_cfg: DictConfig):
        import optuna

        from pipeline.search.storage import open_storage
        from pipeline.search.trial_id import trial_id

        # The job never samples; a random sampler keeps Trial() from running the sweeper's one.
        storage = open_storage(trial_cfg.storage, patience=trial_cfg.get("patience"))
        study = optuna.load_study(
            study_name=trial_cfg.study_name,
            storage=storage,
            pruner=build_pruner(trial_cfg.pruner),
            sampler=optuna.samplers.RandomSampler(),
        )
        frozen = next(t for t in study.get_trials(deepcopy=False) if t.number == trial_cfg.number)
        # Optuna has no public lookup of a trial by number; the frozen trial carries its id.
        self.trial = optuna.trial.Trial(study, trial_id(frozen))
        # Optuna has no intermediate values for several objectives, hence no pruning.
        self.reports = len(study.directions) == 1
        self.job = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}
        if "SLURM_JOB_ID" in os.environ:
            self.job["slurm_job"] = os.environ["SLURM_JOB_ID"]
        earlier = frozen.user_attrs.get(JOB)
        if earlier is not None and "ended" not in earlier:
            attempts = frozen.user_attrs.get(EARLIER_ATTEMPTS, [])
            self.trial.set_user_attr(EARLIER_ATTEMPTS, [*attempts, earlier])
        self.trial.set_user_attr(JOB, self.job)

    def job_ended(self) -> None:
        """Record when the job's work ended: with `started`, where and when each trial really ran."""
        self.trial.set_user_attr(JOB, {**self.job, "ended": time.time()})

    def report(self, value: float, step: int) -> bool:
        """Record `value` at `step`; True when the pruner says the job should stop."""
        if not self.reports:
            return False
        self.trial.report(value, step)
        if self.trial.should_prune():
            self.trial.set_user_attr(PRUNED_AT_STEP, step)
            return True
        return False


def has_trial(cfg: DictConfig) -> bool:
    trial_cfg: Any | None = OmegaConf.select(cfg, "trial")
    return trial_cfg is not None and trial_cfg.get("number") is not None
