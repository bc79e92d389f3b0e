"""How an MLflow run ends: FINISHED, FAILED (with the reason in a tag) or KILLED, never RUNNING."""

from collections.abc import Callable
from contextlib import contextmanager

from pipeline.processes.interruption import interrupt_behind

FINISHED, FAILED, KILLED = "FINISHED", "FAILED", "KILLED"
_MAX_TAG_LENGTH = 5000


def failure_reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:_MAX_TAG_LENGTH]


@contextmanager
def ends_run(end: Callable[[str, str | None], None]):
    """Calls `end(status, failure_reason)` when the block ends: FINISHED on success, KILLED on
    Ctrl-C or SIGTERM (also when cleanup after it failed in its own way), FAILED on an
    exception, with its type and message as the reason."""
    try:
        yield
    except BaseException as error:
        if interrupt_behind(error) is not None:
            end(KILLED, None)
        else:
            end(FAILED, failure_reason(error))
        raise
    end(FINISHED, None)


def end_active_run(status: str, reason: str | None) -> None:
    """End MLflow's active run now, straight to its store."""
    import mlflow

    from pipeline.tracking.records import FAILURE_REASON_TAG

    if reason is not None:
        mlflow.set_tag(FAILURE_REASON_TAG, reason)
    mlflow.end_run(status)


def ends_active_run():
    """`ends_run` for MLflow's active run, without a queue (a job that logs little)."""
    return ends_run(end_active_run)
