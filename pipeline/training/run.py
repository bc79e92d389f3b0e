"""One training job: data -> model -> training loop -> test evaluation, with resume."""

import dataclasses
import io
import json
import os
from pathlib import Path

import keras
import numpy as np
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from pipeline.data import Splits, load_splits
from pipeline.evaluation import evaluate_probabilities
from pipeline.job import Job
from pipeline.processes.interruption import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    Terminated,
    TrainingInterrupted,
    check_for_stop,
    interrupt_behind,
    signals_recorded,
)
from pipeline.run_state import (
    RESUMED_FROM_KEY,
    RunState,
    claim,
    find_interrupted_run,
    fingerprint,
    is_resumable,
    lease,
    load_state,
    release,
    save_state,
)
from pipeline.timings import JobTimings
from pipeline.tracking.tracker import track_run
from pipeline.training.callbacks import (
    ActOnSignals,
    EpochLine,
    EpochStats,
    StopOnNaN,
    TrainingDiverged,
)
from pipeline.training.checkpointing import EpochCheckpoint, copy_checkpoints, load_checkpoint
from pipeline.training.inputs import evaluation_batches, training_batches
from pipeline.training.loops import LOOPS, LoopInputs
from pipeline.training.models import build_model, keras_only
from pipeline.training.optimizers import build_optimizer, steps_per_epoch
from pipeline.training.reuse import reuse_traced
from pipeline.training.runtime import configure_runtime


class ResumeError(RuntimeError):
    """`trainer.resume_from` names a run that cannot be continued."""


def limit_samples(splits: Splits, trainer_cfg: DictConfig) -> Splits:
    """The first N training / evaluation images, for smoke runs."""
    n_train, n_eval = trainer_cfg.max_train_samples, trainer_cfg.max_eval_samples
    return dataclasses.replace(
        splits,
        train_x=splits.train_x[:n_train],
        train_y=splits.train_y[:n_train],
        val_x=splits.val_x[:n_eval],
        val_y=splits.val_y[:n_eval],
        test_x=splits.test_x[:n_eval],
        test_y=splits.test_y[:n_eval],
    )


def resume_source(cfg: DictConfig, run_dir: Path, run_fingerprint: str) -> Path | None:
    """The run to continue: the one named in `trainer.resume_from`, else the latest interrupted
    run of the same config (when `trainer.resume`), else none."""
    if cfg.trainer.resume_from:
        source = Path(cfg.trainer.resume_from)
        state = load_state(source)
        if state is None or state.completed_epochs == 0:
            raise ResumeError(f"trainer.resume_from={source}: no completed epoch to resume from")
        return source
    if cfg.trainer.resume:
        if is_resumable(run_dir, run_fingerprint):  # a job a scheduler requeued into its folder
            return run_dir
        source = find_interrupted_run(Path(cfg.paths.output_dir), run_fingerprint, exclude=run_dir)
        if source is not None and claim(source, run_dir):
            return source
    return None


def start_or_resume(cfg: DictConfig, run_dir: Path, steps: int) -> tuple[keras.Model, RunState]:
    run_fingerprint = fingerprint(cfg)
    source = resume_source(cfg, run_dir, run_fingerprint)
    if source is not None:
        state = load_state(source)
        try:
            if source != run_dir:
                copy_checkpoints(source, run_dir, state.completed_epochs)
            model = load_checkpoint(run_dir, state.completed_epochs)
            check_for_stop()
            state = dataclasses.replace(
                state,
                status="running",
                pid=os.getpid(),
                extra={**state.extra, RESUMED_FROM_KEY: str(source)},
            )
            save_state(run_dir, state)  # from here on this run is the one to resume
        except BaseException as error:
            # Until this run holds the state, the claim would leave nothing resumable.
            if source != run_dir:
                release(source)
            interrupt = interrupt_behind(error)
            if interrupt is None:
                raise
            status = EXIT_TERMINATED if isinstance(interrupt, Terminated) else EXIT_INTERRUPTED
            raise TrainingInterrupted(
                f"stopped while resuming {source} after epoch {state.completed_epochs}; "
                "nothing new was trained; run the same command again to resume it",
                status,
            ) from None
        print(f"resuming {source} after epoch {state.completed_epochs}")
        return model, state
    model = build_model(cfg.model)
    model.compile(
        optimizer=build_optimizer(cfg.optimizer, cfg.schedule, steps, cfg.trainer.epochs),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=cfg.trainer.jit_compile,
    )
    if cfg.trainer.reuse_traced:
        model = reuse_traced(model, cfg.trainer.deterministic)
    return model, RunState(run_fingerprint)


