"""Jobs a scheduler ended before they could report: their node was lost, someone cancelled
them, they ran out of time or memory. submitit's launcher then raises instead of returning
the job's result; the trial fails with the scheduler's reason, and a job that lost its node
is queued again (same parameters, up to `max_retry`), as a trial whose worker died is.

SLURM requeues a batch job whose node failed on its own; the sweeper runs the retry itself,
so it cancels that requeue: the trial never runs twice at once. A sweeper stopped by Ctrl-C or
SIGTERM cancels the jobs it submitted, queued and running, rather than leave them orphaned."""

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

# submitit's UncompletedJobError: "Job 12 (task: 0) with path ...\nhas not produced any output
# (state: NODE_FAIL)", or "Job 12 ... timed-out too many times."
_NO_OUTPUT = re.compile(r"Job (\d+)\b.*?\(state: ([A-Z_]+)", re.DOTALL)
_TIMED_OUT = re.compile(r"Job (\d+)\b.*?timed-out", re.DOTALL)
LOST_NODE = {"NODE_FAIL", "BOOT_FAIL", "PREEMPTED"}  # the scheduler's fault, not the trial's
WHAT_HAPPENED = {
    "NODE_FAIL": "lost its node",
    "BOOT_FAIL": "lost its node at boot",
    "PREEMPTED": "was preempted",
    "CANCELLED": "was cancelled",
    "TIMEOUT": "ran out of time",
    "DEADLINE": "passed its deadline",
    "OUT_OF_MEMORY": "ran out of memory",
}


@dataclass
class LostJob:
    job_id: str
    state: str

    @property
    def retry(self) -> bool:
        return self.state in LOST_NODE

    def reason(self, host: str | None) -> str:
        where = f" on {host}" if host else ""
        what = WHAT_HAPPENED.get(self.state, "ended")
        return f"SLURM job {self.job_id}{where} {what} ({self.state})"


def lost_job(error: BaseException) -> LostJob | None:
    """The job behind a launcher's error when the scheduler ended it; None for other errors."""
    if type(error).__name__ != "UncompletedJobError":  # submitit's, not imported: optional
        return None
    text = str(error)
    if match := _NO_OUTPUT.search(text):
        return LostJob(match[1], match[2].split()[0])
    if match := _TIMED_OUT.search(text):
        return LostJob(match[1], "TIMEOUT")
    return None


def where_lost(job: LostJob) -> str | None:
    """The node of the job's run that ended in `job.state`, as SLURM's accounting lists it;
    None where it cannot tell (no accounting, or not SLURM).

    The trial's own record of its host is not enough: SLURM may requeue a job that lost its
    node and start it on another before the sweeper cancels that requeue, and the new run
    records its host over the lost one's. `sacct -D` lists every run of a requeued job."""
    try:
        listed = subprocess.run(
            ["sacct", "-n", "-X", "-P", "-D", "-j", job.job_id, "-o", "State,NodeList"],
            capture_output=True,
            text=True,
            timeout=10,  # accounting away: the trial's own record will do
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = node_in_state(listed.stdout, job.state)
    if found is None and job.retry:  # accounting may keep a requeued run's record as REQUEUED
        found = node_in_state(listed.stdout, "REQUEUED")
    return found


def node_in_state(sacct_lines: str, state: str) -> str | None:
    """The node list of the last `State|NodeList` line whose state (less its "by UID") is
    `state`."""
    nodes = [
        node
        for line in sacct_lines.splitlines()
        if "|" in line
        for listed_state, node in [line.split("|", 1)]
        if listed_state.split() and listed_state.split()[0] == state and node
    ]
    return nodes[-1] if nodes else None


def cancel_requeue(job: LostJob) -> None:
    """SLURM's own requeue of a job that lost its node, cancelled (best effort: the job may be
    gone already)."""
    if job.retry:
        cancel_jobs([job.job_id])


def submitted_jobs(sweep_dir: Path) -> list[str]:
    """The SLURM jobs this sweep submitted that have not returned a result, from the files
    submitit keeps per job (`<id>_submitted.pkl`, then `<id>_<task>_result.pkl`) under the
    sweep's `.submitit/`."""
    return sorted(
        submitted.name.split("_")[0]
        for submitted in (sweep_dir / ".submitit").glob("**/*_submitted.pkl")
        if not any(submitted.parent.glob(f"{submitted.name.split('_')[0]}_*_result.pkl"))
    )


def cancel_jobs(job_ids: list[str]) -> None:
    if job_ids:
        subprocess.run(["scancel", *job_ids], capture_output=True, timeout=60)
