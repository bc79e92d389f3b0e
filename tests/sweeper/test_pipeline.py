"""The real training job under the sweeper: pruned in Optuna's storage and in its MLflow run."""

import optuna
from mlflow import MlflowClient

from pipeline import PROJECT_ROOT
from pipeline.bench.hydra_multirun import multirun
from pipeline.train import main
from tests.helpers import isolated_overrides


def test_pruned_training_job_is_pruned_in_storage_and_tagged_in_mlflow(tmp_path):
    storage = f"sqlite:///{tmp_path}/mlruns/optuna.db"
    multirun(
        PROJECT_ROOT / "conf",
        "config",
        main.__wrapped__,
        [
            "+search=default",
            "trainer=smoke",
            "trainer.epochs=3",
            *isolated_overrides(tmp_path),
            f"hydra.sweep.dir={tmp_path}/sweep",
            "hydra.sweeper.n_trials=2",
            "hydra.sweeper.plots=false",
            # Prunes every trial after its first epoch: no accuracy reaches 1.1.
            "hydra/sweeper/pruner=threshold",
            "hydra.sweeper.pruner.lower=1.1",
        ],
    )
    study = optuna.load_study(study_name="mnist-default-search", storage=storage)
    assert [t.state.name for t in study.trials] == ["PRUNED", "PRUNED"]
    assert all(
        list(t.intermediate_values) == [0] for t in study.trials
    )  # training stopped after epoch 1

    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    experiment = client.get_experiment_by_name("mnist-search")
    children = client.search_runs([experiment.experiment_id], "tags.pruned = 'true'")
    assert sorted(run.data.params["trial.number"] for run in children) == ["0", "1"]
    assert all(
        run.info.status == "FINISHED" and run.data.tags["pruned_at_epoch"] == "1"
        for run in children
    )