def model_summary(model: keras.Model) -> str:
    buffer = io.StringIO()
    model.summary(print_fn=lambda line, **_: buffer.write(line + "\n"))
    return buffer.getvalue()


def training_callbacks(job: Job) -> list:
    cfg = job.cfg
    callbacks = [EpochStats(len(job.splits.train_y), job.timings)]
    if cfg.trainer.verbose == 2:
        callbacks.append(EpochLine(cfg.trainer.epochs))
    callbacks += [StopOnNaN(), EpochCheckpoint(job.run_dir, job.state, job.timings)]
    if cfg.trainer.early_stopping is not None:
        callbacks.append(keras.callbacks.EarlyStopping(**cfg.trainer.early_stopping))
    if cfg.trial.number is not None:  # launched by the Optuna sweeper: its pruner may stop us
        from pipeline.search.pruning import ReportToTrial

        callbacks.append(ReportToTrial(cfg.trial, cfg.trainer.objective))
    return callbacks


def predict_test(model: keras.Model, splits: Splits, batch_size: int) -> np.ndarray:
    """Class probabilities for the test images (float64: the metrics sum over 10,000 rows)."""
    probabilities = model.predict(
        splits.test_x, batch_size=batch_size, verbose=0, callbacks=[ActOnSignals()]
    )
    return np.asarray(probabilities, dtype=np.float64)


def objective_value(cfg: DictConfig, history: dict[str, list[float]]) -> float:
    values = history[cfg.trainer.objective]
    return float(max(values) if cfg.trainer.objective_mode == "max" else min(values))


def job_result(
    cfg: DictConfig, objective: float, model: keras.Model, history: dict[str, list[float]]
) -> float | tuple[float, ...]:
    """What the job returns to a sweeper: the objective, then any `trainer.extra_objectives`
    (a multi-objective search gets one value per direction)."""
    if not cfg.trainer.extra_objectives:
        return objective
    extra = {
        "params": lambda: float(model.count_params()),
        "seconds_per_epoch": lambda: float(np.mean(history["epoch_time"])),
    }
    return (objective, *(extra[name]() for name in cfg.trainer.extra_objectives))


def interrupted_line(cfg: DictConfig, run_dir: Path, state: RunState) -> str:
    """Where an interrupted training stopped, and the command that goes on from there."""
    killed = "the MLflow run is KILLED and " if cfg.tracking.enabled else ""
    if state.status == "finished":
        return f"stopped while recording a finished training's results; {killed}its files are in {run_dir}"
    done, epochs = state.completed_epochs, cfg.trainer.epochs
    where = (
        f"after epoch {done} of {epochs}, before the test evaluation"
        if done >= epochs
        else f"during epoch {done + 1} of {epochs} ({done} completed)"
    )
    if done == 0:
        return f"stopped {where}; nothing to resume, the same command starts it again"
    how = (
        "run the same command again to resume it"
        if cfg.trainer.resume
        else f"resume it with trainer.resume_from={run_dir}"
    )
    return f"stopped {where}; {killed}the checkpoints are in {run_dir}; {how}"


def train_and_evaluate(cfg: DictConfig, run_dir: Path | None = None) -> float | tuple[float, ...]:
    """Train, evaluate on the test set (unless `trainer.test_evaluation` is off), write
    `metrics.json` and `timings.json`; return the sweep objective(s).
    Ctrl-C or SIGTERM raises TrainingInterrupted, saying where it stopped."""
    with signals_recorded():
        return _train_and_evaluate(cfg, run_dir)


