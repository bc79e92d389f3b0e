"""Composing the project's config from Python (tests, benchmarks, reports), as the CLI would."""

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from pipeline import PROJECT_ROOT
from pipeline.config import (
    ConfigError,  # (importing pipeline.config registers schemas and resolvers)
)
from pipeline.config.secrets import take_secrets

CONF_DIR = PROJECT_ROOT / "conf"


def compose_config(*overrides: str, return_hydra_config: bool = False) -> DictConfig:
    """The config `python -m pipeline.train OVERRIDES` would run with (Hydra's own `hydra`
    node only when asked: the sweeper's settings live there)."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides), return_hydra_config=return_hydra_config)


def compose_user_config(*overrides: str, return_hydra_config: bool = False) -> DictConfig:
    """`compose_config` for overrides a user typed: a key, group or value that Hydra or
    OmegaConf refuses is a one-line `ConfigError`, for commands that print it and exit 2. A
    password among them moves to the environment (pipeline/config/secrets.py)."""
    try:
        return compose_config(
            *take_secrets(list(overrides)), return_hydra_config=return_hydra_config
        )
    except (HydraException, OmegaConfBaseException) as error:
        raise ConfigError(_first_lines(error)) from None


def _first_lines(error: BaseException) -> str:
    """The first line of the error and of its cause: what went wrong, without the hints, the
    search path or the full key that follow ("Error merging override trainer.epochs=abc:
    Value 'abc' of type 'str' could not be converted to Integer")."""
    lines = [str(e).splitlines()[0] for e in (error, error.__cause__) if e is not None and str(e)]
    return ": ".join([line.rstrip(".") for line in lines[:-1]] + lines[-1:])


# Flags after which the arguments are not (only) overrides, or that print without running.
_NOT_A_RUN = (
    "-h",
    "--help",
    "--hydra-help",
    "--version",
    "-c",
    "--cfg",
    "-i",
    "--info",
    "-sc",
    "--shell-completion",
    "-cp",
    "--config-path",
    "-cn",
    "--config-name",
    "-cd",
    "--config-dir",
    "-p",
    "--package",
    "--experimental-rerun",
)


def override_error(arguments: list[str]) -> str | None:
    """What Hydra would refuse in a command line's overrides (a mistyped key, a value of the
    wrong type, bad syntax), as one line; None when they compose. A sweep is checked with its
    first value; a continuous one (`interval(...)`) is left to the sweeper."""
    if any(argument in _NOT_A_RUN for argument in arguments):
        return None
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides(
            [a for a in arguments if not a.startswith("-")]
        )
        one_job = [
            o.input_line
            if not o.is_sweep_override()
            else f"{o.get_key_element()}={next(o.sweep_string_iterator())}"
            for o in parsed
            if not o.is_sweep_override() or o.is_discrete_sweep()
        ]
        compose_user_config(*one_job, return_hydra_config=True)
    except ConfigError as error:
        return str(error)
    except (HydraException, OmegaConfBaseException) as error:
        return _first_lines(error)
    return None
