"""Print the composed `tracking.uri` (for `make ui`): `python -m pipeline.tracking.uri [overrides]`.

Composes the config with Hydra's compose API: no TensorFlow, no output directory.
"""
import sys

from pipeline.config.compose import compose_config


def composed_tracking_uri(overrides: list[str]) -> str:
    return compose_config(*overrides).tracking.uri


if __name__ == "__main__":
    print(composed_tracking_uri(sys.argv[1:]))
