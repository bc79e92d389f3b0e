"""Print the default search's composed Optuna storage (for `make dashboard`):
`python -m pipeline.dashboard_storage [overrides]`. No TensorFlow, no output directory."""

import sys

from pipeline.config import ConfigError
from pipeline.config.compose import compose_user_config


def composed_storage(overrides: list[str]) -> str:
    return compose_user_config(
        "+search=default", *overrides, return_hydra_config=True
    ).hydra.sweeper.storage


if __name__ == "__main__":
    try:
        print(composed_storage(sys.argv[1:]))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
