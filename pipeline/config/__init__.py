"""Config schemas, resolvers and validation. Importing this registers the schemas with Hydra."""

from pipeline.config import resolvers, schema  # noqa: F401  (side effect: registration)
from pipeline.config.validate import ConfigError, validate

__all__ = ["ConfigError", "validate"]
