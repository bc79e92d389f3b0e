"""The real command line: a multirun makes a parent and a child run per job, whichever
launcher runs the jobs; an unreachable server stops before any work."""

import pytest
from mlflow import MlflowClient

from tests.helpers import ARMS, SEEDS, run_cli


def test_one_parent_with_one_child_per_job(smoke_store):
    """The shared store's multirun (tests/conftest.py): `-m hydra/launcher=joblib` on the real
    command line, two optimizers x two seeds, each job in a joblib worker process."""
    parent, jobs = smoke_store.parent, smoke_store.jobs
    assert len(jobs) == len(ARMS) * len(SEEDS)
    assert {c.data.tags.get("mlflow.parentRunId") for c in jobs} == {parent.info.run_id}
    assert {(c.data.tags["optimizer"], c.data.params["trainer.seed"]) for c in jobs} == {
        (arm, str(seed)) for arm in ARMS for seed in SEEDS
    }
    assert all(run.info.status == "FINISHED" for run in [parent, *jobs])
    assert parent.data.params["sweep.optimizer"] == ",".join(ARMS)
    assert len({c.data.tags["overrides"] for c in jobs}) == len(jobs)  # each job its own overrides


def test_parent_summarises_its_children_and_names_the_best(smoke_store):
    client, parent = smoke_store.client, smoke_store.parent
    best = max(smoke_store.jobs, key=lambda r: r.data.metrics["best/val_accuracy"])
    assert parent.data.tags["best_child_run_id"] == best.info.run_id
    assert parent.data.metrics["best/val_accuracy"] == best.data.metrics["best/val_accuracy"]
    assert "children.csv" in {a.path for a in client.list_artifacts(parent.info.run_id)}


def test_children_carry_hydra_files_and_overrides(smoke_store):
    for child in smoke_store.jobs:
        assert "optimizer=" in child.data.tags["overrides"]
        assert "hydra/overrides.yaml" in {
            a.path for a in smoke_store.client.list_artifacts(child.info.run_id, "hydra")
        }


def test_an_unreachable_server_is_one_line_before_any_work(tmp_path):
    result = run_cli(
        "trainer=smoke",
        f"paths.output_dir={tmp_path}/outputs",
        "tracking.uri=http://127.0.0.1:9",
        "tracking.connect_timeout=2",
        timeout=60,
    )
    assert result.returncode != 0
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("error: tracking.uri=http://127.0.0.1:9 is unreachable")
    )
    assert not (tmp_path / "outputs").exists()


@pytest.mark.slow  # ~1-2 min: two TensorFlow processes started by submitit
def test_a_named_experiment_on_submitit_local_tracks_its_jobs_under_one_parent(tmp_path):
    result = run_cli(
        "experiments=optimizers",
        "hydra/launcher=submitit_local",
        "optimizer=sgd",
        "model.dropout=0.5",
        "trainer.seed=1,2",
        "trainer=smoke",
        "tracking.log_model=false",
        f"paths.output_dir={tmp_path}/outputs",
        f"paths.mlruns_dir={tmp_path}/mlruns",
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("optimizers").experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("multirun") == "parent"]
    children = [r for r in runs if r is not parent]
    assert len(children) == 2 and {r.data.tags.get("mlflow.parentRunId") for r in children} == {
        parent.info.run_id
    }
    assert {r.data.params["trainer.seed"] for r in children} == {"1", "2"}
    assert all(r.info.status == "FINISHED" for r in runs)
