"""A job the scheduler ended, as submitit reports it: the state, the reason, whether to retry."""

import pytest
from submitit.core.utils import FailedJobError, UncompletedJobError

from pipeline.search.sweeper.lost_jobs import lost_job, node_in_state


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


def test_the_lost_run_is_found_among_a_requeued_jobs_runs():
    # `sacct -n -X -P -D -j 3 -o State,NodeList` after node2 failed and SLURM started the
    # requeued job on node1 (which the sweeper then cancelled).
    listed = "NODE_FAIL|node2\nCANCELLED by 0|node1\n"
    assert node_in_state(listed, "NODE_FAIL") == "node2"
    assert node_in_state(listed, "CANCELLED") == "node1"
    assert node_in_state(listed, "TIMEOUT") is None
    assert node_in_state("", "NODE_FAIL") is None
