"""Which arm each run belongs to, and how each run ended.

An arm is one setting of what the sweep varied, seeds pooled: `optimizer=adam model.dropout=0.25`.
From a multirun's parent: its `sweep.*` params name the swept keys, and each job's
`overrides` tag holds its values (group choices such as `optimizer=adam` included).
Without one (`--all`): the params that differ between runs, each kept only if it splits
the runs further than the ones before it (`optimizer.name` makes `optimizer.learning_rate`
redundant when every optimizer keeps its own rate).
"""

import pandas as pd

from pipeline.tracking.records import OVERRIDES_TAG, PRUNED_TAG, SWEEP_PARAM_PREFIX, TRUE

# Never an arm: seeds are what an arm pools; the rest says where things are stored.
NOT_ARM_KEYS = ("trainer.seed",)
NOT_ARM_PREFIXES = ("paths.", "tracking.", "trial.", "hydra.", SWEEP_PARAM_PREFIX)

FINISHED, PRUNED, FAILED, RUNNING = "finished", "pruned", "failed", "running"
_STATUS_OUTCOMES = {"FINISHED": FINISHED, "FAILED": FAILED, "KILLED": FAILED}


def outcome(runs: pd.DataFrame) -> pd.Series:
    """finished (averaged), pruned, failed (FAILED or KILLED) or running (not ended yet)."""
    ended = runs["status"].map(_STATUS_OUTCOMES).fillna(RUNNING)
    pruned = runs.get(f"tags.{PRUNED_TAG}", pd.Series(index=runs.index, dtype=object)) == TRUE
    return ended.mask(pruned, PRUNED)


def is_arm_key(key: str) -> bool:
    # `optimizer._target_` (the class) only restates `optimizer.name`.
    return (
        key not in NOT_ARM_KEYS
        and not key.startswith(NOT_ARM_PREFIXES)
        and not key.endswith("._target_")
    )


def parse_overrides(overrides: object) -> dict[str, str]:
    """`optimizer=adam model.dropout=0.25` -> {"optimizer": "adam", "model.dropout": "0.25"}."""
    pairs = (item.partition("=") for item in str(overrides).split() if "=" in item)
    return {key.lstrip("+~"): value for key, _, value in pairs}


def _varying(values: pd.DataFrame) -> list[str]:
    return [key for key in values.columns if values[key].nunique(dropna=False) > 1]


def swept_values(runs: pd.DataFrame, parent: pd.Series) -> pd.DataFrame | None:
    """Each job's value of every key its multirun swept (seeds and storage aside); None when
    the parent records no sweep."""
    prefix = f"params.{SWEEP_PARAM_PREFIX}"
    swept = [
        column.removeprefix(prefix)
        for column in parent.index
        if column.startswith(prefix) and pd.notna(parent[column])
    ]
    if not swept or f"tags.{OVERRIDES_TAG}" not in runs:
        return None
    parsed = runs[f"tags.{OVERRIDES_TAG}"].map(parse_overrides)
    values = pd.DataFrame(
        {key: parsed.map(lambda job, key=key: job.get(key)) for key in swept if is_arm_key(key)},
        index=runs.index,
    )
    return values[_varying(values)]


def differing_params(runs: pd.DataFrame) -> pd.DataFrame:
    """The params that differ between runs, fewest needed to tell the arms apart."""
    params = runs[
        [
            c
            for c in runs.columns
            if c.startswith("params.") and is_arm_key(c.removeprefix("params."))
        ]
    ]
    params = params.rename(columns=lambda c: c.removeprefix("params."))
    candidates = sorted(_varying(params), key=lambda key: (-params[key].nunique(dropna=False), key))
    kept: list[str] = []
    for key in candidates:
        groups_before = params.groupby(kept, dropna=False).ngroups if kept else 1
        if params.groupby([*kept, key], dropna=False).ngroups > groups_before:
            kept.append(key)
    return params[kept]


def arm_values(runs: pd.DataFrame, parent: pd.Series | None) -> pd.DataFrame:
    """One column per arm key (none when every run is in one arm), one row per run."""
    values = swept_values(runs, parent) if parent is not None else None
    return differing_params(runs) if values is None else values
