"""A worker's heartbeat for the trial it runs, on RDB storages that have heartbeats enabled.

Study.optimize beats for its trials; an ask-and-tell sweeper must do it itself. When the
beats stop for longer than the grace period (the worker died), any other worker's
`fail_stale_trials` fails the trial and the retry callback queues it again.
"""

from contextlib import contextmanager

import optuna

from pipeline.processes.periodic import every
from pipeline.search.patience import StorageUnavailable


def beats(storage) -> bool:
    return (
        isinstance(storage, optuna.storages.RDBStorage)
        and storage.get_heartbeat_interval() is not None
    )


@contextmanager
def heartbeat(storage, trial_id: int):
    if not beats(storage):
        yield
        return

    def beat() -> None:
        try:
            storage.record_heartbeat(trial_id)
        except StorageUnavailable:
            pass  # the worker's own next call to the storage says so, and stops the search

    with every(storage.get_heartbeat_interval(), beat, name=f"heartbeat-{trial_id}"):
        yield
