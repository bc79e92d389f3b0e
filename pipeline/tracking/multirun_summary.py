"""A multirun's summary on its parent run: its children's table (children.csv), the best
child and how many there are. The multirun's callback writes it at the end; when the store is
away then, `mnist-sync` writes it from the parent's queue (outbox `SUMMARY`), from the children
as the store has them by then. Each part sets a value, so a retry lands it once.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.tracking.records import (
    BEST_CHILD_RUN_ID_TAG,
    BEST_CHILD_TAG,
    CHILDREN_TAG,
    OVERRIDES_TAG,
    PARENT_ID_TAG,
    best_metric_name,
)

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient

# Children's figures in the parent's summary table, beside the objective.
SUMMARY_METRICS = ("test/accuracy", "test/loss")


def children_table(client: MlflowClient, parent: Any, objective: str) -> pd.DataFrame:
    import pandas as pd

    children = client.search_runs(
        [parent.info.experiment_id], f"tags.`{PARENT_ID_TAG}` = '{parent.info.run_id}'"
    )
    return pd.DataFrame(
        [
            {
                "run_id": run.info.run_id,
                "run_name": run.info.run_name,
                "status": run.info.status,
                OVERRIDES_TAG: run.data.tags.get(OVERRIDES_TAG, ""),
                best_metric_name(objective): run.data.metrics.get(best_metric_name(objective)),
                **{name: run.data.metrics.get(name) for name in SUMMARY_METRICS},
            }
            for run in children
        ]
    )


def best_child(table: pd.DataFrame, objective: str, mode: str) -> pd.Series | None:
    scored = table.dropna(subset=[best_metric_name(objective)]) if len(table) else table
    if not len(scored):
        return None
    column = scored[best_metric_name(objective)]
    return scored.loc[column.idxmax() if mode == "max" else column.idxmin()]


def write_summary(
    client: MlflowClient,
    parent_id: str,
    objective: str,
    mode: str,
    before: Callable[[Any], None] | None = None,
) -> None:
    """The summary of parent run `parent_id`; `before(parent)` runs first (a search ends the
    children its dead workers left open)."""
    parent = client.get_run(parent_id)
    if before is not None:
        before(parent)
    table = children_table(client, parent, objective)
    with tempfile.TemporaryDirectory() as tmp:
        table.to_csv(Path(tmp) / "children.csv", index=False)
        client.log_artifact(parent_id, str(Path(tmp) / "children.csv"))
    best = best_child(table, objective, mode)
    if best is not None:
        client.set_tag(parent_id, BEST_CHILD_RUN_ID_TAG, best["run_id"])
        client.set_tag(parent_id, BEST_CHILD_TAG, f"{best['run_name']} ({best[OVERRIDES_TAG]})")
        name = best_metric_name(objective)
        value = best[name]
        if parent.data.metrics.get(name) != value:  # a metric is added, not set
            client.log_metric(parent_id, name, value)
    client.set_tag(parent_id, CHILDREN_TAG, str(len(table)))
