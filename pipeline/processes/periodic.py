"""Doing something now and then every few seconds in a background thread, while inside a block:
a run renewing its lease, a search worker beating for its trial."""

import threading
from collections.abc import Callable
from contextlib import contextmanager


@contextmanager
def every(seconds: float, action: Callable[[], None], name: str):
    """`action()` at once, then every `seconds` until the block ends (also by an exception)."""
    stop = threading.Event()

    def repeat() -> None:
        while not stop.wait(seconds):
            action()

    action()
    thread = threading.Thread(target=repeat, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
