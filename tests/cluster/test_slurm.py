"""A search on a real SLURM cluster that the project starts (`make cluster`'s command, with its
own name, network and ports so it never meets a user's): trials run as SLURM jobs on both nodes
at once; one node is lost in the middle of a trial and another trial's job is cancelled; the
study still ends with exactly `n_trials`, and accounting (`sacct`) lists every job."""

import shutil
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
from pipeline.cluster import network
from pipeline.cluster.settings import load_settings
from pipeline.cluster.slurm import PROGRAMS, LocalCluster
from pipeline.search.trial_link import EARLIER_ATTEMPTS, FAIL_REASON, JOB
from pipeline.tracking.credentials import read_credentials_file
from tests.cluster.hosts import why_no_hosts
from tests.environment import child_environment
from tests.helpers import isolated_overrides
from tests.servers import free_port
from tests.stack.helpers import why_no_postgres
from tests.sweeper.helpers import load_study

pytestmark = [pytest.mark.heavy, pytest.mark.cluster]

SETTINGS = (
    "name=mnisttst",
    "subnet=10.231.89",
    "ports.controller=16917",
    "ports.node=16918",
    "ports.accounting=16919",
    "ports.database=16133",
)
STUDY, N_TRIALS = "mnist-default-search", 6
SEARCH = (
    "experiments=tune",
    "hydra/launcher=slurm",
    "hydra.sweeper.n_jobs=2",
    f"hydra.sweeper.n_trials={N_TRIALS}",
    "hydra.sweeper.max_failure_rate=0.5",  # the cancelled trial is a failure the rules allow
    "trainer.epochs=4",
    "trainer.max_train_samples=4096",
    "trainer.max_eval_samples=1000",
)


def why_no_slurm() -> str | None:
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    return why_no_hosts() or (f"{', '.join(missing)} missing: make slurm" if missing else None)


