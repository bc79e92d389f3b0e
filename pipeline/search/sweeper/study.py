"""Building the study: storage, sampler, pruner and directions, from the sweeper's config."""

import logging
import math
from typing import Any

import optuna
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf

from pipeline.search.storage import open_storage
from pipeline.search.study_parent import directions
from pipeline.search.sweeper.experimental import experimental_features
from pipeline.search.sweeper.search_space import SearchSpace, grid_values

log = logging.getLogger(__name__)


def patience(heartbeat_interval: int | None, grace_period: int | None) -> float | None:
    """How long a worker waits for an unreachable storage: the heartbeat grace period (Optuna's
    default: two intervals), after which its trials count as lost anyway."""
    if grace_period is not None:
        return float(grace_period)
    return 2.0 * heartbeat_interval if heartbeat_interval is not None else None


def build_storage(
    url: str | None, heartbeat_interval: int | None, grace_period: int | None, max_retry: int
):
    """In memory without a URL (one process, no pruning); an RDB storage beats and retries stale trials."""
    if url is None:
        return optuna.storages.InMemoryStorage()
    with experimental_features():
        return open_storage(
            url,
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry),
            patience=patience(heartbeat_interval, grace_period),
        )


def build_sampler(
    sampler_cfg: DictConfig, space: SearchSpace, n_trials: int, trials_so_far: int
) -> tuple[Any, int]:
    """The sampler, and the trial budget (a grid smaller than `n_trials` caps it).

    A seeded sampler's seed is offset by the trials the study already holds: a resumed
    search is as reproducible as a fresh one, but does not replay the first run's points.
    """
    if sampler_cfg.get("seed") is not None:
        sampler_cfg = OmegaConf.merge(sampler_cfg, {"seed": sampler_cfg.seed + trials_so_far})
    if get_class(sampler_cfg._target_) is not optuna.samplers.GridSampler:
        with experimental_features():  # e.g. TPE's `group`, our default for conditional spaces
            return instantiate(sampler_cfg), n_trials
    if space.conditionals or space.extend is not None:
        raise ValueError(
            "the grid sampler needs a fixed space: no conditional_params or custom_search_space"
        )
    grid = {name: grid_values(distribution) for name, distribution in space.distributions.items()}
    grid_size = math.prod(len(values) for values in grid.values())
    if grid_size < n_trials:
        log.info("The grid has %d points: n_trials %d -> %d", grid_size, n_trials, grid_size)
    return instantiate(sampler_cfg, search_space=grid), min(n_trials, grid_size)


def open_study(storage, pruner, study_name: str | None, direction: Any) -> optuna.Study:
    """Create the study, or load it when the storage already has one of that name (resume).
    Its sampler is set afterwards, once the trials it already holds are known."""
    return optuna.create_study(
        storage=storage,
        sampler=optuna.samplers.RandomSampler(),
        pruner=pruner,
        study_name=study_name,
        directions=directions(direction),
        load_if_exists=True,
    )


def enqueue_trials(study: optuna.Study, param_sets) -> None:
    """Queue fixed parameter sets: the next asks take them, in order, before the sampler proposes.
    A set the study already holds (queued, running or finished) is skipped, so a resumed search
    does not run it twice. Workers started at the same moment on a new study may both queue a
    set (Optuna's check is not atomic): start the others once the first one runs its trials."""
    for params in param_sets:
        study.enqueue_trial(OmegaConf.to_container(params, resolve=True), skip_if_exists=True)


def pruner_for_jobs(pruner_cfg: DictConfig | None, n_objectives: int) -> DictConfig | None:
    """What a job rebuilds to ask `should_prune`; nothing for several objectives (no pruning)."""
    if n_objectives > 1 or not pruner_cfg:
        return None
    return OmegaConf.create(OmegaConf.to_container(pruner_cfg, resolve=True))
