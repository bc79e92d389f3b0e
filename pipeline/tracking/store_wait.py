"""Requests the launching process makes itself (a multirun's parent run: its summary and its
end), waiting out a store that is away as a run's queue does, within the same bounds."""

from collections.abc import Callable

from pipeline.processes.console import first_line
from pipeline.processes.patience import Patience
from pipeline.tracking.delivery import FIRST_BACKOFF, is_transient


class StoreWait(Patience):
    """`attempt(action)` while the store has been away for less than `seconds`; one line when it
    goes away, one when it is back."""

    def __init__(self, where: str, seconds: float, max_backoff: float, what: str):
        super().__init__(seconds, FIRST_BACKOFF, max_backoff)
        self.where, self.what = where, what

    def attempt(self, action: Callable[[], None]) -> Exception | None:
        """None once `action()` ran through; else the error it last raised."""
        try:
            self.call(action)
        except Exception as error:  # noqa: BLE001  (the store's errors are many kinds)
            return error
        return None

    def transient(self, error: BaseException) -> bool:
        return is_transient(error)

    def away_line(self, error: BaseException) -> str:
        return f"tracking: {self.where} is away ({first_line(error)}); {self.what} waits for it"

    def back_line(self, seconds_away: float) -> str:
        return f"tracking: {self.where} is back after {seconds_away:.0f} s"
