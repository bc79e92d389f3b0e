"""The installed commands: `mnist-train` and `mnist-report` work from any folder, and bash
completes `mnist-train`'s config groups, options and keys through Hydra."""

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent  # where pip put the console scripts of this environment


def command(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        list(args),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **(env or {})},
    )


def bash_completions(line: str, cwd: Path) -> list[str]:
    """What bash offers for `line` after `eval "$(mnist-train -sc install=bash)"`, as a user's tab would."""
    script = (
        'eval "$(mnist-train -sc install=bash)"\n'
        'COMP_LINE="$LINE"; COMP_POINT=${#LINE}; COMP_WORDS=($LINE); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n'
        "hydra_bash_completion\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = command("bash", "-c", script, cwd=cwd, env={"LINE": line})
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_bash_completes_a_group_s_options(tmp_path):
    assert bash_completions("mnist-train optimizer=ad", tmp_path) == [
        "optimizer=adadelta",
        "optimizer=adagrad",
        "optimizer=adam",
        "optimizer=adamw",
    ]


def test_bash_completes_keys_and_named_experiments(tmp_path):
    assert bash_completions("mnist-train trainer.ep", tmp_path) == ["trainer.epochs="]
    assert "experiments=optimizers" in bash_completions("mnist-train experiments=", tmp_path)


def test_both_commands_answer_help_from_another_folder(tmp_path):
    train = command("mnist-train", "--help", cwd=tmp_path)
    assert train.returncode == 0 and "optimizer: adadelta, adagrad, adam" in train.stdout
    report = command("mnist-report", "--help", cwd=tmp_path)
    assert report.returncode == 0 and report.stdout.startswith("usage: mnist-report ")
    sync = command("mnist-sync", "--help", cwd=tmp_path)
    assert sync.returncode == 0 and sync.stdout.startswith("usage: mnist-sync ")


def test_every_command_is_the_module_python_m_runs_with_a_cli_function():
    import importlib
    import tomllib

    from pipeline import PROJECT_ROOT

    scripts = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for name, target in scripts.items():
        module, _, function = target.partition(":")
        assert function == "cli", name
        assert name == f"mnist-{module.removeprefix('pipeline.').removesuffix('.__main__')}", name
        assert callable(importlib.import_module(module).cli), name
