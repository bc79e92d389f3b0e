"""Print the default search's composed Optuna storage (for `make dashboard`):
`python -m pipeline.search.storage_url [overrides]`. No TensorFlow, no output directory."""
import sys

from pipeline.config.compose import compose_config


def composed_storage(overrides: list[str]) -> str:
    return compose_config("+search=default", *overrides, return_hydra_config=True).hydra.sweeper.storage


if __name__ == "__main__":
    print(composed_storage(sys.argv[1:]))
