"""Keras optimizers and learning-rate schedules from `conf/optimizer` and `conf/schedule`."""

import math

import keras
from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf


@keras.saving.register_keras_serializable(package="pipeline")
class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """The schedule of checkpoints written before PeakSchedule (a warm-up wrapped around
    Keras's decay): kept so that those runs still load and resume."""

    def __init__(self, after_warmup, warmup_steps: int):
        self.after_warmup = after_warmup
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        ramp = keras.ops.minimum(1.0, (step + 1.0) / max(self.warmup_steps, 1))
        return ramp * self.after_warmup(keras.ops.maximum(step - self.warmup_steps, 0.0))

    def get_config(self):
        return {
            "after_warmup": keras.optimizers.schedules.serialize(self.after_warmup),
            "warmup_steps": self.warmup_steps,
        }

    @classmethod
    def from_config(cls, config):
        return cls(
            keras.optimizers.schedules.deserialize(config["after_warmup"]), config["warmup_steps"]
        )


@keras.saving.register_keras_serializable(package="pipeline")
class PeakSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to `peak` over `warmup_steps`, then a cosine decay to
    `final_fraction` of the peak at `warmup_steps + decay_steps`, or an exponential one by
    `decay_per_epoch` each `steps_per_epoch`.

    Its numbers live in variables the traced training step reads, so a model kept for the
    next job of a search takes that job's schedule with `assign` (pipeline/training/reuse.py);
    only `shape` is part of the graph. With `warmup_steps` 0 the ramp is 1 from step 0."""

    NUMBERS = (
        "peak",
        "warmup_steps",
        "decay_steps",
        "final_fraction",
        "decay_per_epoch",
        "steps_per_epoch",
    )

    def __init__(self, shape: str, **numbers: float):
        if shape not in ("cosine", "exponential"):
            raise ValueError(f"PeakSchedule shape {shape!r}: expected cosine or exponential")
        self.shape = shape
        self.variables = {
            name: keras.Variable(float(numbers[name]), dtype="float32", trainable=False)
            for name in self.NUMBERS
        }

    def assign(self, other: "PeakSchedule") -> None:
        for name, variable in self.variables.items():
            variable.assign(other.variables[name])

    def __call__(self, step):
        v = self.variables
        step = keras.ops.cast(step, "float32")
        ramp = keras.ops.minimum(1.0, (step + 1.0) / keras.ops.maximum(v["warmup_steps"], 1.0))
        after = keras.ops.maximum(step - v["warmup_steps"], 0.0)
        if self.shape == "cosine":
            progress = keras.ops.minimum(after, v["decay_steps"]) / v["decay_steps"]
            cosine = 0.5 * (1.0 + keras.ops.cos(math.pi * progress))
            decayed = (1.0 - v["final_fraction"]) * cosine + v["final_fraction"]
        else:
            decayed = keras.ops.power(v["decay_per_epoch"], after / v["steps_per_epoch"])
        return ramp * v["peak"] * decayed

    def get_config(self):
        numbers = {
            name: float(keras.ops.convert_to_numpy(variable))
            for name, variable in self.variables.items()
        }
        return {"shape": self.shape, **numbers}


def build_schedule(
    learning_rate: float, schedule_cfg: DictConfig, steps_per_epoch: int, epochs: int
):
    """A float for a constant rate, otherwise a PeakSchedule over the whole run."""
    if schedule_cfg.name == "constant":
        return learning_rate
    warmup_steps = round(schedule_cfg.warmup_epochs * steps_per_epoch)
    return PeakSchedule(
        schedule_cfg.name,
        peak=learning_rate * schedule_cfg.peak_lr_factor,
        warmup_steps=warmup_steps,
        decay_steps=max(epochs * steps_per_epoch - warmup_steps, 1),
        final_fraction=schedule_cfg.final_lr_fraction,  # the schema's defaults where unused
        decay_per_epoch=schedule_cfg.decay_per_epoch,
        steps_per_epoch=steps_per_epoch,
    )


def build_optimizer(
    optimizer_cfg: DictConfig, schedule_cfg: DictConfig, steps_per_epoch: int, epochs: int
) -> keras.optimizers.Optimizer:
    """The class `optimizer._target_` names, given the file's other values (but `name`, which
    labels runs) and the learning rate as scheduled."""
    kwargs = OmegaConf.to_container(optimizer_cfg, resolve=True)
    optimizer_class = get_class(kwargs.pop("_target_"))
    kwargs.pop("name")
    kwargs["learning_rate"] = build_schedule(
        kwargs["learning_rate"], schedule_cfg, steps_per_epoch, epochs
    )
    return optimizer_class(**kwargs)


def steps_per_epoch(num_samples: int, batch_size: int) -> int:
    return math.ceil(num_samples / batch_size)
