"""How fast the report answers on a store with many runs: `python -m pipeline.bench.report_speed`.

The store is synthetic, written with `MlflowClient.log_batch` in seconds: one multirun
whose jobs look like real ones to the report (parent with `sweep.*` params, children
with overrides, params and per-epoch metrics). Both sides are timed as fresh processes,
since the answer a user waits for includes MLflow's import and store start-up:
the report, and as the baseline one bare `mlflow.search_runs` of the same store.
"""

import itertools
import tempfile

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

from pipeline.bench.startup import command_seconds
from pipeline.report.aggregate import EPOCH_TIME, TEST_ACCURACY
from pipeline.report.runs import VAL_ACCURACY
from pipeline.tracking.records import (
    MULTIRUN_TAG,
    OPTUNA_STUDY_TAG,
    OPTUNA_TRIAL_TAG,
    OVERRIDES_TAG,
    PARENT_ID_TAG,
    PARENT_VALUE,
    SWEEP_PARAM_PREFIX,
    best_metric_name,
)

BENCH_EXPERIMENT = "smoke"  # the named experiment the report is asked about
SEARCH_EXPERIMENT = "tune"  # ... and for a search
SEARCH_TRIALS = 1000
BENCH_STUDY = "bench"
_OPTIMIZERS = ("sgd", "adam", "rmsprop", "nadam")
_DROPOUTS = ("0.0", "0.25", "0.4", "0.5", "0.7")
_FILLER_PARAMS = 60  # a real job logs about as many config leaves
_PER_CLASS_METRICS = 20  # and this many per-class test figures


def fill_synthetic_store(uri: str, experiment_name: str, seeds: int = 5, epochs: int = 5) -> str:
    """A finished multirun of optimizers x dropouts x `seeds` jobs (100 with the defaults); its parent's id."""
    client = MlflowClient(uri)
    experiment_id = client.create_experiment(experiment_name)
    parent = client.create_run(experiment_id, tags={MULTIRUN_TAG: PARENT_VALUE})
    client.log_batch(
        parent.info.run_id,
        params=[
            Param(f"{SWEEP_PARAM_PREFIX}optimizer", ",".join(_OPTIMIZERS)),
            Param(f"{SWEEP_PARAM_PREFIX}model.dropout", ",".join(_DROPOUTS)),
            Param(f"{SWEEP_PARAM_PREFIX}trainer.seed", ",".join(map(str, range(seeds)))),
        ],
    )
    jobs = itertools.product(enumerate(_OPTIMIZERS), enumerate(_DROPOUTS), range(seeds))
    for (o, optimizer), (d, dropout), seed in jobs:
        run = client.create_run(
            experiment_id,
            tags={
                PARENT_ID_TAG: parent.info.run_id,
                OVERRIDES_TAG: f"optimizer={optimizer} model.dropout={dropout} trainer.seed={seed}",
            },
        )
        accuracy = [
            0.9 + 0.01 * o + 0.002 * d + 0.001 * seed + 0.005 * epoch for epoch in range(epochs)
        ]
        metrics = [Metric(VAL_ACCURACY, value, 0, epoch) for epoch, value in enumerate(accuracy)]
        metrics += [Metric(EPOCH_TIME, 10.0 + o, 0, epoch) for epoch in range(epochs)]
        metrics += [
            Metric(TEST_ACCURACY, accuracy[-1], 0, epochs - 1),
            Metric(best_metric_name("val_accuracy"), max(accuracy), 0, epochs - 1),
        ]
        metrics += [
            Metric(f"test_per_class/recall_class_{i}", 0.9, 0, epochs - 1)
            for i in range(_PER_CLASS_METRICS)
        ]
        params = [
            Param("optimizer.name", optimizer),
            Param("model.dropout", dropout),
            Param("trainer.seed", str(seed)),
        ]
        params += [Param(f"filler.key_{i}", str(i)) for i in range(_FILLER_PARAMS)]
        client.log_batch(
            run.info.run_id, metrics=metrics, params=params, tags=[RunTag("optimizer", optimizer)]
        )
        client.set_terminated(run.info.run_id)
    client.set_terminated(parent.info.run_id)
    return parent.info.run_id


