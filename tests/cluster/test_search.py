"""One search across three simulated hosts: a server host (PostgreSQL + mlflow server) and two
worker hosts that reach it over a virtual network and share the project folder. One worker is
killed in the middle of a trial; the other retries it and finishes the study.

The stack listens beyond loopback, so it runs as a team would open it: a password of its own,
MLflow accounts (the workers sign in as an editor), TLS verified against the stack's CA."""

import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient

from pipeline import PROJECT_ROOT
from pipeline.config.compose import compose_config
from pipeline.search.trial_link import JOB
from pipeline.stack.postgres import pg_bin
from pipeline.stack.stack import stack_from_config
from pipeline.tracking.credentials import read_credentials_file
from tests.cluster.hosts import SUBNET, Network, why_no_hosts
from tests.stack.helpers import why_no_postgres
from tests.sweeper.helpers import wait_until_held

pytestmark = [pytest.mark.heavy, pytest.mark.cluster]

APP = PROJECT_ROOT / "tests" / "sweeper" / "app" / "objective.py"
N_TRIALS = 4
STUDY = "cluster"
# Distinctive, so a search of every file and process list finds it wherever it leaked.
PASSWORD = f"Cluster-Secret-{uuid.uuid4().hex}"
READER, EDITOR = "reader1", "editor1"
ADD_USERS = (
    "import sys; from pipeline.stack.__main__ import main; overrides = sys.argv[1:]; "
    f"sys.exit(main(['add-user', '{READER}', *overrides]) or main(['add-user', '{EDITOR}', '--role', 'editor', *overrides]))"
)


def run_ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, (result.stdout or "")[-3000:] + (result.stderr or "")[-3000:]
    return result.stdout


