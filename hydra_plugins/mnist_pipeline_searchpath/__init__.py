"""Puts the project root on Hydra's config search path, so the top-level `experiments/`
folder is a config group: `python -m pipeline.train experiments=optimizers`."""
from pathlib import Path

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class ExperimentsSearchPathPlugin(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        if (PROJECT_ROOT / "experiments").is_dir():
            search_path.append(provider="mnist-pipeline", path=f"file://{PROJECT_ROOT}")
