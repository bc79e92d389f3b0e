"""How an MLflow run ends: FINISHED, FAILED (with the reason in a tag) or KILLED, never RUNNING."""
import signal
import threading
from contextlib import contextmanager

import mlflow
from mlflow.entities import RunStatus

from pipeline.interruption import interrupt_behind
from pipeline.tracking.records import FAILURE_REASON_TAG

_MAX_TAG_LENGTH = 5000


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so cleanup runs (the default action skips it)."""


@contextmanager
def sigterm_raises():
    """While inside, SIGTERM raises `Terminated` (a KeyboardInterrupt) in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum, frame):
        raise Terminated("SIGTERM")

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def ends_active_run():
    """Ends the active run FINISHED on success, KILLED on Ctrl-C or SIGTERM (also when cleanup
    after it failed in its own way), FAILED on an exception (its type and message in the
    `failure_reason` tag).

    Through `mlflow.end_run`, so MLflow's own exit hook does not later mark it FINISHED.
    """
    try:
        with sigterm_raises():
            yield
    except BaseException as error:
        if interrupt_behind(error) is not None:
            mlflow.end_run(RunStatus.to_string(RunStatus.KILLED))
            raise
        mlflow.set_tag(FAILURE_REASON_TAG, f"{type(error).__name__}: {error}"[:_MAX_TAG_LENGTH])
        mlflow.end_run(RunStatus.to_string(RunStatus.FAILED))
        raise
    mlflow.end_run(RunStatus.to_string(RunStatus.FINISHED))
