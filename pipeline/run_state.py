"""Run state on disk: which epochs a run completed, and which interrupted run to resume.

Numpy/stdlib only; the Keras side (saving models) lives in `pipeline.training.checkpointing`.

A run directory holds `checkpoints/epoch-NNN.keras` (weights, optimizer state and the
dropout RNG state), `checkpoints/state.json`:
  {"fingerprint", "completed_epochs", "history": {metric: [per epoch]}, "status",
   "pid", "host", "resumed_into", "extra": {...}}
and, while its process runs, `checkpoints/lease.json` ({"host", "pid", "expires"}), which
that process renews: with `outputs/` on a file system that several machines share, a
run is alive while its lease is, whichever machine looks.
"""

import hashlib
import json
import os
import socket
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from pipeline.files import replace_file
from pipeline.processes.liveness import process_running
from pipeline.processes.periodic import every

CHECKPOINT_DIR = "checkpoints"
STATE_FILE = "state.json"
CLAIM_FILE = "resumed_into"
LEASE_FILE = "lease.json"
# RunState.extra: the run directory a resumed run continues (its tracking queue may hold records).
RESUMED_FROM_KEY = "resumed_from"

# Keys that do not change what a run learns; leaving them out of the fingerprint lets a
# restarted command find its interrupted run even if, say, the tracking store moved.
_NOT_FINGERPRINTED = ("paths", "tracking", "hydra")
_NOT_FINGERPRINTED_TRAINER = (
    "resume",
    "resume_from",
    "lease_seconds",
    "verbose",
    "test_evaluation",
    "reuse_traced",  # the same numbers either way (pipeline/training/reuse.py)
)


@dataclass
class RunState:
    fingerprint: str
    completed_epochs: int = 0
    history: dict[str, list[float]] = field(default_factory=dict)
    status: str = "running"  # running | finished | failed
    pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=socket.gethostname)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. the tracking run id

    def record_epoch(self, logs: dict[str, float]) -> None:
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        self.completed_epochs += 1


def fingerprint(cfg: DictConfig) -> str:
    """A hash of everything in the config that shapes training."""
    container = OmegaConf.to_container(cfg, resolve=True)
    for key in _NOT_FINGERPRINTED:
        container.pop(key, None)
    for key in _NOT_FINGERPRINTED_TRAINER:
        container.get("trainer", {}).pop(key, None)
    return hashlib.sha256(json.dumps(container, sort_keys=True).encode()).hexdigest()[:16]


def checkpoint_dir(run_dir: Path) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR


def checkpoint_path(run_dir: Path, epoch: int) -> Path:
    """The checkpoint written after `epoch` (1-based) completed epochs."""
    return checkpoint_dir(run_dir) / f"epoch-{epoch:03d}.keras"


def rng_state_path(model_path: Path) -> Path:
    """The JSON beside a checkpoint with its layers' RNG states (see `training.checkpointing`)."""
    return model_path.with_suffix(".rng.json")


def write_json_atomically(path: Path, payload: dict) -> None:
    replace_file(path, json.dumps(payload, indent=2, sort_keys=True))


def save_state(run_dir: Path, state: RunState) -> None:
    folder = checkpoint_dir(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomically(folder / STATE_FILE, asdict(state))


def load_state(run_dir: Path) -> RunState | None:
    path = checkpoint_dir(run_dir) / STATE_FILE
    if not path.is_file():
        return None
    return RunState(**json.loads(path.read_text()))


def _process_alive(pid: int) -> bool:
    """Whether `pid` runs on this machine (and is not this process, which is resuming)."""
    return pid != os.getpid() and process_running(pid)


@contextmanager
def lease(run_dir: Path, seconds: float):
    """Hold the run's lease while inside: renewed every third of `seconds`, dropped on exit.
    A process killed outright stops renewing; its lease lapses after `seconds`."""
    path = checkpoint_dir(run_dir) / LEASE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    owner = {"host": socket.gethostname(), "pid": os.getpid()}
    if "SLURM_JOB_ID" in os.environ:
        owner["slurm_job"] = os.environ["SLURM_JOB_ID"]

    def renew() -> None:
        write_json_atomically(path, {**owner, "expires": time.time() + seconds})

    try:
        with every(seconds / 3, renew, name="run-lease"):  # held before the first epoch starts
            yield
    finally:
        path.unlink(missing_ok=True)


def _alive(run_dir: Path, state: RunState) -> bool:
    """Whether the run's process still runs: its lease, checked at once on its own host."""
    path = checkpoint_dir(run_dir) / LEASE_FILE
    try:
        held = json.loads(path.read_text())
    except (OSError, ValueError):
        held = None
    if held is None:  # no lease: finished cleanly, or written before leases existed
        return state.host == socket.gethostname() and _process_alive(state.pid)
    if held.get("slurm_job") and held["slurm_job"] == os.environ.get("SLURM_JOB_ID"):
        return False  # this job's earlier run, which SLURM ended before requeueing the job
    if held["host"] == socket.gethostname():
        return _process_alive(held["pid"])
    return held["expires"] > time.time()


def is_resumable(run_dir: Path, expected_fingerprint: str) -> bool:
    state = load_state(run_dir)
    return (
        state is not None
        and state.status == "running"
        and state.completed_epochs > 0
        and not (checkpoint_dir(run_dir) / CLAIM_FILE).exists()
        and not _alive(run_dir, state)
        and checkpoint_path(run_dir, state.completed_epochs).is_file()
        and state.fingerprint == expected_fingerprint
    )


def find_interrupted_run(output_dir: Path, expected_fingerprint: str, exclude: Path) -> Path | None:
    """The most recently updated interrupted run of the same config under `output_dir`."""
    candidates = [
        state_file.parent.parent
        for state_file in Path(output_dir).glob(f"**/{CHECKPOINT_DIR}/{STATE_FILE}")
        if state_file.parent.parent.resolve() != Path(exclude).resolve()
    ]
    candidates = [run for run in candidates if is_resumable(run, expected_fingerprint)]
    if not candidates:
        return None
    return max(candidates, key=lambda run: (checkpoint_dir(run) / STATE_FILE).stat().st_mtime)


def claim(source_run: Path, new_run: Path) -> bool:
    """Mark `source_run` as continued by `new_run`; False if another process got there first."""
    try:
        fd = os.open(checkpoint_dir(source_run) / CLAIM_FILE, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(str(Path(new_run).resolve()))
    return True


def release(source_run: Path) -> None:
    """Undo `claim`: the resuming process stopped before it held the run's state."""
    (checkpoint_dir(source_run) / CLAIM_FILE).unlink(missing_ok=True)
