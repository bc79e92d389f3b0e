"""`app -m OVERRIDES` in this process, for the pruning benchmark and the sweeper's tests.

Hydra has no public API for a multirun from Python (its compose API does not launch), so
this reaches into `GlobalHydra`; it is kept here, out of the product code.
"""
from pathlib import Path
from typing import Any, Callable, Sequence

from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra


def multirun(config_dir: Path, config_name: str, task_function: Callable, overrides: Sequence[str]) -> Any:
    """What `app -m OVERRIDES` does, in this process; returns what the sweeper returns."""
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3", job_name="search"):
        try:
            return GlobalHydra.instance().hydra.multirun(
                config_name=config_name, task_function=task_function, overrides=list(overrides),
                with_log_configuration=False)
        finally:
            GlobalHydra.instance().clear()
