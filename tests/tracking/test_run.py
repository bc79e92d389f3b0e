"""One tracked training, read back through MlflowClient."""

import mlflow
import numpy as np
import pytest

from pipeline.data import load_splits
from pipeline.tracking.naming import flat_params
from tests.tracking.helpers import REGISTERED_NAME, SMOKE_EPOCHS

EPOCH_METRICS = (
    "train/loss",
    "train/accuracy",
    "val/loss",
    "val/accuracy",
    "optimizer/learning_rate",
    "speed/epoch_time",
    "speed/samples_per_second",
    "speed/cpu_utilization",
)


def artifact_paths(client, run_id, folder=None) -> set[str]:
    paths = set()
    for item in client.list_artifacts(run_id, folder):
        paths |= artifact_paths(client, run_id, item.path) if item.is_dir else {item.path}
    return paths


def test_run_finished_with_a_readable_name_and_tags(smoke_run):
    run = smoke_run.run
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "convnet-adam-lr1e-3-do0.4"
    assert {
        "model": "convnet",
        "optimizer": "adam",
        "dataset": "mnist",
    }.items() <= run.data.tags.items()
    assert len(run.data.tags["git.commit"]) == 40
    assert run.data.tags["git.dirty"] in ("true", "false")


def test_every_config_leaf_is_a_parameter(smoke_run):
    assert smoke_run.run.data.params == flat_params(smoke_run.cfg)
    assert smoke_run.run.data.params["optimizer.learning_rate"] == "0.001"
    assert smoke_run.run.data.params["model.filters"] == "[32, 64, 128]"


@pytest.mark.parametrize("name", EPOCH_METRICS)
def test_epoch_metrics_have_one_value_per_epoch(smoke_run, name):
    history = smoke_run.client.get_metric_history(smoke_run.run.info.run_id, name)
    assert sorted(m.step for m in history) == list(range(SMOKE_EPOCHS))


def test_test_figures_and_objective_are_logged(smoke_run):
    metrics = smoke_run.run.data.metrics
    assert 0.0 <= metrics["test/accuracy"] <= 1.0
    # Tracking measures its own cost in every run: a few seconds at most, here on a small run.
    assert 0.0 < metrics["tracking/seconds"] < 30
    assert {f"test_per_class/recall_class_{k}" for k in range(10)} <= metrics.keys()
    assert metrics["best/val_accuracy"] == max(
        m.value
        for m in smoke_run.client.get_metric_history(smoke_run.run.info.run_id, "val/accuracy")
    )


def test_artifacts_are_present(smoke_run):
    paths = artifact_paths(smoke_run.client, smoke_run.run.info.run_id)
    expected = {
        "config.yaml",
        "model_summary.txt",
        "metrics.json",
        "evaluation/learning_curves.png",
        "evaluation/confusion_matrix.png",
        "evaluation/confusion_matrix.csv",
        "evaluation/misclassified.png",
        "checkpoints/state.json",
        *(f"checkpoints/epoch-{e:03d}.keras" for e in range(1, SMOKE_EPOCHS + 1)),
    }
    assert expected <= paths


def test_dataset_is_a_run_input(smoke_run):
    (dataset_input,) = smoke_run.run.inputs.dataset_inputs
    splits = load_splits(smoke_run.cfg.data)
    assert dataset_input.dataset.name == "mnist"
    assert splits.digest.startswith(dataset_input.dataset.digest)
    assert {t.key: t.value for t in dataset_input.tags}["sha256"] == splits.digest


def test_logged_model_predicts_probabilities_from_raw_images(smoke_run):
    mlflow.set_tracking_uri(smoke_run.cfg.tracking.uri)
    model = mlflow.pyfunc.load_model(smoke_run.run.data.tags["model_uri"])
    images = load_splits(smoke_run.cfg.data).test_x[:7]
    assert images.dtype == np.uint8
    probabilities = np.asarray(model.predict(images))
    assert probabilities.shape == (7, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert model.metadata.saved_input_example_info is not None
    assert model.metadata.get_input_schema().inputs[0].type == np.dtype("uint8")


def test_model_is_registered_with_its_alias(smoke_run):
    version = smoke_run.client.get_model_version_by_alias(
        REGISTERED_NAME, smoke_run.cfg.tracking.register_alias
    )
    assert version.run_id == smoke_run.run.info.run_id
