"""Training against a real `mlflow server` over HTTP."""
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import only_run, tracked_config, train
from mlflow import MlflowClient

SERVER_START_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"mlflow server exited: {server.stderr.read()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"mlflow server at {url} did not start in {SERVER_START_TIMEOUT} s")


@pytest.fixture
def mlflow_server(tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp_path}/server.db",
         "--artifacts-destination", str(tmp_path / "server-artifacts"), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, server)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow  # ~35 s: the server's start and every request over HTTP
def test_training_is_tracked_over_http(tmp_path, mlflow_server):
    cfg = tracked_config(tmp_path, f"tracking.uri={mlflow_server}", "tracking.log_checkpoints=false")
    train(cfg, "over-http")
    client = MlflowClient(mlflow_server)
    run = only_run(client, cfg)
    assert run.info.status == "FINISHED"
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val/accuracy")] == [0]
    assert "evaluation/confusion_matrix.png" in {
        a.path for a in client.list_artifacts(run.info.run_id, "evaluation")}
    assert (tmp_path / "server-artifacts").is_dir()
