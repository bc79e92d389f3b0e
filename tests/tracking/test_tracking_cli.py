"""The real command line: a two-job multirun makes a parent and two child runs, whichever
launcher runs the jobs; an unreachable server stops before any work."""
import os
import subprocess
import sys

import pytest
from mlflow import MlflowClient

from pipeline import PROJECT_ROOT


def run_cli(*args: str, timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "pipeline.train", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def multirun(tmp_path_factory):
    """Both jobs at once in joblib's worker processes: the parent's id reaches them in their config."""
    store = tmp_path_factory.mktemp("multirun")
    result = run_cli("-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "trainer=smoke",
                     "optimizer=sgd,adam", f"paths.output_dir={store}/outputs",
                     f"paths.mlruns_dir={store}/mlruns", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{store}/mlruns/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("mnist").experiment_id])
    return client, runs


def test_one_parent_with_one_child_per_job(multirun):
    _, runs = multirun
    (parent,) = [r for r in runs if r.data.tags.get("multirun") == "parent"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(runs) == 3 and len(children) == 2
    assert {c.data.tags["optimizer"] for c in children} == {"sgd", "adam"}
    assert all(run.info.status == "FINISHED" for run in runs)
    assert parent.data.params["sweep.optimizer"] == "sgd,adam"


def test_parent_summarises_its_children_and_names_the_best(multirun):
    client, runs = multirun
    (parent,) = [r for r in runs if r.data.tags.get("multirun") == "parent"]
    children = [r for r in runs if r is not parent]
    best = max(children, key=lambda r: r.data.metrics["best/val_accuracy"])
    assert parent.data.tags["best_child_run_id"] == best.info.run_id
    assert parent.data.metrics["best/val_accuracy"] == best.data.metrics["best/val_accuracy"]
    assert "children.csv" in {a.path for a in client.list_artifacts(parent.info.run_id)}


def test_children_carry_hydra_files_and_overrides(multirun):
    client, runs = multirun
    child = next(r for r in runs if "mlflow.parentRunId" in r.data.tags)
    assert "optimizer=" in child.data.tags["overrides"]
    assert "hydra/overrides.yaml" in {a.path for a in client.list_artifacts(child.info.run_id, "hydra")}


def test_an_unreachable_server_is_one_line_before_any_work(tmp_path):
    result = run_cli("trainer=smoke", f"paths.output_dir={tmp_path}/outputs",
                     "tracking.uri=http://127.0.0.1:9", "tracking.connect_timeout=2", timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith("error: tracking.uri=http://127.0.0.1:9 is unreachable")
    assert not (tmp_path / "outputs").exists()


@pytest.mark.slow  # ~1-2 min: two TensorFlow processes started by submitit
def test_a_named_experiment_on_submitit_local_tracks_its_jobs_under_one_parent(tmp_path):
    result = run_cli("experiments=optimizers", "hydra/launcher=submitit_local", "optimizer=sgd",
                     "model.dropout=0.5", "trainer.seed=1,2", "trainer=smoke", "tracking.log_model=false",
                     f"paths.output_dir={tmp_path}/outputs", f"paths.mlruns_dir={tmp_path}/mlruns", timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("optimizers").experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("multirun") == "parent"]
    children = [r for r in runs if r is not parent]
    assert len(children) == 2 and {r.data.tags.get("mlflow.parentRunId") for r in children} == {parent.info.run_id}
    assert {r.data.params["trainer.seed"] for r in children} == {"1", "2"}
    assert all(r.info.status == "FINISHED" for r in runs)
