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


def wait_until_healthy(url: str, server: subprocess.Popen, timeout: float = SERVER_START_TIMEOUT) -> None:
    """Until `url`/health answers; the server's own error when it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited: {server.stderr.read()[-2000:] if server.stderr else ''}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"server at {url} did not start in {timeout} s")
