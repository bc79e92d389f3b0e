"""One MLflow parent run per Optuna study, however many workers, launchers or resumes run it.

The parent's run id is kept in the study's user attributes. Creating a study is atomic in
the storage (study names are unique), so exactly one process creates it, whichever
machine it runs on: that process creates the parent run and records it; the others read
the record, waiting briefly when the creator has not written it yet.
"""

import time
from collections.abc import Callable, Sequence

PARENT_RUN_ATTR = "mlflow_parent_run_id"
_WAIT_S = 30  # how long a worker waits for the creator to record the parent


def study_parent_run(
    storage_url: str, study_name: str, directions: Sequence[str], create_parent: Callable[[], str]
) -> tuple[str, bool]:
    """The study's parent run id, and whether this call created it (with `create_parent`)."""
    import optuna

    from pipeline.search.storage import open_storage

    storage = open_storage(storage_url)
    try:
        study = optuna.create_study(
            storage=storage, study_name=study_name, directions=list(directions)
        )
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=study_name, storage=storage)
        deadline = time.monotonic() + _WAIT_S
        # A study that already has trials was made by an older run that recorded no parent.
        while not study.trials and time.monotonic() < deadline:
            if PARENT_RUN_ATTR in study.user_attrs:
                break
            time.sleep(0.2)
        if PARENT_RUN_ATTR in study.user_attrs:
            return study.user_attrs[PARENT_RUN_ATTR], False
    run_id = create_parent()
    study.set_user_attr(PARENT_RUN_ATTR, run_id)
    return run_id, True


def directions(direction) -> list[str]:
    """A sweeper's `direction` setting as the list Optuna takes: one entry per objective."""
    if isinstance(direction, str):
        return [direction]
    return [str(d) for d in direction]
