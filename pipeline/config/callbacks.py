"""Hydra callbacks that act before Hydra creates any output directory."""

import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from pipeline.config.validate import ConfigError, check_sampler_extras, validate
from pipeline.data import DataError
from pipeline.data.dataset import load_dataset

EXIT_USER_ERROR = 2


def exit_with_config_error(error: ConfigError | DataError) -> None:
    # One line and a non-zero exit; SystemExit passes through Hydra's error reporting.
    print(f"error: {error}", file=sys.stderr)
    sys.exit(EXIT_USER_ERROR)


def check_data(data_cfg: DictConfig) -> None:
    """Load the dataset now (numpy only), so that a missing, unreadable, truncated or
    misshapen file is a one-line error before any run directory or MLflow run exists. A run
    in this process gets the loaded arrays back from `load_dataset` without reading again."""
    load_dataset(data_cfg.name, data_cfg.path, Path(data_cfg.cache_dir), data_cfg.allow_download)


class ValidateConfig(Callback):
    """Reject invalid values and unusable data before a run (or a multirun's base config)
    writes anything."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            check_sampler_extras(
                OmegaConf.select(config, "hydra.sweeper.sampler._target_", default=None)
            )
        except ConfigError as error:
            exit_with_config_error(error)
        self._check(config)

    @staticmethod
    def _check(config: DictConfig) -> None:
        try:
            validate(config)
            check_data(config.data)
        except (ConfigError, DataError) as error:
            exit_with_config_error(error)
