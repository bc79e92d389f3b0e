"""Hydra callbacks that act before Hydra creates any output directory."""
import sys
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from pipeline.config.validate import ConfigError, validate


def exit_with_config_error(error: ConfigError) -> None:
    # One line and a non-zero exit; SystemExit passes through Hydra's error reporting.
    print(f"error: {error}", file=sys.stderr)
    sys.exit(2)


class ValidateConfig(Callback):
    """Reject invalid values before a run (or a multirun's base config) writes anything."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config)

    @staticmethod
    def _check(config: DictConfig) -> None:
        try:
            validate(config)
        except ConfigError as error:
            exit_with_config_error(error)
