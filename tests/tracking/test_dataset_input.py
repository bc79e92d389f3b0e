"""The training data as a run's input: jobs starting at once on one store all record it."""

import subprocess
import sys
import time

import pytest
from mlflow import MlflowClient

from pipeline import PROJECT_ROOT

# A job's start, held at the moment it logs its dataset until every job is there.
JOB = """
import sys, time
from pathlib import Path
from types import SimpleNamespace

import mlflow
import numpy as np

from pipeline.tracking.dataset_input import log_dataset_input

uri, folder, name = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
mlflow.set_tracking_uri(uri)
mlflow.set_experiment("jobs")
splits = SimpleNamespace(
    train_x=np.zeros((4, 28, 28), np.uint8), train_y=np.zeros(4, np.uint8),
    cache_path="/data/mnist.npz", name="mnist", digest="5" * 64, source="test",
)
with mlflow.start_run(run_name=name):
    (folder / name).touch()
    while not (folder / "go").exists():
        time.sleep(0.005)
    log_dataset_input(splits)
"""


@pytest.mark.system
def test_jobs_logging_the_same_dataset_at_once_all_record_it(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(uri)
    client.create_experiment("jobs")  # the store exists, as when a multirun's jobs start
    names = [f"job{i}" for i in range(3)]
    jobs = [
        subprocess.Popen(
            [sys.executable, "-c", JOB, uri, str(tmp_path), name],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in names
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / name).exists() for name in names):
        assert all(job.poll() is None for job in jobs), "a job ended before logging its dataset"
        assert time.monotonic() < deadline, "the jobs did not start within 120 s"
        time.sleep(0.05)
    (tmp_path / "go").touch()  # every job looks the dataset up, finds none, and inserts it
    for job in jobs:
        output, _ = job.communicate(timeout=120)
        assert job.returncode == 0, output[-2000:]
    experiment = client.get_experiment_by_name("jobs")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(run.info.run_name for run in runs) == names
    for run in runs:
        (recorded,) = run.inputs.dataset_inputs
        assert (recorded.dataset.name, recorded.dataset.digest) == ("mnist", "5" * 32)
