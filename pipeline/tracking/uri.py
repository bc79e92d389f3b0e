"""Print the composed `tracking.uri` (for `make ui`): `python -m pipeline.tracking.uri [overrides]`.

Composes the config with Hydra's compose API: no TensorFlow, no output directory.
"""
import sys

from hydra import compose, initialize_config_dir

import pipeline.config  # noqa: F401  (registers schemas and resolvers)
from pipeline import PROJECT_ROOT


def composed_tracking_uri(overrides: list[str]) -> str:
    with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
        return compose(config_name="config", overrides=overrides).tracking.uri


if __name__ == "__main__":
    print(composed_tracking_uri(sys.argv[1:]))
