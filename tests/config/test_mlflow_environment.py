"""MLflow's own variables choose the store and the experiment, for every command; an explicit
override still wins. They are read as the process starts (MLflow's `set_tracking_uri` writes
MLFLOW_TRACKING_URI itself), so each case composes in a fresh process."""

import json
import os
import subprocess
import sys

import pytest

from pipeline import PROJECT_ROOT
from tests.helpers import child_environment, run_cli

# One fresh process composes several override sets (each a JSON list), printing per set
# [tracking.uri, tracking.experiment_name, tracking.ui_url].
COMPOSE = (
    "import json, sys; from pipeline.config.compose import compose_config; "
    "tracking = [compose_config(*json.loads(a)).tracking for a in sys.argv[1:]]; "
    "print(json.dumps([[t.uri, t.experiment_name, t.ui_url] for t in tracking]))"
)


def composed(*cases: list[str], **variables: str) -> list[list[str]]:
    result = subprocess.run(
        [sys.executable, "-c", COMPOSE, *map(json.dumps, cases)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=child_environment(**variables),
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def elsewhere(tmp_path):
    return {
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/elsewhere.db",
        "MLFLOW_EXPERIMENT_NAME": "from-the-environment",
    }


def test_the_variables_choose_the_store_and_the_experiment_even_of_a_named_experiment(elsewhere):
    chosen = [
        elsewhere["MLFLOW_TRACKING_URI"],
        "from-the-environment",
        "http://127.0.0.1:5000",
    ]  # make ui serves it
    plain, tune, search, overridden = composed(
        [],
        ["experiments=tune"],
        ["+search=default"],
        ["experiments=tune", "tracking.uri=sqlite:////tmp/x.db", "tracking.experiment_name=mine"],
        **elsewhere,
    )
    assert plain == tune == search == chosen
    assert overridden[:2] == ["sqlite:////tmp/x.db", "mine"]  # an explicit override still wins


def test_unset_they_change_nothing_and_a_server_in_them_is_also_the_ui():
    ((uri, experiment, _),) = composed(["experiments=tune"])
    assert uri == f"sqlite:///{PROJECT_ROOT}/mlruns/mlflow.db" and experiment == "tune"
    ((_, _, ui_url),) = composed([], MLFLOW_TRACKING_URI="https://mlflow.example.org")
    assert ui_url == "https://mlflow.example.org"


def test_a_command_reads_them_too(elsewhere):
    """What `python -m pipeline.train` itself resolves."""
    result = run_cli(
        "--cfg",
        "job",
        "--resolve",
        "--package",
        "tracking",
        timeout=120,
        env=child_environment(**elsewhere),
    )
    assert result.returncode == 0, result.stderr
    assert f"uri: {elsewhere['MLFLOW_TRACKING_URI']}" in result.stdout
    assert "experiment_name: from-the-environment" in result.stdout


def test_what_mlflow_writes_into_the_environment_later_changes_nothing(tmp_path):
    """`mlflow.set_tracking_uri` sets MLFLOW_TRACKING_URI for MLflow's subprocesses; the config
    keeps the user's choice."""
    import mlflow

    from tests.helpers import compose_config

    before = compose_config().tracking.uri
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/other.db")
    try:
        assert (
            os.environ["MLFLOW_TRACKING_URI"].endswith("other.db")
            and compose_config().tracking.uri == before
        )
    finally:
        mlflow.set_tracking_uri(None)
