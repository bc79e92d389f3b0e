"""Is a process on this machine still running? For the run's lease, the sweeper's dead-worker
check and the stack's server stop. A zombie (exited, its parent has not reaped it yet) has
stopped: it holds nothing and will do nothing more."""
import os
from pathlib import Path


def process_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # another user's: it exists
        pass
    return proc_stat(pid)[:1] != ["Z"]


def proc_stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the parenthesised command name (state, ppid, pgrp,
    ...); empty once the process has gone, or without /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return stat[stat.rindex(")") + 1:].split()
