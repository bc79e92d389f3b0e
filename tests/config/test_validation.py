"""Bad input ends with one clear line, a non-zero exit, and nothing written."""

import subprocess
import sys

import pytest

from pipeline import PROJECT_ROOT
from pipeline.config import ConfigError, validate
from tests.helpers import compose_config, run_cli, run_in_process

BAD_VALUES = {
    "model.dropout=1.0": "model.dropout=1.0 must be in [0, 1)",
    "model.dropout=-0.1": "model.dropout=-0.1 must be in [0, 1)",
    "optimizer.learning_rate=0": "optimizer.learning_rate=0.0 must be positive",
    "optimizer.learning_rate=-1e-3": "optimizer.learning_rate=-0.001 must be positive",
    "trainer.epochs=0": "trainer.epochs=0 must be positive",
    "trainer.batch_size=-8": "trainer.batch_size=-8 must be positive",
    "data.path=/no/such/mnist.npz": "data.path=/no/such/mnist.npz: no such file or directory",
    "trainer.loop=eager": "trainer.loop='eager' is unknown; choose one of: fit, tape",
    "trainer.resume_from=/no/such/run": "trainer.resume_from=/no/such/run: no such run directory",
    "trainer.extra_objectives=[flops]": "trainer.extra_objectives='flops' is unknown; choose one of: params, seconds_per_epoch",
}


@pytest.mark.parametrize("override,message", BAD_VALUES.items())
def test_validate_names_the_bad_value(override, message):
    with pytest.raises(ConfigError) as error:
        validate(compose_config(override))
    assert str(error.value) == message


BAD_ON_THE_COMMAND_LINE = [
    ("model.dropout=1.5", "error: model.dropout=1.5 must be in [0, 1)"),
    ("optimizer.learning_rate=-1", "error: optimizer.learning_rate=-1.0 must be positive"),
    ("trainer.epochs=0", "error: trainer.epochs=0 must be positive"),
    ("data.path=/no/such/file", "error: data.path=/no/such/file: no such file or directory"),
]
# A value the config's checks refuse costs a process start to see on the command line: one
# per mode there; the others through the same Hydra app in this process below.
BAD_CHOICES = [
    (
        "optimizer=nope",
        "error: optimizer=nope is unknown; choose one of: "
        "adadelta, adagrad, adam, adamw, ftrl, lion, nadam, rmsprop, sgd",
    ),
    ("model=resnet", "error: model=resnet is unknown; choose one of: convnet, tf_tutorial"),
]


@pytest.mark.parametrize(
    "mode,override,message",
    [
        ("run", *BAD_ON_THE_COMMAND_LINE[0]),
        ("multirun", *BAD_ON_THE_COMMAND_LINE[3]),
        *(("run", *bad) for bad in BAD_CHOICES),
        *(("multirun", *bad) for bad in BAD_CHOICES),
    ],
)
def test_cli_rejects_bad_input_with_one_line_and_writes_nothing(
    tmp_path, isolated, override, message, mode
):
    args = [override, *isolated] + (["-m"] if mode == "multirun" else [])
    result = run_cli(*args, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [message]
    assert list(tmp_path.iterdir()) == [], "nothing may be written"


def test_a_bad_value_is_answered_before_mlflow_or_tensorflow_is_imported(tmp_path, isolated):
    """The command in a new process stops at the callback that checks values (in half a second,
    not the ~1.7 s that MLflow's import cost it): no library of a run is loaded for it."""
    argv = ["mnist-train", "model.dropout=1.5", *isolated]
    code = (
        f"import runpy, sys\nsys.argv = {argv!r}\n"
        "try:\n    runpy.run_module('pipeline.train', run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    print(exit.code, sorted({'mlflow', 'pandas', 'tensorflow', 'keras'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "2 []", result.stderr[-2000:]
    assert list(tmp_path.iterdir()) == [], "nothing may be written"


@pytest.mark.parametrize("override,message", BAD_ON_THE_COMMAND_LINE)
@pytest.mark.parametrize("mode", ["run", "multirun"])
def test_the_app_rejects_bad_values_with_one_line_and_writes_nothing(
    tmp_path, isolated, capsys, override, message, mode
):
    """The command's Hydra app in this process: its callback exits before any directory exists."""
    from pipeline.bench.hydra_multirun import multirun
    from pipeline.train import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        if mode == "run":
            run_in_process(override, *isolated)
        else:
            multirun(PROJECT_ROOT / "conf", "config", main.__wrapped__, [override, *isolated])
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [message]
    assert list(tmp_path.iterdir()) == [], "nothing may be written"


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            ["optimizer.momentun=0.9"],
            "Could not override 'optimizer.momentun': Key 'momentun' not in 'AdamConfig'",
        ),
        (
            ["trainer.batch_size=abc"],
            "Error merging override trainer.batch_size=abc: "
            "Value 'abc' of type 'str' could not be converted to Integer",
        ),
        # A multirun is checked with each sweep's first value.
        (
            ["-m", "optimizer=sgd,adam", "trainer.epochs=x"],
            "Error merging override trainer.epochs=x: "
            "Value 'x' of type 'str' could not be converted to Integer",
        ),
    ],
)
def test_cli_rejects_a_mistyped_key_or_a_wrong_type_in_one_line_before_writing(
    tmp_path, isolated, overrides, message
):
    result = run_cli(*overrides, *isolated, timeout=60)
    assert result.returncode == 2
    assert result.stderr == f"error: {message}\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sampler, extra", [("cmaes", "cmaes"), ("gp", "gp")])
def test_a_sampler_whose_extra_is_missing_is_one_line_naming_it(sampler, extra, tmp_path):
    import importlib.util

    from pipeline.config.validate import SAMPLER_EXTRAS

    target = f"optuna.samplers.{'CmaEsSampler' if sampler == 'cmaes' else 'GPSampler'}"
    missing = [m for m in SAMPLER_EXTRAS[target][1] if importlib.util.find_spec(m) is None]
    if not missing:
        pytest.skip(f"the {extra} extra is installed here")
    result = run_cli(
        "experiments=tune",
        f"hydra/sweeper/sampler={sampler}",
        f"paths.output_dir={tmp_path}",
        f"tracking.uri=sqlite:///{tmp_path}/mlflow.db",
        timeout=120,
    )
    assert result.returncode == 2 and not list(tmp_path.iterdir())
    assert result.stderr == (
        f"error: hydra/sweeper/sampler={extra} needs {' and '.join(missing)}: "
        f".venv/bin/pip install -e '.[{extra}]'\n"
    )
