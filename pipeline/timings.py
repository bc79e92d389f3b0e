"""Where a training job's time goes: seconds per phase, written to `timings.json` in its run
directory at the job's end (read by `python -m pipeline.bench --sections search`, and by
anyone asking why a short job took as long as it did).

Phases are plain names: one float for the job's one-off phases (`runtime_s`, `data_s`, `model_s`,
`test_evaluation_s`, ...), one float per epoch for the per-epoch ones (`train_s`,
`validation_s`, `checkpoint_s`, `epoch_tracking_s`). The first epoch's `train_s` includes
tracing the model's step; `job_s` is the whole job, so what the phases leave out of it
(the run summary, metrics.json, the lease) is visible too.
"""

import json
import time
from contextlib import contextmanager
from pathlib import Path
from statistics import mean, median

from pipeline.run_state import write_json_atomically

TIMINGS_FILE = "timings.json"


class JobTimings:
    def __init__(self):
        self._start = time.perf_counter()
        self.phases: dict[str, float | list[float]] = {}

    def add(self, phase: str, seconds: float) -> None:
        """One-off phases: repeated calls add up."""
        self.phases[phase] = self.phases.get(phase, 0.0) + seconds

    def append(self, phase: str, seconds: float) -> None:
        """Per-epoch phases: one value per call."""
        self.phases.setdefault(phase, []).append(seconds)

    @contextmanager
    def measure(self, phase: str, per_epoch: bool = False):
        start = time.perf_counter()
        try:
            yield
        finally:
            (self.append if per_epoch else self.add)(phase, time.perf_counter() - start)

    def write(self, run_dir: Path) -> None:
        self.phases["job_s"] = time.perf_counter() - self._start
        write_json_atomically(Path(run_dir) / TIMINGS_FILE, self.phases)


class Stopwatch:
    """Sums the seconds spent inside `with stopwatch:` blocks."""

    def __init__(self):
        self.seconds = 0.0

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc_info):
        self.seconds += time.perf_counter() - self._start


# Reading timings.json back (the benchmarks): where a job's time went, by part.
#
# The file's keys: `job_s` (the whole job), once per job `runtime_s`, `data_s`,
# `model_s`, `tracking_start_s`, `test_evaluation_s`, `results_tracking_s` (which contains
# `figures_s`), `tracking_wait_s` (the end's wait for the tracking queue, where the model
# upload usually falls; `model_upload_s`, measured in the sending thread, overlaps it and is
# left out of the sum), and per epoch `train_s`, `validation_s`, `checkpoint_s`,
# `epoch_tracking_s`, `train_batches`. A phase a job skipped is absent (0 here). Tracing a new
# model falls in the job's first step (`first_batch_s`): tracing is that step's time less an
# ordinary step of the same epoch (for older files, the first epoch less the median of the
# later ones). What a process spends outside its jobs (interpreter, TensorFlow's import,
# Hydra, the sweeper, the MLflow parent run) is its wall time minus the jobs' `job_s`.
# Runs from before the file existed have none: the breakdown is then empty, not an error.


ONCE = (
    "runtime_s",
    "data_s",
    "model_s",
    "tracking_start_s",
    "test_evaluation_s",
    "figures_s",
    "tracking_wait_s",
)
PER_EPOCH = ("validation_s", "checkpoint_s", "epoch_tracking_s")


def job_parts(timings: dict) -> dict[str, float]:
    """One job's seconds by part; `other_in_job_s` is what no part accounts for."""
    train = list(timings.get("train_s", []))
    parts = {key: float(timings.get(key, 0.0)) for key in ONCE}
    parts.update({key: float(sum(timings.get(key, []))) for key in PER_EPOCH})
    # results_tracking_s wraps the figures: only the rest is its own
    parts["results_metrics_and_files_s"] = (
        float(timings.get("results_tracking_s", 0.0)) - parts["figures_s"]
    )
    tracing = _tracing_seconds(timings, train)
    parts["tracing_s"] = tracing
    parts["training_steps_s"] = float(sum(train)) - tracing
    parts["other_in_job_s"] = float(timings.get("job_s", 0.0)) - sum(parts.values())
    return parts


def _tracing_seconds(timings: dict, train: list[float]) -> float:
    """The first step's time beyond an ordinary step of the same epoch (measured); for jobs
    without the first step's time, the first epoch's beyond the median of the later ones."""
    first, batches = timings.get("first_batch_s"), timings.get("train_batches", [])
    if first is not None and batches and batches[0] > 1:
        return max(first - (train[0] - first) / (batches[0] - 1), 0.0)
    # With a single epoch tracing cannot be told apart from the steps: it stays in training_steps_s.
    return max(train[0] - median(train[1:]), 0.0) if len(train) > 1 else 0.0


def read_timings(root: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(root.rglob(TIMINGS_FILE))]


def trial_breakdown(root: Path, process_wall_s: float) -> dict[str, float]:
    """Mean seconds per job of each part, for the jobs of one process under `root`; plus the
    process's time outside its jobs, per job. Empty when the jobs wrote no timings."""
    jobs = read_timings(root)
    if not jobs:
        return {}
    per_job = [job_parts(timings) for timings in jobs]
    breakdown = {key: mean(parts[key] for parts in per_job) for key in per_job[0]}
    breakdown["job_s"] = mean(float(timings.get("job_s", 0.0)) for timings in jobs)
    breakdown["outside_jobs_s"] = (
        process_wall_s - sum(float(t.get("job_s", 0.0)) for t in jobs)
    ) / len(jobs)
    breakdown["jobs"] = len(jobs)
    return breakdown
