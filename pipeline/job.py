"""A training job's context: what its phases, its callbacks and its tracking all read."""

from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig

from pipeline.data import Splits
from pipeline.run_state import RunState
from pipeline.timings import JobTimings


@dataclass
class Job:
    cfg: DictConfig  # the composed config
    run_dir: Path  # its output folder (checkpoints, metrics.json, timings.json, tracking queue)
    state: RunState  # completed epochs and history, updated as it trains
    splits: Splits  # the data, limited to the configured sample counts
    timings: JobTimings  # seconds per phase
