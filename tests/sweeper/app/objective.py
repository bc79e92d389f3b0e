"""A tiny Hydra app for the sweeper's mechanics: a quadratic objective, no TensorFlow.

`steps` > 0 reports a value per step to the trial (like the training job's epochs) and
stops when the pruner says so; `fail_above` makes trials with a larger `x` raise;
`sleep` slows each step, so a worker can be killed mid-search; `objectives: 2` also
returns -|x|, for multi-objective searches.
"""
import time

import hydra
from omegaconf import DictConfig

from pipeline.search.trial_link import TrialLink, has_trial


class Boom(RuntimeError):
    pass


def objective(cfg: DictConfig) -> float:
    if cfg.fail_above is not None and cfg.x > cfg.fail_above:
        raise Boom(f"x={cfg.x} is above {cfg.fail_above}")
    value = -((cfg.x - 2.0) ** 2) - cfg.y
    link = TrialLink(cfg.trial) if has_trial(cfg) else None
    for step in range(cfg.steps):
        time.sleep(cfg.sleep)
        if link is not None and link.report(value * (step + 1) / cfg.steps, step):
            break
    else:
        time.sleep(cfg.sleep)
    if link is not None:
        link.job_ended()
    return (value, -abs(cfg.x)) if cfg.objectives == 2 else value


@hydra.main(version_base="1.3", config_path=".", config_name="objective")
def main(cfg: DictConfig) -> float:
    return objective(cfg)


def extra_space(cfg: DictConfig, trial) -> None:
    """A `custom_search_space` hook: the old plugin calls it with the sweep config and the trial."""
    trial.suggest_float("fail_above", cfg.x + 10.0, cfg.x + 20.0)


if __name__ == "__main__":
    main()
