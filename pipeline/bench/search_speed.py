"""Benchmark: a search and a plain multirun through the pipeline against the code a user writes instead.

Both arms are whole fresh processes run one after the other, in alternating order:
- search: `python -m pipeline.train experiments=tune` (the sweeper, tracking and checkpoints as
  configured by default, pruning off: it has its own section) against `study.optimize` with a
  hand-written Keras objective (pipeline/bench/hand_written.py); the same parameter sets,
  enqueued on both sides (`hydra.sweeper.enqueue_trials`, `study.enqueue_trial`).
- multirun: `experiments=optimizers` on a smaller grid (one seed by default) against a loop
  over the same grid that fits with validation and evaluates on the test set, as the jobs do.
Each pipeline run gets an MLflow store and Optuna storage of its own, created before the
clock starts (as a user's exist before their search). The figures:
wall times, their ratio (median of the per-pair ratios), trials per hour, and where the time
of a pipeline trial goes (pipeline/bench/job_timings.py).
"""

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import mean, median

from omegaconf import OmegaConf

from pipeline.bench.fresh_process import run_timed
from pipeline.config.compose import compose_config
from pipeline.timings import trial_breakdown

SEARCH_EXPERIMENT = "experiments=tune"
MULTIRUN_EXPERIMENT = "experiments=optimizers"
NO_PRUNING = "hydra/sweeper/pruner=none"


@dataclass(frozen=True)
class Subset:
    """The data and budget every job of both arms trains on."""

    epochs: int
    train_samples: int
    eval_samples: int  # validation images, and test images where a job evaluates them

    def overrides(self) -> list[str]:
        return [
            f"trainer.epochs={self.epochs}",
            f"trainer.max_train_samples={self.train_samples}",
            f"trainer.max_eval_samples={self.eval_samples}",
        ]


# Parameter sets inside conf/search/default.yaml's space: each optimizer near its own default
# rate, every batch size with every optimizer within 9 trials, dropout across the seeds' range.
_RATES = {"sgd": 0.01, "adam": 1e-3, "rmsprop": 1e-3}
_RATE_FACTORS = (1.0, 0.5, 2.0, 1.0)
_BATCH_SIZES = (64, 128, 256)
_DROPOUTS = (0.25, 0.4, 0.5, 0.3)


