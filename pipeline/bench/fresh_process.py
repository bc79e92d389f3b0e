"""Whole commands as fresh `python` processes, timed from start to exit, their output in a log file.

The search benchmarks compare whole processes, interpreter and TensorFlow start included, so
every arm starts the same way: the venv's python, from the project root, the same environment.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

from pipeline import PROJECT_ROOT

# Both arms get the same environment; TensorFlow's C++ INFO lines would only fill the logs.
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


class CommandFailed(RuntimeError):
    """A benchmarked command exited non-zero; the message ends with its log's last lines."""


def start(args: list[str], log: Path) -> subprocess.Popen:
    """`python ARGS` in the background, stdout and stderr into `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, *args], cwd=PROJECT_ROOT, env=ENV, stdout=out, stderr=subprocess.STDOUT
        )


def wait_all(processes: list[subprocess.Popen], logs: list[Path]) -> None:
    """Wait for every process; raise with the log of the first that failed."""
    codes = [process.wait() for process in processes]
    for code, log, process in zip(codes, logs, processes, strict=False):
        if code != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
            raise CommandFailed(
                f"{' '.join(map(str, process.args[1:]))} exited {code}; log {log}:\n{tail}"
            )


def run_together(commands: list[list[str]], logs: list[Path]) -> float:
    """Start every command at once; seconds until the last one exits."""
    started = time.perf_counter()
    processes = [start(args, log) for args, log in zip(commands, logs, strict=False)]
    wait_all(processes, logs)
    return time.perf_counter() - started


def run_timed(args: list[str], log: Path) -> float:
    """Seconds from starting `python ARGS` to its exit."""
    return run_together([args], [log])
