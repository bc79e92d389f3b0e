"""Benchmark: the same search with and without pruning (for `make bench`).

Both arms run the default search (conf/search/default.yaml) with the same seeds, budget
and trial count, each in a study of its own; only the pruner differs. Epochs trained are
counted from the storage (one intermediate value per epoch), so the figure is the
work actually done, pruned trials included.
"""

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline import PROJECT_ROOT
from pipeline.bench.hydra_multirun import multirun


def epochs_trained(study) -> int:
    return sum(len(trial.intermediate_values) for trial in study.trials)


def pruning_benchmark(
    overrides: Sequence[str] = (), pruner: str = "median", workdir: Path | None = None
) -> dict[str, Any]:
    """Run both arms; return epochs trained and best validation accuracy per arm, and the
    with/without ratios. `overrides` (e.g. trainer=smoke, hydra.sweeper.n_trials=...) apply to
    both; `pruner` is a hydra/sweeper/pruner option."""
    from pipeline.train import main

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(workdir or scratch)
        isolated = [
            f"paths.output_dir={root}/outputs",
            f"paths.mlruns_dir={root}/mlruns",
            f"tracking.uri=sqlite:///{root}/mlruns/mlflow.db",
            "hydra.sweeper.plots=false",
        ]
        result: dict[str, Any] = {}
        for arm, arm_pruner in {"without_pruning": "none", "with_pruning": pruner}.items():
            study = multirun(
                PROJECT_ROOT / "conf",
                "config",
                main.__wrapped__,
                [
                    "+search=default",
                    f"hydra/sweeper/pruner={arm_pruner}",
                    f"hydra.sweeper.study_name=bench-{arm}",
                    f"hydra.sweep.dir={root}/sweeps/{arm}",
                    *isolated,
                    *overrides,
                ],
            )
            result[arm] = {
                "epochs": epochs_trained(study),
                "best_val_accuracy": study.best_value,
                "trials": len(study.trials),
            }
    with_, without = result["with_pruning"], result["without_pruning"]
    result["epoch_ratio"] = with_["epochs"] / without["epochs"]
    result["accuracy_gap_points"] = 100 * (
        without["best_val_accuracy"] - with_["best_val_accuracy"]
    )
    return result
