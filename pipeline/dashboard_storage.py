"""Print the default search's composed Optuna storage (for `make dashboard`):
`python -m pipeline.dashboard_storage [overrides]`. No TensorFlow, no output directory."""

import sys

from pipeline.config import ConfigError
from pipeline.config.compose import compose_user_config


def composed_storage(overrides: list[str]) -> str:
    return compose_user_config(
        "+search=default", *overrides, return_hydra_config=True
    ).hydra.sweeper.storage


def main(overrides: list[str]) -> int:
    try:
        print(composed_storage(overrides))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def cli() -> None:
    """The `python -m pipeline.dashboard_storage` command."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    cli()
