"""The report of an Optuna search: one row per trial, best first, what mattered, why trials stopped.

A search's parameters are continuous or many-valued, so grouping its runs into arms would say
"one run" per arm; a trial is the unit here. The study in its storage has each trial's
state, parameters, objective, reported epochs, its job's host and why it failed; the MLflow
child runs add what only they hold (seconds per epoch).
"""

import math
from dataclasses import dataclass

import pandas as pd

from pipeline.processes.console import first_line
from pipeline.report.settings import ReportError
from pipeline.search.trial_link import FAIL_REASON, JOB, PRUNED_AT_STEP
from pipeline.tracking.records import OPTUNA_TRIAL_TAG, metric_name

EPOCH_TIME = metric_name("epoch_time")
TOP_TRIALS = 5  # called out above the table, and all the terminal shows of a long one
SCREENFUL = 20  # more rows than this: the terminal gets the summary, the files the table
# Finished first, then the ones that tell less: pruned (by how far they got), failed, unfinished.
_STATE_ORDER = {"COMPLETE": 0, "PRUNED": 1, "FAIL": 2, "RUNNING": 3, "WAITING": 4}
TABLE_CSV, TABLE_MD = "trials.csv", "trials.md"


@dataclass
class SearchTables:
    trials: pd.DataFrame  # one row per trial, best first
    importances: pd.Series  # parameter -> importance (empty when Optuna cannot tell yet)
    objective: str  # what the objective column is


def objective_names(study) -> list[str]:
    if study.metric_names:
        return list(study.metric_names)
    return (
        ["objective"]
        if len(study.directions) == 1
        else [f"objective_{i}" for i in range(len(study.directions))]
    )


def load_study(storage: str | None, study_name: str):
    """The study a search's parent run names, from the experiment's Optuna storage."""
    import optuna

    from pipeline.search.storage import open_storage

    if not storage:
        raise ReportError(
            f"study {study_name!r} ran in memory (no storage): nothing to report per trial"
        )
    try:
        return optuna.load_study(study_name=study_name, storage=open_storage(storage))
    except KeyError:
        raise ReportError(f"no study {study_name!r} in {storage}") from None
    except Exception as error:  # any driver's connection error: one line, not a traceback
        raise ReportError(
            f"the Optuna storage {storage} cannot be opened ({first_line(error, limit=None)})"
        ) from None


def _state(trial) -> str:
    state = trial.state.name
    if state == "PRUNED":
        step = trial.user_attrs.get(PRUNED_AT_STEP, max(trial.intermediate_values, default=None))
        return f"PRUNED at epoch {step + 1}" if step is not None else state
    if state == "FAIL":
        reason = trial.user_attrs.get(FAIL_REASON)
        return f"FAIL: {reason}" if reason else state
    return state


def trial_table(study) -> pd.DataFrame:
    """One row per trial: number, state, parameters, objective(s), epochs, s/epoch (filled from
    MLflow by `with_epoch_seconds`), host; best first (the Pareto front first for several
    objectives, then by the first objective)."""
    names = objective_names(study)
    trials = study.get_trials(deepcopy=False)
    params = sorted({name for trial in trials for name in trial.params})
    pareto = (
        {t.number for t in study.best_trials}
        if len(names) > 1 and any(t.state.name == "COMPLETE" for t in trials)
        else set()
    )
    rows = []
    for trial in trials:
        values = trial.values or [None] * len(names)
        rows.append(
            {
                "trial": trial.number,
                "state": _state(trial),
                **{p: trial.params.get(p) for p in params},
                **dict(zip(names, values, strict=False)),
                "epochs": len(trial.intermediate_values) or None,
                "s/epoch": None,
                "host": (trial.user_attrs.get(JOB) or {}).get("host"),
                "_order": _STATE_ORDER.get(trial.state.name, 5),
                "_pareto": trial.number not in pareto,
                # Pruned trials by how far they got, then by their last reported value.
                "_last": trial.intermediate_values[max(trial.intermediate_values)]
                if trial.intermediate_values
                else None,
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    better_high = study.directions[0].name == "MAXIMIZE"
    primary = table[names[0]].astype(float)
    key = pd.DataFrame(
        {
            "pareto": table["_pareto"],
            "order": table["_order"],
            "value": -primary if better_high else primary,
            "epochs": -table["epochs"].astype(float).fillna(0),
            "last": -table["_last"].astype(float) if better_high else table["_last"].astype(float),
            "trial": table["trial"],
        }
    )
    order = key.sort_values(list(key.columns), na_position="last").index
    return table.loc[order].drop(columns=["_order", "_pareto", "_last"]).reset_index(drop=True)


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def readable(table: pd.DataFrame) -> pd.DataFrame:
    return table.apply(lambda column: column.map(_cell))


def with_epoch_seconds(table: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Each trial's seconds per epoch (its last epoch's) from its MLflow child run."""
    if table.empty or f"tags.{OPTUNA_TRIAL_TAG}" not in runs or f"metrics.{EPOCH_TIME}" not in runs:
        return table
    seconds = dict(
        zip(runs[f"tags.{OPTUNA_TRIAL_TAG}"], runs[f"metrics.{EPOCH_TIME}"], strict=False)
    )
    return table.assign(**{"s/epoch": table["trial"].astype(str).map(seconds)})


def state_counts(trials: pd.DataFrame) -> str:
    """`5 COMPLETE, 2 PRUNED, 1 FAIL`: the states without their epochs and reasons."""
    if trials.empty:
        return "no trials"
    counts = trials["state"].str.split(n=1).str[0].str.rstrip(":").value_counts()
    ordered = sorted(counts.items(), key=lambda item: _STATE_ORDER.get(item[0], len(_STATE_ORDER)))
    return ", ".join(f"{n} {state}" for state, n in ordered)


def summary_text(tables: SearchTables, heading: str) -> str:
    """What the terminal shows: the whole table when it fits a screen, else the best trials,
    the states and the importances."""
    trials = readable(tables.trials)
    lines = [heading]
    if len(trials) <= SCREENFUL:
        lines.append(trials.to_string(index=False))
    else:
        lines.append(f"best {TOP_TRIALS} of {len(trials)} trials ({state_counts(tables.trials)}):")
        lines.append(trials.head(TOP_TRIALS).to_string(index=False))
    if len(tables.importances):
        lines.append(
            f"what mattered (Optuna's importances for {tables.objective}): "
            + ", ".join(f"{name} {value:.2f}" for name, value in tables.importances.items())
        )
    return "\n".join(lines)


def markdown(tables: SearchTables, heading: str) -> str:
    from pipeline.report.tables import markdown as markdown_table

    best = readable(tables.trials.head(TOP_TRIALS))
    text = [
        f"**{heading}**",
        "",
        f"Top {min(TOP_TRIALS, len(best))} trials:",
        "",
        markdown_table(best),
        "All trials, best first:",
        "",
        markdown_table(readable(tables.trials)),
    ]
    if len(tables.importances):
        frame = tables.importances.rename_axis("parameter").reset_index()
        text += [
            f"Parameter importances (Optuna, {tables.objective}):",
            "",
            markdown_table(readable(frame)),
        ]
    return "\n".join(text)
