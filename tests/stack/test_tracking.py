"""Runs tracked over HTTP by the stack's `mlflow server`, which keeps runs in PostgreSQL and
proxies artifacts: what a team member sees from another machine; and a search on the stack's
PostgreSQL that outlives its restart."""

import os
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest
from mlflow import MlflowClient

from pipeline import PROJECT_ROOT
from pipeline.data import load_splits
from pipeline.processes.liveness import command_line
from tests.sweeper.helpers import start_worker, states
from tests.tracking.helpers import only_run, tracked_config, train

pytestmark = [pytest.mark.heavy, pytest.mark.system]


@pytest.fixture(scope="module")
def run_over_http(running_stack, tmp_path_factory):
    cfg = tracked_config(
        tmp_path_factory.mktemp("over-http"), *running_stack.overrides, "trainer.epochs=2"
    )
    run_dir = train(cfg, "over-http")
    client = MlflowClient(running_stack.tracking_uri)
    return cfg, client, only_run(client, cfg), run_dir


def test_the_run_its_metrics_and_checkpoint_round_trip(run_over_http, running_stack):
    cfg, client, run, _ = run_over_http
    assert run.info.status == "FINISHED"
    assert run.info.artifact_uri.startswith(
        "mlflow-artifacts:"
    )  # proxied: clients need no file access
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val/accuracy")] == [0, 1]
    assert (
        "test/accuracy" in run.data.metrics and run.data.params["tracking.server.password"] == "***"
    )
    assert {a.path for a in client.list_artifacts(run.info.run_id, "checkpoints")} >= {
        "checkpoints/epoch-002.keras",
        "checkpoints/state.json",
    }
    local = client.download_artifacts(run.info.run_id, "checkpoints/state.json")
    assert '"completed_epochs": 2' in open(local).read()
    # The bytes live in the stack's artifacts folder, on the server's side.
    assert list((running_stack.stack.mlflow.artifacts).rglob("epoch-002.keras"))


