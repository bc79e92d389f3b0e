"""Start-up costs: commands that must not import TensorFlow, and the first training step."""

import os
import subprocess
import sys
import time
from statistics import median

from pipeline import PROJECT_ROOT


def command_seconds(args: list[str], repeats: int) -> float:
    """Median wall time of a fresh `python ARGS` process."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, *args],
            cwd=PROJECT_ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - start)
    return median(times)


def first_step_seconds(cfg) -> dict:
    """The first training step (tracing and compiling the graph) against a steady one."""
    import numpy as np

    from pipeline.training.models import build_model
    from pipeline.training.optimizers import build_optimizer

    model = build_model(cfg.model)
    model.compile(
        optimizer=build_optimizer(cfg.optimizer, cfg.schedule, 100, 1),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (cfg.trainer.batch_size, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, cfg.trainer.batch_size, dtype=np.uint8)
    start = time.perf_counter()
    model.train_on_batch(images, labels)
    first = time.perf_counter() - start
    steady = []
    for _ in range(10):
        start = time.perf_counter()
        model.train_on_batch(images, labels)
        steady.append(time.perf_counter() - start)
    return {"first_step_s": first, "steady_step_s": median(steady)}
