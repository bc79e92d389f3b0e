"""Every named experiment composes, says what it asks, and every job of its sweep is valid."""

import functools
import itertools

import pytest
from omegaconf import OmegaConf

from pipeline import PROJECT_ROOT
from pipeline.config import validate
from pipeline.config.choices import group_options
from tests.helpers import compose_config

EXPERIMENTS = group_options("experiments")
ABSENT = object()


def test_the_issue_experiments_exist():
    assert {"optimizers", "dropout", "reproduce", "fashion"} <= set(EXPERIMENTS)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_header_states_its_question(name):
    lines = (PROJECT_ROOT / "experiments" / f"{name}.yaml").read_text().splitlines()
    assert lines[0] == "# @package _global_"
    assert lines[1].startswith(f"# experiments/{name}.yaml -- ") and lines[1].endswith("?")


@functools.cache
def sweep_jobs(name: str) -> tuple[tuple[str, ...], ...]:
    """The overrides of each job the experiment's sweep launches."""
    cfg = compose_config(f"experiments={name}")
    hydra_cfg = OmegaConf.load(PROJECT_ROOT / "experiments" / f"{name}.yaml").hydra
    params = hydra_cfg.sweeper.params
    assert hydra_cfg.mode == "MULTIRUN", "runnable as a multirun without extra flags"
    for (
        key
    ) in params:  # a swept key is a group or a value of the config (group paths: composed below)
        assert "/" in key or OmegaConf.select(cfg, key, default=ABSENT) is not ABSENT, (
            f"{name} sweeps unknown {key}"
        )
    choices = [
        [f"{key}={value.strip()}" for value in str(values).split(",")]
        for key, values in params.items()
    ]
    return tuple(itertools.product(*choices))


@functools.cache
def job_configs(name: str) -> list:
    """Each job's composed config (composing costs a fraction of a second: once per session)."""
    return [compose_config(f"experiments={name}", *job) for job in sweep_jobs(name)]


@pytest.mark.parametrize(
    "name",
    [
        n
        for n in EXPERIMENTS
        if "params" in str(OmegaConf.load(PROJECT_ROOT / "experiments" / f"{n}.yaml"))
    ],
)
def test_every_job_of_the_sweep_composes_and_validates(name):
    configs = job_configs(name)
    for cfg in configs:
        validate(cfg)
    assert len({OmegaConf.to_yaml(cfg) for cfg in configs}) == len(sweep_jobs(name)), (
        "jobs must differ"
    )


def test_optimizers_compares_three_optimizers_with_three_seeds_at_the_same_budget():
    configs = job_configs("optimizers")
    arms = {(c.optimizer.name, c.model.dropout) for c in configs}
    assert {name for name, _ in arms} == {"sgd", "adam", "rmsprop"} and len(arms) == 6
    assert {c.trainer.seed for c in configs} == {1, 2, 3}
    assert {c.trainer.epochs for c in configs} == {3} and {c.model.name for c in configs} == {
        "convnet"
    }
    assert all(c.optimizer.momentum > 0 for c in configs if c.optimizer.name == "sgd")


def test_reproduce_has_the_two_published_recipes():
    configs = job_configs("reproduce")
    recipes = {(c.model.name, c.optimizer.name, c.model.dropout, c.trainer.epochs) for c in configs}
    assert recipes == {("tf_tutorial", "adam", 0.0, 5), ("convnet", "rmsprop", 0.25, 5)}


def test_fashion_runs_the_optimizer_comparison_on_fashion_mnist():
    fashion = compose_config("experiments=fashion")
    assert fashion.data.name == "fashion_mnist"
    assert sweep_jobs("fashion") == sweep_jobs("optimizers")


def test_tune_is_an_optuna_search_with_pruning():
    cfg = compose_config("experiments=tune", return_hydra_config=True)
    assert cfg.hydra.mode.name == "MULTIRUN"
    assert cfg.hydra.sweeper._target_.endswith("OptunaSweeper")
    assert cfg.hydra.sweeper.direction == "maximize" and cfg.trainer.objective == "val_accuracy"
    assert "Pruner" in cfg.hydra.sweeper.pruner._target_
