"""The sweeper's config schema, stored as `hydra/sweeper=optuna` with `sampler` and `pruner` groups.

Keys shared with the old hydra-optuna-sweeper (`sampler`, `direction`, `study_name`,
`storage`, `n_trials`, `n_jobs`, `params`, `custom_search_space`, `max_failure_rate`)
keep their names and defaults, so an existing sweep config works by switching plugin.
No Optuna import here: Hydra imports this module at every start-up.
"""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

PROVIDER = "mnist-pipeline"


@dataclass
class SamplerConfig:
    _target_: str = MISSING
    seed: int | None = None


@dataclass
class TPESamplerConfig(SamplerConfig):
    _target_: str = "optuna.samplers.TPESampler"
    n_startup_trials: int = 10
    n_ei_candidates: int = 24
    multivariate: bool = True  # models parameters jointly (Optuna 5's default)
    group: bool = True  # conditional parameters get their own joint model
    constant_liar: bool = True  # parallel workers avoid proposing the same point


@dataclass
class RandomSamplerConfig(SamplerConfig):
    _target_: str = "optuna.samplers.RandomSampler"


@dataclass
class GridSamplerConfig(SamplerConfig):
    # The grid itself is built from `params` (discrete spaces only).
    _target_: str = "optuna.samplers.GridSampler"


@dataclass
class CmaEsSamplerConfig(SamplerConfig):
    _target_: str = "optuna.samplers.CmaEsSampler"
    n_startup_trials: int = 1
    sigma0: float | None = None
    restart_strategy: str | None = None
    use_separable_cma: bool = False
    with_margin: bool = False  # for integer and stepped parameters


@dataclass
class QMCSamplerConfig(SamplerConfig):
    _target_: str = "optuna.samplers.QMCSampler"
    qmc_type: str = "sobol"
    scramble: bool = True


@dataclass
class GPSamplerConfig(SamplerConfig):
    _target_: str = "optuna.samplers.GPSampler"
    n_startup_trials: int = 10


@dataclass
class NSGAIISamplerConfig(SamplerConfig):
    _target_: str = "optuna.samplers.NSGAIISampler"
    population_size: int = 50
    mutation_prob: float | None = None
    crossover_prob: float = 0.9
    swapping_prob: float = 0.5


@dataclass
class NSGAIIISamplerConfig(NSGAIISamplerConfig):
    _target_: str = "optuna.samplers.NSGAIIISampler"


@dataclass
class NopPrunerConfig:
    _target_: str = "optuna.pruners.NopPruner"


@dataclass
class MedianPrunerConfig:
    _target_: str = "optuna.pruners.MedianPruner"
    n_startup_trials: int = 5
    n_warmup_steps: int = 0
    interval_steps: int = 1
    n_min_trials: int = 1


@dataclass
class SuccessiveHalvingPrunerConfig:
    _target_: str = "optuna.pruners.SuccessiveHalvingPruner"
    min_resource: Any = "auto"  # int, or "auto"
    reduction_factor: int = 4
    min_early_stopping_rate: int = 0
    bootstrap_count: int = 0


@dataclass
class HyperbandPrunerConfig:
    _target_: str = "optuna.pruners.HyperbandPruner"
    min_resource: int = 1
    max_resource: Any = "auto"  # int, or "auto"
    reduction_factor: int = 3
    bootstrap_count: int = 0


@dataclass
class ThresholdPrunerConfig:
    _target_: str = "optuna.pruners.ThresholdPruner"
    lower: float | None = None  # prune below this value (e.g. a diverged accuracy)
    upper: float | None = None  # prune above this value (e.g. a diverged loss)
    n_warmup_steps: int = 0
    interval_steps: int = 1


@dataclass
class OptunaSweeperConf:
    _target_: str = "hydra_plugins.optuna_sweeper.optuna_sweeper.OptunaSweeper"
    _recursive_: bool = False  # the sweeper builds sampler and pruner itself (grid, seeds)
    defaults: list[Any] = field(default_factory=lambda: [{"sampler": "tpe"}, {"pruner": "none"}])

    sampler: Any = MISSING
    pruner: Any = MISSING
    direction: Any = "minimize"  # "minimize" | "maximize", or a list of them (multi-objective)
    storage: str | None = None  # RDB URL, or a journal file path; null: in memory (no pruning)
    study_name: str | None = None
    n_trials: int = 20  # COMPLETE + PRUNED trials the study ends with, across workers
    n_jobs: int = 2  # concurrent jobs of this worker (launchers that isolate jobs)
    max_failure_rate: float = 0.0  # the old plugin's: share of a batch of n_jobs trials that may fail (1.0: failures never stop it)
    params: dict[str, str] | None = None
    # [{param: value, ...}, ...]: parameter sets tried first, in order (Optuna's enqueue_trial),
    # keyed like `params`; they count against n_trials; a set already in the study is skipped
    enqueue_trials: list[dict[str, Any]] = field(default_factory=list)
    # {name: {when: {param: [values]}, space: "interval(...)"}}: suggested only when matched
    conditional_params: dict[str, Any] = field(default_factory=dict)
    custom_search_space: str | None = None  # "module.fn": fn(cfg, trial) suggests more
    trial_config_key: str | None = "trial"  # where a job's config gets its trial; null: nowhere
    heartbeat_interval: int | None = 60  # RDB only: seconds between a worker's beats
    grace_period: int | None = None  # RDB only: beats missed this long fail a trial
    max_retry: int = 1  # re-runs of a trial whose worker died
    plots: bool = True  # history and importance plots in the sweep dir


def register() -> None:
    store = ConfigStore.instance()
    store.store(group="hydra/sweeper", name="optuna", node=OptunaSweeperConf, provider=PROVIDER)
    samplers = {
        "tpe": TPESamplerConfig,
        "random": RandomSamplerConfig,
        "grid": GridSamplerConfig,
        "cmaes": CmaEsSamplerConfig,
        "qmc": QMCSamplerConfig,
        "gp": GPSamplerConfig,
        "nsgaii": NSGAIISamplerConfig,
        "nsgaiii": NSGAIIISamplerConfig,
    }
    for name, node in samplers.items():
        store.store(group="hydra/sweeper/sampler", name=name, node=node, provider=PROVIDER)
    pruners = {
        "none": NopPrunerConfig,
        "median": MedianPrunerConfig,
        "successive_halving": SuccessiveHalvingPrunerConfig,
        "hyperband": HyperbandPrunerConfig,
        "threshold": ThresholdPrunerConfig,
    }
    for name, node in pruners.items():
        store.store(group="hydra/sweeper/pruner", name=name, node=node, provider=PROVIDER)


register()
