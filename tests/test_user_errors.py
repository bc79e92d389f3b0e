"""Every user error is one line on stderr: Ctrl-C during training (exit 130, the MLflow run
KILLED, resumable: a killed run resumes too), and a data file that cannot be a dataset (exit 2,
before anything is written)."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient

from pipeline import PROJECT_ROOT
from pipeline.run_state import load_state
from tests.helpers import isolated_overrides, run_cli, run_in_process

pytestmark = pytest.mark.heavy

IMAGES, LABELS = np.zeros((4, 28, 28), np.uint8), np.zeros(4, np.uint8)


def write_npz(path: Path, **replace: np.ndarray) -> Path:
    arrays = {"x_train": IMAGES, "y_train": LABELS, "x_test": IMAGES, "y_test": LABELS, **replace}
    np.savez(path, **arrays)
    return path


def text_file(tmp: Path) -> Path:
    path = tmp / "mnist.npz"
    path.write_text("x_train,y_train\n0,5\n")
    return path


def truncated_npz(tmp: Path) -> Path:
    whole = write_npz(tmp / "whole.npz").read_bytes()
    path = tmp / "mnist.npz"
    path.write_bytes(whole[: len(whole) // 2])
    return path


def unreadable_file(tmp: Path) -> Path:
    if os.geteuid() == 0:  # root reads files whatever their mode; this one fails to read for anyone
        return Path("/proc/self/mem")
    path = write_npz(tmp / "mnist.npz")
    path.chmod(0)
    return path


BAD_DATA = {
    "text file": (text_file, "a text file, not an npz archive"),
    "truncated": (truncated_npz, "truncated or damaged npz archive"),
    "wrong dtype": (
        lambda tmp: write_npz(tmp / "mnist.npz", x_train=IMAGES.astype(np.float32)),
        "train images have dtype float32, expected uint8",
    ),
    "wrong shape": (
        lambda tmp: write_npz(tmp / "mnist.npz", x_test=np.zeros((4, 32, 32), np.uint8)),
        re.escape("test images have shape (4, 32, 32), expected (N>0, 28, 28)"),
    ),
    "unreadable": (unreadable_file, "cannot read"),
}


# One case goes through the command line (a process of its own); the others through the same
# Hydra app in this process, whose callback exits before any run directory exists.
ON_THE_COMMAND_LINE = "truncated"


@pytest.mark.parametrize("case", BAD_DATA)
def test_a_bad_data_file_is_one_line_before_anything_is_written(tmp_path, capsys, case):
    make, problem = BAD_DATA[case]
    (tmp_path / "given").mkdir()
    path = make(tmp_path / "given")
    run = tmp_path / "run"
    overrides = [
        "trainer=smoke",
        f"data.path={path}",
        f"data.cache_dir={run}/data",
        *isolated_overrides(run, existing_store=False),
    ]
    if case == ON_THE_COMMAND_LINE:
        result = run_cli(*overrides, timeout=120)
        code, stderr = result.returncode, result.stderr
    else:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            run_in_process(*overrides)
        code, stderr = exited.value.code, capsys.readouterr().err
    assert code == 2
    named = (
        r"/proc/\d+/mem" if path == Path("/proc/self/mem") else re.escape(str(path))
    )  # resolved there
    assert re.fullmatch(f"error: {named}: .*{problem}.*\n", stderr), stderr
    assert not run.exists()  # no run directory, no MLflow store, no cached copy


EPOCHS = 30  # more than either process gets through before the test stops it: no race with its end


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_until(condition, process: subprocess.Popen, what: str, timeout: float = 240):
    """The first true value of `condition()`, polled while `process` runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"no {what} (exit status {process.wait()})")


def wait_for(pattern: str, folder: Path, process: subprocess.Popen) -> Path:
    """The first file matching `pattern` under `folder`, once `process` has written it."""
    return wait_until(
        lambda: next(iter(sorted(folder.glob(pattern))), None), process, f"{pattern} under {folder}"
    )


@pytest.fixture(scope="module")
def killed_then_interrupted(tmp_path_factory):
    """One command twice, as a user would: a tracked smoke training killed with SIGKILL once its
    first checkpoint exists (no cleanup runs: its state still says running), then the same
    command again, which resumes it in a new run directory and gets SIGINT (Ctrl-C) once it
    has checkpointed an epoch of its own."""
    tmp = tmp_path_factory.mktemp("interrupted")
    command = [
        sys.executable,
        "-m",
        "pipeline.train",
        "trainer=smoke",
        f"trainer.epochs={EPOCHS}",
        *isolated_overrides(tmp),
    ]
    killed = subprocess.Popen(
        command, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    killed_run = wait_for("outputs/runs/*/*/checkpoints/epoch-001.keras", tmp, killed).parent.parent
    # The checkpoint is written before the state that counts it: kill only once the state has.
    wait_until(
        lambda: (state := load_state(killed_run)) is not None and state.completed_epochs >= 1,
        killed,
        "epoch 1 in state.json",
    )
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    killed_state = load_state(killed_run)

    # Ctrl-C's default disposition, however the suite was launched: a script's background job
    # starts with SIGINT ignored, and a child that inherits that rightly keeps ignoring it.
    again = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    claim = wait_for("checkpoints/resumed_into", killed_run, again)
    new_run = Path(claim.read_text())
    wait_for(f"checkpoints/epoch-{killed_state.completed_epochs + 1:03d}.keras", new_run, again)
    again.send_signal(signal.SIGINT)
    stdout, stderr = again.communicate(timeout=120)
    return tmp, killed_run, killed_state, new_run, again.returncode, stdout, stderr


@pytest.mark.system
def test_a_killed_run_resumes_when_the_same_command_runs_again(killed_then_interrupted):
    _, killed_run, killed_state, new_run, _, stdout, _ = killed_then_interrupted
    assert (
        killed_state.status == "running" and killed_state.completed_epochs >= 1
    )  # killed: nothing ended it
    assert f"resuming {killed_run} after epoch {killed_state.completed_epochs}" in stdout
    assert (
        new_run != killed_run and new_run.parent.parent == killed_run.parent.parent
    )  # a run of its own
    resumed = load_state(new_run)
    assert resumed.completed_epochs > killed_state.completed_epochs
    # The resumed run carries the killed run's epochs: one value per epoch, none repeated.
    assert resumed.history["loss"][: killed_state.completed_epochs] == killed_state.history["loss"]
    assert all(len(values) == resumed.completed_epochs for values in resumed.history.values())


@pytest.mark.system
def test_ctrl_c_is_one_line_naming_the_epoch_and_exit_130(killed_then_interrupted):
    _, _, _, run_dir, returncode, _, stderr = killed_then_interrupted
    assert returncode == 130
    assert len(stderr.splitlines()) == 1, stderr
    (line,) = stderr.splitlines()
    completed = load_state(run_dir).completed_epochs
    assert line.startswith(
        f"interrupted: stopped during epoch {completed + 1} of {EPOCHS} ({completed} completed)"
    )
    assert line.endswith("run the same command again to resume it")
    assert str(run_dir) in line


@pytest.mark.system
def test_ctrl_c_ends_the_mlflow_run_killed(killed_then_interrupted):
    """One MLflow run for the whole training: the resume continued the killed process's run."""
    tmp, _, killed_state, run_dir, *_ = killed_then_interrupted
    client = MlflowClient(f"sqlite:///{tmp}/mlruns/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("mnist").experiment_id])
    assert run.info.status == "KILLED"
    assert (
        load_state(run_dir).extra["mlflow_run_id"]
        == killed_state.extra["mlflow_run_id"]
        == run.info.run_id
    )
