"""Helpers for tests that start real servers on loopback: a free port, waiting for health."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

SERVER_START_TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(
    url: str, server: subprocess.Popen, path: str = "/health", timeout: float = SERVER_START_TIMEOUT
) -> None:
    """Until `url` + `path` answers (MLflow's tracking server: /health, its model server:
    /ping); the server's own output when it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            stdout, stderr = server.communicate()
            raise RuntimeError(f"the server at {url} exited: {(stderr or stdout or '')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}{path}", timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"the server at {url} did not answer {path} in {timeout} s")


class TrackingServer:
    """A real `mlflow server` (SQLite store, proxied artifacts under `folder`) on loopback,
    that a test can stop and start again on the same port: a tracking outage."""

    def __init__(self, folder: Path, port: int):
        self.folder, self.port = Path(folder), port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{self.folder}/mlflow.db",
            "--artifacts-destination",
            str(self.folder / "artifacts"),
        ]
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(
            self.folder / "server.log", "a"
        ) as log:  # a file: a pipe nobody reads would fill up
            self.process = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
        wait_until_healthy(self.url, self.process)

    def stop(self) -> None:
        """Gone at once, as a crashed or rebooting server is: every process of it killed."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.communicate()
        self.process = None

    def freeze(self) -> None:
        """Hung, as a server on a lost network or a stalled machine is: connections are
        accepted by the kernel and never answered, until `thaw`."""
        os.killpg(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.killpg(self.process.pid, signal.SIGCONT)
