"""Whether an interrupted run may be resumed: its lease, renewed by the process that runs it,
decides across machines sharing `outputs/`; on its own host a dead process counts at once."""

import json
import socket
import subprocess
import sys
import time

import pytest

from pipeline.run_state import (
    LEASE_FILE,
    RunState,
    checkpoint_dir,
    checkpoint_path,
    find_interrupted_run,
    is_resumable,
    lease,
    save_state,
)

FINGERPRINT = "f" * 16


@pytest.fixture
def interrupted(tmp_path):
    """A run that completed one epoch and whose process is gone (a finished child's pid)."""
    run_dir = tmp_path / "outputs" / "run"
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    save_state(run_dir, RunState(FINGERPRINT, completed_epochs=1, pid=int(gone)))
    checkpoint_path(run_dir, 1).write_bytes(b"weights")
    return run_dir


def hold_lease(run_dir, host: str, pid: int, expires_in: float) -> None:
    (checkpoint_dir(run_dir) / LEASE_FILE).write_text(
        json.dumps({"host": host, "pid": pid, "expires": time.time() + expires_in})
    )


def test_a_run_whose_process_died_here_is_resumable_at_once(interrupted):
    state = json.loads((checkpoint_dir(interrupted) / "state.json").read_text())
    hold_lease(
        interrupted, socket.gethostname(), state["pid"], expires_in=3600
    )  # killed: never dropped
    assert is_resumable(interrupted, FINGERPRINT)


def test_a_run_alive_on_another_host_is_not_resumed(interrupted, tmp_path):
    hold_lease(interrupted, "another-node", 1, expires_in=60)
    assert not is_resumable(interrupted, FINGERPRINT)
    assert find_interrupted_run(tmp_path / "outputs", FINGERPRINT, exclude=tmp_path / "new") is None


def test_a_run_whose_lease_lapsed_on_another_host_is_resumable(interrupted):
    hold_lease(interrupted, "another-node", 1, expires_in=-1)
    assert is_resumable(interrupted, FINGERPRINT)


def test_a_slurm_job_requeued_onto_another_node_resumes_its_own_run(interrupted, monkeypatch):
    """SLURM runs a job id once at a time: a lease of the same job is its earlier run's, ended by
    the scheduler before the requeue, however long the lease had to go."""
    lease_path = checkpoint_dir(interrupted) / LEASE_FILE
    held = {"host": "node2", "pid": 1, "slurm_job": "77", "expires": time.time() + 60}
    lease_path.write_text(json.dumps(held))
    monkeypatch.setenv("SLURM_JOB_ID", "77")
    assert is_resumable(interrupted, FINGERPRINT)
    monkeypatch.setenv("SLURM_JOB_ID", "78")  # another job: the run may still be alive
    assert not is_resumable(interrupted, FINGERPRINT)


def test_the_lease_is_renewed_while_held_and_dropped_on_exit(tmp_path):
    path = checkpoint_dir(tmp_path) / LEASE_FILE
    before = time.time()
    with lease(tmp_path, seconds=0.3):
        first = json.loads(path.read_text())
        assert first["host"] == socket.gethostname() and first["expires"] >= before + 0.3
        deadline = time.monotonic() + 60  # renewed every 0.1 s; a loaded host takes longer
        while json.loads(path.read_text())["expires"] <= first["expires"] + 0.2:
            assert time.monotonic() < deadline, "the lease was never renewed"
            time.sleep(0.05)
    assert not path.exists()
