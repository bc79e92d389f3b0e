"""The override lines a job is launched with: its sampled parameters, the fixed ones, its trial."""

from typing import Any

from omegaconf import DictConfig, OmegaConf

from pipeline.search.sweeper.search_space import SearchSpace


def override_literal(value: Any) -> str:
    """`value` in Hydra's override grammar; strings are quoted so paths and URLs survive."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return (
            "{" + ",".join(f"{key}:{override_literal(item)}" for key, item in value.items()) + "}"
        )
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(override_literal(item) for item in value) + "]"
    escaped = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def param_overrides(space: SearchSpace, params: dict[str, Any]) -> list[str]:
    """Sampled values (categoricals come encoded from the parser), then fixed overrides."""
    sampled = {name: value for name, value in params.items() if name not in space.fixed}
    return [f"{name}={value}" for name, value in {**sampled, **space.fixed}.items()]


def trial_overrides(
    key: str,
    number: int,
    study_name: str,
    storage: str,
    pruner: DictConfig | None,
    patience: float | None = None,
) -> list[str]:
    """`++key.*` lines telling the job which trial it runs; `++` adds the key if the app lacks it."""
    link = {
        "number": number,
        "study_name": study_name,
        "storage": storage,
        "pruner": OmegaConf.to_container(pruner, resolve=True) if pruner is not None else None,
        "patience": patience,
    }
    return [f"++{key}.{name}={override_literal(value)}" for name, value in link.items()]