def cluster_command(action: str, *settings: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cluster", action, *SETTINGS, *settings],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def cluster():
    if why := why_no_slurm():
        pytest.skip(why)
    # munged wants every folder above its socket searchable by all: not pytest's 0700 tmp
    folder = Path(tempfile.mkdtemp(prefix="mnist-slurm-"))
    state = f"state_dir={folder}"
    started = cluster_command("start", state)
    local = LocalCluster(load_settings(*SETTINGS, state))
    try:
        assert started.returncode == 0, started.stderr
        yield local, started.stdout
    finally:
        stopped = cluster_command("stop", state)
        namespaces = [local.namespace(n) for n in local.settings.node_names]
        leftovers = [pid for ns in namespaces for pid in network.pids_in(ns)]
        shutil.rmtree(folder, ignore_errors=True)
        assert stopped.returncode == 0, stopped.stderr
        assert not leftovers and not any(network.exists(ns) for ns in namespaces)


def running_on(
    study: optuna.Study, host: str, seconds: float = 2.0
) -> list[optuna.trial.FrozenTrial]:
    """The trials whose job has run on `host` for `seconds` and not ended."""
    now = time.time()
    return [
        t
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        if t.user_attrs.get(JOB, {}).get("host") == host
        and "ended" not in t.user_attrs[JOB]
        and now - t.user_attrs[JOB]["started"] > seconds
    ]


def ran_again(study: optuna.Study, lost: int) -> bool:
    """Whether the lost trial's work has run to its end on another node (the same trial,
    requeued by SLURM, or its retry)."""
    return any(
        "ended" in t.user_attrs.get(JOB, {}) and t.user_attrs[JOB]["host"] != "node2"
        for t in study.get_trials(deepcopy=False)
        if t.number == lost or t.system_attrs.get("failed_trial") == lost
    )


@pytest.fixture(scope="module")
def faulty_search(cluster, tmp_path_factory):
    """The search: node2 lost while both nodes run a trial, a later trial's job cancelled, node2
    back once the lost trial has run again on node1."""
    local, _ = cluster
    tmp = tmp_path_factory.mktemp("slurm-search")
    overrides = isolated_overrides(tmp)
    storage = f"sqlite:///{tmp}/mlruns/optuna.db"
    began = time.time()
    search = subprocess.Popen(
        [sys.executable, "-m", "pipeline.train", *SEARCH, *overrides],
        cwd=PROJECT_ROOT,
        env=child_environment(SLURM_CONF=str(local.slurm_conf)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lost = cancelled = None
    node2_back = False
    deadline = time.monotonic() + 480
    while search.poll() is None and time.monotonic() < deadline:
        time.sleep(0.3)
        try:
            study = load_study(storage, STUDY)
        except KeyError:  # not created yet
            continue
        if lost is None:
            on_node2, on_node1 = running_on(study, "node2"), running_on(study, "node1", 0)
            if on_node2 and on_node1:
                lost = on_node2[0].number
                local.crash_node("node2")
            continue
        if cancelled is None:
            later = [t for t in running_on(study, "node1") if t.number > lost]
            later = [t for t in later if t.system_attrs.get("failed_trial") != lost]
            if later and "slurm_job" in later[0].user_attrs[JOB]:
                cancelled = later[0].number
                subprocess.run(
                    ["scancel", later[0].user_attrs[JOB]["slurm_job"]],
                    env=local.env,
                    check=True,
                )
        if not node2_back and ran_again(study, lost):
            local.start_node("node2")  # back once the lost trial's work is done elsewhere
            node2_back = True
    local.start_node("node2")
    output, _ = search.communicate(timeout=max(10, deadline - time.monotonic()))
    assert lost is not None and cancelled is not None, output[-3000:]
    assert search.returncode == 0, output[-3000:]
    study = load_study(storage, STUDY)
    print_timeline(study, began)
    return study, lost, cancelled, tmp, output


def print_timeline(study: optuna.Study, began: float) -> None:
    """Which trial ran where and when (`pytest -rP` shows it; the closing note quotes it)."""
    for t in study.trials:
        runs = [*t.user_attrs.get(EARLIER_ATTEMPTS, []), t.user_attrs.get(JOB, {})]
        where = ", then ".join(
            f"{r.get('host')} (job {r.get('slurm_job')}) "
            f"{r.get('started', began) - began:.1f}-"
            + (f"{r['ended'] - began:.1f} s" if "ended" in r else "lost")
            for r in runs
            if r
        )
        reason = t.user_attrs.get(FAIL_REASON, "")
        print(f"trial {t.number}: {t.state.name:8} {where}  {reason}")


def test_make_cluster_is_ready_with_accounting_and_nodes_that_book_memory(cluster):
    local, printed = cluster
    assert "SLURM cluster 'mnisttst' ready in" in printed
    nodes = local.query("sinfo", "-h", "-N", "-o", "%N %T %m").split("\n")
    assert [line.split()[:2] for line in nodes if line] == [["node1", "idle"], ["node2", "idle"]]
    assert all(int(line.split()[2]) == local.settings.memory_mb for line in nodes if line)
    assert "mnisttst" in local.query("sacctmgr", "-n", "list", "cluster")
    too_big = subprocess.run(
        ["sbatch", f"--mem={local.settings.memory_mb + 1}", "--wrap", "true"],
        env=local.env,
        capture_output=True,
        text=True,
    )
    assert too_big.returncode != 0 and "Memory specification" in too_big.stderr


def test_the_study_ends_with_exactly_n_trials(faulty_search):
    study, *_ = faulty_search
    states = [t.state for t in study.trials]
    counted = states.count(optuna.trial.TrialState.COMPLETE)
    counted += states.count(optuna.trial.TrialState.PRUNED)
    assert counted == N_TRIALS
    assert optuna.trial.TrialState.RUNNING not in states
    assert optuna.trial.TrialState.WAITING not in states


def test_both_nodes_ran_trials_at_the_same_time(faulty_search):
    study, *_ = faulty_search
    spans = {
        host: [
            (t.user_attrs[JOB]["started"], t.user_attrs[JOB]["ended"])
            for t in study.trials
            if t.user_attrs.get(JOB, {}).get("host") == host and "ended" in t.user_attrs[JOB]
        ]
        for host in ("node1", "node2")
    }
    assert any(a0 < b1 and b0 < a1 for a0, a1 in spans["node1"] for b0, b1 in spans["node2"])


def test_the_trial_on_the_lost_node_ran_again_on_the_other(faulty_search):
    study, lost, *_ = faulty_search
    trial = study.trials[lost]
    if trial.state == optuna.trial.TrialState.FAIL:  # the sweeper saw NODE_FAIL first
        assert "on node2 lost its node (NODE_FAIL)" in trial.user_attrs[FAIL_REASON]
        (again,) = [t for t in study.trials if t.system_attrs.get("failed_trial") == lost]
        assert again.params == trial.params
    else:  # SLURM requeued the job first: the same trial, its lost run recorded
        again = trial
        assert [r["host"] for r in trial.user_attrs[EARLIER_ATTEMPTS]] == ["node2"]
    assert again.state.is_finished() and again.state != optuna.trial.TrialState.FAIL
    assert again.user_attrs[JOB]["host"] == "node1"  # node2 was down


def test_a_cancelled_job_fails_its_trial_as_cancelled(faulty_search):
    study, _, cancelled, _, output = faulty_search
    trial = study.trials[cancelled]
    assert trial.state == optuna.trial.TrialState.FAIL
    assert "cancelled" in trial.user_attrs[FAIL_REASON].lower(), trial.user_attrs[FAIL_REASON]
    assert f"Trial {cancelled} failed" in output


def test_accounting_lists_every_trials_job_on_its_node(cluster, faulty_search):
    local, _ = cluster
    study, *_ = faulty_search
    listed = {}
    for line in local.query(
        "sacct", "-n", "-X", "-P", "-D", "-o", "JobID,State,NodeList"
    ).splitlines():
        job, state, node = line.split("|")
        listed.setdefault(job, []).append((state, node))
    for t in study.trials:
        job = t.user_attrs.get(JOB, {})
        if "slurm_job" in job:
            assert job["host"] in [node for _, node in listed[job["slurm_job"]]]


def test_one_parent_run_holds_every_trial(faulty_search):
    study, _, _, tmp, _ = faulty_search
    client = MlflowClient(f"sqlite:///{tmp}/mlruns/mlflow.db")
    experiment = client.get_experiment_by_name("tune")
    (parent,) = client.search_runs([experiment.experiment_id], "tags.multirun = 'parent'")
    children = client.search_runs(
        [experiment.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    assert len(children) >= len(study.trials)
    assert all(run.info.status != "RUNNING" for run in children)


@pytest.fixture(scope="module")
def stopped_then_resumed(cluster, tmp_path_factory):
    """A search sent SIGTERM while both nodes run its trials, then the same command again."""
    local, _ = cluster
    tmp = tmp_path_factory.mktemp("slurm-stopped")
    storage = f"sqlite:///{tmp}/mlruns/optuna.db"
    command = [
        sys.executable,
        "-m",
        "pipeline.train",
        *SEARCH[:3],
        "hydra.sweeper.n_trials=4",
        *SEARCH[5:],
        *isolated_overrides(tmp),
    ]
    env = child_environment(SLURM_CONF=str(local.slurm_conf))
    search = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 240
    jobs: list[str] = []
    while search.poll() is None and time.monotonic() < deadline and len(jobs) < 2:
        time.sleep(0.3)
        try:
            study = load_study(storage, STUDY)
        except KeyError:
            continue
        running = running_on(study, "node1", 1) + running_on(study, "node2", 1)
        jobs = [t.user_attrs[JOB]["slurm_job"] for t in running]
    search.terminate()
    stopped, _ = search.communicate(timeout=180)
    states = local.query("sacct", "-n", "-X", "-P", "-o", "State", "-j", ",".join(jobs))
    resumed = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=480
    )
    return search.returncode, stopped, jobs, states, resumed, load_study(storage, STUDY)


def test_a_stopped_sweeper_cancels_its_jobs_and_says_how_to_resume(stopped_then_resumed):
    status, output, jobs, states, *_ = stopped_then_resumed
    assert len(jobs) == 2, output[-3000:]
    assert status == 143, output[-3000:]
    assert (
        output.strip().splitlines()[-1].startswith("interrupted: the search was stopped by SIGTERM")
    )
    assert "the same command resumes it" in output
    assert [state.split()[0] for state in states.splitlines()] == ["CANCELLED", "CANCELLED"]


def test_the_same_command_resumes_the_stopped_search_to_n_trials(stopped_then_resumed):
    *_, resumed, study = stopped_then_resumed
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    states = [t.state for t in study.trials]
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    assert sum(state in finished for state in states) == 4
    assert optuna.trial.TrialState.RUNNING not in states
    assert optuna.trial.TrialState.WAITING not in states


# The team stack on this host, reached by the nodes over the cluster's bridge (their only route).
STACK_PASSWORD = f"Slurm-Stack-{uuid.uuid4().hex}"  # distinctive: a search for leaks finds it


@pytest.fixture(scope="module")
def stack_on_the_bridge(cluster):
    """`make server` listening on the cluster's bridge, as docs/teams.md shows: beyond loopback,
    so TLS, MLflow's accounts and a password (from PGPASSWORD, libpq's variable)."""
    if reason := why_no_postgres():
        pytest.skip(reason)
    local, _ = cluster
    folder = Path(tempfile.mkdtemp(prefix="mnist-slurm-stack-"))
    folder.chmod(0o755)  # PostgreSQL's own user passes through to the stack's folder
    bridge = f"{local.settings.subnet}.1"
    overrides = [
        f"tracking.server.host={bridge}",
        f"tracking.server.allow=[{local.settings.subnet}.0/24]",
        f"tracking.server.dir={folder}/stack",
        f"tracking.server.mlflow_port={free_port()}",
        f"tracking.server.postgres_port={free_port()}",
        "tracking.server.workers=1",
    ]

    def stack(action: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pipeline.stack", action, *overrides],
            cwd=PROJECT_ROOT,
            env=child_environment(PGPASSWORD=STACK_PASSWORD),
            capture_output=True,
            text=True,
            timeout=300,
        )

    started = stack("start")
    try:
        assert started.returncode == 0, started.stderr[-3000:]
        yield folder, overrides
    finally:
        stopped = stack("stop")
        shutil.rmtree(folder, ignore_errors=True)
        assert stopped.returncode == 0, stopped.stderr[-3000:]


@pytest.fixture(scope="module")
def search_with_the_stack(cluster, stack_on_the_bridge):
    """The same search with `tracking=server`: the sweeper here, its trials on the nodes, all of
    them tracked to the stack and sharing the study in its PostgreSQL."""
    local, _ = cluster
    folder, overrides = stack_on_the_bridge
    search = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline.train",
            *SEARCH[:3],
            "hydra.sweeper.n_trials=2",
            "trainer.epochs=2",
            *SEARCH[6:],
            "hydra.sweeper.study_name=slurm-stack",
            "tracking=server",
            *overrides,
            f"tracking.server.ca_file={folder}/stack/tls/ca.crt",
            f"paths.output_dir={folder}/outputs",
        ],
        cwd=PROJECT_ROOT,
        env=child_environment(SLURM_CONF=str(local.slurm_conf), PGPASSWORD=STACK_PASSWORD),
        capture_output=True,
        text=True,
        timeout=480,
    )
    assert search.returncode == 0, search.stderr[-2000:] + job_errors(folder / "outputs")
    port = next(o.split("=")[1] for o in overrides if o.startswith("tracking.server.postgres_port"))
    socket = f"host={folder}/stack/postgres/run&port={port}&passfile={folder}/stack/secrets/pgpass"
    study = load_study(f"postgresql://mnist@/optuna?{socket}", "slurm-stack")
    return study, MlflowClient(f"postgresql://mnist@/mlflow?{socket}"), search, folder


def job_errors(outputs: Path) -> str:
    """The end of every job's error log under `outputs` (submitit's folders): why a job failed."""
    return "".join(
        f"\n--- {log}:\n{log.read_text(errors='replace')[-1500:]}"
        for log in sorted(outputs.rglob("*_log.*"))
    )


def test_a_search_on_the_nodes_tracks_to_the_stack_beyond_loopback(search_with_the_stack):
    study, client, *_ = search_with_the_stack
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2
    assert {t.user_attrs[JOB]["host"] for t in study.trials} == {"node1", "node2"}
    experiment = client.get_experiment_by_name("tune")
    (parent,) = client.search_runs([experiment.experiment_id], "tags.multirun = 'parent'")
    children = client.search_runs(
        [experiment.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    assert len(children) == 2 and all(run.info.status == "FINISHED" for run in children)
    assert all(
        len(client.get_metric_history(run.info.run_id, "val/accuracy")) == 2 for run in children
    )


def test_the_stacks_passwords_are_in_no_file_of_the_search_nor_its_output(search_with_the_stack):
    *_, search, folder = search_with_the_stack
    _, admin_password = read_credentials_file(folder / "stack" / "secrets" / "mlflow-admin")
    for secret in (STACK_PASSWORD, admin_password):
        assert secret and secret not in search.stdout + search.stderr
        leaks = [
            path
            for path in (folder / "outputs").rglob("*")
            if path.is_file() and secret.encode() in path.read_bytes()
        ]
        assert not leaks
