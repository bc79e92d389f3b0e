"""`python -m pipeline.bench.cluster_scale [--nodes 8] [--trials 200] [--storage sqlite|stack]`:
the scale drill of docs/teams.md. A local SLURM cluster of its own (`make cluster`'s code, its own
name, network and ports), the tests' TensorFlow-free objective (one second of work per trial,
each trial an MLflow child run), `--trials` trials with one job per node at a time. The study
and the runs go to SQLite files on the shared folder, or to the team stack (PostgreSQL and the
MLflow server, listening on the cluster's bridge with TLS and accounts, as a team's would).

Figures: trials per hour against the ideal for the slots; per trial, the time from its
submission to its job's start, the job, and from the job's end to the study's record (early
trials and late ones); the storage's cost of one trial (the sampler's ask and the tell) with
10 trials in the study and with all of them; `python -m pipeline.report` on the study. Needs
root, like `make cluster`; everything it starts is stopped at the end.
"""

import argparse
import json
import os
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from pipeline import PROJECT_ROOT

APP = PROJECT_ROOT / "tests" / "sweeper" / "app" / "objective.py"
STUDY, EXPERIMENT = "scale", "tiny"
# Apart from `make cluster`'s and the tests' clusters, so the drill never meets them.
CLUSTER = (
    "name=scale",
    "subnet=10.231.90",
    "ports.controller=17817",
    "ports.node=17818",
    "ports.accounting=17819",
    "ports.database=17033",
)
TIMEOUT_S = 3 * 3600  # a hung command ends the drill, and its cluster, instead of waiting forever
STACK_PORTS = ("tracking.server.mlflow_port=17501", "tracking.server.postgres_port=17533")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.bench.cluster_scale", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--nodes", type=int, default=8, help="compute nodes, one job each at a time"
    )
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--work-s", type=float, default=1.0, help="seconds of work per trial")
    parser.add_argument("--storage", choices=("sqlite", "stack"), default="sqlite")
    parser.add_argument(
        "--output", type=Path, default=None, help="a results file for python -m pipeline.bench.docs"
    )
    return parser.parse_args(argv)


class Stores:
    """Where the study and the runs go: SQLite files in `folder`, or the team stack on the
    cluster's bridge (started here with a random password, stopped by `close`)."""

    def __init__(self, kind: str, folder: Path, bridge: str, subnet: str):
        self.kind, self.folder = kind, folder
        if kind == "sqlite":
            self.storage = f"sqlite:///{folder}/optuna.db"
            self.tracking_uri = f"sqlite:///{folder}/mlflow.db"
            return
        from pipeline.config.compose import compose_config
        from pipeline.tracking.credentials import use_stack_server

        folder.chmod(0o755)  # PostgreSQL's own user passes through to the stack's folder
        self.overrides = [
            f"tracking.server.host={bridge}",
            f"tracking.server.allow=[{subnet}.0/24]",
            f"tracking.server.dir={folder}/stack",
            *STACK_PORTS,
        ]
        os.environ["PGPASSWORD"] = secrets.token_urlsafe(24)  # libpq's variable; jobs inherit it
        try:
            self._stack("start")
            tracking = compose_config("tracking=server", *self.overrides).tracking
            use_stack_server(tracking)  # the admin's account and the stack's CA, for the jobs too
        except BaseException:
            self._stack("stop", check=False)  # whatever part of it started
            raise
        self.storage, self.tracking_uri = tracking.optuna_storage, tracking.uri

    def _stack(self, action: str, check: bool = True) -> None:
        subprocess.run(
            [sys.executable, "-m", "pipeline.stack", action, *self.overrides],
            cwd=PROJECT_ROOT,
            check=check,
            stdout=subprocess.DEVNULL,
            timeout=300,
        )

    def close(self) -> None:
        if self.kind == "stack":
            self._stack("stop")


def run_search(args: argparse.Namespace, stores: Stores, folder: Path, env: dict) -> float:
    """The search as a user starts it; seconds from the command to its exit."""
    command = [
        sys.executable,
        str(APP),
        "-m",
        "hydra/launcher=submitit_slurm",
        f"hydra.launcher.submitit_folder={folder}/sweep/.submitit",
        "hydra.launcher.cpus_per_task=1",
        "hydra.launcher.mem_gb=1",
        "hydra.launcher.timeout_min=10",
        f"hydra.launcher.setup=['source {PROJECT_ROOT}/.venv/bin/activate']",
        f"hydra.sweep.dir={folder}/sweep",
        f"hydra.sweeper.storage='{stores.storage}'",
        f"hydra.sweeper.study_name={STUDY}",
        f"hydra.sweeper.n_trials={args.trials}",
        f"hydra.sweeper.n_jobs={args.nodes}",
        "hydra.sweeper.plots=false",
        "steps=0",
        f"sleep={args.work_s}",
        "tracking.enabled=true",
        f"tracking.uri='{stores.tracking_uri}'",
        f"tracking.artifact_root={folder}/artifacts",  # a database store's; a server picks its own
    ]
    return timed(command, env)


