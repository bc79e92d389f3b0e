"""Where a tracked job's time went (timings.json), and a job without the test evaluation."""

import json

from mlflow import MlflowClient

from pipeline.timings import TIMINGS_FILE
from tests.tracking.helpers import SMOKE_EPOCHS, only_run, tracked_config, train

PER_EPOCH = ("train_s", "validation_s", "checkpoint_s", "epoch_tracking_s")
ONE_OFF = (
    "runtime_s",
    "data_s",
    "model_s",
    "tracking_start_s",
    "test_evaluation_s",
    "figures_s",
    "model_upload_s",
    "results_tracking_s",
    "tracking_wait_s",
    "job_s",
)


def test_every_phase_is_timed_once_per_job_or_once_per_epoch(smoke_run):
    timings = json.loads((smoke_run.run_dir / TIMINGS_FILE).read_text())
    for phase in PER_EPOCH:
        assert len(timings[phase]) == SMOKE_EPOCHS, phase
    for phase in ONE_OFF:
        assert timings[phase] > 0, phase
    # The figures are part of the results' tracking; everything in this thread is part of the job
    # (the model upload runs in the tracking thread, mostly while the end waits for the queue).
    assert timings["figures_s"] <= timings["results_tracking_s"]
    assert timings["model_upload_s"] <= timings["job_s"]
    parts = sum(sum(timings[phase]) for phase in PER_EPOCH) + sum(
        timings[phase]
        for phase in (
            "runtime_s",
            "data_s",
            "model_s",
            "tracking_start_s",
            "test_evaluation_s",
            "results_tracking_s",
            "tracking_wait_s",
        )
    )
    assert parts <= timings["job_s"]


def test_without_the_test_evaluation_a_run_keeps_its_validation_figures_and_no_test_ones(tmp_path):
    cfg = tracked_config(tmp_path, "trainer.test_evaluation=false", "tracking.log_model=false")
    run_dir = train(cfg, "no-test")
    client = MlflowClient(cfg.tracking.uri)
    run = only_run(client, cfg)

    assert run.info.status == "FINISHED"
    assert "best/val_accuracy" in run.data.metrics and "val/accuracy" in run.data.metrics
    assert not [name for name in run.data.metrics if name.startswith(("test/", "test_per_class/"))]
    figures = {item.path for item in client.list_artifacts(run.info.run_id, "evaluation")}
    assert figures == {"evaluation/learning_curves.png"}
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert "objective" in metrics and "history" in metrics
    assert (
        not [key for key in metrics if key.startswith("test_")]
        and "confusion_matrix" not in metrics
    )
    assert "test_evaluation_s" not in json.loads((run_dir / TIMINGS_FILE).read_text())
