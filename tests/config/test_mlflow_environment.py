"""MLflow's own variables choose the store and the experiment, for every command; an explicit
override still wins."""
import pytest

from tests.conftest import compose_config, run_cli


@pytest.fixture
def mlflow_environment(monkeypatch, tmp_path):
    uri = f"sqlite:///{tmp_path}/elsewhere.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-the-environment")
    return uri


def test_the_variables_choose_the_store_and_the_experiment_even_of_a_named_experiment(mlflow_environment):
    for overrides in ((), ("experiments=tune",), ("experiments=optimizers",), ("+search=default",)):
        tracking = compose_config(*overrides).tracking
        assert (tracking.uri, tracking.experiment_name) == (mlflow_environment, "from-the-environment")
        assert tracking.ui_url == "http://127.0.0.1:5000"   # a database store: make ui serves it


def test_an_explicit_override_still_wins(mlflow_environment):
    tracking = compose_config("experiments=tune", "tracking.uri=sqlite:////tmp/x.db",
                              "tracking.experiment_name=mine").tracking
    assert (tracking.uri, tracking.experiment_name) == ("sqlite:////tmp/x.db", "mine")


def test_a_tracking_server_in_the_variable_is_also_the_ui(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://mlflow.example.org")
    assert compose_config().tracking.ui_url == "https://mlflow.example.org"


def test_unset_they_change_nothing():
    tracking = compose_config("experiments=tune").tracking
    assert tracking.uri.endswith("/mlruns/mlflow.db") and tracking.experiment_name == "tune"


def test_a_command_reads_them_too(mlflow_environment):
    """What `python -m pipeline.train` itself resolves (a child process inherits the variables)."""
    result = run_cli("--cfg", "job", "--resolve", "--package", "tracking", timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"uri: {mlflow_environment}" in result.stdout and "experiment_name: from-the-environment" in result.stdout
