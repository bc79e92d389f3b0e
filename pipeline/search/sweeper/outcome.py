"""Telling the study how a job ended: COMPLETE with its value(s), PRUNED, or FAIL with the reason."""

import math
from typing import Any

import optuna
from hydra.core.utils import JobReturn
from optuna.trial import Trial, TrialState

from pipeline.search.sweeper.budget import fail_trial
from pipeline.search.trial_id import trial_id
from pipeline.search.trial_link import PRUNED_AT_STEP


def objective_values(value: Any, n_objectives: int) -> list[float]:
    """The job's return value as one finite float per objective, or ValueError saying why not."""
    values = list(value) if n_objectives > 1 and isinstance(value, (list, tuple)) else [value]
    if len(values) != n_objectives:
        raise ValueError(f"the job returned {value!r}; the study has {n_objectives} objectives")
    try:
        floats = [float(v) for v in values]
    except (TypeError, ValueError):
        raise ValueError(f"the job returned {value!r}, not a number per objective") from None
    if not all(math.isfinite(v) for v in floats):
        raise ValueError(f"the job returned {value!r}, not finite")
    return floats


def _tell(study: optuna.Study, trial: Trial, **kwargs) -> None:
    try:
        study.tell(trial, **kwargs)
    except RuntimeError:
        # The grid sampler asks the study to stop once the grid is covered, which only
        # Study.optimize can honour; the trial is told all the same, and n_trials is capped
        # at the grid's size.
        if not isinstance(study.sampler, optuna.samplers.GridSampler):
            raise


def finish_trial(study: optuna.Study, storage, trial: Trial, job_return: JobReturn) -> TrialState:
    try:
        value = job_return.return_value  # re-raises the job's exception
    except Exception as error:
        fail_trial(
            study, storage, trial_id(trial), trial.number, f"{type(error).__name__}: {error}"
        )
        return TrialState.FAIL
    if PRUNED_AT_STEP in storage.get_trial(trial_id(trial)).user_attrs:
        _tell(study, trial, state=TrialState.PRUNED)
        return TrialState.PRUNED
    try:
        values = objective_values(value, len(study.directions))
    except ValueError as error:
        fail_trial(study, storage, trial_id(trial), trial.number, str(error))
        return TrialState.FAIL
    _tell(study, trial, values=values)
    return TrialState.COMPLETE
