"""Helpers for the tests in this folder (the fixtures are in conftest.py)."""

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from hydra import compose, initialize_config_dir
from mlflow import MlflowClient
from mlflow.entities import Run
from omegaconf import DictConfig

import pipeline.config  # noqa: F401  (registers schemas and resolvers)
from pipeline import PROJECT_ROOT
from pipeline.tracking.delivery import RETRIES_ENV, TIMEOUT_ENV

SMOKE_EPOCHS = 2  # two epochs: a metric history with one value per epoch has two points


REGISTERED_NAME = "mnist-smoke"


SYSTEM_METRICS_INTERVAL = (
    0.5  # seconds: a smoke run lasts a few, MLflow's default 10 would record one sample
)


def tracked_config(store: Path, *overrides: str, hydra: bool = False) -> DictConfig:
    """The smoke preset with outputs and the MLflow store (SQLite) under `store`; with `hydra`,
    Hydra's own config too (what a multirun's callbacks read)."""
    with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
        return compose(
            config_name="config",
            overrides=[
                "trainer=smoke",
                f"paths.output_dir={store}/outputs",
                f"paths.mlruns_dir={store}/mlruns",
                *overrides,
            ],
            return_hydra_config=hydra,
        )


# MLflow's per-request settings, which the code under test sets in this process's environment.
REQUEST_SETTINGS = (RETRIES_ENV, TIMEOUT_ENV)


def no_request_times_out_after_the_thaw() -> None:
    """A thawed server works through what it took while hung: no request may time out then (a
    second 'is away' line), however busy the host. MLflow reads this at each request."""
    os.environ[TIMEOUT_ENV] = "120"


def event_after(monkeypatch, owner, name: str) -> threading.Event:
    """An event set each time `owner.name` (a method of a class, or a module's function) has
    returned: what a test waits on before it changes the world (a server thawed, say)."""
    event, original = threading.Event(), getattr(owner, name)

    def called(*args, **kwargs):
        result = original(*args, **kwargs)
        event.set()
        return result

    monkeypatch.setattr(owner, name, called)
    return event


def train(cfg: DictConfig, name: str) -> Path:
    from pipeline.training.run import train_and_evaluate

    run_dir = Path(cfg.paths.output_dir) / "runs" / name
    run_dir.mkdir(parents=True)
    train_and_evaluate(cfg, run_dir)
    return run_dir


def only_run(client: MlflowClient, cfg: DictConfig) -> Run:
    experiment = client.get_experiment_by_name(cfg.tracking.experiment_name)
    (run,) = client.search_runs([experiment.experiment_id])
    return run


@dataclass
class TrackedRun:
    cfg: DictConfig
    client: MlflowClient
    run: Run
    run_dir: Path


def smoke_run_config(store: Path) -> DictConfig:
    return tracked_config(
        store,
        f"trainer.epochs={SMOKE_EPOCHS}",
        f"tracking.register_as={REGISTERED_NAME}",
        f"tracking.system_metrics_interval={SYSTEM_METRICS_INTERVAL}",
    )
