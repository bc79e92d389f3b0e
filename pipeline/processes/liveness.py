"""Is a process on this machine still running, and is it still the one we mean? For the run's
lease, the sweeper's dead-worker check and the stack's and the cluster's stops, through psutil. A zombie
(exited, its parent has not reaped it yet) has stopped: it holds nothing and will do nothing
more. A pid can be reused: a process is told apart from a later one by its start time."""

import os
import signal
import time

import psutil


def process_running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # another user's: it exists
        return True


def started_at(pid: int) -> float | None:
    """When `pid` started, in seconds since this machine booted; None once it has gone. psutil's
    create_time adds the boot time, which moves when the clock is stepped: the difference does not."""
    try:
        return psutil.Process(pid).create_time() - psutil.boot_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def command_line(pid: int) -> list[str]:
    """`pid`'s arguments; empty once it has gone or when they cannot be read."""
    try:
        return psutil.Process(pid).cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return []


def end_process(pid: int, seconds: float, *, group: bool = False) -> None:
    """SIGTERM to `pid` (its process group with `group`), up to `seconds` for it to exit, then
    SIGKILL. A child of this process is reaped as it exits; one started by an earlier command is
    init's child, a zombie until init reaps it, and counts as ended."""
    send = os.killpg if group else os.kill
    send(pid, signal.SIGTERM)
    deadline = time.monotonic() + seconds
    while still_running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if still_running(pid):
        send(pid, signal.SIGKILL)


def still_running(pid: int) -> bool:
    """Whether `pid` still runs; reaps it first when it is this process's own child."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    return process_running(pid)
