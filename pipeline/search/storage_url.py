"""Print the default search's composed Optuna storage (for `make dashboard`):
`python -m pipeline.search.storage_url [overrides]`. No TensorFlow, no output directory."""
import sys

from hydra import compose, initialize_config_dir

import pipeline.config  # noqa: F401  (registers schemas and resolvers)
from pipeline import PROJECT_ROOT


def composed_storage(overrides: list[str]) -> str:
    with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
        config = compose(config_name="config", overrides=["+search=default", *overrides],
                         return_hydra_config=True)
        return config.hydra.sweeper.storage


if __name__ == "__main__":
    print(composed_storage(sys.argv[1:]))