def timed(command: list[str], env: dict) -> float:
    """Seconds from `command`'s start to its exit; its error output if it fails."""
    started = time.monotonic()
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed:\n{done.stderr[-3000:]}")
    return time.monotonic() - started


def per_trial(trials) -> dict[str, float]:
    """Medians over `trials`: submission (the trial's creation) to its job's start, the job,
    and the job's end to the study's record."""
    from pipeline.search.trial_link import JOB

    jobs = [(t, t.user_attrs[JOB]) for t in trials if "ended" in t.user_attrs.get(JOB, {})]
    return {
        "submit_to_start_s": median(j["started"] - t.datetime_start.timestamp() for t, j in jobs),
        "job_s": median(j["ended"] - j["started"] for t, j in jobs),
        "end_to_record_s": median(t.datetime_complete.timestamp() - j["ended"] for t, j in jobs),
    }


def storage_cost(storage: str, trials, repeats: int = 5) -> float:
    """Seconds for one trial's storage round (TPE's ask over the study, and the tell) in a copy
    of the study holding `trials`: what the sweeper pays per trial at that size."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name = f"{STUDY}-cost-{len(trials)}-{time.time_ns()}"
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=0),
    )
    study.add_trials(trials)
    distributions = trials[0].distributions
    seconds = []
    for _ in range(repeats):
        began = time.perf_counter()
        trial = study.ask(distributions)
        study.tell(trial, 0.0)
        seconds.append(time.perf_counter() - began)
    optuna.delete_study(study_name=name, storage=storage)
    return median(seconds)


def report_seconds(stores: Stores, folder: Path, env: dict) -> float:
    return timed(
        [
            sys.executable,
            "-m",
            "pipeline.report",
            "tune",
            f"--tracking-uri={stores.tracking_uri}",
            f"tracking.experiment_name={EXPERIMENT}",
            f"tracking.optuna_storage='{stores.storage}'",
            f"hydra.sweeper.study_name={STUDY}",
            f"paths.output_dir={folder}/outputs",
        ],
        env,
    )


def drill(args: argparse.Namespace, folder: Path) -> dict:
    import optuna

    from pipeline.cluster.settings import load_settings
    from pipeline.cluster.slurm import LocalCluster

    cluster = LocalCluster(
        load_settings(*CLUSTER, f"nodes={args.nodes}", f"state_dir={folder}/cluster")
    )
    figures: dict = {"nodes": args.nodes, "trials": args.trials, "storage": args.storage}
    figures["cluster_ready_s"] = cluster.start()
    stores = None
    try:
        stores = Stores(args.storage, folder, cluster.settings.address(), cluster.settings.subnet)
        env = {**os.environ, "SLURM_CONF": str(cluster.slurm_conf), "PYTHONPATH": str(PROJECT_ROOT)}
        wall = run_search(args, stores, folder, env)
        study = optuna.load_study(study_name=STUDY, storage=stores.storage)
        done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        figures.update(
            wall_s=wall,
            complete=len(done),
            trials_per_hour=len(done) * 3600 / wall,
            ideal_trials_per_hour=args.nodes * 3600 / args.work_s,
            first_20=per_trial(done[:20]),
            last_20=per_trial(done[-20:]),
            storage_cost_at_10_s=storage_cost(stores.storage, done[:10]),
            storage_cost_at_all_s=storage_cost(stores.storage, done),
            report_s=report_seconds(stores, folder, env),
        )
    finally:
        try:
            if stores is not None:
                stores.close()
        finally:
            cluster.stop()
    return figures


def main(argv: list[str]) -> int:
    from pipeline.bench.__main__ import machine

    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mnist-scale-") as tmp:
        folder = Path(tmp)
        folder.chmod(0o711)  # munged and PostgreSQL's user pass through it
        figures = drill(args, folder)
    print(json.dumps(figures, indent=2))
    if args.output:  # a benchmark results file: `python -m pipeline.bench.docs FILE` shows it
        results = {
            "machine": machine(),
            "command": shlex.join(["python", "-m", "pipeline.bench.cluster_scale", *argv]),
            "sections": {f"cluster_scale_{args.storage}": figures},
        }
        args.output.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