def test_the_logged_model_round_trips(run_over_http):
    import mlflow

    cfg, _, run, run_dir = run_over_http
    model = mlflow.pyfunc.load_model(run.data.tags["model_uri"])
    images = load_splits(cfg.data).test_x[:8]
    probabilities = np.asarray(model.predict(images))
    assert probabilities.shape == (8, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_the_store_lives_in_postgresql(run_over_http, running_stack):
    """The server is only a front: the run is in its PostgreSQL database."""
    import sqlalchemy

    _, _, run, _ = run_over_http
    engine = sqlalchemy.create_engine(running_stack.postgres_url("mlflow"))
    with engine.connect() as connection:
        status = connection.execute(
            sqlalchemy.text("SELECT status FROM runs WHERE run_uuid = :id"), {"id": run.info.run_id}
        ).scalar_one()
    engine.dispose()
    assert status == "FINISHED"


def test_server_stop_loses_nothing(run_over_http, running_stack):
    """`make server-stop` then `make server`: the same run, metrics and artifacts are back."""
    _, _, run, _ = run_over_http
    running_stack.stack.stop()
    assert running_stack.stack.status() == {"postgres": False, "mlflow": False}
    running_stack.stack.start()
    client = MlflowClient(running_stack.tracking_uri)
    again = client.get_run(run.info.run_id)
    np.testing.assert_equal(again.data.metrics, run.data.metrics)  # NaN equals NaN here
    assert again.info.status == "FINISHED"
    assert client.download_artifacts(run.info.run_id, "checkpoints/state.json")


def test_three_processes_opening_a_new_postgresql_store_at_once_all_succeed(running_stack):
    from tests.tracking.test_store import open_at_once

    running_stack.stack.postgres.create_database("fresh", running_stack.stack.user)
    for result in open_at_once(running_stack.postgres_url("fresh")):
        assert result.returncode == 0, result.stderr[-2000:]


def test_the_server_runs_without_mlflows_job_runner(running_stack):
    """`tracking.server.job_execution: false`: no GenAI job runner or huey consumers start."""
    group = running_stack.stack.mlflow.pid()
    commands = [
        " ".join(command_line(process.pid))
        for process in psutil.process_iter()
        if _group(process.pid) == group
    ]
    assert any("mlflow server" in command for command in commands), commands
    assert not [command for command in commands if "huey" in command or "_job_runner" in command]


def _group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:  # the process has gone meanwhile
        return None


def test_a_new_password_replaces_the_old_one(running_stack, monkeypatch):
    """`make server` with another password: the old one stops working at once."""
    import psycopg

    stack = running_stack.stack
    old = stack.secrets.database_passwords()[stack.user]

    def connects(password: str) -> bool:
        try:
            psycopg.connect(
                host="127.0.0.1",
                port=stack.postgres.port,
                dbname="optuna",
                user=stack.user,
                password=password,
                connect_timeout=10,
            ).close()
            return True
        except psycopg.OperationalError as error:
            assert "password authentication failed" in str(error)
            return False

    try:
        monkeypatch.setenv("PGPASSWORD", "another-long-password")
        stack.start()  # both servers run on: the role and the password file change
        assert connects("another-long-password") and not connects(old)
        assert stack.secrets.database_passwords()[stack.user] == "another-long-password"
    finally:
        monkeypatch.setenv("PGPASSWORD", old)
        stack.start()


def _ui(running_stack, *overrides: str) -> subprocess.CompletedProcess:
    """`make ui ARGS="tracking=server ..."` in a fresh process with no MLflow sign-in of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING_", "PG"))}
    return subprocess.run(
        [sys.executable, "-m", "pipeline.ui", *running_stack.overrides, *overrides],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_ui_signs_in_with_the_stacks_credentials_file(run_over_http, running_stack):
    result = _ui(running_stack)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (
        f"MLflow UI at {running_stack.tracking_uri}" in result.stdout
        and "runs table" in result.stdout
    )


def test_without_an_account_a_command_is_one_line_and_exit_2(running_stack, tmp_path):
    result = _ui(running_stack, f"tracking.server.credentials={tmp_path}/none")
    assert result.returncode == 2
    assert result.stderr == (
        f"error: tracking.uri={running_stack.tracking_uri} refused the sign-in (401): set "
        "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or ~/.mlflow/credentials\n"
    )


def test_a_two_worker_search_outlives_a_postgresql_restart(running_stack, tmp_path):
    """PostgreSQL down for 10 s in the middle of a two-worker search (the tiny app: 6 trials of
    about 1.5 s): both workers wait for it, and the study ends with exactly n_trials. Both
    workers' first trials wait (`meet`) until PostgreSQL is down, so it falls mid-trial however
    slowly a busy host starts them; then their steps report to it while it is away."""
    storage, study_name = running_stack.postgres_url("optuna"), "restart"
    arrivals = tmp_path / "meet"
    workers = [
        start_worker(
            f"hydra.sweeper.storage='{storage}'",
            f"hydra.sweeper.study_name={study_name}",
            "hydra.sweeper.n_trials=6",
            "hydra.sweeper.heartbeat_interval=1",
            "hydra.sweeper.grace_period=60",
            "steps=3",
            "sleep=0.5",
            "hydra.sweeper.plots=false",
            f"hydra.sweeper.sampler.seed={seed}",
            f"hydra.sweep.dir={tmp_path}/worker{seed}",
            f"meet={arrivals}",
            "meet_count=3",  # the two workers' first trials, and the test once PostgreSQL is down
        )
        for seed in range(2)
    ]
    wait_until(
        lambda: arrivals.is_dir() and len(list(arrivals.iterdir())) == 2,
        "both workers in a trial",
        workers,
    )
    running_stack.stack.postgres.stop()
    (arrivals / "postgresql-down").touch()
    time.sleep(10)  # the outage itself: a restart's length, not a wait for something
    running_stack.stack.postgres.start()
    outputs = [worker.communicate(timeout=240)[0] for worker in workers]
    for worker, output in zip(workers, outputs, strict=False):
        assert worker.returncode == 0, output[-3000:]
        assert "Traceback" not in output
    said = [
        line
        for output in outputs
        for line in output.splitlines()
        if line.startswith("optuna: the storage")
    ]
    assert any("unreachable" in line for line in said) and any(
        "is back" in line for line in said
    ), said
    counts = states(storage, study_name)
    assert counts["COMPLETE"] == 6 and counts["RUNNING"] == 0 and counts["FAIL"] == 0, counts


def wait_until(condition, what: str, workers: list[subprocess.Popen], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker in workers:
            if worker.poll() is not None:
                raise RuntimeError(f"a worker ended first: {worker.communicate()[0][-3000:]}")
        try:
            if condition():
                return
        except KeyError:  # the study does not exist yet
            pass
        time.sleep(0.2)
    raise TimeoutError(f"not seen in {timeout} s: {what}")
