"""`max_failure_rate` means what it meant in hydra-optuna-sweeper: `failures / batch_size >
max_failure_rate` over a batch of `n_jobs` trials stops the search; 1.0 never does."""

import pytest

from pipeline.search.sweeper.failure_rule import FailureRule


def stops_after(rate: float, batch: int, outcomes: str, n_trials: int = 20) -> int | None:
    """The 1-based trial after which the rule stops the search ('F' failed, '.' finished), or None."""
    rule = FailureRule(rate, batch, n_trials)
    for number, outcome in enumerate(outcomes, start=1):
        if rule.record(outcome == "F"):
            return number
    return None


@pytest.mark.parametrize("rate", [0.0, 0.2, 0.5, 0.99])
def test_with_one_job_a_batch_is_one_trial_so_any_failure_stops_below_1(rate):
    assert stops_after(rate, 1, "..F..") == 3


@pytest.mark.parametrize(
    "rate, outcomes, stop",
    [
        (0.0, "..F", 3),  # any failure
        (0.2, ".F", 2),  # 1/2 > 0.2
        (0.5, ".F.F.F", None),  # one failure in each two: 1/2 is not more than 0.5
        (0.5, ".F.FF", 5),  # both of a batch: 2/2 > 0.5
    ],
)
def test_with_two_jobs_the_share_of_the_last_two_counts(rate, outcomes, stop):
    assert stops_after(rate, 2, outcomes) == stop


def test_at_1_failures_never_stop_it_but_n_trials_in_a_row_do():
    assert stops_after(1.0, 2, "F" * 4 + "." + "F" * 4, n_trials=5) is None
    assert stops_after(1.0, 2, "F" * 5, n_trials=5) == 5


def test_the_reason_names_the_rule():
    rule = FailureRule(0.2, 2, 20)
    rule.record(False)
    assert rule.record(True)
    assert rule.explain() == "1 of the last 2 trials failed, more than max_failure_rate=0.2 allows"