def _train_and_evaluate(cfg: DictConfig, run_dir: Path | None) -> float | tuple[float, ...]:
    # A recorded Ctrl-C or SIGTERM is acted on between these phases, and every batch.
    timings = JobTimings()
    run_dir = Path(run_dir or HydraConfig.get().runtime.output_dir)
    with timings.measure("runtime_s"):
        configure_runtime(cfg.trainer)
    check_for_stop()
    with timings.measure("data_s"):
        splits = limit_samples(load_splits(cfg.data), cfg.trainer)
    check_for_stop()
    steps = steps_per_epoch(len(splits.train_y), cfg.trainer.batch_size)
    with timings.measure("model_s"):
        model, state = start_or_resume(cfg, run_dir, steps)
    save_state(run_dir, state)

    summary = model_summary(model)
    print(summary)
    (run_dir / "model_summary.txt").write_text(summary)
    try:
        return _train_tracked(Job(cfg, run_dir, state, splits, timings), model, steps)
    except BaseException as error:
        interrupt = interrupt_behind(error)
        if interrupt is None:
            raise
        status = EXIT_TERMINATED if isinstance(interrupt, Terminated) else EXIT_INTERRUPTED
        raise TrainingInterrupted(interrupted_line(cfg, run_dir, state), status) from None


def _train_tracked(job: Job, model: keras.Model, steps: int) -> float | tuple[float, ...]:
    cfg, run_dir, state, splits, timings = job.cfg, job.run_dir, job.state, job.splits, job.timings
    check_for_stop()
    loop = LOOPS[cfg.trainer.loop]
    with (
        lease(run_dir, cfg.trainer.lease_seconds),
        track_run(job) as tracker,
    ):
        try:
            loop(
                LoopInputs(
                    model=model,
                    train_batches=training_batches(
                        splits.train_x,
                        splits.train_y,
                        cfg.trainer.batch_size,
                        cfg.trainer.seed,
                        state.completed_epochs,
                        cfg.trainer.epochs,
                    ),
                    val_batches=evaluation_batches(
                        splits.val_x, splits.val_y, cfg.trainer.eval_batch_size
                    ),
                    first_epoch=state.completed_epochs,
                    epochs=cfg.trainer.epochs,
                    steps_per_epoch=steps,
                    callbacks=(training_callbacks(job) + tracker.callbacks() + [ActOnSignals()]),
                    verbose=1 if cfg.trainer.verbose == 1 else 0,  # 2: EpochLine's line per epoch
                )
            )
        except TrainingDiverged:
            state.status = "failed"
            save_state(run_dir, state)
            raise

        test = probabilities = None
        if cfg.trainer.test_evaluation:
            with timings.measure("test_evaluation_s"):
                probabilities = predict_test(model, splits, cfg.trainer.eval_batch_size)
                test = evaluate_probabilities(probabilities, splits.test_y)
        check_for_stop()
        state.status = "finished"
        save_state(run_dir, state)
        objective = objective_value(cfg, state.history)
        metrics = {
            "history": state.history,
            "objective": {cfg.trainer.objective: objective},
            "dataset": {"name": splits.name, "source": splits.source, "digest": splits.digest},
        }
        if test is not None:
            metrics.update(test.as_dict("test"), confusion_matrix=test.confusion.tolist())
        (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
        # What is logged is the model as it is now, in Keras's own layers: a served model loads
        # without this project, and the next job's reuse of `model` cannot change it.
        logged = keras_only(model) if cfg.tracking.enabled and cfg.tracking.log_model else model
        tracker.log_results(logged, splits, test, probabilities, objective)
        check_for_stop()
    check_for_stop()  # one that came while the run waited for its tracking queue
    timings.write(run_dir)
    tested = (
        f"test accuracy {test.accuracy:.4f}  test loss {test.loss:.4f}"
        if test is not None
        else "no test evaluation (trainer.test_evaluation=false)"
    )
    print(f"{tested}  best {cfg.trainer.objective} {objective:.4f}")
    print(f"run directory {run_dir}")
    print(tracker.where())
    return job_result(cfg, objective, model, state.history)
