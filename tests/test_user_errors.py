"""Every user error is one line on stderr: Ctrl-C during training (exit 130, the MLflow run
KILLED, resumable), and a data file that cannot be a dataset (exit 2, before anything is written)."""
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
from pipeline.checkpoints import load_state
from pipeline.data.npz import NPZ_KEYS
from tests.conftest import isolated_overrides, run_cli

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
    if os.geteuid() == 0:   # root reads files whatever their mode; this one fails to read for anyone
        return Path("/proc/self/mem")
    path = write_npz(tmp / "mnist.npz")
    path.chmod(0)
    return path


BAD_DATA = {
    "text file": (text_file, "a text file, not an npz archive"),
    "truncated": (truncated_npz, "truncated or damaged npz archive"),
    "wrong dtype": (lambda tmp: write_npz(tmp / "mnist.npz", x_train=IMAGES.astype(np.float32)),
                    "train images have dtype float32, expected uint8"),
    "wrong shape": (lambda tmp: write_npz(tmp / "mnist.npz", x_test=np.zeros((4, 32, 32), np.uint8)),
                    re.escape("test images have shape (4, 32, 32), expected (N>0, 28, 28)")),
    "unreadable": (unreadable_file, "cannot read"),
}


@pytest.mark.parametrize("case", BAD_DATA)
def test_a_bad_data_file_is_one_line_before_anything_is_written(tmp_path, case):
    make, problem = BAD_DATA[case]
    (tmp_path / "given").mkdir()
    path = make(tmp_path / "given")
    run = tmp_path / "run"
    result = run_cli("trainer=smoke", f"data.path={path}", f"data.cache_dir={run}/data", *isolated_overrides(run),
                     timeout=120)
    assert result.returncode == 2
    named = r"/proc/\d+/mem" if path == Path("/proc/self/mem") else re.escape(str(path))  # resolved there
    assert re.fullmatch(f"error: {named}: .*{problem}.*\n", result.stderr), result.stderr
    assert not run.exists()   # no run directory, no MLflow store, no cached copy


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """A 30-epoch smoke training sent SIGINT (Ctrl-C) once its first checkpoint exists."""
    tmp = tmp_path_factory.mktemp("interrupted")
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.train", "trainer=smoke", "trainer.epochs=30", *isolated_overrides(tmp)],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    checkpoints = []
    while not checkpoints and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
        checkpoints = list(tmp.glob("outputs/runs/*/*/checkpoints/epoch-001.keras"))
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert checkpoints, stderr[-3000:]
    return tmp, checkpoints[0].parent.parent, process.returncode, stdout, stderr


def test_ctrl_c_is_one_line_naming_the_epoch_and_exit_130(interrupted):
    _, run_dir, returncode, _, stderr = interrupted
    assert returncode == 130
    (line,) = stderr.splitlines()
    completed = load_state(run_dir).completed_epochs
    assert line.startswith(f"interrupted: stopped during epoch {completed + 1} of 30 ({completed} completed)")
    assert line.endswith("run the same command again to resume it")
    assert str(run_dir) in line


def test_ctrl_c_ends_the_mlflow_run_killed(interrupted):
    tmp, run_dir, *_ = interrupted
    client = MlflowClient(f"sqlite:///{tmp}/mlruns/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("mnist").experiment_id])
    assert run.info.status == "KILLED"
    assert load_state(run_dir).extra["mlflow_run_id"] == run.info.run_id
