"""Where a training job's time goes: seconds per phase, written to `timings.json` in its run
directory at the job's end (read by `python -m pipeline.bench --sections search`, and by
anyone asking why a short job took as long as it did).

Phases are plain names: one float for the job's one-off phases (`runtime_s`, `data_s`, `model_s`,
`test_evaluation_s`, ...), one float per epoch for the per-epoch ones (`train_s`,
`validation_s`, `checkpoint_s`, `epoch_tracking_s`). The first epoch's `train_s` includes
tracing the model's step; `job_s` is the whole job, so what the phases leave out of it
(the run summary, metrics.json, the lease) is visible too.
"""

import time
from contextlib import contextmanager
from pathlib import Path

from pipeline.checkpoints import write_json_atomically

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
