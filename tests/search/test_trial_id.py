"""The one private Optuna attribute the project reads still names the trial in its storage."""

import optuna
import pytest

from pipeline.search.trial_id import trial_id


@pytest.fixture
def storage():
    return optuna.storages.InMemoryStorage()


@pytest.fixture
def study(storage):
    return optuna.create_study(storage=storage)


def test_a_live_trial_and_its_frozen_copy_give_the_id_the_storage_knows(study, storage):
    study.ask()
    trial = study.ask()
    trial.set_user_attr("marker", "second")
    frozen = study.trials[1]
    assert trial_id(trial) == trial_id(frozen)
    assert storage.get_trial(trial_id(trial)).user_attrs == {"marker": "second"}


def test_the_id_reopens_the_trial_as_a_job_does(study):
    trial = study.ask()
    reopened = optuna.trial.Trial(study, trial_id(study.trials[0]))
    reopened.report(0.5, step=0)
    assert study.trials[0].intermediate_values == {0: 0.5} and reopened.number == trial.number


def test_a_trial_without_the_attribute_fails_loudly():
    with pytest.raises(RuntimeError, match="private API"):
        trial_id(object())
