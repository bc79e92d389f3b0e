"""The code a user writes instead of the pipeline: the baseline of the search benchmarks.

`python -m pipeline.bench.hand_written SPEC.json RESULT.json`, one fresh process per arm:
- mode `search`: an Optuna `study.optimize` loop, as Optuna's own Keras examples write it
  (clear the session, build, `model.fit` on numpy float arrays with validation, return the
  validation accuracy), the spec's parameter sets enqueued; no tracking, no checkpoints.
- mode `grid`: a plain loop over the spec's jobs, each fitted with validation and then
  evaluated on the test set (a multirun evaluates it too).
The model is written out in plain Keras (float images in [0, 1] with a channel axis, as
users feed them) from the composed config's `model` values; the optimizer and its learning
rate schedule come from the project's builder, so both arms train with the same update rule.
The spec is built by `pipeline.bench.search_speed` from the composed configs.
"""

import json
import sys
import time
from pathlib import Path

STARTED = time.perf_counter()  # before TensorFlow's import, which the arm pays like the pipeline

import keras  # noqa: E402
import numpy as np  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from pipeline.data import load_splits  # noqa: E402
from pipeline.timings import job_parts  # noqa: E402
from pipeline.training.optimizers import build_optimizer, steps_per_epoch  # noqa: E402


class TrainingClock(keras.callbacks.Callback):
    """Each epoch's training time (to its validation), for the share of time in steps; epoch
    hooks only: a batch hook would make Keras wait for every step."""

    def __init__(self):
        super().__init__()
        self.train_s: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_test_begin(self, logs=None):
        self.train_s.append(time.perf_counter() - self._start)

    def steps_s(self) -> float:
        """The epochs' training less tracing (the first epoch beyond a later one's median),
        as pipeline/timings.py reads a job's timings."""
        return job_parts({"train_s": self.train_s})["training_steps_s"]


def convnet(model: dict, dropout: float) -> keras.Model:
    """The seed convnet as a user writes it: conv blocks, Flatten, Dense, Dropout, softmax."""
    layers = [keras.Input((28, 28, 1))]
    for filters, pool in zip(model["filters"], model["pool_after"], strict=False):
        layers.append(
            keras.layers.Conv2D(
                filters,
                model["kernel_size"],
                padding=model["padding"],
                activation=model["activation"],
            )
        )
        if pool:
            layers.append(keras.layers.MaxPooling2D(2, padding=model["padding"]))
    layers += [
        keras.layers.Flatten(),
        keras.layers.Dense(model["dense_units"], activation=model["activation"]),
    ]
    if dropout > 0:
        layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(10, activation="softmax"))
    return keras.Sequential(layers)


def float_arrays(spec: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The first N images of each split, scaled to float32 in [0, 1], as in every Keras MNIST example."""
    splits = load_splits(OmegaConf.create(spec["data"]))
    n_train, n_eval = spec["train_samples"], spec["eval_samples"]

    def scaled(images: np.ndarray) -> np.ndarray:
        return (images.astype("float32") / 255.0)[..., np.newaxis]

    return {
        "train": (scaled(splits.train_x[:n_train]), splits.train_y[:n_train]),
        "val": (scaled(splits.val_x[:n_eval]), splits.val_y[:n_eval]),
        "test": (scaled(splits.test_x[:n_eval]), splits.test_y[:n_eval]),
    }


def fit(
    spec: dict,
    arrays: dict,
    optimizer: dict,
    schedule: dict,
    dropout: float,
    batch_size: int,
    seed: int,
) -> tuple[keras.Model, float]:
    """The trained model, and its seconds in training steps."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    x, y = arrays["train"]
    model = convnet(spec["model"], dropout)
    steps = steps_per_epoch(len(y), batch_size)
    model.compile(
        optimizer=build_optimizer(
            OmegaConf.create(optimizer), OmegaConf.create(schedule), steps, spec["epochs"]
        ),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    clock = TrainingClock()
    model.fit(
        x,
        y,
        batch_size=batch_size,
        epochs=spec["epochs"],
        validation_data=arrays["val"],
        verbose=0,
        callbacks=[clock],
    )
    return model, clock.steps_s()


def best_val_accuracy(model: keras.Model) -> float:
    return float(max(model.history.history["val_accuracy"]))


def search(spec: dict, arrays: dict) -> dict:
    import optuna

    trial_seconds, steps_seconds = [], []

    def objective(trial: optuna.Trial) -> float:
        # conf/search/default.yaml's space, written out as a user would; the enqueued sets fix every value
        start = time.perf_counter()
        name = trial.suggest_categorical("optimizer", list(spec["optimizers"]))
        optimizer = {
            **spec["optimizers"][name],
            "learning_rate": trial.suggest_float("optimizer.learning_rate", 1e-4, 1e-1, log=True),
        }
        dropout = trial.suggest_float("model.dropout", 0.0, 0.6)
        batch_size = trial.suggest_categorical("trainer.batch_size", [64, 128, 256])
        if name == "sgd":
            optimizer["momentum"] = trial.suggest_float("optimizer.momentum", 0.0, 0.95)
        model, steps_s = fit(
            spec, arrays, optimizer, spec["schedule"], dropout, batch_size, spec["seed"]
        )
        trial_seconds.append(time.perf_counter() - start)
        steps_seconds.append(steps_s)
        return best_val_accuracy(model)

    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=spec["seed"])
    )
    for params in spec["trials"]:
        study.enqueue_trial(params)
    study.optimize(objective, n_trials=len(spec["trials"]))
    return {
        "trial_s": trial_seconds,
        "steps_s": steps_seconds,
        "best_val_accuracy": study.best_value,
        "params": [trial.params for trial in study.trials],
    }


def grid(spec: dict, arrays: dict) -> dict:
    job_seconds, steps_seconds, val_accuracy, test_accuracy = [], [], [], []
    for job in spec["jobs"]:
        start = time.perf_counter()
        model, steps_s = fit(
            spec,
            arrays,
            job["optimizer"],
            job["schedule"],
            job["dropout"],
            job["batch_size"],
            job["seed"],
        )
        _, accuracy = model.evaluate(*arrays["test"], batch_size=job["batch_size"], verbose=0)
        job_seconds.append(time.perf_counter() - start)
        steps_seconds.append(steps_s)
        val_accuracy.append(best_val_accuracy(model))
        test_accuracy.append(float(accuracy))
    return {
        "trial_s": job_seconds,
        "steps_s": steps_seconds,
        "best_val_accuracy": max(val_accuracy),
        "test_accuracy": test_accuracy,
    }


def main(spec_path: Path, result_path: Path) -> None:
    spec = json.loads(spec_path.read_text())
    imported = time.perf_counter()
    arrays = float_arrays(spec)
    loaded = time.perf_counter()
    result = {"search": search, "grid": grid}[spec["mode"]](spec, arrays)
    result.update(import_s=imported - STARTED, data_s=loaded - imported)
    result_path.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
