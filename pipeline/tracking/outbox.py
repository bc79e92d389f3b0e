"""A run's durable tracking queue: what the run records, written to its run directory
first and delivered to the tracking store, in order, by `pipeline.tracking.delivery`. A
multirun's parent run has one in the sweep folder only when its store was away at the end.

Appending is all the training loop does (a line of JSON, flushed to disk), so it never
waits on a tracking server; a run that ends while its server is away leaves the queue for
`mnist-sync`. Stdlib only.

RUN_DIR/tracking-outbox/
  target.json   the store and the run the records belong to
  queue.jsonl   one record per line: {"seq": N, "op": ..., ...}
  delivered     the seq of the last delivered record (written atomically after each one)
  files/N/      the files record N uploads (hard links where possible: a checkpoint that
                the run prunes later is still there to deliver)
  lock          held by the one process delivering this queue
"""

import fcntl
import json
import os
import shutil
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.files import replace_file

OUTBOX_DIR = "tracking-outbox"

# Record types (the "op" field) and what each carries:
METRICS = "metrics"  # "metrics": [[key, value, timestamp_ms, step], ...]
TAGS = "tags"  # "tags": {key: value}
ARTIFACTS = (
    "artifacts"  # "artifact_path": folder in the run's artifacts or null; the files are files/N/
)
MODEL = (
    "model"  # "register_as", "alias"; files/N/model.keras (+ example.npy), written by `keep_model`
)
SUMMARY = "summary"  # "objective", "mode": a multirun parent's summary, from its children then
END = "end"  # "status": FINISHED | FAILED | KILLED; "time_ms": when the run ended


class OutboxBusy(RuntimeError):
    """Another process is delivering this queue (its run is still going, or a sync is)."""


@dataclass(frozen=True)
class Record:
    seq: int
    op: str
    fields: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]


class Outbox:
    """The queue in `run_dir`; `put` is safe from several threads."""

    def __init__(self, run_dir: Path):
        self.folder = Path(run_dir) / OUTBOX_DIR
        self._lock = threading.Lock()
        self._added = threading.Condition(self._lock)
        self._next_seq = None
        self._last_appended = None  # by this process
        self._lock_handle = None

    # -- the target --------------------------------------------------------------------------
    def open(self, uri: str, run_id: str) -> None:
        """Create the queue for run `run_id` of store `uri` (or continue the one there)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = {"uri": uri, "run_id": run_id}
        if self.target() != target:
            replace_file(self.folder / "target.json", json.dumps(target))

    def target(self) -> dict[str, str] | None:
        try:
            return json.loads((self.folder / "target.json").read_text())
        except (OSError, ValueError):
            return None

    # -- writing -----------------------------------------------------------------------------
    def put(self, op: str, **fields: Any) -> int:
        """Append a record, durably; returns its seq."""
        with self._added:
            seq = self._reserve()
            self._append(seq, op, fields)
            self._added.notify_all()
            return seq

    def put_files(
        self,
        artifact_path: str | None,
        files: Iterable[Path] = (),
        folders: Iterable[Path] = (),
        texts: dict[str, str] | None = None,
    ) -> int:
        """An artifacts record: `files` and the contents of `folders` under `artifact_path`,
        plus `texts` ({file name: content}) written as files."""
        with self._added:
            seq = self._reserve()
            staged = self.files_of(seq)
            staged.mkdir(parents=True, exist_ok=True)
            for path in files:
                _link_or_copy(Path(path), staged / Path(path).name)
            for folder in folders:
                shutil.copytree(folder, staged, copy_function=_link_or_copy, dirs_exist_ok=True)
            for name, text in (texts or {}).items():
                (staged / name).write_text(text)
            self._append(seq, ARTIFACTS, {"artifact_path": artifact_path})
            self._added.notify_all()
            return seq

    def files_of(self, seq: int) -> Path:
        return self.folder / "files" / str(seq)

    def _reserve(self) -> int:
        if self._next_seq is None:
            records = self.records()
            self._next_seq = max([r.seq for r in records] + [self.delivered_seq()]) + 1
        seq, self._next_seq = self._next_seq, self._next_seq + 1
        return seq

    def _append(self, seq: int, op: str, fields: dict[str, Any]) -> None:
        line = json.dumps({"seq": seq, "op": op, **fields}) + "\n"
        with open(self.folder / "queue.jsonl", "a") as queue:
            queue.write(line)
            queue.flush()
            os.fsync(queue.fileno())
        self._last_appended = seq

    # -- reading and delivering --------------------------------------------------------------
    def records(self) -> list[Record]:
        """Every record in the queue, in order (a half-written last line, left by a kill, is not one)."""
        try:
            lines = (self.folder / "queue.jsonl").read_text().splitlines()
        except FileNotFoundError:
            return []
        records = []
        for line in lines:
            try:
                item = json.loads(line)
            except ValueError:
                continue
            seq, op = item.pop("seq"), item.pop("op")
            records.append(Record(seq, op, item))
        return sorted(records, key=lambda r: r.seq)

    def pending(self) -> list[Record]:
        delivered = self.delivered_seq()
        return [r for r in self.records() if r.seq > delivered]

    def delivered_seq(self) -> int:
        try:
            return int((self.folder / "delivered").read_text())
        except (OSError, ValueError):
            return 0

    def mark_delivered(self, record: Record) -> None:
        replace_file(self.folder / "delivered", str(record.seq))
        shutil.rmtree(self.files_of(record.seq), ignore_errors=True)

    def wait_for_more(self, after_seq: int, timeout: float) -> None:
        """Until this process adds a record after `after_seq`, or `timeout` passes."""
        with self._added:
            if self._last_appended is None or self._last_appended <= after_seq:
                self._added.wait(timeout)

    def wake(self) -> None:
        with self._added:
            self._added.notify_all()

    # -- one deliverer at a time -------------------------------------------------------------
    def take_delivery(self) -> None:
        """Become this queue's only deliverer, or raise `OutboxBusy`."""
        self.folder.mkdir(exist_ok=True)
        handle = open(self.folder / "lock", "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise OutboxBusy(f"another process is delivering {self.folder}") from None
        self._lock_handle = handle

    def release_delivery(self) -> None:
        if self._lock_handle is not None:
            self._lock_handle.close()
            self._lock_handle = None


def outboxes_under(folder: Path) -> list[Outbox]:
    """Every run directory's queue under `folder` with records still to deliver, deeper
    folders first: a multirun's jobs before its parent, whose summary reads theirs."""
    paths = sorted(Path(folder).rglob("queue.jsonl"), key=lambda p: (-len(p.parts), p))
    found = (Outbox(path.parent.parent) for path in paths if path.parent.name == OUTBOX_DIR)
    return [outbox for outbox in found if outbox.pending()]


def _link_or_copy(source, destination) -> None:
    try:
        os.link(source, destination)
    except OSError:  # another file system, or one without hard links
        shutil.copy2(source, destination)
