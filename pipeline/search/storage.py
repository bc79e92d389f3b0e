"""One way to open an Optuna storage from a string, shared by the sweeper and its jobs.

  sqlite:////abs/optuna.db, postgresql://..., mysql://...  -> RDBStorage (heartbeats possible)
  /abs/path/optuna.journal (any path without "://")       -> JournalStorage on a JournalFileBackend
"""
from pathlib import Path
from typing import Any, Callable, Optional

from pipeline.first_use import first_use_lock

SQLITE_LOCK_TIMEOUT_S = 60   # writers wait this long for SQLite's file lock instead of failing


def is_journal(url: str) -> bool:
    return "://" not in url


def open_storage(url: str, *, heartbeat_interval: Optional[int] = None, grace_period: Optional[int] = None,
                 stale_trial_callback: Optional[Callable[[Any, Any], None]] = None):
    import optuna

    if is_journal(url):
        path = Path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
    heartbeat = dict(heartbeat_interval=heartbeat_interval, grace_period=grace_period,
                     heartbeat_stale_trial_callback=stale_trial_callback) if heartbeat_interval else {}
    sqlite = {"engine_kwargs": {"connect_args": {"timeout": SQLITE_LOCK_TIMEOUT_S}}} if url.startswith("sqlite:") else {}
    with first_use_lock(url, "optuna"):   # RDBStorage creates its tables on first use
        return optuna.storages.RDBStorage(url, **sqlite, **heartbeat)
