"""`app OVERRIDES` and `app -m OVERRIDES` in this process, for the benchmarks and the tests.

Hydra has no public API for a run or a multirun from Python (its compose API does not
launch: no callbacks, no job config), so this reaches into `GlobalHydra`; it is kept here,
out of the product code.
"""

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra


def _launch(
    mode: str,
    job_name: str,
    config_dir: Path,
    config_name: str,
    task_function: Callable,
    overrides: Sequence[str],
) -> Any:
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3", job_name=job_name):
        try:
            launch = getattr(GlobalHydra.instance().hydra, mode)  # Hydra.run or Hydra.multirun
            return launch(
                config_name=config_name,
                task_function=task_function,
                overrides=list(overrides),
                with_log_configuration=False,
            )
        finally:
            GlobalHydra.instance().clear()


def multirun(
    config_dir: Path, config_name: str, task_function: Callable, overrides: Sequence[str]
) -> Any:
    """What `app -m OVERRIDES` does, in this process; returns what the sweeper returns."""
    return _launch("multirun", "search", config_dir, config_name, task_function, overrides)


def single_run(
    config_dir: Path,
    config_name: str,
    task_function: Callable,
    overrides: Sequence[str],
    job_name: str,
) -> Any:
    """What `app OVERRIDES` does, in this process: callbacks run and the job runs with its Hydra
    config set; the job's exception propagates. Returns the job's JobReturn."""
    return _launch("run", job_name, config_dir, config_name, task_function, overrides)
