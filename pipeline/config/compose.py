"""Composing the project's config from Python (tests, benchmarks, reports), as the CLI would."""
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

import pipeline.config  # noqa: F401  (registers schemas and resolvers)
from pipeline import PROJECT_ROOT

CONF_DIR = PROJECT_ROOT / "conf"


def compose_config(*overrides: str, return_hydra_config: bool = False) -> DictConfig:
    """The config `python -m pipeline.train OVERRIDES` would run with (Hydra's own `hydra`
    node only when asked: the sweeper's settings live there)."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides), return_hydra_config=return_hydra_config)
