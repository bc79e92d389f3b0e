"""The package's layers: each module imports only its own layer and those below it.

Data flows config -> data -> training -> tracking; tracking (MLflow only) and search (all of
Optuna, over tracking) observe training through callbacks and never import it; entry points
and benchmarks sit on top. The Hydra plugin is a registration that hands over to search.
"""

import ast
from pathlib import Path

from pipeline import PROJECT_ROOT

LAYERS = (
    # the bottom: no training, no MLflow
    {
        "config",
        "data",
        "files",
        "run_state",
        "job",
        "evaluation",
        "plotting",
        "processes",
        "timings",
    },
    {"tracking"},  # MLflow: what training reports to
    {"search"},  # Optuna: the sweeper, a job's trial, pruning, a study's parent run
    {"training"},  # the job, with tracking and search attached
    {
        "train",
        "report",
        "serve",
        "sync",
        "ui",
        "dashboard_storage",
        "stack",
        "cluster",
        "bench",
    },  # entry points and measurement
)
RANK = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}
# Hydra's private modules, or its global state: only benchmarks and tests drive Hydra that way.
HYDRA_INTERNALS = ("hydra._internal", "hydra.core.global_hydra")


def modules(folder: str) -> list[Path]:
    return sorted((PROJECT_ROOT / folder).rglob("*.py"))


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def package_of(module: str) -> str | None:
    """`pipeline.tracking.store` -> `tracking`; None for `pipeline` itself and for other packages."""
    parts = module.split(".")
    return parts[1] if parts[0] == "pipeline" and len(parts) > 1 else None


def test_every_pipeline_package_has_a_layer():
    packages = {
        path.relative_to(PROJECT_ROOT / "pipeline").parts[0].removesuffix(".py")
        for path in modules("pipeline")
    } - {"__init__"}
    assert packages == set(RANK)


def test_imports_stay_at_or_below_each_module_layer():
    upward = []
    for path in modules("pipeline"):
        own = path.relative_to(PROJECT_ROOT / "pipeline").parts[0].removesuffix(".py")
        for module in imported(path):
            if (
                own in RANK
                and RANK.get(package_of(module), -1) > RANK[own]
                or module.startswith("hydra_plugins")
            ):
                upward.append(f"{path.relative_to(PROJECT_ROOT)} imports {module}")
    assert upward == []


def test_product_code_uses_no_hydra_internals():
    product = [
        path for path in modules("pipeline") + modules("hydra_plugins") if "bench" not in path.parts
    ]
    uses = [
        f"{path.relative_to(PROJECT_ROOT)} imports {module}"
        for path in product
        for module in imported(path)
        if module.startswith(HYDRA_INTERNALS)
    ]
    assert uses == []


def test_tracking_knows_no_optuna():
    uses = [
        f"{path.relative_to(PROJECT_ROOT)} imports {module}"
        for path in modules("pipeline/tracking")
        for module in imported(path)
        if module.split(".")[0] == "optuna"
    ]
    assert uses == []


def test_the_hydra_plugin_hands_over_to_search():
    """hydra_plugins/ imports only Hydra, OmegaConf, the standard library and pipeline.search."""
    allowed = ("hydra", "omegaconf", "pipeline.search", "dataclasses", "typing", "__future__")
    uses = [
        f"{path.relative_to(PROJECT_ROOT)} imports {module}"
        for path in modules("hydra_plugins/optuna_sweeper")
        for module in imported(path)
        if not module.startswith(allowed)
    ]
    assert uses == []
