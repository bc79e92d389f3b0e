"""What tracking costs: the same training with tracking on and off, in one process.

`python -m pipeline.bench.tracking_overhead [overrides...]` prints both wall times and the
ratio; `make bench` can call `measure_overhead`. A warm-up run first, so neither side
pays TensorFlow's one-off start-up (tracing, thread pools); then the two alternate.
"""

import sys
import tempfile
import time
from pathlib import Path

from omegaconf import DictConfig

from pipeline.config.compose import compose_config
from pipeline.tracking.store import prepare_store


def _config(overrides: list[str], store: Path, tracking: bool) -> DictConfig:
    return compose_config(
        f"paths.output_dir={store}/outputs",
        f"paths.mlruns_dir={store}/mlruns",
        f"tracking.enabled={str(tracking).lower()}",
        "trainer.resume=false",
        *overrides,
    )


def _timed_training(cfg: DictConfig, run_dir: Path) -> float:
    from pipeline.training.run import train_and_evaluate

    run_dir.mkdir(parents=True)
    if cfg.tracking.enabled:  # as the Hydra callback does before a job: not part of the job's time
        prepare_store(cfg.tracking.uri, cfg.tracking.connect_timeout)
    start = time.perf_counter()
    train_and_evaluate(cfg, run_dir)
    return time.perf_counter() - start


def _in_run_cost(cfg: DictConfig, run_dir: Path) -> tuple[float, float]:
    """Seconds the tracked run spent in tracking code (its `tracking/seconds` metric) and in
    its epochs (training and validation)."""
    from mlflow import MlflowClient

    from pipeline.run_state import load_state
    from pipeline.tracking.records import TRACKING_SECONDS_METRIC
    from pipeline.tracking.tracker import RUN_ID_KEY

    state = load_state(run_dir)
    run = MlflowClient(cfg.tracking.uri).get_run(state.extra[RUN_ID_KEY])
    return run.data.metrics[TRACKING_SECONDS_METRIC], sum(state.history["epoch_time"])


def measure_overhead(overrides: list[str], repeats: int = 1) -> dict[str, float]:
    """Seconds per training without and with tracking (the fastest of `repeats` each) and
    their ratio minus one: the share of training time tracking adds. Wall times of whole
    runs vary by more than the 2% budget on a busy machine, so the tracked runs also report
    the time spent inside tracking code against their epochs' time (`in_run_share`)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp)
        untracked, tracked = (
            _config(overrides, store, tracking=False),
            _config(overrides, store, tracking=True),
        )
        _timed_training(untracked, store / "outputs" / "warm-up")
        off, on, in_run = [], [], []
        for i in range(repeats):
            off.append(_timed_training(untracked, store / "outputs" / f"off-{i}"))
            on.append(_timed_training(tracked, store / "outputs" / f"on-{i}"))
            in_run.append(_in_run_cost(tracked, store / "outputs" / f"on-{i}"))
    tracking_s, epochs_s = min(in_run, key=lambda cost: cost[0] / cost[1])
    return {
        "untracked_s": min(off),
        "tracked_s": min(on),
        "overhead": min(on) / min(off) - 1,
        "in_run_tracking_s": tracking_s,
        "in_run_epochs_s": epochs_s,
        "in_run_share": tracking_s / epochs_s,
    }


if __name__ == "__main__":
    result = measure_overhead(sys.argv[1:])
    print(
        f"untracked {result['untracked_s']:.1f} s  tracked {result['tracked_s']:.1f} s  "
        f"overhead {result['overhead']:+.1%}  in-run: {result['in_run_tracking_s']:.2f} s of tracking "
        f"for {result['in_run_epochs_s']:.1f} s of epochs ({result['in_run_share']:.1%})"
    )
