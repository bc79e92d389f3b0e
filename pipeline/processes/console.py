"""What a training command shows on the terminal: its own lines, not the libraries' noise.

Silenced unless `PIPELINE_LIBRARY_LOGS=1`: TensorFlow's C++ start-up lines (CUDA stubs, CPU
features, a failed `cuInit` on a machine without a GPU), MLflow's INFO lines and the Python
warnings listed below, none of which a user can act on. TensorFlow's lines come from absl,
which writes everything logged before its own initialisation straight to file descriptor 2
whatever TF_CPP_MIN_LOG_LEVEL says; so TensorFlow is imported, and its devices found, with
that descriptor pointed at /dev/null.

Imports nothing heavy: the entry point calls `quiet_libraries()` before MLflow or TensorFlow
is imported, since both read their log levels once, on import.
"""

import logging
import os
import re
import signal
import subprocess
import sys
import warnings
from collections.abc import Iterable
from contextlib import contextmanager
from typing import IO

LIBRARY_LOGS_ENV = "PIPELINE_LIBRARY_LOGS"
# absl's line prefix (I1123, W0000, E..., F...): TensorFlow's C++ start-up lines in a server
# process that imports it, which no log level silences (see above).
ABSL_LINE = re.compile(r"^[IWEF]\d{4} ")
# TF_CPP_MIN_LOG_LEVEL=2: TensorFlow's C++ INFO and WARNING lines go; its errors stay. With a
# tracking server MLflow also prints "View run ... at" after every run (the pipeline prints its
# own line) and download progress bars (`make serve`).
_QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "MLFLOW_LOGGING_LEVEL": "WARNING",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}
# urllib3 warns on every retry of a request to a tracking server that is away: a wall of lines
# for one event that MLflow reports itself if it gives up.
_QUIET_LOGGERS = {"mlflow": None, "urllib3": logging.ERROR}
# Python warnings nobody running the pipeline can act on: (message regex, category).
_UNACTIONABLE_WARNINGS = (
    # MLflow registers its local-file dataset source twice (for the "" and "file" schemes)
    # and then warns that a local path matches both of these identical classes.
    (r"The specified dataset source can be interpreted in multiple ways", UserWarning),
)


def first_line(error: BaseException, limit: int | None = 200) -> str:
    """An error as a fragment of one terminal line: the first line of its message (its type
    when it has none), at most `limit` characters."""
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:limit]


def library_logs_wanted() -> bool:
    return os.environ.get(LIBRARY_LOGS_ENV, "").lower() not in ("", "0", "false", "no")


def quiet_libraries() -> None:
    """Lower the libraries' log levels (values the user set in the environment win)."""
    if library_logs_wanted():
        return
    for name, value in _QUIET_ENV.items():
        os.environ.setdefault(name, value)  # inherited by jobs a launcher starts elsewhere
    for name, level in _QUIET_LOGGERS.items():  # MLflow's: if already imported
        logging.getLogger(name).setLevel(level or os.environ["MLFLOW_LOGGING_LEVEL"])
    for message, category in _UNACTIONABLE_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)


@contextmanager
def _stderr_descriptor_silenced():
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@contextmanager
def _scikit_learn_hidden():
    """`import sklearn` fails inside: Keras's scikit-learn wrappers, which this project never
    uses, import scikit-learn whenever it is installed (MLflow installs it), about a second of
    every process that imports TensorFlow. Keras defines them without it; a later
    `import sklearn` (Optuna's importances) works as usual."""
    if "sklearn" in sys.modules:
        yield
        return
    sys.modules["sklearn"] = None  # the import system's "not importable" mark
    try:
        yield
    finally:
        if "sklearn" in sys.modules and sys.modules["sklearn"] is None:
            del sys.modules["sklearn"]


def import_tensorflow() -> None:
    """Import TensorFlow and find its devices (where `cuInit` fails without a GPU), quietly
    unless library logs are wanted. Finding devices does not start the runtime, so thread
    settings still apply afterwards."""
    # libpq before TensorFlow: TensorFlow makes its own TLS library's symbols global, and a
    # libpq loaded after it calls those, so a TLS connection to PostgreSQL (a search's storage
    # beyond loopback) crashes the process with `free(): invalid pointer`.
    import psycopg  # noqa: F401

    with _scikit_learn_hidden():
        if library_logs_wanted():
            import tensorflow  # noqa: F401
        else:
            with _stderr_descriptor_silenced():
                import tensorflow as tf

                tf.config.list_physical_devices()


def without_library_lines(lines: Iterable[str], out: IO[str]) -> None:
    """Copy `lines` to `out`, less absl's (unless library logs are wanted)."""
    keep_all = library_logs_wanted()
    for line in lines:
        if keep_all or not ABSL_LINE.match(line):
            out.write(line)
            out.flush()


def run_quietly(command: list[str], env: dict[str, str]) -> int:
    """Run a server `command` in a session of its own, its stderr without absl's lines; Ctrl-C
    and SIGTERM reach all of its processes. Returns its exit status."""
    started: list[subprocess.Popen] = []
    pending: list[int] = []  # a signal that came before the server had started

    def forward(number, _frame):
        if not started:
            pending.append(number)
            return
        try:
            os.killpg(started[0].pid, number)
        except ProcessLookupError:
            pass

    for number in (signal.SIGINT, signal.SIGTERM):  # before the start: no signal is lost
        signal.signal(number, forward)
    started.append(
        subprocess.Popen(
            command, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
    )
    for number in pending:
        forward(number, None)
    without_library_lines(started[0].stderr, sys.stderr)
    return started[0].wait()
