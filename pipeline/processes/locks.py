"""One process at a time through a database's first use, on every machine that shares it.

MLflow and Optuna create or migrate their tables when a process first opens a store;
several processes doing that at once on a new database race (MLflow's SQLite store
fails with `duplicate column name`). Openers hold this lock while they open the store:
a file lock beside a SQLite database, a PostgreSQL advisory lock on a server (which
every machine sees), nothing for other URLs.
"""

import fcntl
import zlib
from contextlib import contextmanager
from pathlib import Path


def _sqlite_path(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


@contextmanager
def file_lock(path: Path):
    """An exclusive lock on the file at `path` (created, folders too), for processes on one machine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _advisory_lock(url: str, name: str):
    import sqlalchemy

    key = zlib.crc32(name.encode())  # the lock's id: the same for every process that opens `name`
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    finally:
        engine.dispose()


@contextmanager
def first_use_lock(url: str, name: str):
    """Held while `url` is opened for the first time in this process; `name` tells apart the
    tools sharing one database server (for example `mlflow` and `optuna`)."""
    database = _sqlite_path(url)
    if database is not None:
        with file_lock(database.with_name(f"{database.name}.{name}-init-lock")):
            yield
    elif url.startswith("postgresql"):
        with _advisory_lock(url, f"{name}-first-use"):
            yield
    else:
        yield