def fixed_trials(n: int) -> list[dict]:
    """`n` parameter sets, keyed like the sweeper's params, the same in every run."""
    names = list(_RATES)
    trials = []
    for i in range(n):
        name = names[i % len(names)]
        params = {
            "optimizer": name,
            "optimizer.learning_rate": _RATES[name]
            * _RATE_FACTORS[i // len(names) % len(_RATE_FACTORS)],
            "model.dropout": _DROPOUTS[i % len(_DROPOUTS)],
            "trainer.batch_size": _BATCH_SIZES[(i + i // len(names)) % len(_BATCH_SIZES)],
        }
        if name == "sgd":
            params["optimizer.momentum"] = 0.9  # conf/optimizer/sgd.yaml's value
        trials.append(params)
    return trials


def enqueue_literal(trials: list[dict]) -> str:
    """The parameter sets in Hydra's override grammar: [{key:value,...},...]."""
    return (
        "["
        + ",".join(
            "{" + ",".join(f"{key}:{value}" for key, value in params.items()) + "}"
            for params in trials
        )
        + "]"
    )


def isolated(workdir: Path) -> list[str]:
    """Outputs, the MLflow store and the Optuna storage (both derive from paths.mlruns_dir) under workdir."""
    return [f"paths.output_dir={workdir}/outputs", f"paths.mlruns_dir={workdir}/mlruns"]


def existing_stores(workdir: Path) -> None:
    """Create the MLflow store and the Optuna storage under workdir, untimed: a user's stores
    exist before their search (a new MLflow database's migrations take seconds, once per store)."""
    from pipeline.search.storage import open_storage
    from pipeline.tracking.store import prepare_store

    tracking = compose_config(*isolated(workdir)).tracking
    prepare_store(tracking.uri, tracking.connect_timeout)
    open_storage(tracking.optuna_storage)


def search_command(workdir: Path, subset: Subset, trials: list[dict], *extra: str) -> list[str]:
    return [
        "-m",
        "pipeline.train",
        SEARCH_EXPERIMENT,
        NO_PRUNING,
        f"hydra.sweeper.n_trials={len(trials)}",
        *subset.overrides(),
        *isolated(workdir),
        *extra,
    ]


def _plain(node) -> dict:
    return OmegaConf.to_container(node, resolve=True)


def _spec_base(cfg, subset: Subset) -> dict:
    return {
        "data": _plain(cfg.data),
        "model": _plain(cfg.model),
        "epochs": subset.epochs,
        "train_samples": subset.train_samples,
        "eval_samples": subset.eval_samples,
        "seed": cfg.trainer.seed,
    }


def search_spec(subset: Subset, trials: list[dict]) -> dict:
    """What the hand-written search needs from the composed config: each optimizer's file, the
    schedule, the model, the data and the parameter sets."""
    cfg = compose_config(SEARCH_EXPERIMENT, *subset.overrides())
    names = list(dict.fromkeys(params["optimizer"] for params in trials))
    optimizers = {
        name: _plain(compose_config(SEARCH_EXPERIMENT, f"optimizer={name}").optimizer)
        for name in names
    }
    return {
        "mode": "search",
        **_spec_base(cfg, subset),
        "schedule": _plain(cfg.schedule),
        "optimizers": optimizers,
        "trials": trials,
    }


def multirun_grid(changes: list[str]) -> dict[str, list[str]]:
    """The multirun experiment's sweep params, each `KEY=V1,V2` in `changes` replacing its entry."""
    params = compose_config(MULTIRUN_EXPERIMENT, return_hydra_config=True).hydra.sweeper.params
    grid = {str(key): str(values).split(",") for key, values in params.items()}
    for change in changes:
        key, values = change.split("=", 1)
        grid[key] = values.split(",")
    return grid


def multirun_command(workdir: Path, subset: Subset, grid: dict[str, list[str]]) -> list[str]:
    return [
        "-m",
        "pipeline.train",
        MULTIRUN_EXPERIMENT,
        *(f"{key}={','.join(values)}" for key, values in grid.items()),
        *subset.overrides(),
        *isolated(workdir),
    ]


def grid_spec(subset: Subset, grid: dict[str, list[str]]) -> dict:
    """Every job of the grid as the hand-written loop needs it, from its composed config."""
    jobs, cfg = [], None
    for values in itertools.product(*grid.values()):
        cfg = compose_config(
            MULTIRUN_EXPERIMENT,
            *(f"{key}={value}" for key, value in zip(grid, values, strict=False)),
            *subset.overrides(),
        )
        jobs.append(
            {
                "optimizer": _plain(cfg.optimizer),
                "schedule": _plain(cfg.schedule),
                "dropout": cfg.model.dropout,
                "batch_size": cfg.trainer.batch_size,
                "seed": cfg.trainer.seed,
            }
        )
    return {"mode": "grid", **_spec_base(cfg, subset), "jobs": jobs}


def job_objectives(outputs: Path) -> list[float]:
    """The objective (best validation accuracy) of every job that ran to the end: each writes
    metrics.json after its test evaluation."""
    return [
        value
        for path in outputs.rglob("metrics.json")
        for value in json.loads(path.read_text())["objective"].values()
    ]


def _pipeline_run(
    label: str, args: list[str], jobs: int, workdir: Path
) -> tuple[float, dict, float]:
    """Wall time, the per-job breakdown and the best objective of one pipeline process."""
    existing_stores(workdir)
    wall = run_timed(args, workdir / "log.txt")
    objectives = job_objectives(workdir / "outputs")
    if len(objectives) != jobs:
        raise RuntimeError(
            f"{label}: {len(objectives)} of {jobs} jobs finished; log {workdir / 'log.txt'}"
        )
    return wall, trial_breakdown(workdir / "outputs", wall), max(objectives)


def _hand_written_run(spec: dict, workdir: Path) -> tuple[float, dict, float]:
    """Wall time, seconds per trial inside and outside the objective, and the best objective."""
    workdir.mkdir(parents=True, exist_ok=True)
    spec_path, result_path = workdir / "spec.json", workdir / "result.json"
    spec_path.write_text(json.dumps(spec))
    wall = run_timed(
        ["-m", "pipeline.bench.hand_written", str(spec_path), str(result_path)], workdir / "log.txt"
    )
    result = json.loads(result_path.read_text())
    trials = result["trial_s"]
    per_trial = {
        "trial_s": mean(trials),
        "training_steps_s": mean(result["steps_s"]),
        "outside_trials_s": (wall - sum(trials)) / len(trials),
        "import_s": result["import_s"],
        "data_s": result["data_s"],
    }
    return wall, per_trial, result["best_val_accuracy"]


def _mean_of(dicts: list[dict]) -> dict[str, float]:
    dicts = [d for d in dicts if d]
    return {key: mean(d[key] for d in dicts) for key in dicts[0]} if dicts else {}


def compare(
    label: str,
    jobs: int,
    pipeline_args: Callable[[Path], list[str]],
    spec: dict,
    workdir: Path,
    repeats: int,
) -> dict:
    """Run both arms `repeats` times, alternating which goes first; whole-process figures, and
    per trial: where a pipeline job's time goes, the hand-written objective's time."""
    arms = {
        "pipeline": lambda run_dir: _pipeline_run(label, pipeline_args(run_dir), jobs, run_dir),
        "hand_written": lambda run_dir: _hand_written_run(spec, run_dir),
    }
    walls, per_trial, best = ({arm: [] for arm in arms} for _ in range(3))
    for repeat in range(repeats):
        for arm in list(arms) if repeat % 2 == 0 else list(arms)[::-1]:
            wall, trial, objective = arms[arm](workdir / f"{arm}-{repeat}")
            walls[arm].append(wall)
            per_trial[arm].append(trial)
            best[arm].append(objective)
            print(
                f"  {label} {arm} run {repeat + 1}/{repeats}: {wall:.1f} s for {jobs} jobs",
                flush=True,
            )
    ratios = [
        ours / theirs
        for ours, theirs in zip(walls["pipeline"], walls["hand_written"], strict=False)
    ]
    ours, theirs = median(walls["pipeline"]), median(walls["hand_written"])
    breakdown = _mean_of(per_trial["pipeline"])
    theirs_per_trial = _mean_of(per_trial["hand_written"])
    return {
        # issue 24's measure: the share of the whole process's wall time in training steps
        "pipeline_steps_share": breakdown.get("training_steps_s", 0.0) * jobs / ours,
        "hand_written_steps_share": theirs_per_trial["training_steps_s"] * jobs / theirs,
        "jobs": jobs,
        "pipeline_s": ours,
        "hand_written_s": theirs,
        "pipeline_vs_hand_written": median(ratios),
        "pipeline_trials_per_hour": 3600 * jobs / ours,
        "hand_written_trials_per_hour": 3600 * jobs / theirs,
        "runs": walls,
        # the same work on both sides: close, not equal (Keras shuffles its own way)
        "best_val_accuracy": {arm: mean(values) for arm, values in best.items()},
        "pipeline_trial": breakdown,
        "hand_written_trial": theirs_per_trial,
    }


def search_benchmark(
    subset: Subset, n_trials: int, repeats: int, workdir: Path, pipeline_overrides=()
) -> dict:
    trials = fixed_trials(n_trials)
    queue = f"hydra.sweeper.enqueue_trials={enqueue_literal(trials)}"
    result = compare(
        "search",
        n_trials,
        lambda run_dir: search_command(run_dir, subset, trials, queue, *pipeline_overrides),
        search_spec(subset, trials),
        workdir,
        repeats,
    )
    return {**vars(subset), **result}


def multirun_benchmark(
    subset: Subset, grid_changes: list[str], repeats: int, workdir: Path, pipeline_overrides=()
) -> dict:
    grid = multirun_grid(grid_changes)
    jobs = len(list(itertools.product(*grid.values())))
    result = compare(
        "multirun",
        jobs,
        lambda run_dir: multirun_command(run_dir, subset, grid) + list(pipeline_overrides),
        grid_spec(subset, grid),
        workdir,
        repeats,
    )
    return {**vars(subset), "grid": grid, **result}
