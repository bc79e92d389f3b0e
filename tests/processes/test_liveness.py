"""Whether a process still runs, and is still the one we mean: the lease, the sweeper's
dead-worker check and the stack use these."""

import os
import subprocess
import time

import psutil

from pipeline.processes.liveness import command_line, process_running, started_at, still_running


def is_zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_this_process_runs_and_a_reaped_one_does_not():
    assert process_running(os.getpid())
    child = subprocess.Popen(["true"])
    child.wait()
    assert not process_running(child.pid)
    assert started_at(child.pid) is None and command_line(child.pid) == []


def test_an_exited_child_not_reaped_yet_has_stopped():
    """A zombie (a worker whose launcher has not reaped it, say) holds nothing any more."""
    child = subprocess.Popen(["true"])
    try:
        deadline = time.monotonic() + 10
        while not is_zombie(child.pid):
            assert time.monotonic() < deadline, "the child never exited"
            time.sleep(0.02)
        assert not process_running(child.pid)
    finally:
        child.wait()


def test_a_process_is_told_apart_from_a_later_one_by_its_start_time_and_command():
    first = subprocess.Popen(["sleep", "30"])
    try:
        deadline = time.monotonic() + 10
        while command_line(first.pid) != ["sleep", "30"]:  # until the child has exec'd
            assert time.monotonic() < deadline, command_line(first.pid)
            time.sleep(0.02)
        started = started_at(first.pid)
        assert started is not None and abs(started + psutil.boot_time() - time.time()) < 60
    finally:
        first.kill()
        first.wait()
    second = subprocess.Popen(["sleep", "31"])
    try:
        assert started_at(second.pid) is not None and (second.pid, started_at(second.pid)) != (
            first.pid,
            started,
        )
    finally:
        second.kill()
        second.wait()


def test_an_exited_process_that_nobody_reaped_yet_has_stopped():
    """A server from an earlier `make server` is not our child: once it exits it stays a zombie
    until its parent reaps it (`end_process` must not wait for that). Here the parent is a
    `sleep` that never does. The orphan (`cat`) exits only when the test closes its pipe, after
    the shell has become that `sleep`: a shell that saw it exit first could reap it."""
    read_end, write_end = os.pipe()
    parent = subprocess.Popen(
        # A background job's stdin is /dev/null unless redirected: the pipe goes through fd 3.
        ["sh", "-c", "exec 3<&0; cat <&3 >/dev/null & echo $!; exec sleep 30 3<&-"],
        stdin=read_end,
        stdout=subprocess.PIPE,
        text=True,
    )
    os.close(read_end)
    try:
        orphan = int(parent.stdout.readline())
        deadline = time.monotonic() + 10
        while command_line(parent.pid) != ["sleep", "30"]:
            assert time.monotonic() < deadline, command_line(parent.pid)
            time.sleep(0.02)
        assert still_running(orphan)
        os.close(write_end)
        write_end = None
        while not is_zombie(orphan):
            assert time.monotonic() < deadline + 10, "the orphan never exited"
            time.sleep(0.05)
        assert not still_running(orphan)
        assert still_running(parent.pid)
    finally:
        if write_end is not None:
            os.close(write_end)
        parent.kill()
        parent.wait()
