"""The MLflow server's process bookkeeping, without a server."""

import json
import subprocess

import pytest


@pytest.fixture
def other_process():
    """A process that is not the stack's server, holding a pid a stale pid file may name."""
    process = subprocess.Popen(["sleep", "60"])
    yield process
    process.kill()
    process.wait()


@pytest.mark.parametrize("recorded", ["plain", "other start time", "same start time"])
def test_a_stale_pid_file_names_no_server_and_nothing_is_signalled(
    tmp_path, other_process, recorded
):
    """After a reboot or a crash the recorded number may belong to anything else: it is trusted
    only for the very `mlflow server` this stack started (command line, start time, boot)."""
    from pipeline.stack.mlflow_server import _identity
    from pipeline.stack.stack import stack_from_config
    from tests.helpers import compose_config

    server = stack_from_config(
        compose_config("tracking=server", f"tracking.server.dir={tmp_path}").tracking.server
    ).mlflow
    server.folder.mkdir(parents=True)
    identity = _identity(other_process.pid)
    content = {
        "plain": str(other_process.pid),
        "other start time": json.dumps({**identity, "started": 1.0}),
        "same start time": json.dumps(identity),
    }[recorded]  # a live process, but no mlflow server
    server.pid_file.write_text(content)
    assert server.pid() is None
    server.stop()
    assert other_process.poll() is None and not server.pid_file.exists()


def test_a_stack_reached_by_a_name_admits_that_name_and_serves_https(tmp_path):
    """MLflow's host check admits localhost and private addresses only unless told otherwise."""
    from pipeline.stack.stack import stack_from_config
    from tests.helpers import compose_config

    server = stack_from_config(
        compose_config(
            "tracking=server",
            "tracking.server.host=mlflow.example.org",
            f"tracking.server.dir={tmp_path}",
        ).tracking.server
    ).mlflow
    command = server.command()
    hosts = command[command.index("--allowed-hosts") + 1].split(",")
    origins = command[command.index("--cors-allowed-origins") + 1].split(",")
    assert {
        "mlflow.example.org",
        "mlflow.example.org:5001",
        "127.0.0.1:5001",
        "localhost:5001",
    } <= set(hosts)
    assert "https://mlflow.example.org:5001" in origins
    assert "--ssl-certfile" in command[command.index("--uvicorn-opts") + 1]
    assert "--app-name" in command and not [a for a in command if "password" in a.lower()]
