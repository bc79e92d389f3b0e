"""The report on a store filled by real smoke training: its figures against MlflowClient's own."""

import statistics
import subprocess
import sys

import pandas as pd
import pytest

from pipeline import PROJECT_ROOT
from pipeline.report.build import (
    ARTIFACT_DIR,
    BARS_PNG,
    CURVES_PNG,
    TABLE_CSV,
    TABLE_MD,
    make_report,
)
from pipeline.report.settings import report_settings
from tests.helpers import ARMS, SEEDS

pytestmark = pytest.mark.heavy

TARGET = 0.2  # reachable by some smoke runs, not by others

# Runs the report in a fresh process, then says which heavy modules it imported.
REPORT_THEN_LIST_MODULES = """
import sys
from pipeline.report.__main__ import main
code = main(sys.argv[1:])
print("imported:", *sorted(m for m in ("tensorflow", "keras") if m in sys.modules))
sys.exit(code)
"""


@pytest.fixture(scope="module")
def cli_report(smoke_store):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            REPORT_THEN_LIST_MODULES,
            "smoke",
            *smoke_store.overrides,
            f"--target={TARGET}",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out_dir = smoke_store.root / "outputs" / "reports" / "smoke"
    table = pd.read_csv(out_dir / TABLE_CSV).set_index("optimizer")
    return result, out_dir, table


def finished_children(store, optimizer):
    return [
        r
        for r in store.children
        if r.data.tags["optimizer"] == optimizer and r.info.status == "FINISHED"
    ]


def test_the_diverging_job_is_a_failed_child_of_the_multirun(smoke_store):
    failed = smoke_store.child_with("optimizer.learning_rate=1e12")
    assert failed.info.status == "FAILED"
    assert len(smoke_store.children) == len(ARMS) * len(SEEDS) + 1


@pytest.mark.parametrize("optimizer", ARMS)
def test_means_and_spreads_match_the_runs_in_mlflow(smoke_store, cli_report, optimizer):
    _, _, table = cli_report
    runs = finished_children(smoke_store, optimizer)
    assert len(runs) == len(SEEDS)
    test_accuracy = [r.data.metrics["test/accuracy"] for r in runs]
    best_val = [r.data.metrics["best/val_accuracy"] for r in runs]
    epoch_time = [r.data.metrics["speed/epoch_time"] for r in runs]
    row = table.loc[optimizer]
    assert row["runs"] == len(SEEDS)
    assert row["test_accuracy_mean"] == pytest.approx(statistics.mean(test_accuracy))
    assert row["test_accuracy_std"] == pytest.approx(statistics.stdev(test_accuracy))
    assert row["best_val_accuracy_mean"] == pytest.approx(statistics.mean(best_val))
    assert row["best_val_accuracy_std"] == pytest.approx(statistics.stdev(best_val))
    assert row["seconds_per_epoch"] == pytest.approx(statistics.mean(epoch_time))


@pytest.mark.parametrize("optimizer", ARMS)
def test_epochs_to_target_counts_the_runs_that_reached_it(smoke_store, cli_report, optimizer):
    _, _, table = cli_report
    histories = [
        smoke_store.client.get_metric_history(r.info.run_id, "val/accuracy")
        for r in finished_children(smoke_store, optimizer)
    ]
    reached = [
        min(m.step for m in history if m.value >= TARGET) + 1
        for history in histories
        if any(m.value >= TARGET for m in history)
    ]
    row = table.loc[optimizer]
    assert row[f"reached_{TARGET:g}"] == len(reached)
    if reached:
        assert row[f"epochs_to_{TARGET:g}"] == pytest.approx(statistics.mean(reached))
    else:
        assert pd.isna(row[f"epochs_to_{TARGET:g}"])


def test_failed_runs_are_counted_apart_not_averaged(cli_report):
    _, _, table = cli_report
    assert table.loc["sgd", "failed"] == 1 and table.loc["adam", "failed"] == 0
    assert table.loc["sgd", "runs"] == len(SEEDS)  # the mean above was over these only
    assert (table[["pruned", "running"]] == 0).all().all()


def test_writes_the_table_and_both_plots_and_logs_them_to_the_parent_run(smoke_store, cli_report):
    result, out_dir, _ = cli_report
    files = {TABLE_MD, TABLE_CSV, CURVES_PNG, BARS_PNG}
    assert {p.name for p in out_dir.iterdir()} == files
    for png in (CURVES_PNG, BARS_PNG):
        assert (out_dir / png).read_bytes().startswith(b"\x89PNG")
    logged = smoke_store.client.list_artifacts(smoke_store.parent.info.run_id, ARTIFACT_DIR)
    assert {a.path.removeprefix(f"{ARTIFACT_DIR}/") for a in logged} == files
    assert "| optimizer | runs |" in (out_dir / TABLE_MD).read_text()
    assert "adam" in result.stdout and "sgd" in result.stdout


def test_the_report_never_imports_tensorflow_or_keras(cli_report):
    result, _, _ = cli_report
    assert result.stdout.strip().splitlines()[-1] == "imported:"


def test_all_runs_tells_arms_apart_by_their_differing_params(smoke_store, tmp_path):
    settings = report_settings(
        "smoke", [*smoke_store.overrides, f"paths.output_dir={tmp_path}"], all_runs=True
    )
    report = make_report(settings)
    assert report.parent_run_id is None  # not one multirun: nothing to log to
    assert report.table["runs"].sum() == len(ARMS) * len(SEEDS)
    assert report.table["failed"].sum() == 1
    assert "optimizer.learning_rate" in report.table.columns  # the diverging job differs in it


def test_the_command_prints_everything_before_its_fast_exit(smoke_store, tmp_path):
    """`python -m pipeline.report` skips the interpreter's teardown: its piped output must still arrive whole."""
    overrides = [o for o in smoke_store.overrides if not o.startswith("paths.output_dir=")]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline.report",
            "smoke",
            *overrides,
            f"paths.output_dir={tmp_path}",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (
        f"logged them to parent run {smoke_store.parent.info.run_id} under {ARTIFACT_DIR}/"
        in result.stdout
    )
    # The UI links come last, ending with the multirun's best run: the output arrived whole.
    assert result.stdout.rstrip().splitlines()[-1].split()[:2] == ["best", "run"]
    assert all(arm in result.stdout for arm in ARMS) and "wrote arms.md" in result.stdout


def test_links_compare_every_child_of_the_multirun_and_open_its_best(smoke_store, tmp_path):
    settings = report_settings(
        "smoke", [*smoke_store.overrides, f"paths.output_dir={tmp_path}"], target_accuracy=TARGET
    )
    links = make_report(settings).links
    experiment_id = smoke_store.parent.info.experiment_id
    assert links.runs.endswith(f"/#/experiments/{experiment_id}/runs")
    assert (
        links.children == len(smoke_store.children) == len(ARMS) * len(SEEDS) + 1
    )  # the failed job too
    assert all(run.info.run_id in links.compare for run in smoke_store.children)
    assert links.best.endswith(f"/runs/{smoke_store.parent.data.tags['best_child_run_id']}")
