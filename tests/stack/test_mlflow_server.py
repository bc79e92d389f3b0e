"""The MLflow server's process bookkeeping, without a server."""
import subprocess
import sys
import time

import pytest

from pipeline.processes import proc_stat
from pipeline.stack.mlflow_server import _running


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="zombies are read from /proc")
def test_an_exited_server_that_nobody_reaped_yet_has_stopped():
    """A server from an earlier `make server` is not our child: once it exits it stays a zombie
    until its parent reaps it. Here the parent is a `sleep` that never does."""
    parent = subprocess.Popen(["sh", "-c", 'sleep 0 & echo $!; exec sleep 30'], stdout=subprocess.PIPE, text=True)
    try:
        orphan = int(parent.stdout.readline())
        deadline = time.monotonic() + 10
        while proc_stat(orphan)[:1] != ["Z"]:
            assert time.monotonic() < deadline, "the child never exited"
            time.sleep(0.05)
        assert not _running(orphan)
        assert _running(parent.pid)
    finally:
        parent.kill()
        parent.wait()
