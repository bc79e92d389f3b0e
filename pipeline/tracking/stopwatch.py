"""The time a run spends in tracking code, so its cost is measured inside every run."""

import time


class Stopwatch:
    """Sums the seconds spent inside `with stopwatch:` blocks."""

    def __init__(self):
        self.seconds = 0.0

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc_info):
        self.seconds += time.perf_counter() - self._start
