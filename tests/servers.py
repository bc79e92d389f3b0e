"""Helpers for tests that start real servers on loopback: a free port, waiting for health."""
import socket
import subprocess
import time
import urllib.request

SERVER_START_TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(url: str, server: subprocess.Popen, path: str = "/health",
                       timeout: float = SERVER_START_TIMEOUT) -> None:
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
