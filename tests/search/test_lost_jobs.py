"""A job the scheduler ended, as submitit reports it: the state, the reason, whether to retry."""

import pytest
from submitit.core.utils import FailedJobError, UncompletedJobError

from pipeline.search.sweeper.lost_jobs import lost_job


def no_output(job_id: str, state: str) -> UncompletedJobError:
    return UncompletedJobError(
        f"Job {job_id} (task: 0) with path /sweep/.submitit/{job_id}/{job_id}_0_result.pkl\n"
        f"has not produced any output (state: {state})\nNo output/error stream produced !"
    )


@pytest.mark.parametrize(
    ("state", "reason", "retried"),
    [
        ("NODE_FAIL", "SLURM job 12 on node2 lost its node (NODE_FAIL)", True),
        ("CANCELLED by 0", "SLURM job 12 on node2 was cancelled (CANCELLED)", False),
        ("OUT_OF_MEMORY", "SLURM job 12 on node2 ran out of memory (OUT_OF_MEMORY)", False),
    ],
)
def test_a_job_ended_by_the_scheduler_fails_its_trial_with_the_reason(state, reason, retried):
    job = lost_job(no_output("12", state))
    assert job.reason("node2") == reason and job.retry is retried


def test_a_job_out_of_time_after_its_requeues():
    job = lost_job(UncompletedJobError("Job 7 (task: 0) timed-out too many times."))
    assert job.reason(None) == "SLURM job 7 ran out of time (TIMEOUT)" and not job.retry


def test_other_errors_are_not_the_schedulers():
    assert lost_job(FailedJobError("Job (task=0) failed during processing")) is None
    assert lost_job(RuntimeError("Job 3 (state: NODE_FAIL)")) is None
