"""The trial budget on a shared storage: a rival's concurrent ask, and trials whose heartbeat stopped."""

import time

import optuna
import pytest
from optuna.trial import TrialState

from pipeline.search.sweeper.budget import OWNER, claim_trial, reap_dead_trials
from pipeline.search.sweeper.study import build_storage
from pipeline.search.trial_id import trial_id


def test_trial_asked_beside_a_rivals_last_one_is_failed_as_surplus(sqlite_storage):
    storage = build_storage(sqlite_storage, None, None, max_retry=1)
    study = optuna.create_study(storage=storage, study_name="budget")
    ask = study.ask

    def rival_asks_first():  # another worker passed its check and asked at the same moment
        ask()
        return ask()

    study.ask = rival_asks_first
    assert claim_trial(study, storage, n_trials=1) is None
    (surplus,) = study.get_trials(states=(TrialState.FAIL,))
    assert surplus.number == 1 and surplus.user_attrs["fail_reason"].startswith("surplus")


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # this test asks outside the sweeper
def test_trial_whose_heartbeat_stopped_is_failed_and_queued_again(sqlite_storage):
    storage = build_storage(sqlite_storage, heartbeat_interval=1, grace_period=1, max_retry=1)
    study = optuna.create_study(storage=storage, study_name="budget")
    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    storage.set_trial_user_attr(trial_id(trial), OWNER, {"host": "another-machine", "pid": 1})
    storage.record_heartbeat(trial_id(trial))
    time.sleep(2.5)  # the worker on another machine went silent
    reap_dead_trials(study, storage, max_retry=1)
    failed, retry = study.trials
    assert failed.state == TrialState.FAIL and retry.state == TrialState.WAITING
    assert retry.params == failed.params and retry.system_attrs["failed_trial"] == failed.number