def fill_synthetic_search(
    uri: str, storage: str, experiment_name: str, trials: int = SEARCH_TRIALS, epochs: int = 5
) -> str:
    """A finished search of `trials` trials: an Optuna study (continuous learning rate and dropout,
    one in ten pruned, one in twenty failed) and its MLflow parent run with a child per trial."""
    import math

    import optuna

    client = MlflowClient(uri)
    experiment_id = client.create_experiment(experiment_name)
    parent = client.create_run(
        experiment_id, tags={MULTIRUN_TAG: PARENT_VALUE, OPTUNA_STUDY_TAG: BENCH_STUDY}
    )
    study = optuna.create_study(study_name=BENCH_STUDY, storage=storage, direction="maximize")
    space = {
        "optimizer.learning_rate": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True),
        "model.dropout": optuna.distributions.FloatDistribution(0.0, 0.7),
    }
    made = []
    for number in range(trials):
        lr, dropout = 10 ** (-4 + 3 * ((number * 0.618) % 1)), 0.7 * ((number * 0.382) % 1)
        curve = [
            0.9
            + 0.08 * (1 - math.exp(-epoch - 1))
            - 0.02 * abs(math.log10(lr) + 2.5)
            - 0.01 * dropout
            for epoch in range(epochs)
        ]
        state = (
            optuna.trial.TrialState.FAIL
            if number % 20 == 19
            else optuna.trial.TrialState.PRUNED
            if number % 10 == 9
            else optuna.trial.TrialState.COMPLETE
        )
        reported = curve[:2] if state == optuna.trial.TrialState.PRUNED else curve
        made.append(
            optuna.trial.create_trial(
                params={"optimizer.learning_rate": lr, "model.dropout": dropout},
                distributions=space,
                value=max(curve) if state == optuna.trial.TrialState.COMPLETE else None,
                state=state,
                intermediate_values=dict(enumerate(reported))
                if state != optuna.trial.TrialState.FAIL
                else {},
                user_attrs={"job": {"host": f"node-{number % 4}"}},
            )
        )
        run = client.create_run(
            experiment_id, tags={PARENT_ID_TAG: parent.info.run_id, OPTUNA_TRIAL_TAG: str(number)}
        )
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(VAL_ACCURACY, value, 0, epoch) for epoch, value in enumerate(reported)]
            + [Metric(EPOCH_TIME, 2.0, 0, len(reported) - 1)],
            params=[
                Param("optimizer.learning_rate", str(lr)),
                Param("model.dropout", str(dropout)),
            ],
        )
        client.set_terminated(
            run.info.run_id, "FAILED" if state == optuna.trial.TrialState.FAIL else "FINISHED"
        )
    study.add_trials(made)
    client.set_terminated(parent.info.run_id)
    return parent.info.run_id


def _timed_against_search_runs(
    report: list[str], uri: str, experiment_name: str, repeats: int
) -> dict[str, float]:
    baseline = [
        "-c",
        "import mlflow, sys; mlflow.set_tracking_uri(sys.argv[1]); "
        "mlflow.search_runs(experiment_names=[sys.argv[2]])",
        uri,
        experiment_name,
    ]
    report_s = command_seconds(report, repeats)
    baseline_s = command_seconds(baseline, repeats)
    return {"report_s": report_s, "baseline_s": baseline_s, "ratio": report_s / baseline_s}


def measure_report_speed(seeds: int = 5, repeats: int = 3) -> dict[str, float]:
    """Seconds for `python -m pipeline.report` on a 100-run multirun (median of `repeats`), the
    baseline's, and their ratio."""
    with tempfile.TemporaryDirectory() as tmp:
        uri, experiment_name = f"sqlite:///{tmp}/mlflow.db", "report-benchmark"
        fill_synthetic_store(uri, experiment_name, seeds=seeds)
        report = [
            "-m",
            "pipeline.report",
            BENCH_EXPERIMENT,
            f"--tracking-uri={uri}",
            f"tracking.experiment_name={experiment_name}",
            f"paths.output_dir={tmp}/outputs",
        ]
        return _timed_against_search_runs(report, uri, experiment_name, repeats)


def measure_search_report_speed(trials: int = SEARCH_TRIALS, repeats: int = 3) -> dict[str, float]:
    """The same for the report of a `trials`-trial search (its study read from its storage)."""
    with tempfile.TemporaryDirectory() as tmp:
        uri, storage, experiment_name = (
            f"sqlite:///{tmp}/mlflow.db",
            f"sqlite:///{tmp}/optuna.db",
            "search-benchmark",
        )
        fill_synthetic_search(uri, storage, experiment_name, trials)
        report = [
            "-m",
            "pipeline.report",
            SEARCH_EXPERIMENT,
            f"--tracking-uri={uri}",
            f"tracking.experiment_name={experiment_name}",
            f"tracking.optuna_storage={storage}",
            f"hydra.sweeper.study_name={BENCH_STUDY}",
            f"paths.output_dir={tmp}/outputs",
        ]
        return _timed_against_search_runs(report, uri, experiment_name, repeats)


if __name__ == "__main__":
    for name, measure in (
        ("multirun of 100 runs", measure_report_speed),
        (f"search of {SEARCH_TRIALS} trials", measure_search_report_speed),
    ):
        result = measure()
        print(
            f"{name}: report {result['report_s']:.2f} s  bare search_runs {result['baseline_s']:.2f} s  "
            f"ratio {result['ratio']:.2f}"
        )
