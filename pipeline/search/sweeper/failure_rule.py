"""`max_failure_rate` as the hydra-optuna-sweeper it replaces meant it: the share of a batch of
`n_jobs` trials that may fail; a batch with more failures stops the search.

That plugin ran trials in batches of `n_jobs` and checked `failures / batch_size >
max_failure_rate` after each; here slots start a trial as soon as one ends, so the batch is
the worker's last `n_jobs` finished trials. At 1.0 failures never stop the search there, and
its `n_trials` asks bounded it; here failed trials are replaced, so `n_trials` failures in a
row stop it instead (an objective that always fails would otherwise be asked for ever).
"""

from collections import deque


class FailureRule:
    def __init__(self, max_failure_rate: float, batch: int, n_trials: int):
        self.rate, self.batch, self.n_trials = max_failure_rate, max(1, batch), n_trials
        self.last = deque(maxlen=self.batch)  # whether each of the last `batch` trials failed
        self.in_a_row = 0

    def record(self, failed: bool) -> bool:
        """Note a finished trial; True when the search must stop."""
        self.last.append(failed)
        self.in_a_row = self.in_a_row + 1 if failed else 0
        batch_failed = failed and sum(self.last) / self.batch > self.rate
        return batch_failed or self.in_a_row >= self.n_trials

    def explain(self) -> str:
        if self.in_a_row >= self.n_trials:
            return f"{self.in_a_row} trials failed in a row (n_trials={self.n_trials})"
        return (
            f"{sum(self.last)} of the last {self.batch} trials failed, more than "
            f"max_failure_rate={self.rate:g} allows"
        )
