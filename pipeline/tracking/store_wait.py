"""Requests the launching process makes itself (a multirun's parent run: its summary and its
end), waiting out a store that is away as a run's queue does, within the same bounds."""

import sys
import time
from collections.abc import Callable

from pipeline.processes.console import first_line
from pipeline.tracking.delivery import is_transient

_FIRST_BACKOFF = 0.5


class StoreWait:
    """`attempt(action)` until it succeeds, a refusal, or `seconds` (shared by every attempt)
    have passed; one line when the store goes away, one when it is back."""

    def __init__(self, where: str, seconds: float, max_backoff: float, what: str):
        self.where, self.what, self.max_backoff = where, what, max_backoff
        self.deadline = time.monotonic() + seconds
        self._away_since: float | None = None

    def attempt(self, action: Callable[[], None]) -> BaseException | None:
        """None once `action()` ran through; else the error it last raised."""
        backoff = _FIRST_BACKOFF
        while True:
            try:
                action()
            except Exception as error:  # noqa: BLE001  (the store's errors are many kinds)
                if not is_transient(error) or time.monotonic() + backoff > self.deadline:
                    return error
                self._went_away(error)
                time.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            self._came_back()
            return None

    def _went_away(self, error: BaseException) -> None:
        if self._away_since is None:
            self._away_since = time.monotonic()
            say(f"tracking: {self.where} is away ({first_line(error)}); {self.what} waits for it")

    def _came_back(self) -> None:
        if self._away_since is not None:
            say(f"tracking: {self.where} is back after {time.monotonic() - self._away_since:.0f} s")
            self._away_since = None


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
