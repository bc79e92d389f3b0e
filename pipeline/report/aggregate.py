"""Per-arm figures: finished runs are averaged; pruned, failed and running ones only counted."""

import numpy as np
import pandas as pd

from pipeline.report.arms import FAILED, FINISHED, PRUNED, RUNNING
from pipeline.tracking.records import metric_name

TEST_ACCURACY = metric_name("test_accuracy")
EPOCH_TIME = metric_name("epoch_time")
ALL_RUNS_ARM = "all runs"  # the one arm when the runs differ in nothing but seeds
COUNTED_APART = (PRUNED, FAILED, RUNNING)


def arm_labels(arms: pd.DataFrame) -> pd.Series:
    """`optimizer=adam model.dropout=0.25` per row; the same label for every row without keys."""
    if arms.columns.empty:
        return pd.Series(ALL_RUNS_ARM, index=arms.index)
    return arms.apply(lambda row: " ".join(f"{key}={value}" for key, value in row.items()), axis=1)


def epochs_to_reach(history: pd.Series, target: float) -> float:
    """1-based count of epochs until validation accuracy first reached `target`; NaN if never."""
    reached = history.index[history >= target]
    return float(reached[0] + 1) if len(reached) else np.nan


def _metric(runs: pd.DataFrame, name: str) -> pd.Series:
    return runs.get(f"metrics.{name}", pd.Series(np.nan, index=runs.index))


def run_figures(
    runs: pd.DataFrame, outcomes: pd.Series, histories: dict[str, pd.Series], target: float
) -> pd.DataFrame:
    """One row per run; the figures only for finished runs (histories hold only those)."""
    finished = outcomes == FINISHED
    history = runs["run_id"].map(histories)
    return pd.DataFrame(
        {
            "outcome": outcomes,
            "test_accuracy": _metric(runs, TEST_ACCURACY).where(finished),
            "best_val_accuracy": history.map(
                lambda h: h.max() if isinstance(h, pd.Series) else np.nan
            ),
            "epochs_to_target": history.map(
                lambda h: epochs_to_reach(h, target) if isinstance(h, pd.Series) else np.nan
            ),
            # The last epoch's time: the first one also pays graph tracing.
            "seconds_per_epoch": _metric(runs, EPOCH_TIME).where(finished),
        },
        index=runs.index,
    )


def arm_table(arms: pd.DataFrame, figures: pd.DataFrame, target: float) -> pd.DataFrame:
    """One row per arm: the arm's keys, then means and spreads over its finished runs, then counts."""
    keys = list(arms.columns) or ["arm"]
    frame = pd.concat(
        [
            arms if len(arms.columns) else pd.DataFrame({"arm": ALL_RUNS_ARM}, index=arms.index),
            figures,
        ],
        axis=1,
    )
    finished = frame[frame["outcome"] == FINISHED].groupby(keys, dropna=False)
    stats = pd.DataFrame(
        {
            "runs": finished.size(),
            "test_accuracy_mean": finished["test_accuracy"].mean(),
            "test_accuracy_std": finished["test_accuracy"].std(),
            "best_val_accuracy_mean": finished["best_val_accuracy"].mean(),
            "best_val_accuracy_std": finished["best_val_accuracy"].std(),
            f"epochs_to_{target:g}": finished["epochs_to_target"].mean(),
            f"reached_{target:g}": finished["epochs_to_target"].count(),
            "seconds_per_epoch": finished["seconds_per_epoch"].mean(),
        }
    )
    # Only the combinations that occurred: a cross product of every value each key took would
    # grow with the square of a search's trials.
    counts = frame.groupby(keys, dropna=False)["outcome"].value_counts().unstack(fill_value=0)
    counts = counts.reindex(columns=[FINISHED, *COUNTED_APART], fill_value=0)
    table = stats.reindex(counts.index)
    table["runs"] = counts[FINISHED]
    table[f"reached_{target:g}"] = table[f"reached_{target:g}"].fillna(0).astype(int)
    for outcome in COUNTED_APART:
        table[outcome] = counts[outcome]
    return table.reset_index()
