"""Direct links into the MLflow UI: an experiment's runs table, its latest multirun's
comparison page and best child run.

MLflow 3.17 opens an experiment on its GenAI "Overview" and folds a multirun's children under
the parent row; these links skip both. The routes are those of the UI's hash router
(`mlflow/server/js`: `/experiments/:id/runs`, `/experiments/:id/runs/:runUuid`,
`/compare-runs?runs=[JSON]&experiments=[JSON]`). No TensorFlow, no pandas.
"""

import json
from dataclasses import dataclass
from urllib.parse import quote

from mlflow import MlflowClient

# Set by the multirun callback (pipeline/tracking/multirun.py) on its parent run.
MULTIRUN_TAG, PARENT_VALUE, BEST_CHILD_TAG = "multirun", "parent", "best_child_run_id"


def _page(ui_url: str, route: str) -> str:
    return f"{ui_url.rstrip('/')}/#/{route}"


def runs_table_url(ui_url: str, experiment_id: str) -> str:
    return _page(ui_url, f"experiments/{experiment_id}/runs")


def run_url(ui_url: str, experiment_id: str, run_id: str) -> str:
    return _page(ui_url, f"experiments/{experiment_id}/runs/{run_id}")


def _json_param(values: list[str]) -> str:
    # Percent-encoded so a terminal makes the whole link clickable; the compare page
    # decodes its query string before parsing the JSON.
    return quote(json.dumps(values, separators=(",", ":")), safe="")


def compare_url(ui_url: str, experiment_id: str, run_ids: list[str]) -> str:
    """The comparison page with `run_ids` selected (columns in this order)."""
    return _page(
        ui_url,
        f"compare-runs?runs={_json_param(list(run_ids))}"
        f"&experiments={_json_param([experiment_id])}",
    )


@dataclass(frozen=True)
class ExperimentLinks:
    name: str  # the MLflow experiment
    runs: str  # its runs table
    multirun: str | None = None  # its latest multirun's parent run name
    children: int = 0
    compare: str | None = None  # the comparison page of that multirun's children, all selected
    best: str | None = None  # its best child run, when the multirun scored one
    best_name: str | None = None

    def text(self) -> str:
        heading = f"MLflow UI, experiment {self.name!r}"
        if self.multirun:
            heading += f", latest multirun {self.multirun!r} ({self.children} runs)"
        rows = [
            ("runs table", self.runs),
            ("compare", self.compare),
            ("best run", self.best and f"{self.best}  ({self.best_name})"),
        ]
        return "\n".join([heading] + [f"  {label:<11} {url}" for label, url in rows if url])


def multirun_links(
    client: MlflowClient, ui_url: str, parent_run_id: str, name: str | None = None
) -> ExperimentLinks:
    """Links for one multirun, from its parent run (children in the order they started)."""
    parent = client.get_run(parent_run_id)
    experiment_id = parent.info.experiment_id
    children = client.search_runs(
        [experiment_id],
        f"tags.mlflow.parentRunId = '{parent_run_id}'",
        order_by=["attributes.start_time ASC"],
    )
    best = parent.data.tags.get(BEST_CHILD_TAG)
    names = {run.info.run_id: run.info.run_name for run in children}
    return ExperimentLinks(
        name=name or client.get_experiment(experiment_id).name,
        runs=runs_table_url(ui_url, experiment_id),
        multirun=parent.info.run_name,
        children=len(children),
        compare=compare_url(ui_url, experiment_id, list(names)) if children else None,
        best=run_url(ui_url, experiment_id, best) if best else None,
        best_name=names.get(best, best),
    )


def latest_multirun_id(client: MlflowClient, experiment_id: str) -> str | None:
    parents = client.search_runs(
        [experiment_id],
        f"tags.{MULTIRUN_TAG} = '{PARENT_VALUE}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return parents[0].info.run_id if parents else None


def experiment_links(
    client: MlflowClient, ui_url: str, experiment_id: str, name: str
) -> ExperimentLinks:
    """The runs table, and the latest multirun's pages when the experiment has one."""
    parent_id = latest_multirun_id(client, experiment_id)
    if parent_id is None:
        return ExperimentLinks(name=name, runs=runs_table_url(ui_url, experiment_id))
    return multirun_links(client, ui_url, parent_id, name)


def store_links(client: MlflowClient, ui_url: str) -> list[ExperimentLinks]:
    """Every experiment that holds runs, the most recently updated first."""
    experiments = client.search_experiments(order_by=["last_update_time DESC"])
    return [
        experiment_links(client, ui_url, e.experiment_id, e.name)
        for e in experiments
        if client.search_runs([e.experiment_id], max_results=1)
    ]


def links_text(links: list[ExperimentLinks]) -> str:
    return "\n".join(entry.text() for entry in links)
