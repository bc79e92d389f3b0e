"""The sweeper itself: settings in, `Search` run, results out. `hydra/sweeper=optuna` registers
it through the thin plugin in hydra_plugins/optuna_sweeper."""

import logging
import sys
from pathlib import Path
from typing import Any

from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


class OptunaSweeperImpl(Sweeper):
    def __init__(self, **settings: Any) -> None:
        """`settings`: the keys of `OptunaSweeperConf` (config.py), which Hydra has already
        checked against that schema before passing them here."""
        if not 0.0 <= settings["max_failure_rate"] <= 1.0:
            raise ValueError(f"max_failure_rate={settings['max_failure_rate']} must be in [0, 1]")
        if len(settings["enqueue_trials"]) > settings["n_trials"]:
            raise ValueError(
                f"{len(settings['enqueue_trials'])} enqueue_trials do not fit in "
                f"n_trials={settings['n_trials']}"
            )
        self.settings = OmegaConf.create(settings)
        self.config: DictConfig | None = None
        self.launcher = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def _basic_launcher(self) -> bool:
        # The launcher as chosen in the config (`hydra/launcher=basic`, Hydra's default): its
        # class lives in Hydra's private modules.
        return (
            OmegaConf.select(self.config, "hydra.runtime.choices", default={}).get("hydra/launcher")
            == "basic"
        )

    def validation(self):
        """How each trial's overrides are checked before launching: Hydra's compose-and-discard,
        but not with the basic launcher, which composes the job in this process before it
        starts, so its own composition is the same check and composing twice would only cost
        time every trial."""
        return None if self._basic_launcher() else self.validate_batch_is_legal

    def slots(self) -> int:
        basic = self._basic_launcher()
        if basic and self.settings.n_jobs > 1:
            log.info(
                "The basic launcher runs jobs in this process, one at a time (n_jobs=%d ignored); "
                "start more workers on the same storage to run trials in parallel",
                self.settings.n_jobs,
            )
            return 1
        return max(1, self.settings.n_jobs)

    def sweep(self, arguments: list[str]) -> Any:
        from pipeline.search.patience import StorageUnavailable
        from pipeline.search.sweeper.loop import TooManyFailures

        try:
            return self._sweep(arguments)
        except StorageUnavailable as error:
            # One line and exit 1 (SystemExit passes through Hydra's error report); no
            # results: they would wait on the storage again. The same command resumes.
            print(f"error: {error}", file=sys.stderr)
            sys.exit(1)
        except TooManyFailures as error:  # each failure's reason is logged above it
            print(f"error: the search stopped: {error}", file=sys.stderr)
            sys.exit(1)

    def _sweep(self, arguments: list[str]) -> Any:
        from pipeline.search.patience import StorageUnavailable
        from pipeline.search.sweeper import study as _study
        from pipeline.search.sweeper.loop import Search, TrialLinkSettings
        from pipeline.search.sweeper.results import write_results
        from pipeline.search.sweeper.search_space import build_search_space
        from pipeline.search.trial_link import build_pruner

        s = self.settings
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")

        space = build_search_space(s.params, arguments, s.conditional_params, s.custom_search_space)
        storage = _study.build_storage(s.storage, s.heartbeat_interval, s.grace_period, s.max_retry)
        study = _study.open_study(storage, build_pruner(s.pruner), s.study_name, s.direction)
        study.sampler, n_trials = _study.build_sampler(
            s.sampler, space, s.n_trials, len(study.trials)
        )
        _study.enqueue_trials(
            study, s.enqueue_trials
        )  # after the sampler's seed offset: queued sets leave it alone
        log.info(
            "Study %s on %s: %s, %s trials, directions %s",
            study.study_name,
            s.storage or "memory",
            type(study.sampler).__name__,
            n_trials,
            _study.directions(s.direction),
        )

        link = None
        if s.storage is not None and s.trial_config_key:
            link = TrialLinkSettings(
                s.trial_config_key,
                study.study_name,
                s.storage,
                _study.pruner_for_jobs(s.pruner, len(study.directions)),
                _study.patience(s.heartbeat_interval, s.grace_period),
            )
        elif s.storage is None and s.pruner and s.pruner._target_ != "optuna.pruners.NopPruner":
            log.warning("No storage: jobs cannot reach their trial, so nothing is pruned")
        slots = self.slots()
        search = Search(
            study,
            storage,
            space,
            self.config,
            self.launcher,
            self.validation(),
            n_trials=n_trials,
            max_failure_rate=s.max_failure_rate,
            max_retry=s.max_retry,
            link=link,
            batch=slots,
        )
        try:
            search.run(slots)
        except StorageUnavailable:
            raise
        except BaseException:
            write_results(study, self.config, s.plots)
            raise
        write_results(study, self.config, s.plots)
        return study
