"""Search spaces: Hydra's sweep syntax -> Optuna distributions, and a trial's params -> job overrides.

The mapping is the old hydra-optuna-sweeper's, on current distribution classes:
  choice(a, b)                  -> CategoricalDistribution([a, b])
  range(lo, hi, step)           -> IntDistribution(lo, hi, step)  (FloatDistribution if any float;
                                   `hi` is included, as the old plugin documents)
  shuffle(range(...))           -> CategoricalDistribution(the range's values)
  interval(lo, hi)              -> FloatDistribution(lo, hi)      (IntDistribution if both ints)
  int(interval(lo, hi))         -> IntDistribution(lo, hi)
  tag(log, interval(lo, hi))    -> the same with log=True
Anything else (`key=value`) is a fixed override passed to every job.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, Transformer
from hydra.utils import get_method
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import Trial


@dataclass
class Conditional:
    """A parameter suggested only when other parameters took one of the listed values."""

    distribution: BaseDistribution
    when: dict[str, list[str]]

    def applies(self, params: dict[str, Any]) -> bool:
        return all(
            name in params and str(params[name]) in values for name, values in self.when.items()
        )


@dataclass
class SearchSpace:
    distributions: dict[str, BaseDistribution]
    fixed: dict[str, str]
    conditionals: dict[str, Conditional] = field(default_factory=dict)
    extend: Callable[[DictConfig, Trial], None] | None = None


def distribution_from_override(override: Override) -> BaseDistribution | None:
    """The distribution an override describes; None for a plain `key=value`."""
    if not override.is_sweep_override():
        return None
    value = override.value()
    if override.is_choice_sweep() or (override.is_range_sweep() and value.shuffle):
        return CategoricalDistribution(
            list(override.sweep_iterator(transformer=Transformer.encode))
        )
    if override.is_range_sweep():
        if any(isinstance(x, float) for x in (value.start, value.stop, value.step)):
            return FloatDistribution(value.start, value.stop, step=value.step)
        return IntDistribution(int(value.start), int(value.stop), step=int(value.step))
    if override.is_interval_sweep():
        log = "log" in value.tags
        if isinstance(value.start, int) and isinstance(value.end, int):
            return IntDistribution(value.start, value.end, log=log)
        return FloatDistribution(value.start, value.end, log=log)
    raise ValueError(f"{override.input_line}: this sweep type has no Optuna distribution")


def parse_overrides(lines: list[str]) -> tuple[dict[str, BaseDistribution], dict[str, str]]:
    """Split `key=sweep` lines into distributions and fixed overrides (a later line wins)."""
    distributions: dict[str, BaseDistribution] = {}
    fixed: dict[str, str] = {}
    for override in OverridesParser.create().parse_overrides(lines):
        key = override.get_key_element()
        distribution = distribution_from_override(override)
        distributions.pop(key, None)
        fixed.pop(key, None)
        if distribution is None:
            fixed[key] = override.get_value_element_as_str()
        else:
            distributions[key] = distribution
    return distributions, fixed


def parse_conditionals(config: DictConfig) -> dict[str, Conditional]:
    conditionals = {}
    for name, spec in config.items():
        distributions, _ = parse_overrides([f"{name}={spec.space}"])
        if not distributions:
            raise ValueError(f"conditional_params.{name}.space={spec.space} is not a sweep")
        (distribution,) = distributions.values()
        when = {
            key: [str(v) for v in (values if OmegaConf.is_list(values) else [values])]
            for key, values in spec.when.items()
        }
        conditionals[str(name)] = Conditional(distribution, when)
    return conditionals


def build_search_space(
    params: DictConfig | None,
    arguments: list[str],
    conditional_params: DictConfig,
    custom_search_space: str | None,
) -> SearchSpace:
    """The sweeper's `params`, then the command line's arguments, which override them."""
    lines = [f"{key}={value}" for key, value in (params or {}).items()] + list(arguments)
    distributions, fixed = parse_overrides(lines)
    return SearchSpace(
        distributions,
        fixed,
        parse_conditionals(conditional_params),
        get_method(custom_search_space) if custom_search_space else None,
    )


def suggest(trial: Trial, name: str, distribution: BaseDistribution) -> Any:
    if isinstance(distribution, CategoricalDistribution):
        return trial.suggest_categorical(name, distribution.choices)
    if isinstance(distribution, IntDistribution):
        return trial.suggest_int(
            name, distribution.low, distribution.high, step=distribution.step, log=distribution.log
        )
    return trial.suggest_float(
        name, distribution.low, distribution.high, step=distribution.step, log=distribution.log
    )


def sample(space: SearchSpace, trial: Trial, sweep_config: DictConfig) -> dict[str, Any]:
    """Suggest every parameter for `trial`; a retried trial gets its earlier values back."""
    for name, distribution in space.distributions.items():
        suggest(trial, name, distribution)
    for name, conditional in space.conditionals.items():
        if conditional.applies(trial.params):
            suggest(trial, name, conditional.distribution)
    if space.extend is not None:
        space.extend(sweep_config, trial)
    return dict(trial.params)


def grid_values(distribution: BaseDistribution) -> list[Any]:
    """Every value a discrete distribution can take, for the grid sampler."""
    if isinstance(distribution, CategoricalDistribution):
        return list(distribution.choices)
    if isinstance(distribution, IntDistribution) and not distribution.log:
        return list(range(distribution.low, distribution.high + 1, distribution.step))
    if isinstance(distribution, FloatDistribution) and distribution.step is not None:
        count = round((distribution.high - distribution.low) / distribution.step) + 1
        return [distribution.low + i * distribution.step for i in range(count)]
    raise ValueError(f"{distribution} is continuous; the grid sampler needs choice() or range()")
