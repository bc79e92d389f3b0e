"""Benchmark: trials per hour of one search on this machine, k workers x t TensorFlow threads.

The same search as the `search` section (same parameter sets, subset and budget, pruning
off), in these arms:
- `1x2`: one worker process, TensorFlow's intra- and inter-op threads at 2 (`make tune`);
- `2x1`: two worker processes on one Optuna storage, one thread each (`make tune WORKERS=2`,
  the second worker with its own sampler seed, as the Makefile gives it);
- `2x1_joblib`: one process whose sweeper runs two trials at a time through the joblib
  launcher (`hydra/launcher=joblib hydra.sweeper.n_jobs=2`), one thread each.
The parameter sets are queued in the study before the workers start: two workers queueing
them at the same moment could both queue a set (Optuna's duplicate check is not atomic).
"""

from dataclasses import dataclass
from pathlib import Path
from statistics import median

from pipeline.bench.fresh_process import run_together
from pipeline.bench.search_speed import (
    SEARCH_EXPERIMENT,
    Subset,
    existing_stores,
    fixed_trials,
    isolated,
    job_objectives,
    search_command,
)
from pipeline.config.compose import compose_config

SAMPLER_SEED_BASE = 40  # the Makefile's: worker i > 1 of `make tune` samples with seed 40 + i


@dataclass(frozen=True)
class Arm:
    processes: int
    threads: int  # TensorFlow intra- and inter-op threads of each trial
    launcher_jobs: int = 1  # > 1: trials at a time in one process, through the joblib launcher


ARMS = {
    "1x2": Arm(processes=1, threads=2),
    "2x1": Arm(processes=2, threads=1),
    "2x1_joblib": Arm(processes=1, threads=1, launcher_jobs=2),
}


def arm_commands(arm: Arm, workdir: Path, subset: Subset, trials: list[dict]) -> list[list[str]]:
    common = [f"trainer.intra_op_threads={arm.threads}", f"trainer.inter_op_threads={arm.threads}"]
    if arm.launcher_jobs > 1:
        common += ["hydra/launcher=joblib", f"hydra.sweeper.n_jobs={arm.launcher_jobs}"]
    return [
        search_command(
            workdir,
            subset,
            trials,
            *common,
            *([f"hydra.sweeper.sampler.seed={SAMPLER_SEED_BASE + worker}"] if worker > 1 else []),
        )
        for worker in range(1, arm.processes + 1)
    ]


def queue_trials(workdir: Path, trials: list[dict]) -> None:
    """Create the search's study in the arm's fresh storage, its parameter sets queued."""
    import optuna

    from pipeline.search.storage import open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # not a line per arm about a new study
    sweeper = compose_config(
        SEARCH_EXPERIMENT, *isolated(workdir), return_hydra_config=True
    ).hydra.sweeper
    study = optuna.create_study(
        storage=open_storage(sweeper.storage),
        study_name=sweeper.study_name,
        direction=sweeper.direction,
    )
    for params in trials:
        study.enqueue_trial(params)


def run_arm(name: str, arm: Arm, workdir: Path, subset: Subset, trials: list[dict]) -> float:
    workdir.mkdir(parents=True)
    existing_stores(workdir)
    queue_trials(workdir, trials)
    commands = arm_commands(arm, workdir, subset, trials)
    wall = run_together(
        commands, [workdir / f"worker-{i}.log" for i in range(1, len(commands) + 1)]
    )
    finished = len(job_objectives(workdir / "outputs"))
    if finished != len(trials):
        raise RuntimeError(
            f"search_parallel {name}: {finished} of {len(trials)} trials finished; logs in {workdir}"
        )
    return wall


def parallel_benchmark(
    subset: Subset, n_trials: int, repeats: int, workdir: Path, arms: list[str]
) -> dict:
    """Median wall time and trials per hour of each arm; arms rotate their order each repeat."""
    trials = fixed_trials(n_trials)
    walls: dict[str, list[float]] = {name: [] for name in arms}
    for repeat in range(repeats):
        for name in arms[repeat % len(arms) :] + arms[: repeat % len(arms)]:
            wall = run_arm(name, ARMS[name], workdir / f"{name}-{repeat}", subset, trials)
            walls[name].append(wall)
            print(
                f"  search_parallel {name} run {repeat + 1}/{repeats}: {wall:.1f} s for {n_trials} trials",
                flush=True,
            )
    result = {**vars(subset), "trials": n_trials}
    for name, runs in walls.items():
        arm = ARMS[name]
        result[name] = {
            "processes": arm.processes,
            "threads": arm.threads,
            "trials_at_once": arm.processes * arm.launcher_jobs,
            "wall_s": median(runs),
            "trials_per_hour": 3600 * n_trials / median(runs),
            "runs": runs,
        }
    result["fastest"] = max(walls, key=lambda name: result[name]["trials_per_hour"])
    if "1x2" in walls:
        for name in sorted(walls.keys() - {"1x2"}):
            result[f"{name}_vs_1x2"] = (
                result[name]["trials_per_hour"] / result["1x2"]["trials_per_hour"]
            )
    return result
