"""Range and consistency checks that types cannot express, run before any work starts."""

import importlib.util
import ipaddress
import re
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig

from pipeline.config.choices import group_options
from pipeline.config.resolvers import beyond_loopback

# Values that name code rather than a config file; the group options (data, model,
# optimizer, schedule) are the files in conf/, read by `group_options`.
LOOPS = ("fit", "tape")
OBJECTIVE_MODES = ("max", "min")
EXTRA_OBJECTIVES = ("params", "seconds_per_epoch")


_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_PG_HBA_KEYWORDS = (
    "all",
    "sameuser",
    "samerole",
    "samegroup",
    "replication",
    "public",
    "postgres",
    "mlflow_auth",
)

# Optuna samplers that need packages of their own: the project's extra that installs them.
SAMPLER_EXTRAS = {
    "optuna.samplers.CmaEsSampler": ("cmaes", ("cmaes",)),
    "optuna.samplers.GPSampler": ("gp", ("torch", "scipy")),
}


class ConfigError(ValueError):
    """A user's config value is invalid; the message is one line naming the key."""


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _one_of(key: str, value: str, allowed: Sequence[str]) -> None:
    _require(value in allowed, f"{key}={value!r} is unknown; choose one of: {', '.join(allowed)}")


def _positive(key: str, value) -> None:
    _require(value is not None and value > 0, f"{key}={value} must be positive")


def validate(cfg: DictConfig) -> None:
    """Raise ConfigError on the first invalid value of a composed config."""
    # A group file's name is the file's own: what runs and reports are labelled with.
    _one_of("data.name", cfg.data.name, group_options("data"))
    if cfg.data.path is not None:
        _require(
            Path(cfg.data.path).exists(), f"data.path={cfg.data.path}: no such file or directory"
        )
    _require(
        cfg.data.validation_size >= 0,
        f"data.validation_size={cfg.data.validation_size} must be >= 0",
    )

    _one_of("model.name", cfg.model.name, group_options("model"))
    _require(0.0 <= cfg.model.dropout < 1.0, f"model.dropout={cfg.model.dropout} must be in [0, 1)")
    _require(
        len(cfg.model.filters) == len(cfg.model.pool_after),
        "model.filters and model.pool_after must have the same length",
    )
    for key in ("kernel_size", "dense_units"):
        _positive(f"model.{key}", cfg.model[key])

    _one_of("optimizer.name", cfg.optimizer.name, group_options("optimizer"))
    _positive("optimizer.learning_rate", cfg.optimizer.learning_rate)
    if "momentum" in cfg.optimizer:
        _require(
            0.0 <= cfg.optimizer.momentum < 1.0,
            f"optimizer.momentum={cfg.optimizer.momentum} must be in [0, 1)",
        )

    _one_of("schedule.name", cfg.schedule.name, group_options("schedule"))
    _require(
        cfg.schedule.warmup_epochs >= 0,
        f"schedule.warmup_epochs={cfg.schedule.warmup_epochs} must be >= 0",
    )
    _require(
        cfg.schedule.peak_lr_factor > 0,
        f"schedule.peak_lr_factor={cfg.schedule.peak_lr_factor} must be > 0",
    )

    trainer = cfg.trainer
    for key in ("epochs", "batch_size", "eval_batch_size"):
        _positive(f"trainer.{key}", trainer[key])
    for key in ("max_train_samples", "max_eval_samples"):
        if trainer[key] is not None:
            _positive(f"trainer.{key}", trainer[key])
    _one_of("trainer.loop", trainer.loop, LOOPS)
    _one_of("trainer.objective_mode", trainer.objective_mode, OBJECTIVE_MODES)
    for name in trainer.extra_objectives:
        _one_of("trainer.extra_objectives", name, EXTRA_OBJECTIVES)
    if trainer.resume_from is not None:
        _require(
            Path(trainer.resume_from).is_dir(),
            f"trainer.resume_from={trainer.resume_from}: no such run directory",
        )
    if cfg.tracking.get("server") is not None:
        validate_server(cfg.tracking.server)


def validate_server(server: DictConfig) -> None:
    """The team stack's settings (`tracking=server`), for its clients and for `make server`."""
    # A command line's password is taken out before composing (pipeline/config/secrets.py):
    # one still here came from a file, which Hydra would copy into every run's outputs.
    _require(
        server.password is None,
        "tracking.server.password must not be set in a config file; "
        "give it on the command line or in PGPASSWORD",
    )
    _require(
        server.tls or not beyond_loopback(server.listen),
        f"tracking.server.tls=false with tracking.server.listen={server.listen}: beyond loopback the "
        "stack's passwords would cross the network in clear",
    )
    _require(
        bool(_ROLE_NAME.match(server.user)) and server.user not in _PG_HBA_KEYWORDS,
        f"tracking.server.user={server.user!r} must be a plain PostgreSQL name (lower-case letters, digits, _) "
        f"and none of {', '.join(_PG_HBA_KEYWORDS)}",
    )
    for cidr in server.allow:
        try:
            ipaddress.ip_network(str(cidr))
        except ValueError as error:
            raise ConfigError(f"tracking.server.allow: {error}") from None


def check_sampler_extras(sampler_target: str | None) -> None:
    """A search's sampler finds the packages it needs (before any trial starts)."""
    extra, modules = SAMPLER_EXTRAS.get(sampler_target, (None, ()))
    missing = [module for module in modules if importlib.util.find_spec(module) is None]
    _require(
        not missing,
        f"hydra/sweeper/sampler={extra} needs {' and '.join(missing)}: "
        f".venv/bin/pip install -e '.[{extra}]'",
    )
