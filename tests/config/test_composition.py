"""Every option of every config group composes, validates and stays TensorFlow-free."""

import json

import pytest

from pipeline.config import ConfigError, validate
from pipeline.config.choices import group_options, unknown_choice
from pipeline.config.compose import compose_user_config
from tests.helpers import compose_config, run_cli

GROUPS = ("data", "model", "optimizer", "schedule", "trainer", "tracking", "paths")


@pytest.mark.parametrize("group,option", [(g, o) for g in GROUPS for o in group_options(g)])
def test_every_group_option_composes_and_validates(group, option):
    cfg = compose_config(f"{group}={option}")
    validate(cfg)
    if group == "optimizer":
        assert cfg.optimizer.name == option
    if group in ("data", "model", "schedule"):
        assert cfg[group].name == option


def test_defaults_are_the_make_train_recipe():
    cfg = compose_config()
    assert (cfg.data.name, cfg.model.name, cfg.optimizer.name) == ("mnist", "convnet", "adam")
    assert cfg.tracking.uri.startswith("sqlite:////"), "the SQLite URI must be absolute"


def test_optimizers_the_seeds_list_are_all_there():
    assert {"sgd", "adam", "rmsprop", "adagrad", "adadelta", "ftrl", "nadam", "adamw"} <= set(
        group_options("optimizer")
    )


def test_unknown_key_is_rejected_by_the_schema():
    with pytest.raises(Exception, match="momentun"):
        compose_config("optimizer=sgd", "optimizer.momentun=0.9")


def test_wrong_type_is_rejected_by_the_schema():
    with pytest.raises(Exception, match="epochs"):
        compose_config("trainer.epochs=many")


@pytest.mark.parametrize(
    "override, message",
    [
        (
            "trainer.epochss=1",
            "Could not override 'trainer.epochss': Key 'epochss' not in 'TrainerConfig'",
        ),
        (
            "trainer.epochs=many",
            "Error merging override trainer.epochs=many: Value 'many' of type 'str' could not be converted to Integer",
        ),
        ("optimizer=adamm", "In 'config': Could not find 'optimizer/adamm'"),
        ("trainer.epochs=[1", "no viable alternative at input '[1'"),
    ],
)
def test_a_refused_user_override_is_one_line_naming_what_went_wrong(override, message):
    """What `make server`, `make ui`, `make serve`, `make report` and `make dashboard` print
    after "error: " (without Hydra's hints, search path or full key)."""
    with pytest.raises(ConfigError) as error:
        compose_user_config(override)
    assert str(error.value) == message


def test_unknown_choice_names_the_group_and_the_options():
    assert unknown_choice(["optimizer=adam"]) is None
    assert unknown_choice(["optimizer.learning_rate=0.1", "trainer.epochs=2"]) is None
    message = unknown_choice(["optimizer=sgd,adamm"])
    assert message.startswith("optimizer=adamm is unknown") and "rmsprop" in message


def test_cfg_job_prints_the_config_without_importing_tensorflow():
    probe = (
        "import atexit, json, sys;"
        "atexit.register(lambda: print(json.dumps('tensorflow' in sys.modules or 'keras' in sys.modules)));"
        "sys.argv = ['pipeline.train', '--cfg', 'job', 'optimizer=rmsprop', 'model.dropout=0.5'];"
        "import runpy; runpy.run_module('pipeline.train', run_name='__main__')"
    )
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    *config_lines, imported = result.stdout.strip().splitlines()
    assert json.loads(imported) is False
    assert "  name: rmsprop" in config_lines and "  dropout: 0.5" in config_lines


def test_help_lists_the_groups():
    result = run_cli("--help", timeout=60)
    assert result.returncode == 0
    assert "optimizer: adadelta, adagrad, adam" in result.stdout


def test_the_slurm_launcher_preset_composes_for_a_search_on_the_team_stack():
    """What the README's cluster command composes (nothing is submitted: no cluster here)."""
    cfg = compose_config(
        "experiments=tune",
        "hydra/launcher=slurm",
        "hydra.sweeper.n_jobs=8",
        "tracking=server",
        "tracking.server.host=10.1.2.3",
        return_hydra_config=True,
    )
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher") and (
        launcher.cpus_per_task,
        launcher.mem_gb,
    ) == (2, 4)
    assert launcher.setup == [f"source {cfg.paths.root}/.venv/bin/activate"]
    ca_file = f"{cfg.paths.root}/.stack/tls/ca.crt"
    assert cfg.hydra.sweeper.storage == (
        f"postgresql://mnist@10.1.2.3:5433/optuna?passfile={cfg.paths.root}/.stack/"
        f"secrets/pgpass&sslmode=verify-full&sslrootcert={ca_file}"
    )
    assert cfg.tracking.uri == "https://10.1.2.3:5001"
