"""An Optuna trial's storage id: the one private Optuna attribute the project reads.

Optuna's storages address trials by id (`storage.get_trial(id)`, `set_trial_user_attr`,
heartbeats, `Trial(study, id)` to reopen one), but `Trial` and `FrozenTrial` expose it
only as the private `_trial_id` (Optuna 5.0). Every use goes through here, so an Optuna
release that renames it breaks one line, and tests/search/test_trial_id.py says so.
"""


def trial_id(trial) -> int:
    """The storage id of a `Trial` or `FrozenTrial`."""
    try:
        return trial._trial_id
    except AttributeError:
        raise RuntimeError(
            f"{type(trial).__name__} has no _trial_id any more: this Optuna release "
            "changed its private API; update pipeline/search/trial_id.py"
        ) from None
