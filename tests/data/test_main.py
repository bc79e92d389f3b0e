import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.data.__main__ import PROJECT_ROOT, main
from pipeline.data.arrays import DatasetArrays
from tests.data.data_formats import write_keras_npz


def test_it_caches_and_prints_one_line(
    tmp_path: Path, arrays: DatasetArrays, capsys: pytest.CaptureFixture
) -> None:
    write_keras_npz(Path(os.environ["KERAS_HOME"]) / "datasets" / "mnist.npz", arrays)
    assert main(["mnist", "--cache-dir", str(tmp_path / "cache")]) == 0
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and line.startswith("mnist  source: Keras cache ")
    assert (
        f"cache: {tmp_path / 'cache' / 'mnist.npz'}" in line
        and (tmp_path / "cache" / "mnist.json").is_file()
    )


def test_a_data_error_is_one_line_on_stderr_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["fashion_mnist", "--cache-dir", str(tmp_path / "cache")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith(
        "error: no source for fashion_mnist worked"
    )
    assert captured.err.count("\n") == 1
    assert not (tmp_path / "cache").exists()  # a failure writes nothing


def test_the_default_cache_dir_is_data_under_the_project_root() -> None:
    assert (PROJECT_ROOT / "pipeline" / "data" / "__main__.py").is_file()


def test_the_data_layer_never_imports_tensorflow_or_keras() -> None:
    check = (
        "import sys, pipeline.data, pipeline.data.__main__; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, cwd=PROJECT_ROOT, check=True
    )
    assert result.stdout.strip() == "[]"