class Cluster:
    def __init__(self, network: Network, folder: Path):
        self.network, self.folder = network, folder
        self.server, self.worker_1, self.worker_2 = (
            network.add(name) for name in ("stack-server", "worker-1", "worker-2")
        )
        self.server_overrides = [
            f"tracking.server.host={self.server.address}",
            "tracking.server.workers=1",
            f"tracking.server.allow=[{SUBNET}.0/24]",
            f"tracking.server.dir={folder}",
        ]
        self.ca_file = folder / "tls" / "ca.crt"
        # What a worker host is told: the stack's address and its CA (the rest is conf/tracking/server.yaml).
        self.worker_overrides = [
            "tracking=server",
            f"tracking.server.host={self.server.address}",
            f"tracking.server.ca_file={self.ca_file}",
        ]
        worker_tracking = compose_config(*self.worker_overrides).tracking
        self.storage, self.tracking_uri = worker_tracking.optuna_storage, worker_tracking.uri

    def stack(self, action: str, *extra: str) -> str:
        return run_ok(
            self.server.run(
                sys.executable,
                "-m",
                "pipeline.stack",
                action,
                *self.server_overrides,
                *extra,
                cwd=PROJECT_ROOT,
                capture_output=True,
                text=True,
                timeout=300,
            )
        )

    def add_users(self) -> None:
        run_ok(
            self.server.run(
                sys.executable,
                "-c",
                ADD_USERS,
                *self.server_overrides,
                cwd=PROJECT_ROOT,
                capture_output=True,
                text=True,
                timeout=300,
            )
        )

    def credentials(self, user: str) -> tuple[str, str]:
        return read_credentials_file(self.folder / "secrets" / "users" / f"{user}.credentials")

    def worker_env(self, **extra: str) -> dict[str, str]:
        """A team member's environment: their MLflow account and the stack's CA, the MLflow way;
        nothing of this test process's own sign-ins."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "MLFLOW_TRACKING_"))}
        username, password = self.credentials(EDITOR)
        return {
            **env,
            "PYTHONPATH": str(PROJECT_ROOT),
            "MLFLOW_TRACKING_USERNAME": username,
            "MLFLOW_TRACKING_PASSWORD": password,
            "MLFLOW_TRACKING_SERVER_CERT_PATH": str(self.ca_file),
            **extra,
        }

    def local_url(self, database: str) -> str:
        """The test's own way in, from outside the namespaces: PostgreSQL's socket in the shared folder."""
        return (
            f"postgresql://mnist@/{database}?host={self.folder}/postgres/run&port=5433"
            f"&passfile={self.folder}/secrets/pgpass"
        )

    def tiny_worker(self, host, seed: int, *overrides: str) -> subprocess.Popen:
        return host.popen(
            sys.executable,
            str(APP),
            "-m",
            f"hydra.sweeper.storage='{self.storage}'",
            f"hydra.sweeper.study_name={STUDY}",
            f"hydra.sweeper.n_trials={N_TRIALS}",
            "hydra.sweeper.heartbeat_interval=1",
            "hydra.sweeper.grace_period=10",
            "hydra.sweeper.plots=false",
            # A trial takes 3 s (two 1 s steps and a last 1 s); heartbeats every 1 s fail a lost
            # trial after 10 s (a live one beats on, however busy the host that trains beside it).
            f"hydra.sweeper.sampler.seed={seed}",
            "steps=2",
            "sleep=1.0",
            f"meet={self.folder}/meet",  # the hosts' first trials wait for each other: they overlap
            *overrides,
            "tracking.enabled=true",
            f"tracking.uri={self.tracking_uri}",
            f"hydra.sweep.dir={self.folder}/sweeps/{host.name}",
            cwd=PROJECT_ROOT,
            env=self.worker_env(PGPASSWORD=PASSWORD),  # libpq's own variable
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )


@pytest.fixture(scope="module")
def cluster():
    reason = why_no_hosts() or why_no_postgres()
    if reason:
        pytest.skip(reason)
    network = Network()
    folder = Path(tempfile.mkdtemp(prefix="mnist-cluster-"))
    folder.chmod(0o755)
    cluster = None
    try:
        cluster = Cluster(network, folder)
        started = time.monotonic()
        cluster.stack("start", f"tracking.server.password={PASSWORD}")  # as the README shows it
        cluster.ready_seconds = time.monotonic() - started
        cluster.add_users()
        yield cluster
    finally:
        if cluster is not None:
            # From this process (pid file, pg_ctl): the servers' pids and folders are the same
            # outside the server host's network namespace, and no second interpreter starts.
            stack_from_config(
                compose_config("tracking=server", *cluster.server_overrides).tracking.server
            ).stop()
        network.remove()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def real_trial(cluster):
    """The real job (TensorFlow, the convnet) started on worker-2 with the stack: it trains while
    the tiny search below mostly sleeps. Its own study and experiment; the same storages. Its
    password comes on the command line, as the README shows."""
    process = cluster.worker_2.popen(
        sys.executable,
        "-m",
        "pipeline.train",
        "+search=default",
        *cluster.worker_overrides,
        "trainer=smoke",
        f"tracking.server.password={PASSWORD}",
        "hydra.sweeper.n_trials=1",
        "hydra.sweeper.study_name=cluster-real",
        "hydra.sweeper.plots=false",
        "tracking.experiment_name=cluster-real",
        f"paths.output_dir={cluster.folder}/outputs",
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cluster.worker_env(TF_CPP_MIN_LOG_LEVEL="2"),
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def search_with_a_lost_worker(cluster, real_trial):
    held = cluster.folder / "held"  # worker-1's second trial waits there, never released
    first = cluster.tiny_worker(cluster.worker_1, 1, "hold_from=1", f"hold_dir={held}")
    second = cluster.tiny_worker(cluster.worker_2, seed=2)
    try:
        wait_until_held(held)
        first.send_signal(signal.SIGKILL)  # the whole worker, mid-trial: no cleanup runs
        first.wait(timeout=30)
        output, _ = second.communicate(timeout=300)
    finally:
        for worker in (first, second):
            if worker.poll() is None:
                worker.kill()
    assert second.returncode == 0, output[-4000:]
    study = optuna.load_study(study_name=STUDY, storage=cluster.local_url("optuna"))
    print_timeline(study, cluster.ready_seconds)
    return study, MlflowClient(cluster.local_url("mlflow"))


def print_timeline(study, ready_seconds: float) -> None:
    """Where and when each trial ran (seen with `pytest -s`): the figures the README quotes."""
    jobs = [t.user_attrs.get(JOB, {}) for t in study.trials]
    zero = min(job["started"] for job in jobs if job)
    print(f"\nstack ready in {ready_seconds:.1f} s")
    for trial, job in zip(study.trials, jobs, strict=False):
        ended = f"{job['ended'] - zero:6.1f}" if "ended" in job else "  lost"
        retry = (
            f" (retry of {trial.system_attrs['failed_trial']})"
            if "failed_trial" in trial.system_attrs
            else ""
        )
        print(
            f"trial {trial.number} {trial.state.name:<8} {job.get('host', '-'):<9} "
            f"{job.get('started', zero) - zero:6.1f} -> {ended} s{retry}"
        )


def test_the_study_ends_with_exactly_n_trials_and_the_lost_one_retried(search_with_a_lost_worker):
    study, _ = search_with_a_lost_worker
    by_state = {state: study.get_trials(states=(state,)) for state in optuna.trial.TrialState}
    done = by_state[optuna.trial.TrialState.COMPLETE] + by_state[optuna.trial.TrialState.PRUNED]
    assert len(done) == N_TRIALS and not by_state[optuna.trial.TrialState.RUNNING]
    (lost,) = by_state[optuna.trial.TrialState.FAIL]  # failed by the heartbeat, not by its worker
    assert lost.user_attrs[JOB]["host"] == "worker-1" and "ended" not in lost.user_attrs[JOB]
    (retry,) = [t for t in done if t.system_attrs.get("failed_trial") == lost.number]
    assert retry.params == lost.params and retry.user_attrs[JOB]["host"] == "worker-2"


def test_both_hosts_ran_trials_at_the_same_time(search_with_a_lost_worker):
    study, _ = search_with_a_lost_worker
    jobs = [t.user_attrs[JOB] for t in study.trials if JOB in t.user_attrs]
    finished = [job for job in jobs if "ended" in job]
    assert {job["host"] for job in finished} == {"worker-1", "worker-2"}
    assert any(
        a["host"] != b["host"] and a["started"] < b["ended"] and b["started"] < a["ended"]
        for a, b in itertools.combinations(finished, 2)
    )


def test_every_trial_is_a_child_of_one_parent_and_nothing_stays_running(search_with_a_lost_worker):
    study, client = search_with_a_lost_worker
    experiment = client.get_experiment_by_name("tiny")
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("multirun") == "parent"]
    children = [r for r in runs if r is not parent]
    assert parent.data.tags["optuna_study"] == STUDY and parent.info.status == "FINISHED"
    assert {r.data.tags.get("mlflow.parentRunId") for r in children} == {parent.info.run_id}
    assert len(children) == len(study.trials)  # the lost trial's run included
    assert "RUNNING" not in {r.info.status for r in runs}
    (lost,) = [r for r in children if r.info.status == "FAILED"]
    assert "worker died" in lost.data.tags["failure_reason"]


@pytest.fixture(scope="module")
def real_trial_output(real_trial, search_with_a_lost_worker) -> str:
    stdout, stderr = real_trial.communicate(timeout=600)
    assert real_trial.returncode == 0, stdout[-3000:] + stderr[-3000:]
    return stdout + stderr


def test_a_real_training_trial_from_a_worker_host(cluster, real_trial_output):
    """The real job on a worker host, tracked over the network, beside the tiny search; its
    terminal as quiet as on the local store (no MLflow run links, no retry warnings)."""
    assert "View run" not in real_trial_output and "urllib3" not in real_trial_output
    study = optuna.load_study(study_name="cluster-real", storage=cluster.local_url("optuna"))
    (trial,) = study.trials
    assert (
        trial.state == optuna.trial.TrialState.COMPLETE
        and trial.user_attrs[JOB]["host"] == "worker-2"
    )
    client = MlflowClient(cluster.local_url("mlflow"))
    runs = client.search_runs([client.get_experiment_by_name("cluster-real").experiment_id])
    (child,) = [r for r in runs if r.data.tags.get("multirun") != "parent"]
    assert child.info.status == "FINISHED" and child.data.tags["optuna_trial"] == "0"
    assert child.info.artifact_uri.startswith("mlflow-artifacts:")
    assert child.data.metrics["best/val_accuracy"] == pytest.approx(trial.value)


def test_the_password_is_in_no_file_log_output_or_process_list(cluster, real_trial_output):
    """After a training and a two-worker search given the password on their command lines or in
    PGPASSWORD: run folders, Hydra's outputs, the server's artifacts, both logs, the database
    files and every process's arguments. Only the owner-only password file holds it."""
    secret = PASSWORD.encode()
    secrets_folder = cluster.folder / "secrets"
    leaks = [
        path
        for path in cluster.folder.rglob("*")
        if path.is_file() and secrets_folder not in path.parents and secret in path.read_bytes()
    ]
    assert not leaks
    assert PASSWORD not in real_trial_output
    processes = subprocess.run(
        ["ps", "-eo", "args"], capture_output=True, text=True, check=True
    ).stdout
    assert "mlflow server" in processes and PASSWORD not in processes
    assert {path.stat().st_mode & 0o077 for path in secrets_folder.rglob("*")} == {0}


