"""One way to open an Optuna storage from a string, shared by the sweeper and its jobs.

sqlite:////abs/optuna.db, postgresql://..., mysql://...  -> RDBStorage (heartbeats possible)
/abs/path/optuna.journal (any path without "://")       -> JournalStorage on a JournalFileBackend
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.processes.locks import first_use_lock

SQLITE_LOCK_TIMEOUT_S = 60  # writers wait this long for SQLite's file lock instead of failing
# How long a call waits for an unreachable database (pipeline/search/patience.py): Optuna's
# default heartbeat grace period; the sweeper passes its own.
DEFAULT_PATIENCE_S = 120.0


def is_journal(url: str) -> bool:
    return "://" not in url


def open_storage(
    url: str,
    *,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    stale_trial_callback: Callable[[Any, Any], None] | None = None,
    patience: float | None = None,
):
    import optuna
    import sqlalchemy

    from pipeline.search.patience import PatientRDBStorage, StoragePatience

    if is_journal(url):
        path = Path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
    heartbeat = (
        dict(
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            heartbeat_stale_trial_callback=stale_trial_callback,
        )
        if heartbeat_interval
        else {}
    )
    # pool_pre_ping: a connection that a database restart closed is replaced, not used.
    engine = {"pool_pre_ping": True}
    if url.startswith("sqlite:"):
        engine["connect_args"] = {"timeout": SQLITE_LOCK_TIMEOUT_S}
    waits = StoragePatience(
        patience or DEFAULT_PATIENCE_S,
        sqlalchemy.engine.make_url(url).render_as_string(hide_password=True),
    )

    def open_rdb():
        with first_use_lock(url, "optuna"):  # RDBStorage creates its tables on first use
            return PatientRDBStorage(url, patience=waits, engine_kwargs=engine, **heartbeat)

    return waits.call(open_rdb)  # a job that starts while the database restarts waits for it too
