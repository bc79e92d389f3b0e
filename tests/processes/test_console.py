"""A default run's terminal: the model summary, a line per epoch, the result and where it was
recorded; no library start-up lines or warnings, unless PIPELINE_LIBRARY_LOGS=1 asks for them."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import PROJECT_ROOT
from pipeline.processes.console import LIBRARY_LOGS_ENV
from tests.helpers import isolated_overrides

pytestmark = pytest.mark.heavy

EPOCHS = 2
# Variables that change what the libraries print: a new user has none of them set.
_LOG_LEVEL_VARIABLES = ("TF_CPP_MIN_LOG_LEVEL", "MLFLOW_LOGGING_LEVEL", LIBRARY_LOGS_ENV)
TF_CPP_LINE = re.compile(r"^[IWEF]\d{4} ", re.MULTILINE)  # absl's prefix: I1123, E0000, ...


def smoke_run(tmp: Path, **env: str) -> subprocess.CompletedProcess:
    """A tracked smoke run as a new user starts it: no log-level variables, a fresh
    matplotlib cache (its first import logs `generated new fontManager`)."""
    clean = {k: v for k, v in os.environ.items() if k not in _LOG_LEVEL_VARIABLES}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline.train",
            "trainer=smoke",
            f"trainer.epochs={EPOCHS}",
            "trainer.verbose=2",
            "tracking.log_checkpoints=false",
            *isolated_overrides(tmp),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**clean, "MPLCONFIGDIR": str(tmp / "matplotlib"), **env},
    )


def test_a_run_prints_only_its_own_lines(tmp_path):
    result = smoke_run(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert 'Model: "convnet"' in lines and any("Total params: 619,786" in line for line in lines)
    assert [line.split()[1] for line in lines if line.startswith("epoch ")] == ["1/2", "2/2"]
    tail = lines[-3:]
    assert tail[0].startswith("test accuracy ") and tail[1].startswith("run directory ")
    assert tail[2].startswith("recorded as MLflow run ")
    # Hydra's log lines (here matplotlib's) went to the job's log file only.
    assert "[INFO]" not in result.stdout
    run_dir = Path(tail[1].removeprefix("run directory "))
    assert "generated new fontManager" in (run_dir / "train.log").read_text()


@pytest.mark.slow  # a second whole training run
def test_the_switch_brings_the_library_lines_back(tmp_path):
    result = smoke_run(tmp_path, **{LIBRARY_LOGS_ENV: "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert TF_CPP_LINE.search(result.stderr)
    assert "The specified dataset source can be interpreted in multiple ways" in result.stderr


def test_a_servers_error_stream_loses_abseils_lines_only(monkeypatch):
    """What `make serve` shows of the model server's stderr: its own lines, not TensorFlow's C++ start-up."""
    import io

    from pipeline.processes.console import without_library_lines

    monkeypatch.delenv(LIBRARY_LOGS_ENV, raising=False)
    lines = [
        "I0000 00:00:1764651234.1 123 cpu_feature_guard.cc:210] This TensorFlow binary is optimized\n",
        "INFO:     Uvicorn running on http://127.0.0.1:5002\n",
        "W0000 00:00:1764651234.2 123 gpu_device.cc:2342] Cannot dlopen some GPU libraries.\n",
        "Error: Invalid input\n",
    ]
    out = io.StringIO()
    without_library_lines(lines, out)
    assert out.getvalue() == lines[1] + lines[3]
    monkeypatch.setenv(LIBRARY_LOGS_ENV, "1")
    out = io.StringIO()
    without_library_lines(lines, out)
    assert out.getvalue() == "".join(lines)


def test_tensorflow_comes_without_scikit_learn_which_stays_importable():
    """Keras imports scikit-learn for wrappers the pipeline never uses: about a second of every
    training process. A later import (Optuna's importances) still finds it."""
    probe = (
        "import sys\n"
        "from pipeline.processes.console import import_tensorflow\n"
        "import_tensorflow()\n"
        "import keras.src.wrappers.fixes as keras_wrappers\n"
        "print('sklearn' in sys.modules, keras_wrappers.sklearn is None)\n"
        "import sklearn.ensemble\n"
        "print(sklearn.ensemble.RandomForestRegressor.__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == ["False True", "RandomForestRegressor"]
