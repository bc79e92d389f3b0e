"""Keras optimizers and learning-rate schedules from `conf/optimizer` and `conf/schedule`."""

import math

import keras
from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf


@keras.saving.register_keras_serializable(package="pipeline")
class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to the decayed schedule's value over `warmup_steps` steps."""

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


def build_schedule(
    learning_rate: float, schedule_cfg: DictConfig, steps_per_epoch: int, epochs: int
):
    """A float for a constant rate, otherwise a LearningRateSchedule over the whole run."""
    if schedule_cfg.name == "constant":
        return learning_rate
    peak = learning_rate * schedule_cfg.peak_lr_factor
    warmup_steps = round(schedule_cfg.warmup_epochs * steps_per_epoch)
    decay_steps = max(epochs * steps_per_epoch - warmup_steps, 1)
    if schedule_cfg.name == "cosine":
        decay = keras.optimizers.schedules.CosineDecay(
            peak, decay_steps, alpha=schedule_cfg.final_lr_fraction
        )
    else:  # exponential
        decay = keras.optimizers.schedules.ExponentialDecay(
            peak, steps_per_epoch, schedule_cfg.decay_per_epoch
        )
    return WarmupSchedule(decay, warmup_steps) if warmup_steps else decay


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
