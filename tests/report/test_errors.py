"""Clear one-line errors, a non-zero exit and nothing written: unknown experiment, no runs, no store."""

import subprocess
import sys

import pytest
from mlflow import MlflowClient

from pipeline import PROJECT_ROOT
from pipeline.report.__main__ import main


def run_report(tmp_path, capsys, *args):
    capsys.readouterr()  # only what the report prints
    code = main([*args, f"paths.output_dir={tmp_path}/outputs"])
    err = capsys.readouterr().err
    return code, err


def assert_one_line_error(code, err, *words):
    assert code != 0
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert all(word in err for word in words), err


def test_unknown_experiment(tmp_path, capsys):
    code, err = run_report(
        tmp_path, capsys, "optimisers", f"--tracking-uri=sqlite:///{tmp_path}/mlflow.db"
    )
    assert_one_line_error(code, err, "optimisers", "optimizers")
    assert not (tmp_path / "outputs").exists()


def test_missing_sqlite_store_is_not_created(tmp_path, capsys):
    database = tmp_path / "nowhere" / "mlflow.db"
    code, err = run_report(tmp_path, capsys, "optimizers", f"--tracking-uri=sqlite:///{database}")
    assert_one_line_error(code, err, str(database))
    assert not database.parent.exists() and not (tmp_path / "outputs").exists()


def test_unreachable_server(tmp_path, capsys):
    code, err = run_report(
        tmp_path,
        capsys,
        "optimizers",
        "--tracking-uri=http://127.0.0.1:9",
        "tracking.connect_timeout=1",
    )
    assert_one_line_error(code, err, "127.0.0.1:9")


@pytest.mark.parametrize(
    "create_experiment", [False, True], ids=["no-experiment", "experiment-without-runs"]
)
def test_empty_experiment(tmp_path, capsys, create_experiment):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(uri)
    if create_experiment:
        client.create_experiment("dropout")
    else:
        client.search_experiments()  # creates the database, with no experiment of ours
    code, err = run_report(tmp_path, capsys, "dropout", f"--tracking-uri={uri}")
    assert_one_line_error(code, err, "dropout", "no runs")
    assert not (tmp_path / "outputs").exists()


def test_target_outside_zero_to_one(tmp_path, capsys):
    code, err = run_report(tmp_path, capsys, "optimizers", "--target=99")
    assert_one_line_error(code, err, "99")


def test_the_command_exits_non_zero_with_one_line(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline.report",
            "optimisers",
            f"--tracking-uri=sqlite:///{tmp_path}/x.db",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip().splitlines() == [result.stderr.strip()]
        and "optimisers" in result.stderr
    )
