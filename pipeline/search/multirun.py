"""The Hydra callback of every multirun (conf/config.yaml): tracking's parent run, and for a
search on a shared Optuna storage one parent for the whole study, however many workers,
launchers or resumes run it (`study_parent`), whose children a dead worker left RUNNING are
ended FAILED.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from pipeline.tracking.multirun import MultirunTracking
from pipeline.tracking.records import (
    FAILURE_REASON_TAG,
    OPTUNA_STUDY_TAG,
    OPTUNA_TRIAL_TAG,
    PARENT_ID_TAG,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient


def search_study(config: DictConfig) -> tuple[str, str, list[str]] | None:
    """(storage, study name, directions) of a search on a shared storage; None otherwise
    (a plain multirun, or a study that lives in one process's memory)."""
    from pipeline.search.study_parent import directions

    sweeper = OmegaConf.select(config, "hydra.sweeper") or {}
    storage, name = sweeper.get("storage"), sweeper.get("study_name")
    if not storage or not name:
        return None
    return str(storage), str(name), directions(sweeper.get("direction", "maximize"))


def fail_lost_children(client: MlflowClient, parent: Any, storage: str, study_name: str) -> int:
    """End FAILED the child runs still RUNNING whose trial the study has already finished: their
    worker died (its heartbeat stopped) and can no longer end them. Returns how many."""
    import optuna

    from pipeline.search.storage import open_storage

    running = client.search_runs(
        [parent.info.experiment_id],
        f"tags.`{PARENT_ID_TAG}` = '{parent.info.run_id}' and attributes.status = 'RUNNING'",
    )
    if not running:
        return 0
    study = optuna.load_study(study_name=study_name, storage=open_storage(storage))
    states = {trial.number: trial.state for trial in study.get_trials(deepcopy=False)}
    lost = 0
    for run in running:
        number = run.data.tags.get(OPTUNA_TRIAL_TAG)
        state = states.get(int(number)) if number is not None else None
        if state is not None and state.is_finished():
            client.set_tag(
                run.info.run_id,
                FAILURE_REASON_TAG,
                f"trial {number} ended {state.name} while this run was open: its worker died",
            )
            client.set_terminated(run.info.run_id, "FAILED")
            lost += 1
    return lost


class MlflowTracking(MultirunTracking):
    """`hydra.callbacks.mlflow` in conf/config.yaml."""

    def __init__(self) -> None:
        super().__init__()
        self.study: tuple[str, str, list[str]] | None = None

    def parent_run(self, config: DictConfig) -> str:
        self.study = search_study(config)
        if self.study is None:
            return super().parent_run(config)
        from pipeline.search.study_parent import study_parent_run

        storage, name, directions = self.study
        parent_id, created = study_parent_run(
            storage,
            name,
            directions,
            lambda: self.create_parent(config, f"search {name}", {OPTUNA_STUDY_TAG: name}),
        )
        if not created:  # another worker's, or an earlier run's: this worker joins it
            self.client.update_run(parent_id, status="RUNNING")
            fail_lost_children(self.client, self.client.get_run(parent_id), storage, name)
        return parent_id

    def before_summary(self, parent: Any) -> None:
        if self.study is not None:
            fail_lost_children(self.client, parent, self.study[0], self.study[1])
