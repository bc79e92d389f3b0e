"""Serving a trained model: which model `mnist-serve` picks, and MLflow's real model server
answering raw 28x28 uint8 digits over HTTP with the classes the in-process pyfunc model gives."""

import json
import subprocess
import sys
import urllib.request

import mlflow
import numpy as np
import pytest

from pipeline import PROJECT_ROOT
from pipeline.data import load_splits
from pipeline.serve import ServeError, model_uri
from tests.processes.test_console import TF_CPP_LINE
from tests.servers import free_port, wait_until_healthy
from tests.tracking.helpers import REGISTERED_NAME, tracked_config

SERVER_START_TIMEOUT = 180  # the server imports TensorFlow to load the model
DIGITS = 20


def test_without_a_model_the_latest_trained_is_served(smoke_run):
    assert model_uri(smoke_run.cfg.tracking, None) == smoke_run.run.data.tags["model_uri"]


def test_a_run_id_serves_that_run_s_model_and_a_uri_is_kept(smoke_run):
    assert (
        model_uri(smoke_run.cfg.tracking, smoke_run.run.info.run_id)
        == smoke_run.run.data.tags["model_uri"]
    )
    assert model_uri(smoke_run.cfg.tracking, "models:/any@alias") == "models:/any@alias"


def test_an_unknown_run_is_a_one_line_error(smoke_run):
    with pytest.raises(ServeError, match="--model 0123456789abcdef: no such run in sqlite:"):
        model_uri(smoke_run.cfg.tracking, "0123456789abcdef")


def test_a_mistyped_override_is_one_line_and_exit_2(capsys):
    from pipeline.serve import main

    assert main(["tracking.urii=x"]) == 2
    assert (
        capsys.readouterr().err
        == "error: Could not override 'tracking.urii': Key 'urii' not in 'TrackingConfig'\n"
    )


def test_a_missing_store_is_a_one_line_error_and_stays_missing(tmp_path):
    cfg = tracked_config(tmp_path)
    with pytest.raises(
        ServeError, match=f"no MLflow store at {tmp_path}/mlruns/mlflow.db; train a model first"
    ):
        model_uri(cfg.tracking, None)
    assert not (tmp_path / "mlruns").exists()


def post_json(url: str, payload: dict) -> dict:
    request = urllib.request.Request(
        url, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


@pytest.mark.slow  # ~20-60 s: the server process imports TensorFlow and loads the model
def test_the_model_server_classifies_raw_digits_like_the_pyfunc_model(smoke_run):
    registered = f"models:/{REGISTERED_NAME}@{smoke_run.cfg.tracking.register_alias}"
    port = free_port()
    # What `make serve MODEL=...` runs.
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline.serve",
            "--model",
            registered,
            "--port",
            str(port),
            f"tracking.uri={smoke_run.cfg.tracking.uri}",
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, server, path="/ping", timeout=SERVER_START_TIMEOUT)
        digits = load_splits(smoke_run.cfg.data).test_x[:DIGITS]
        assert digits.dtype == np.uint8 and digits.shape == (DIGITS, 28, 28)
        answer = post_json(f"{url}/invocations", {"inputs": digits.tolist()})
    finally:
        server.terminate()  # SIGTERM: the wrapper passes it on to the server's processes
        output, _ = server.communicate(timeout=30)
    assert (
        not TF_CPP_LINE.search(output) and "%|" not in output
    )  # no C++ start-up lines, no progress bars
    served = np.argmax(np.asarray(answer["predictions"]), axis=1)
    mlflow.set_tracking_uri(smoke_run.cfg.tracking.uri)
    in_process = np.argmax(mlflow.pyfunc.load_model(registered).predict(digits), axis=1)
    assert served.tolist() == in_process.tolist()
