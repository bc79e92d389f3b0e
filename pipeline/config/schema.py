"""Structured config schemas: Hydra checks types and rejects unknown keys at composition.

Each group file names its schema first in its defaults list (Hydra's "config groups
with schemas" pattern), so a typo such as `optimizer.momentun=0.9` fails before any
work starts. Optimizers differ in their arguments: each optimizer file gets a schema made
from its own keys (`option_schema`), so a new optimizer is one YAML file. Ranges that
types cannot express are checked in `validate.py`.
"""

from dataclasses import dataclass, field, fields, make_dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from pipeline import PROJECT_ROOT

OPTIMIZER_DIR = PROJECT_ROOT / "conf" / "optimizer"


@dataclass
class DataConfig:
    name: str = MISSING
    path: str | None = None
    cache_dir: str = MISSING
    validation_size: int = 5000
    split_seed: int = 0
    allow_download: bool = True


@dataclass
class ModelConfig:
    name: str = MISSING
    filters: list[int] = MISSING
    kernel_size: int = 3
    padding: str = "same"
    pool_after: list[bool] = MISSING
    dense_units: int = MISSING
    activation: str = "relu"
    dropout: float = 0.0


@dataclass
class OptimizerConfig:
    """What every optimizer file has; its other keys get a schema from the file (`option_schema`)."""

    _target_: str = MISSING  # the Keras optimizer class, e.g. keras.optimizers.Adam
    name: str = MISSING  # the file's own name: labels runs and arms
    learning_rate: float = MISSING
    clipnorm: float | None = None


# An option file's value -> the type its schema gives that key; a null leaves it untyped.
_VALUE_TYPES = {bool: bool, int: int, float: float, str: str}


def option_schema(path: Path, base: type) -> type:
    """The schema of one option file: `base`'s fields, then each other key of the file, typed
    by the value the file gives it (so write 0.0, not 0, for a real number). Adding an option
    is then one file: a mistyped key or a wrongly typed value still fails at composition."""
    values = OmegaConf.to_container(OmegaConf.load(path))
    known = {f.name for f in fields(base)} | {"defaults"}
    own = [
        (key, _VALUE_TYPES.get(type(value), Any), MISSING)
        for key, value in values.items()
        if key not in known
    ]
    return make_dataclass(f"{path.stem.capitalize()}Config", own, bases=(base,))


@dataclass
class ScheduleConfig:
    name: str = MISSING
    warmup_epochs: float = 0.0  # linear warm-up from 0 (cosine, exponential)
    final_lr_fraction: float = 0.0  # cosine: lr at the end, as a fraction of the peak
    peak_lr_factor: float = (
        1.0  # cosine, exponential: the peak as a multiple of optimizer.learning_rate
    )
    decay_per_epoch: float = 1.0  # exponential: lr multiplier per epoch


@dataclass
class EarlyStoppingConfig:
    monitor: str = "val_loss"
    patience: int = 3
    min_delta: float = 0.0
    restore_best_weights: bool = True


@dataclass
class TrainerConfig:
    epochs: int = MISSING
    batch_size: int = 128
    eval_batch_size: int = 1000
    seed: int = 42
    deterministic: bool = False
    loop: str = "fit"
    max_train_samples: int | None = None
    max_eval_samples: int | None = None
    early_stopping: EarlyStoppingConfig | None = None
    resume: bool = True
    resume_from: str | None = None
    lease_seconds: float = 60.0
    objective: str = "val_accuracy"
    objective_mode: str = "max"
    extra_objectives: list[str] = field(default_factory=list)
    test_evaluation: bool = True
    jit_compile: bool = False
    reuse_traced: bool = True
    mixed_precision: bool = False
    intra_op_threads: int = 0
    inter_op_threads: int = 0
    verbose: int = 2


@dataclass
class StackServerConfig:
    host: str = MISSING
    listen: str = MISSING
    mlflow_port: int = MISSING
    postgres_port: int = MISSING
    user: str = MISSING
    password: str | None = None  # only from a command line, which takes it out before composing
    passfile: str = MISSING
    credentials: str = MISSING
    tls: bool = MISSING
    ca_file: str = MISSING
    allow: list[str] = field(default_factory=list)
    workers: int = 2
    job_execution: bool = False
    dir: str = MISSING


@dataclass
class DeliveryConfig:
    final_wait: float = 60.0
    interrupted_wait: float = 5.0
    end_wait: float = 10.0
    max_backoff: float = 10.0
    request_retries: int = 1
    request_timeout: int = 10


@dataclass
class TrackingConfig:
    enabled: bool = True
    uri: str = MISSING
    optuna_storage: str = MISSING
    artifact_root: str = MISSING
    experiment_name: str = MISSING
    run_name: str | None = None
    log_model: bool = True
    log_checkpoints: bool = True
    register_as: str | None = None
    register_alias: str = "candidate"
    ui_url: str = MISSING
    connect_timeout: float = 5.0
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    parent_run_id: str | None = None
    server: StackServerConfig | None = None
    system_metrics: bool = True
    system_metrics_interval: float = 10.0


@dataclass
class PathsConfig:
    root: str = MISSING
    data_dir: str = MISSING
    output_dir: str = MISSING
    mlruns_dir: str = MISSING


@dataclass
class TrialConfig:
    """The Optuna trial a job runs, set by the sweeper (hydra/sweeper=optuna); unset otherwise."""

    number: int | None = None
    study_name: str | None = None
    storage: str | None = None
    pruner: Any = None  # the sweeper's pruner config (_target_ + arguments)
    patience: float | None = (
        None  # seconds to wait for an unreachable storage (the sweeper's grace period)
    )


@dataclass
class Config:
    data: DataConfig = MISSING
    model: ModelConfig = MISSING
    optimizer: Any = MISSING  # typed by the chosen group file's own schema
    schedule: ScheduleConfig = MISSING
    trainer: TrainerConfig = MISSING
    tracking: TrackingConfig = MISSING
    paths: PathsConfig = MISSING
    trial: TrialConfig = field(default_factory=TrialConfig)


GROUP_SCHEMAS = {
    "data": DataConfig,
    "model": ModelConfig,
    "schedule": ScheduleConfig,
    "trainer": TrainerConfig,
    "tracking": TrackingConfig,
    "paths": PathsConfig,
}


def register() -> None:
    cs = ConfigStore.instance()
    cs.store(name="config_schema", node=Config)
    # Kept in a `schema` group of their own so they never show up as user choices;
    # a group file pulls its schema in with `- /schema/GROUP/NAME@_here_`.
    for group, node in GROUP_SCHEMAS.items():
        cs.store(group="schema", name=group, node=node)
    for path in sorted(OPTIMIZER_DIR.glob("*.yaml")):
        cs.store(
            group="schema/optimizer", name=path.stem, node=option_schema(path, OptimizerConfig)
        )


register()
