"""Saving a checkpoint after every epoch, and loading one to resume.

`model.save` keeps weights and optimizer state but not the layers' RNG state (Dropout's
`seed_generator_state`: measured, Keras 3.15 leaves it out of the file and re-seeds it on
load), so each checkpoint has a small JSON beside it with those states; without them a
resumed run draws other dropout masks than an uninterrupted one.
"""

import errno
import json
import os
import shutil
from pathlib import Path

import keras

from pipeline.run_state import (
    RunState,
    checkpoint_dir,
    checkpoint_path,
    rng_state_path,
    save_state,
    write_json_atomically,
)
from pipeline.timings import JobTimings


def _seed_generators(model: keras.Model) -> dict[str, keras.random.SeedGenerator]:
    # Keyed by layer name: variable paths carry process-wide counters (seed_generator_2/...).
    return {
        layer.name: layer.seed_generator
        for layer in model.layers
        if hasattr(layer, "seed_generator")
    }


def rng_states(model: keras.Model) -> dict[str, list[int]]:
    return {
        name: keras.ops.convert_to_numpy(generator.state).tolist()
        for name, generator in _seed_generators(model).items()
    }


def restore_rng_states(model: keras.Model, states: dict[str, list[int]]) -> None:
    generators = _seed_generators(model)
    if set(generators) != set(states):
        raise ValueError(
            f"checkpoint RNG states {sorted(states)} do not match the model's {sorted(generators)}"
        )
    for name, value in states.items():
        generators[name].state.assign(value)


class EpochCheckpoint(keras.callbacks.Callback):
    """After each epoch: the whole model (weights, optimizer and RNG state), then the run state.

    The model file is written under a temporary name and renamed, and the state names
    an epoch only once its file is complete, so a kill at any moment leaves a state
    that points at a whole checkpoint.
    """

    def __init__(self, run_dir: Path, state: RunState, timings: JobTimings):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.state = state
        self.timings = timings

    def on_epoch_end(self, epoch, logs=None):
        with self.timings.measure("checkpoint_s", per_epoch=True):
            self._save(epoch, logs)

    def _save(self, epoch, logs) -> None:
        target = checkpoint_path(self.run_dir, epoch + 1)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.stem + ".partial.keras")
        try:
            write_json_atomically(rng_state_path(target), rng_states(self.model))
            self.model.save(partial)
            os.replace(partial, target)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
            # What this epoch began to write goes; the state still names the last whole checkpoint.
            for path in (partial, rng_state_path(target)):
                path.unlink(missing_ok=True)
            raise OutOfSpace(self.run_dir, epoch + 1, self.state.completed_epochs) from None
        self.state.record_epoch(logs)
        save_state(self.run_dir, self.state)


class OutOfSpace(OSError):
    """The disk holding the run filled up while a checkpoint was written; `str()` is one line."""

    def __init__(self, run_dir: Path, epoch: int, saved: int):
        kept = (
            f"epoch {saved} is saved there: make room and run the same command again to resume it"
            if saved
            else "nothing is saved yet: make room and run the same command again"
        )
        super().__init__(
            errno.ENOSPC,
            f"no space left on the device of {run_dir} for epoch {epoch}'s checkpoint; {kept}",
        )

    def __str__(self) -> str:
        return self.strerror


def copy_checkpoints(source_run: Path, run_dir: Path, epochs: int) -> None:
    """Bring the source run's checkpoints into this run, so this run is complete on its own."""
    checkpoint_dir(run_dir).mkdir(parents=True, exist_ok=True)
    for epoch in range(1, epochs + 1):
        source = checkpoint_path(source_run, epoch)
        for path in (source, rng_state_path(source)):
            if path.is_file():
                shutil.copy2(path, checkpoint_dir(run_dir) / path.name)


def load_checkpoint(run_dir: Path, epoch: int) -> keras.Model:
    """The model with its optimizer and RNG states as they were after `epoch`."""
    path = checkpoint_path(run_dir, epoch)
    model = keras.models.load_model(path)
    restore_rng_states(model, json.loads(rng_state_path(path).read_text()))
    return model
