"""What a report is about and where it goes, from the experiment's composed config and conf/report.yaml."""

from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from pipeline import PROJECT_ROOT
from pipeline.config import ConfigError
from pipeline.config.choices import group_options
from pipeline.config.compose import compose_user_config
from pipeline.tracking.credentials import use_stack_server

REPORT_CONFIG = PROJECT_ROOT / "conf" / "report.yaml"
REPORTS_SUBDIR = "reports"  # under paths.output_dir, beside Hydra's runs/ and multiruns/


class ReportError(RuntimeError):
    """The report cannot be made; the message is one line for the user."""


@dataclass
class ReportConfig:
    """The schema of conf/report.yaml: a typo there fails instead of being ignored."""

    target_accuracy: float


@dataclass(frozen=True)
class ReportSettings:
    experiment: str  # the named experiment, experiments/<experiment>.yaml
    experiment_name: str  # its MLflow experiment (tracking.experiment_name)
    tracking_uri: str
    connect_timeout: float  # seconds to wait for a tracking server
    ui_url: str  # the MLflow UI the printed links point into
    output_dir: Path
    target_accuracy: float
    all_runs: bool  # every run of the experiment, not only the latest multirun
    optuna_storage: str | None = None  # a search's study: the sweeper's storage (none: in memory)
    study_name: str | None = None  # ... and the study the experiment's sweeper names


def report_defaults() -> ReportConfig:
    merged = OmegaConf.merge(OmegaConf.structured(ReportConfig), OmegaConf.load(REPORT_CONFIG))
    return OmegaConf.to_object(merged)


def report_settings(
    experiment: str,
    overrides: list[str],
    tracking_uri: str | None = None,
    target_accuracy: float | None = None,
    all_runs: bool = False,
) -> ReportSettings:
    """Compose `experiments=EXPERIMENT OVERRIDES` as training would (no TensorFlow) for the
    store, the MLflow experiment and the output folder."""
    known = group_options("experiments")
    if experiment not in known:
        raise ReportError(
            f"experiment {experiment!r} is unknown; choose one of: {', '.join(known)}"
        )
    if tracking_uri is not None:
        overrides = [*overrides, f"tracking.uri={tracking_uri}"]
    try:
        cfg = compose_user_config(f"experiments={experiment}", *overrides, return_hydra_config=True)
    except ConfigError as error:
        raise ReportError(str(error)) from None
    target = report_defaults().target_accuracy if target_accuracy is None else target_accuracy
    if not 0 < target <= 1:
        raise ReportError(f"target accuracy {target} must be in (0, 1]")
    use_stack_server(cfg.tracking)
    return ReportSettings(
        experiment=experiment,
        experiment_name=cfg.tracking.experiment_name,
        tracking_uri=cfg.tracking.uri,
        connect_timeout=cfg.tracking.connect_timeout,
        ui_url=cfg.tracking.ui_url,
        output_dir=Path(cfg.paths.output_dir) / REPORTS_SUBDIR / experiment,
        target_accuracy=target,
        all_runs=all_runs,
        optuna_storage=OmegaConf.select(
            cfg, "hydra.sweeper.storage", default=cfg.tracking.optuna_storage
        ),
        study_name=OmegaConf.select(cfg, "hydra.sweeper.study_name", default=None),
    )
