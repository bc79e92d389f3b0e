"""Opening a tracking store: many processes at once on a new store, remote artifact roots."""

import subprocess
import sys

import pytest
from mlflow import MlflowClient
from omegaconf import OmegaConf

from pipeline import PROJECT_ROOT
from pipeline.tracking.store import experiment_id

OPEN_STORE = (
    "import sys; from pipeline.tracking.store import prepare_store; prepare_store(sys.argv[1], 5)"
)


def open_at_once(uri: str, processes: int = 3) -> list[subprocess.CompletedProcess]:
    """`processes` first uses of `uri` started at the same moment, as three jobs would."""
    started = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_STORE, uri],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    return [
        subprocess.CompletedProcess(p.args, p.wait(timeout=180), *p.communicate()) for p in started
    ]


@pytest.mark.system
def test_three_processes_opening_a_new_sqlite_store_at_once_all_succeed(tmp_path):
    uri = f"sqlite:///{tmp_path}/new/mlflow.db"
    for result in open_at_once(uri):
        assert result.returncode == 0, result.stderr[-2000:]
    assert MlflowClient(uri).search_experiments()


def test_a_remote_artifact_root_is_passed_as_a_uri(tmp_path):
    tracking = OmegaConf.create(
        {
            "uri": f"sqlite:///{tmp_path}/mlflow.db",
            "experiment_name": "remote",
            "artifact_root": "s3://team-bucket/mnist",
        }
    )
    experiment = MlflowClient(tracking.uri).get_experiment(experiment_id(tracking))
    assert experiment.artifact_location == "s3://team-bucket/mnist"
