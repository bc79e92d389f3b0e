"""Ctrl-C (or SIGTERM) ends a command with one line and the shell's status for it, no traceback.

TF-free: the entry point wraps everything in `exits_on_interrupt()`; training raises
`TrainingInterrupted` with the line that says where it stopped and how to go on.

While a training runs (`signals_recorded()`), a signal is only recorded; the run acts on it at
its next `check_for_stop()`: every batch and every phase boundary. A KeyboardInterrupt raised
from inside a library (a finaliser, a bare `except`, a C callback) can be swallowed there; a
recorded signal cannot. A second Ctrl-C raises at once, for a run stuck between checks.
"""

import signal
import sys
import threading
from contextlib import contextmanager

EXIT_INTERRUPTED = 130  # 128 + SIGINT: what shells report for Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM


class TrainingInterrupted(KeyboardInterrupt):
    """A training stopped by Ctrl-C or SIGTERM; `str()` is the line for the user."""

    def __init__(self, line: str, exit_status: int = EXIT_INTERRUPTED):
        super().__init__(line)
        self.exit_status = exit_status


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so cleanup runs (the default action skips it)."""


_received: list[int] = []  # signals recorded and not acted on yet


def stop_requested() -> bool:
    return bool(_received)


def received_signal() -> int | None:
    """The first signal recorded and not acted on yet."""
    return _received[0] if _received else None


def check_for_stop() -> None:
    """Act on a recorded signal: raise `Terminated` (SIGTERM) or KeyboardInterrupt (Ctrl-C)."""
    if not _received:
        return
    number = _received[0]
    if number == signal.SIGTERM:
        raise Terminated("SIGTERM")
    raise KeyboardInterrupt


def _record(number: int, _frame) -> None:
    if _received and number == signal.SIGINT:  # asked twice: do not wait for the next check
        raise KeyboardInterrupt
    _received.append(number)


@contextmanager
def signals_recorded():
    """Inside, Ctrl-C and SIGTERM are recorded for `check_for_stop()` (main thread only). An
    inherited "ignore" stays: a job started in the background of a script ignores Ctrl-C, as
    Python's own handler would."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number, handler in previous.items():
        if handler != signal.SIG_IGN:
            signal.signal(number, _record)
    _received.clear()
    try:
        yield
    finally:
        for number, handler in previous.items():
            if handler is not None:  # None: a handler not set from Python, nothing to restore
                signal.signal(number, handler)
        _received.clear()


def interrupt_behind(error: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C (or SIGTERM) behind an exception, if any. Code interrupted half-way through
    writing a file can fail again while cleaning up (seen: OSError EBADF), and that error
    then hides the KeyboardInterrupt it was raised while handling."""
    while error is not None:
        if isinstance(error, KeyboardInterrupt):
            return error
        error = error.__context__
    return None


@contextmanager
def exits_on_interrupt():
    """A KeyboardInterrupt becomes its one line on stderr and the exit status 130 (143)."""
    try:
        yield
    except TrainingInterrupted as interrupt:
        print(f"interrupted: {interrupt}", file=sys.stderr)
        sys.exit(interrupt.exit_status)
    except KeyboardInterrupt:
        print("interrupted before training started; nothing was trained", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
