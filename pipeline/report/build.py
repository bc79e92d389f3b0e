"""Make a report: select the runs, group them into arms, aggregate, write the files, log them.

Everything that can fail on the user's input (store, experiment, runs) is checked before
the first file is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from pipeline.report import aggregate, figures, tables
from pipeline.report.arms import FINISHED, arm_values, outcome
from pipeline.report.settings import ReportSettings
from pipeline.tracking.records import OPTUNA_STUDY_TAG

if TYPE_CHECKING:  # MLflow: imported once a report starts, after the study's side (make_report)
    from pipeline.tracking.ui_links import ExperimentLinks

ARTIFACT_DIR = "report"  # the files' folder among the parent run's artifacts
TABLE_CSV, TABLE_MD = "arms.csv", "arms.md"
CURVES_PNG, BARS_PNG = "val_accuracy_by_epoch.png", "test_accuracy_by_arm.png"


@dataclass
class Report:
    table: pd.DataFrame  # the numeric arm table, as in the CSV
    text: str  # what the terminal shows
    files: list[Path]
    parent_run_id: str | None  # where the files were logged; None when not one multirun
    links: ExperimentLinks  # the same runs in the MLflow UI


def curves_by_arm(
    labels: pd.Series, run_ids: pd.Series, histories: dict[str, pd.Series]
) -> dict[str, list[pd.Series]]:
    """The validation histories of the runs `labels` lists, grouped by their arm's label."""
    curves: dict[str, list[pd.Series]] = {}
    for index, label in labels.items():
        curves.setdefault(label, []).append(histories[run_ids[index]])
    return curves


def make_report(settings: ReportSettings) -> Report:
    """A search's report when the latest multirun is an Optuna search, else the arm report."""
    # The study's side starts before MLflow is even imported, for the study the experiment's
    # config names: Optuna, its importances and its plots cost seconds of imports that overlap.
    study = (
        _study_files(settings, settings.study_name)
        if settings.study_name and settings.optuna_storage and not settings.all_runs
        else None
    )
    try:
        from pipeline.report.runs import (
            select_runs,  # MLflow: imported while the study's side starts
        )
        from pipeline.report.store import open_store

        client = open_store(settings.tracking_uri, settings.connect_timeout)
        selection = select_runs(client, settings)
        study_name = (
            None if selection.parent is None else selection.parent.get(f"tags.{OPTUNA_STUDY_TAG}")
        )
        if isinstance(study_name, str) and study_name:
            if study is None or study.study_name != study_name:  # the parent's study is the truth
                if study is not None:
                    study.stop()
                study = _study_files(settings, study_name)
            return search_report(client, settings, selection, study_name, study)
    finally:
        if study is not None:
            study.stop()
    return arm_report(client, settings, selection)


def _study_files(settings: ReportSettings, study_name: str):
    from pipeline.report.study_files import StudyFiles

    return StudyFiles(
        settings.optuna_storage, study_name, f"{settings.experiment}: study {study_name}"
    )


def arm_report(client, settings: ReportSettings, selection) -> Report:
    """Runs grouped into arms by what the multirun varied: means, spreads and counts per arm."""
    from pipeline.report.runs import val_accuracy_histories
    from pipeline.tracking.ui_links import experiment_links, multirun_links

    runs = selection.runs
    outcomes = outcome(runs)
    arms = arm_values(runs, selection.parent)
    histories = val_accuracy_histories(client, list(runs.loc[outcomes == FINISHED, "run_id"]))
    figures_per_run = aggregate.run_figures(runs, outcomes, histories, settings.target_accuracy)
    table = aggregate.arm_table(arms, figures_per_run, settings.target_accuracy)
    keys = list(arms.columns) or ["arm"]
    heading = (
        f"{settings.experiment}: {selection.scope}; {len(runs)} runs, "
        f"{int((outcomes == FINISHED).sum())} finished and averaged"
    )
    cells = tables.readable(table, keys, settings.target_accuracy)

    out = settings.output_dir
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / TABLE_CSV, index=False)
    (out / TABLE_MD).write_text(f"**{heading}**\n\n{tables.markdown(cells)}")
    table_labels = list(aggregate.arm_labels(table[list(arms.columns)]))
    curves = curves_by_arm(
        aggregate.arm_labels(arms)[outcomes == FINISHED], runs["run_id"], histories
    )
    figures.validation_curves(
        {label: curves[label] for label in table_labels if label in curves},
        out / CURVES_PNG,
        f"{settings.experiment}: validation accuracy by arm",
    )
    figures.test_accuracy_bars(
        table_labels,
        table["test_accuracy_mean"].to_numpy(),
        table["test_accuracy_std"].to_numpy(),
        out / BARS_PNG,
        f"{settings.experiment}: test accuracy by arm (mean ± std)",
    )
    files = [out / name for name in (TABLE_MD, TABLE_CSV, CURVES_PNG, BARS_PNG)]

    parent_id = None if selection.parent is None else selection.parent.run_id
    if parent_id is not None:
        for path in files:
            client.log_artifact(parent_id, str(path), ARTIFACT_DIR)
    links = (
        multirun_links(client, settings.ui_url, parent_id, settings.experiment_name)
        if parent_id
        else experiment_links(
            client, settings.ui_url, runs["experiment_id"].iloc[0], settings.experiment_name
        )
    )
    return Report(
        table=table,
        text=f"{heading}\n{tables.terminal(cells)}",
        files=files,
        parent_run_id=parent_id,
        links=links,
    )


def search_report(client, settings: ReportSettings, selection, study_name: str, study) -> Report:
    """A search's parent run: one row per trial of its study, the importances, Optuna's plots."""
    from pipeline.report import search
    from pipeline.tracking.ui_links import multirun_links

    opened = search.load_study(settings.optuna_storage, study_name)
    trials = search.with_epoch_seconds(search.trial_table(opened), selection.runs)
    out = settings.output_dir
    out.mkdir(parents=True, exist_ok=True)
    importances, figure_files = study.result(out)
    tables = search.SearchTables(trials, importances, search.objective_names(opened)[0])
    heading = (
        f"{settings.experiment}: {selection.scope}; study {study_name!r}, {len(trials)} trials "
        f"({search.state_counts(trials)}), best first"
    )
    trials.to_csv(out / search.TABLE_CSV, index=False)
    (out / search.TABLE_MD).write_text(search.markdown(tables, heading))
    files = [out / search.TABLE_MD, out / search.TABLE_CSV, *figure_files]
    parent_id = selection.parent.run_id
    for path in files:
        client.log_artifact(parent_id, str(path), ARTIFACT_DIR)
    return Report(
        table=trials,
        text=search.summary_text(tables, heading),
        files=files,
        parent_run_id=parent_id,
        links=multirun_links(client, settings.ui_url, parent_id, settings.experiment_name),
    )
