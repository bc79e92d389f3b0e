"""The seed CNNs, built from `conf/model/*.yaml`.

The model takes raw 28x28 uint8 images and scales them itself: the input pipeline moves
4x fewer bytes, and a served model (MLflow pyfunc) accepts the same raw images with no
preprocessing to keep in sync.
"""

import keras
from omegaconf import DictConfig

NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28)


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
        x = keras.layers.Dropout(model_cfg.dropout, name="dropout")(x)
    # float32 output even under mixed precision: softmax and the loss stay accurate.
    outputs = keras.layers.Dense(
        NUM_CLASSES, activation="softmax", dtype="float32", name="probabilities"
    )(x)
    return keras.Model(inputs, outputs, name=model_cfg.name)
