"""Calls that wait out a server that is away, for the Optuna storage and for the requests a
multirun's launching process makes to its tracking store.

A call that fails for a reason an outage explains is tried again, with backoff, until the
server has been away for `seconds`; then its last error is raised (`gave_up` may put another in
its place). The first failure is one line on stderr, the recovery another. Subclasses say
what is transient and what the two lines read; an instance is picklable (launchers pickle the
Optuna storage into their workers), and the outage clock starts anew in the copy.
"""

import sys
import time


class Patience:
    def __init__(self, seconds: float, first_backoff: float, max_backoff: float):
        self.seconds, self.first_backoff, self.max_backoff = seconds, first_backoff, max_backoff
        self._away_since: float | None = None

    def transient(self, error: BaseException) -> bool:
        raise NotImplementedError

    def away_line(self, error: BaseException) -> str:
        raise NotImplementedError

    def back_line(self, seconds_away: float) -> str:
        raise NotImplementedError

    def gave_up(self, error: BaseException) -> BaseException:
        """What to raise once the server has been away for `seconds`: by default its error."""
        return error

    def call(self, call, *args, **kwargs):
        backoff = self.first_backoff
        while True:
            try:
                result = call(*args, **kwargs)
            except Exception as error:
                if not self.transient(error):
                    raise
                now = time.monotonic()
                if self._away_since is None:
                    self._away_since = now
                    say(self.away_line(error))
                if now - self._away_since >= self.seconds:
                    failure = self.gave_up(error)
                    if failure is error:
                        raise
                    raise failure from None
                time.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            if self._away_since is not None:
                away, self._away_since = time.monotonic() - self._away_since, None
                say(self.back_line(away))
            return result

    def __getstate__(self):
        return {**self.__dict__, "_away_since": None}


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
