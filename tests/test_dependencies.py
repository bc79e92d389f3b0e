"""The declared dependencies are the ones the code uses, at the tested versions, locked."""

import ast
import importlib.metadata
import re
import sys
import tomllib

from packaging.requirements import Requirement

from pipeline import PROJECT_ROOT

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
# Declared although no module imports them by name: what uses each instead.
USED_WITHOUT_IMPORT = {
    "hydra-joblib-launcher": "hydra/launcher=joblib (a Hydra plugin)",
    "hydra-submitit-launcher": "hydra/launcher=submitit_local, slurm (a Hydra plugin)",
    "psycopg": "postgresql:// URLs (SQLAlchemy's driver)",
    "optuna-dashboard": "make dashboard (its command)",
    "nvidia-ml-py": "MLflow's GPU system metrics",
}


def requirement_names(requirements: list[str]) -> set[str]:
    return {Requirement(line).name.lower() for line in requirements}


def imported_distributions() -> list[set[str]]:
    """For each top-level module the package and the plugins import, the distributions that
    provide it (MLflow's comes in three)."""
    modules = set()
    for path in [
        *(PROJECT_ROOT / "pipeline").rglob("*.py"),
        *(PROJECT_ROOT / "hydra_plugins").rglob("*.py"),
    ]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.split(".")[0])
    owners = importlib.metadata.packages_distributions()
    own = {"pipeline", "hydra_plugins"}
    return [
        {name.lower() for name in owners[m]}
        for m in modules - own - set(sys.stdlib_module_names)
        if m in owners
    ]


def test_every_imported_distribution_is_declared_and_every_declared_one_used():
    declared = requirement_names(PYPROJECT["dependencies"])
    imported = imported_distributions()
    assert [owners for owners in imported if not owners & declared] == [], (
        "imported but not declared"
    )
    unused = declared - set().union(*imported) - set(USED_WITHOUT_IMPORT)
    assert unused == set(), "declared but never imported"


def test_the_lock_pins_every_dependency_at_a_version_pyproject_admits():
    pins = dict(
        line.split("==")
        for line in (PROJECT_ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    )
    pins = {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in pins.items()}
    for line in [*PYPROJECT["dependencies"], *PYPROJECT["optional-dependencies"]["dev"]]:
        requirement = Requirement(line)
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pins, f"{name} is not locked"
        assert requirement.specifier.contains(pins[name]), (
            f"{name}=={pins[name]} is outside {requirement.specifier}"
        )


def test_keras_floor_is_past_the_known_safe_mode_bypasses():
    (keras,) = [Requirement(line) for line in PYPROJECT["dependencies"] if line.startswith("keras")]
    assert not keras.specifier.contains("3.11.9") and keras.specifier.contains("3.15.1")


def test_samplers_with_their_own_needs_have_extras():
    extras = PYPROJECT["optional-dependencies"]
    assert requirement_names(extras["gp"]) == {"torch", "scipy"} and requirement_names(
        extras["cmaes"]
    ) == {"cmaes"}
