"""What a run is called and labelled: its name, tags and parameters (their names: `records`)."""

import re
import subprocess
from typing import Any

from omegaconf import DictConfig, OmegaConf

from pipeline import PROJECT_ROOT
from pipeline.tracking.records import (
    OBJECTIVE_TAG,
    OPTUNA_STUDY_TAG,
    OPTUNA_TRIAL_TAG,
    OVERRIDES_TAG,
)

# Every logged value of a run is a parameter, however deep; longer values are cut.
_MAX_PARAM_LENGTH = 6000
# A password in a database URL (`scheme://user:PASSWORD@host`) is never logged.
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")
# The multirun callback adds this override to every job: the id of the job's parent run.
PARENT_RUN_OVERRIDE = "tracking.parent_run_id"


def compact_number(value: float) -> str:
    """1e-3 for 0.001, 2.5e-4 for 0.00025: short enough for a run name."""
    mantissa, exponent = f"{value:.6e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def run_name(cfg: DictConfig) -> str:
    """`tracking.run_name`, else e.g. `convnet-adam-lr1e-3-do0.4`."""
    if cfg.tracking.run_name:
        return cfg.tracking.run_name
    return (
        f"{cfg.model.name}-{cfg.optimizer.name}-lr{compact_number(cfg.optimizer.learning_rate)}"
        f"-do{cfg.model.dropout:g}"
    )


def redact(text: str) -> str:
    """`text` with the passwords of any database URLs in it replaced by ***."""
    return _URL_PASSWORD.sub(r"\1***@", text)


def flat_params(cfg: DictConfig) -> dict[str, str]:
    """Every leaf of the resolved config under its dotted key (a list is one leaf); passwords
    and the passwords inside URLs read ***."""
    flat: dict[str, str] = {}

    def visit(prefix: str, node: Any) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                visit(f"{prefix}.{key}" if prefix else str(key), value)
        elif prefix.endswith("password"):
            flat[prefix] = "***"
        else:
            flat[prefix] = redact(str(node))[:_MAX_PARAM_LENGTH]

    visit("", OmegaConf.to_container(cfg, resolve=True))
    return flat


def git_state() -> dict[str, str]:
    """The project's commit and whether the working tree differs from it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        return {
            "git.commit": git("rev-parse", "HEAD"),
            "git.dirty": str(bool(git("status", "--porcelain", "--untracked-files=no"))).lower(),
        }
    except (OSError, subprocess.CalledProcessError):
        return {"git.commit": "unknown", "git.dirty": "unknown"}


def user_overrides(overrides: list[str]) -> list[str]:
    """The overrides that say what a job runs: without the parent run id the callback adds,
    and with no password in sight."""
    return [redact(o) for o in overrides if not o.startswith(PARENT_RUN_OVERRIDE + "=")]


def run_tags(cfg: DictConfig, overrides: list[str]) -> dict[str, str]:
    git = git_state()
    trial = OmegaConf.select(cfg, "trial")
    trial_tags = (
        {OPTUNA_STUDY_TAG: trial.study_name, OPTUNA_TRIAL_TAG: str(trial.number)}
        if trial is not None and trial.get("number") is not None
        else {}
    )
    return {
        "model": cfg.model.name,
        "optimizer": cfg.optimizer.name,
        "dataset": cfg.data.name,
        OVERRIDES_TAG: " ".join(user_overrides(overrides)),
        **trial_tags,
        OBJECTIVE_TAG: f"{cfg.trainer.objective_mode} {cfg.trainer.objective}",
        **git,
        "mlflow.source.git.commit": git["git.commit"],
    }
