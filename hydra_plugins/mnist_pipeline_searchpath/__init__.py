"""Makes the top-level `experiments/` folder a Hydra config group, so that
`python -m pipeline.train experiments=optimizers` picks `experiments/optimizers.yaml`.

The search path gets `search_root/`, which holds only a link to `experiments/`: adding the
project root itself would make Hydra walk every folder there (.venv included) whenever
it lists groups, which turned `--help` from under a second into minutes.
"""

from pathlib import Path

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

SEARCH_ROOT = Path(__file__).resolve().parent / "search_root"


class ExperimentsSearchPathPlugin(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        search_path.append(provider="mnist-pipeline", path=f"file://{SEARCH_ROOT}")
