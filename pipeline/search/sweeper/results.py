"""What a search leaves behind: `optimization_results.yaml`, plots, and the MLflow parent run's copy."""

import logging
from pathlib import Path
from typing import Any

import optuna
from omegaconf import DictConfig, OmegaConf
from optuna.trial import TrialState

from pipeline.search.sweeper.experimental import experimental_features

log = logging.getLogger(__name__)

RESULTS_FILE = "optimization_results.yaml"


def summary(study: optuna.Study) -> dict[str, Any]:
    """Best value and parameters (one objective) or the Pareto front, in the old plugin's keys."""
    counts = {
        state.name: len(study.get_trials(deepcopy=False, states=(state,))) for state in TrialState
    }
    result: dict[str, Any] = {
        "name": "optuna",
        "study_name": study.study_name,
        "trials": {name: n for name, n in counts.items() if n},
    }
    if not counts["COMPLETE"]:
        return result
    if len(study.directions) == 1:
        best = study.best_trial
        result.update(best_params=best.params, best_value=best.value, best_trial=best.number)
    else:
        result["solutions"] = [
            {"trial": t.number, "params": t.params, "values": t.values} for t in study.best_trials
        ]
    return result


def _plot(figures: dict[str, Any], sweep_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for name, draw in figures.items():
        try:
            with experimental_features():
                axes = draw()
        except (ValueError, RuntimeError) as error:  # e.g. importances need two finished trials
            log.info("No %s plot: %s", name, error)
            continue
        path = sweep_dir / f"{name}.png"
        axes.figure.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(axes.figure)
        paths.append(path)
    return paths


def plots(study: optuna.Study, sweep_dir: Path) -> list[Path]:
    from optuna.visualization import matplotlib as vis

    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return []
    if len(study.directions) == 1:
        figures = {
            "optimization_history": lambda: vis.plot_optimization_history(study),
            "param_importances": lambda: vis.plot_param_importances(study),
        }
    else:
        figures = {"pareto_front": lambda: vis.plot_pareto_front(study)}
    return _plot(figures, sweep_dir)


def log_to_parent_run(config: DictConfig, result: dict[str, Any], files: list[Path]) -> None:
    """The project's tracking callback puts its parent run's id into the config."""
    from pipeline.tracking.records import (
        OPTUNA_BEST_PARAMS_TAG,
        OPTUNA_BEST_TRIAL_TAG,
        OPTUNA_BEST_VALUE_METRIC,
        OPTUNA_STUDY_TAG,
    )

    parent_id = OmegaConf.select(config, "tracking.parent_run_id")
    uri = OmegaConf.select(config, "tracking.uri")
    if not parent_id or not uri:
        return
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    for path in files:
        client.log_artifact(parent_id, str(path), "optuna")
    client.set_tag(parent_id, OPTUNA_STUDY_TAG, result["study_name"])
    if "best_value" in result:
        client.log_metric(parent_id, OPTUNA_BEST_VALUE_METRIC, result["best_value"])
        client.set_tag(parent_id, OPTUNA_BEST_PARAMS_TAG, str(result["best_params"]))
        client.set_tag(parent_id, OPTUNA_BEST_TRIAL_TAG, str(result["best_trial"]))


def write_results(study: optuna.Study, config: DictConfig, with_plots: bool) -> dict[str, Any]:
    sweep_dir = Path(str(config.hydra.sweep.dir))
    sweep_dir.mkdir(parents=True, exist_ok=True)
    result = summary(study)
    OmegaConf.save(OmegaConf.create(result), sweep_dir / RESULTS_FILE)
    files = [sweep_dir / RESULTS_FILE] + (plots(study, sweep_dir) if with_plots else [])
    log_to_parent_run(config, result, files)
    log.info("Study %s: %s", study.study_name, {k: v for k, v in result.items() if k != "name"})
    return result
