"""A worker's heartbeat for the trial it runs, on RDB storages that have heartbeats enabled.

Study.optimize beats for its trials; an ask-and-tell sweeper must do it itself. When the
beats stop for longer than the grace period (the worker died), any other worker's
`fail_stale_trials` fails the trial and the retry callback queues it again.
"""
import threading
from contextlib import contextmanager

import optuna


def beats(storage) -> bool:
    return isinstance(storage, optuna.storages.RDBStorage) and storage.get_heartbeat_interval() is not None


@contextmanager
def heartbeat(storage, trial_id: int):
    if not beats(storage):
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while True:
            storage.record_heartbeat(trial_id)
            if stop.wait(storage.get_heartbeat_interval()):
                return

    thread = threading.Thread(target=beat, name=f"heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
