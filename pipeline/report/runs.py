"""The runs a report covers: the latest multirun's jobs (or every run), as one pandas DataFrame.

Two small queries (the parents, then one parent's children) rather than the whole
experiment, so the report stays fast on a store that has collected many multiruns.
"""

from dataclasses import dataclass

import mlflow
import pandas as pd
from mlflow import MlflowClient

from pipeline.report.settings import ReportError, ReportSettings
from pipeline.tracking.records import MULTIRUN_TAG, PARENT_ID_TAG, PARENT_VALUE, metric_name

VAL_ACCURACY = metric_name("val_accuracy")


@dataclass
class Selection:
    runs: pd.DataFrame  # one row per training job: mlflow.search_runs' columns
    parent: pd.Series | None  # the multirun's parent run; None when reporting every run
    scope: str  # what the runs are, for the reader


def _search(experiment_id: str, filter_string: str = "", **kwargs) -> pd.DataFrame:
    return mlflow.search_runs(
        [experiment_id], filter_string=filter_string, output_format="pandas", **kwargs
    )


def _without_parents(runs: pd.DataFrame) -> pd.DataFrame:
    column = f"tags.{MULTIRUN_TAG}"
    if column not in runs:
        return runs
    return runs[runs[column] != PARENT_VALUE].reset_index(drop=True)


def select_runs(client: MlflowClient, settings: ReportSettings) -> Selection:
    experiment = client.get_experiment_by_name(settings.experiment_name)
    if experiment is None:
        raise ReportError(
            f"experiment {settings.experiment!r} has no runs in {settings.tracking_uri} "
            f"(no MLflow experiment {settings.experiment_name!r}); run it first"
        )
    mlflow.set_tracking_uri(settings.tracking_uri)
    experiment_id = experiment.experiment_id
    parents = (
        pd.DataFrame()
        if settings.all_runs
        else _search(
            experiment_id,
            f"tags.{MULTIRUN_TAG} = '{PARENT_VALUE}'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
    )
    if len(parents):
        parent = parents.iloc[0]
        runs = _search(experiment_id, f"tags.`{PARENT_ID_TAG}` = '{parent.run_id}'")
        scope = f"latest multirun {parent['tags.mlflow.runName']} (parent run {parent.run_id})"
    else:
        parent = None
        runs = _without_parents(_search(experiment_id))
        scope = f"all runs of experiment {settings.experiment_name!r}"
    if not len(runs):
        raise ReportError(
            f"experiment {settings.experiment!r} has no runs in {scope} "
            f"(store {settings.tracking_uri})"
        )
    return Selection(runs=runs, parent=parent, scope=scope)


def val_accuracy_histories(client: MlflowClient, run_ids: list[str]) -> dict[str, pd.Series]:
    """Each run's validation accuracy by 0-based epoch (the step it was logged at)."""
    histories = {}
    for run_id in run_ids:
        points = client.get_metric_history(run_id, VAL_ACCURACY)
        histories[run_id] = pd.Series(
            {point.step: point.value for point in points}, dtype=float
        ).sort_index()
    return histories
