"""What a run is called and labelled: its name, tags and parameters (their names: `records`)."""
import subprocess
from typing import Any

from omegaconf import DictConfig, OmegaConf

from pipeline import PROJECT_ROOT
from pipeline.tracking.records import OBJECTIVE_TAG, OVERRIDES_TAG

# Every logged value of a run is a parameter, however deep; longer values are cut.
_MAX_PARAM_LENGTH = 6000


def compact_number(value: float) -> str:
    """1e-3 for 0.001, 2.5e-4 for 0.00025: short enough for a run name."""
    mantissa, exponent = f"{value:.6e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def run_name(cfg: DictConfig) -> str:
    """`tracking.run_name`, else e.g. `convnet-adam-lr1e-3-do0.4`."""
    if cfg.tracking.run_name:
        return cfg.tracking.run_name
    return (f"{cfg.model.name}-{cfg.optimizer.name}-lr{compact_number(cfg.optimizer.learning_rate)}"
            f"-do{cfg.model.dropout:g}")


def flat_params(cfg: DictConfig) -> dict[str, str]:
    """Every leaf of the resolved config under its dotted key (a list is one leaf)."""
    flat: dict[str, str] = {}

    def visit(prefix: str, node: Any) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                visit(f"{prefix}.{key}" if prefix else str(key), value)
        else:
            flat[prefix] = str(node)[:_MAX_PARAM_LENGTH]

    visit("", OmegaConf.to_container(cfg, resolve=True))
    return flat


def git_state() -> dict[str, str]:
    """The project's commit and whether the working tree differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    try:
        return {"git.commit": git("rev-parse", "HEAD"),
                "git.dirty": str(bool(git("status", "--porcelain", "--untracked-files=no"))).lower()}
    except (OSError, subprocess.CalledProcessError):
        return {"git.commit": "unknown", "git.dirty": "unknown"}


def run_tags(cfg: DictConfig, overrides: list[str]) -> dict[str, str]:
    git = git_state()
    return {
        "model": cfg.model.name,
        "optimizer": cfg.optimizer.name,
        "dataset": cfg.data.name,
        OVERRIDES_TAG: " ".join(overrides),
        OBJECTIVE_TAG: f"{cfg.trainer.objective_mode} {cfg.trainer.objective}",
        **git,
        "mlflow.source.git.commit": git["git.commit"],
    }