def test_the_stacks_folder_is_owner_only(cluster, real_trial_output):
    """Artifacts, logs, data, keys: nothing for other local users (as root, PostgreSQL's system
    user may only pass through the top folder to its own)."""
    import stat

    stack_items = [cluster.folder / name for name in ("mlflow", "postgres", "secrets", "tls")]
    items = [*stack_items, *(p for item in stack_items for p in item.rglob("*"))]
    opened = [
        p for p in items if not stat.S_ISSOCK(p.lstat().st_mode) and p.lstat().st_mode & 0o077
    ]
    assert not opened and (cluster.folder.stat().st_mode & 0o077) == 0o010  # group: search only
    assert any(
        p.is_file() for p in (cluster.folder / "mlflow" / "artifacts").rglob("*")
    )  # the runs', server-side


def curl(cluster, *args: str, user: str | None = None) -> str:
    """The HTTP status of a request from worker-1, verifying the stack's certificate; a user's
    password goes to curl on stdin, never on its command line."""
    config = 'user = "{}:{}"\n'.format(*cluster.credentials(user)) if user else ""
    result = cluster.worker_1.run(
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--cacert",
        str(cluster.ca_file),
        "-K",
        "-",
        *args,
        input=config,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.stdout


def test_another_host_needs_an_account_and_a_reader_cannot_write(
    cluster, search_with_a_lost_worker
):
    study, client = search_with_a_lost_worker
    run_id = client.search_runs(
        [client.get_experiment_by_name("tiny").experiment_id], max_results=1
    )[0].info.run_id
    api = f"{cluster.tracking_uri}/api/2.0/mlflow"
    assert curl(cluster, f"{api}/experiments/search?max_results=1") == "401"
    assert curl(cluster, f"{api}/runs/get?run_id={run_id}", user=READER) == "200"
    write = [
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        f'{{"run_id": "{run_id}", "key": "planted", "value": 1, "timestamp": 0, "step": 0}}',
    ]
    assert curl(cluster, *write, f"{api}/runs/log-metric", user=READER) == "403"
    assert curl(cluster, *write, f"{api}/runs/log-metric", user=EDITOR) == "200"


def psql_from_worker(cluster, sslmode: str) -> subprocess.CompletedProcess:
    dsn = (
        f"host={cluster.server.address} port=5433 dbname=optuna user=mnist sslmode={sslmode} "
        f"sslrootcert={cluster.ca_file}"
    )
    return cluster.worker_1.run(
        pg_bin("psql"),
        dsn,
        "-XtAc",
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        env={**os.environ, "PGPASSWORD": PASSWORD},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_postgresql_from_another_host_is_verified_tls_and_plain_is_refused(cluster):
    verified = psql_from_worker(cluster, "verify-full")
    assert verified.returncode == 0 and verified.stdout.strip() == "t", verified.stderr
    plain = psql_from_worker(cluster, "disable")
    assert plain.returncode != 0 and "no encryption" in plain.stderr


def test_the_clients_role_owns_its_two_databases_and_nothing_more(cluster):
    import sqlalchemy

    engine = sqlalchemy.create_engine(cluster.local_url("optuna"))
    with engine.connect() as connection:
        role = connection.execute(
            sqlalchemy.text(
                "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls FROM pg_roles "
                "WHERE rolname = current_user"
            )
        ).one()
        owned = (
            connection.execute(
                sqlalchemy.text(
                    "SELECT datname FROM pg_database WHERE datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
                )
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert not any(role)
    assert sorted(owned) == ["mlflow", "optuna"]
