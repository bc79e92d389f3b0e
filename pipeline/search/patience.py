"""An Optuna RDB storage that waits out its database's restart instead of failing the search.

Every call to the database that fails for a reason a restart explains (a refused or dropped
connection, an administrator's shutdown) is tried again, with backoff, for up to `patience`
seconds: the heartbeat grace period, after which the trials of a silent worker count as lost
anyway. The first failure is one line on stderr, the recovery another; past the patience
the call raises `StorageUnavailable` (one line: the search stops, and the same command
resumes it).

Each call is retried whole. A write the database committed just before the connection dropped
is not applied twice: finishing a trial that is already finished in the same state counts as
done; parameters, values and attributes are set, not added.
"""

import functools

import optuna
import sqlalchemy.exc
from optuna.storages import RDBStorage

from pipeline.processes.console import first_line
from pipeline.processes.patience import Patience

_FIRST_BACKOFF, _MAX_BACKOFF = 0.2, 2.0
# What a restarting database raises: SQLAlchemy's connection errors, and Optuna's wrapper of
# them (RDBStorage turns an OperationalError inside a session into StorageInternalError).
TRANSIENT = (
    optuna.exceptions.StorageInternalError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
)
# The calls that reach the database (the others read settings held in the object).
_DATABASE_METHODS = (
    "create_new_study",
    "delete_study",
    "set_study_user_attr",
    "set_study_system_attr",
    "get_study_id_from_name",
    "get_study_name_from_id",
    "get_study_directions",
    "get_study_user_attrs",
    "get_study_system_attrs",
    "get_all_studies",
    "create_new_trial",
    "set_trial_param",
    "get_trial_id_from_study_id_trial_number",
    "get_trial_number_from_id",
    "get_trial_param",
    "set_trial_intermediate_value",
    "set_trial_user_attr",
    "set_trial_system_attr",
    "get_trial",
    "get_all_trials",
    "get_n_trials",
    "get_best_trial",
    "record_heartbeat",
    "_get_stale_trial_ids",
    "get_trial_params",
    "get_trial_user_attrs",
    "get_trial_system_attrs",
    # what Optuna's cache in front of an RDB storage (`_CachedStorage`, which every study uses) calls
    "_create_new_trial",
    "_get_best_trial_id",
    "_get_trials",
    "_set_trial_param",
)


class StorageUnavailable(RuntimeError):
    """The storage stayed unreachable for longer than the patience; the message is one line."""


class StoragePatience(Patience):
    """Calls that wait out an unreachable database for up to `seconds`, saying so once."""

    def __init__(self, seconds: float, shown_url: str):
        super().__init__(seconds, _FIRST_BACKOFF, _MAX_BACKOFF)
        self.shown_url = shown_url

    def transient(self, error: BaseException) -> bool:
        return isinstance(error, TRANSIENT)

    def away_line(self, error: BaseException) -> str:
        return (
            f"optuna: the storage {self.shown_url} is unreachable ({_reason(error)}); "
            f"waiting up to {self.seconds:.0f} s for it"
        )

    def back_line(self, seconds_away: float) -> str:
        return f"optuna: the storage {self.shown_url} is back after {seconds_away:.0f} s"

    def gave_up(self, error: BaseException) -> BaseException:
        return StorageUnavailable(
            f"the Optuna storage {self.shown_url} has been unreachable for {self.seconds:.0f} s "
            f"({_reason(error)}); run the same command again to resume the search"
        )


class PatientRDBStorage(RDBStorage):
    """RDBStorage whose calls to the database go through `patience`."""

    def __init__(self, url: str, *, patience: StoragePatience, **kwargs):
        self.patience = patience
        super().__init__(url, **kwargs)

    def set_trial_state_values(self, trial_id, state, values=None) -> bool:
        attempts = []

        def finish() -> bool:
            attempts.append(1)
            try:
                return RDBStorage.set_trial_state_values(self, trial_id, state, values)
            except optuna.exceptions.UpdateFinishedTrialError:
                # A retry of a write the database committed before the connection dropped.
                if len(attempts) > 1 and RDBStorage.get_trial(self, trial_id).state == state:
                    return True
                raise

        return self.patience.call(finish)


def _retried(method):
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        return self.patience.call(method, self, *args, **kwargs)

    return call


for _name in _DATABASE_METHODS:
    if hasattr(RDBStorage, _name):
        setattr(PatientRDBStorage, _name, _retried(getattr(RDBStorage, _name)))


def _reason(error: BaseException) -> str:
    """What the database said: SQLAlchemy's and Optuna's wrappers carry it as their cause."""
    return first_line(error.__cause__ or error.__context__ or error, limit=160)
