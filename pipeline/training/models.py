"""The seed CNNs, built from `conf/model/*.yaml`.

The model takes raw 28x28 uint8 images and scales them itself: the input pipeline moves
4x fewer bytes, and a served model (MLflow pyfunc) accepts the same raw images with no
preprocessing to keep in sync.
"""

import keras
from omegaconf import DictConfig

NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28)


@keras.saving.register_keras_serializable(package="pipeline")
class TunableDropout(keras.layers.Dropout):
    """Keras's Dropout with its rate read from a variable inside the graph rather than baked
    into it: a model kept for the next job of a search takes that job's rate with
    `set_rate`, and its traced training step stays valid (pipeline/training/reuse.py).

    The variable is kept out of Keras's tracking: it is not a weight (the parameter count
    and the checkpoint's weights are Keras Dropout's), and `get_config` gives the float."""

    def __init__(self, rate, **kwargs):
        super().__init__(rate, **kwargs)
        if not 0 < rate < 1 or self.noise_shape is not None:
            raise ValueError(f"TunableDropout: rate {rate} must be in (0, 1), with no noise_shape")
        object.__setattr__(self, "_rate_variable", keras.Variable(rate, trainable=False))

    def set_rate(self, rate: float) -> None:
        self.rate = rate
        self._rate_variable.assign(rate)

    def call(self, inputs, training=False):
        if not training:
            return inputs
        rate = self._rate_variable
        kept = keras.random.uniform(keras.ops.shape(inputs), seed=self.seed_generator) >= rate
        scale = keras.ops.cast(1 / (1 - rate), inputs.dtype)
        return keras.ops.where(kept, inputs * scale, keras.ops.zeros_like(inputs))


def build_model(model_cfg: DictConfig) -> keras.Model:
    """Conv blocks (each optionally max-pooled), Flatten, Dense, Dropout, Dense softmax."""
    inputs = keras.Input(shape=IMAGE_SHAPE, dtype="uint8", name="image")
    x = keras.layers.Rescaling(1.0 / 255, name="scale")(inputs)
    x = keras.layers.Reshape((*IMAGE_SHAPE, 1), name="add_channel")(x)
    for i, (filters, pool) in enumerate(
        zip(model_cfg.filters, model_cfg.pool_after, strict=False), start=1
    ):
        x = keras.layers.Conv2D(
            filters,
            model_cfg.kernel_size,
            padding=model_cfg.padding,
            activation=model_cfg.activation,
            name=f"conv{i}",
        )(x)
        if pool:
            x = keras.layers.MaxPooling2D(2, padding=model_cfg.padding, name=f"pool{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(model_cfg.dense_units, activation=model_cfg.activation, name="dense")(x)
    if model_cfg.dropout > 0:
        x = TunableDropout(model_cfg.dropout, name="dropout")(x)
    # float32 output even under mixed precision: softmax and the loss stay accurate.
    outputs = keras.layers.Dense(
        NUM_CLASSES, activation="softmax", dtype="float32", name="probabilities"
    )(x)
    return keras.Model(inputs, outputs, name=model_cfg.name)


def keras_only(model: keras.Model) -> keras.Model:
    """A copy of `model` made of Keras's own layers (Dropout for TunableDropout), with its
    weights: what leaves the project (an MLflow model, served by a process that never
    imports it) and an independent object that a later job's reuse cannot change."""

    def clone(layer):
        if isinstance(layer, TunableDropout):
            return keras.layers.Dropout(layer.rate, name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    # clone_model compiles the copy as `model` was: its optimizer would be saved with it, and
    # ours holds our learning-rate schedule (PeakSchedule), which a served model cannot load.
    # The same layers as an uncompiled model: nothing to train, nothing of ours.
    return keras.Model(copy.inputs, copy.outputs, name=copy.name)
