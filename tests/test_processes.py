"""Whether a process still runs: the lease, the sweeper's dead-worker check and the stack use it."""
import os
import subprocess
import sys
import time

import pytest

from pipeline.processes import proc_stat, process_running


def test_this_process_runs_and_a_reaped_one_does_not():
    assert process_running(os.getpid())
    child = subprocess.Popen(["true"])
    child.wait()
    assert not process_running(child.pid)
    assert proc_stat(child.pid) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="zombies are read from /proc")
def test_an_exited_child_not_reaped_yet_has_stopped():
    """A zombie (a worker whose launcher has not reaped it, say) holds nothing any more."""
    child = subprocess.Popen(["true"])
    try:
        deadline = time.monotonic() + 10
        while proc_stat(child.pid)[:1] != ["Z"]:
            assert time.monotonic() < deadline, "the child never exited"
            time.sleep(0.02)
        assert not process_running(child.pid)
    finally:
        child.wait()
