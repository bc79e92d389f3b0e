"""OmegaConf resolvers the configs use."""
from omegaconf import OmegaConf

from pipeline import PROJECT_ROOT

# `${project_root:}`: absolute, whatever the working directory, so stores and caches
# land in the same place from `make`, from tests and from Hydra's job directories.
OmegaConf.register_new_resolver("project_root", lambda: str(PROJECT_ROOT), replace=True)
