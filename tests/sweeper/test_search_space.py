"""The old plugin's override syntax parses to the distributions it documents, on current Optuna."""

import optuna
import pytest
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from pipeline.search.sweeper.search_space import (
    build_search_space,
    grid_values,
    parse_overrides,
    sample,
)


@pytest.mark.parametrize(
    "sweep, expected",
    [
        ("choice(sgd, adam)", CategoricalDistribution(["sgd", "adam"])),
        ("choice(64, 128)", CategoricalDistribution([64, 128])),
        ("range(1, 5)", IntDistribution(1, 5)),
        ("range(0, 10, step=2)", IntDistribution(0, 10, step=2)),
        ("range(-5.5, 5.5, step=0.5)", FloatDistribution(-5.5, 5.5, step=0.5)),
        ("interval(0.0, 0.6)", FloatDistribution(0.0, 0.6)),
        ("interval(1, 3)", FloatDistribution(1.0, 3.0)),  # Hydra's interval() makes floats
        ("int(interval(8, 256))", IntDistribution(8, 256)),
        ("tag(log, interval(1e-4, 1e-1))", FloatDistribution(1e-4, 1e-1, log=True)),
        ("tag(log, int(interval(8, 256)))", IntDistribution(8, 256, log=True)),
    ],
)
def test_old_syntax_parses_to_the_documented_distribution(sweep, expected):
    distributions, fixed = parse_overrides([f"key={sweep}"])
    assert distributions == {"key": expected} and fixed == {}


def test_shuffled_range_is_categorical_and_plain_values_are_fixed():
    distributions, fixed = parse_overrides(["a=shuffle(range(3))", "b=5", "c=choice(1,2)", "c=7"])
    assert sorted(distributions["a"].choices) == [0, 1, 2]
    assert fixed == {"b": "5", "c": "7"}  # a later override wins, as on the command line


def test_conditional_parameter_is_suggested_only_when_its_condition_holds():
    space = build_search_space(
        OmegaConf.create(
            {"optimizer": "choice(sgd, adam)", "lr": "tag(log, interval(1e-4, 1e-1))"}
        ),
        [],
        OmegaConf.create(
            {"momentum": {"when": {"optimizer": ["sgd"]}, "space": "interval(0.0, 0.95)"}}
        ),
        None,
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    sampled = [sample(space, study.ask(), OmegaConf.create()) for _ in range(20)]
    assert {p["optimizer"] for p in sampled} == {"sgd", "adam"}
    assert all(("momentum" in p) == (p["optimizer"] == "sgd") for p in sampled)


def test_grid_values_cover_discrete_spaces_only():
    assert grid_values(IntDistribution(1, 5, step=2)) == [1, 3, 5]
    assert grid_values(FloatDistribution(0.0, 1.0, step=0.5)) == [0.0, 0.5, 1.0]
    with pytest.raises(ValueError, match="continuous"):
        grid_values(FloatDistribution(0.0, 1.0))
