"""The Keras callback that lets the sweeper's pruner stop a training job early."""

import sys

import keras
from omegaconf import DictConfig

from pipeline.search.trial_link import TrialLink
from pipeline.tracking.records import PRUNED_AT_EPOCH_TAG, PRUNED_TAG, TRUE


def tag_tracking_run(tags: dict[str, str]) -> None:
    """Label the job's MLflow run, when tracking has one going (it ends the run itself)."""
    mlflow = sys.modules.get("mlflow")
    if mlflow is not None and mlflow.active_run() is not None:
        mlflow.set_tags(tags)


class ReportToTrial(keras.callbacks.Callback):
    """After each epoch: report the objective to the trial; stop training if the pruner says so.

    The epoch index is the step, so a resumed job reports the same steps it would have.
    """

    def __init__(self, trial_cfg: DictConfig, objective: str):
        super().__init__()
        self.link = TrialLink(trial_cfg)
        self.objective = objective

    def on_train_end(self, logs=None):
        self.link.job_ended()

    def on_epoch_end(self, epoch, logs=None):
        if self.link.report(float(logs[self.objective]), step=epoch):
            self.model.stop_training = True
            tag_tracking_run({PRUNED_TAG: TRUE, PRUNED_AT_EPOCH_TAG: str(epoch + 1)})
