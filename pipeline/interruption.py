"""Ctrl-C (or SIGTERM) ends a command with one line and the shell's status for it, no traceback.

TF-free: the entry point wraps everything in `exits_on_interrupt()`; training raises
`TrainingInterrupted` with the line that says where it stopped and how to go on.
"""
import sys
from contextlib import contextmanager
from typing import Optional

EXIT_INTERRUPTED = 130   # 128 + SIGINT: what shells report for Ctrl-C
EXIT_TERMINATED = 143    # 128 + SIGTERM


class TrainingInterrupted(KeyboardInterrupt):
    """A training stopped by Ctrl-C or SIGTERM; `str()` is the line for the user."""

    def __init__(self, line: str, exit_status: int = EXIT_INTERRUPTED):
        super().__init__(line)
        self.exit_status = exit_status


def interrupt_behind(error: BaseException) -> Optional[KeyboardInterrupt]:
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
