"""The trained model as an MLflow model (Keras 3 flavor), optionally registered with an alias."""

import importlib.metadata
import os
import types

import mlflow
import numpy as np
from mlflow import MlflowClient
from mlflow.models import Model, ModelSignature
from mlflow.types import Schema, TensorSpec

# Pinned from this environment: MLflow would otherwise infer them by loading the model
# in a subprocess: a second TensorFlow import for every run.
_REQUIREMENTS = ("mlflow", "tensorflow", "keras", "numpy")


def _pinned_requirements() -> list[str]:
    return [f"{name}=={importlib.metadata.version(name)}" for name in _REQUIREMENTS]


def _save_keras_model(model, path: str, validate_serving_input: bool = True, **kwargs) -> None:
    # mlflow issue #16183: mlflow.keras.save_model writes the input example before it
    # creates the model folder; create it first. `validate_serving_input` is for `Model.log`
    # (which passes its keyword arguments on to here); `save_model` does not take it.
    os.makedirs(path, exist_ok=True)
    mlflow.keras.save_model(model, path, **kwargs)


# The flavor `Model.log` saves with: mlflow.keras, but with the folder created first.
_KERAS_FLAVOR = types.SimpleNamespace(save_model=_save_keras_model)


def signature(model, example_images: np.ndarray) -> ModelSignature:
    """Images as given (uint8, any batch size) in, the model's declared output out, e.g.
    float32 (-1, 10) probabilities: read off the model, no prediction needed."""
    (output,) = model.outputs
    return ModelSignature(
        inputs=Schema([TensorSpec(example_images.dtype, (-1, *example_images.shape[1:]))]),
        outputs=Schema([TensorSpec(np.dtype(output.dtype), (-1, *output.shape[1:]))]),
    )


def log_keras_model(model, example_images: np.ndarray, run_id: str) -> str:
    """Log `model` with a signature (uint8 images -> float32 probabilities) and an input
    example; return its `models:/m-...` uri.

    MLflow's check that the saved model loads and predicts the example (`validate_serving_input`:
    a reload and a prediction every run) is left to the tests, which load the logged model
    and predict with it."""
    info = Model.log(
        artifact_path=None,
        name="model",
        flavor=_KERAS_FLAVOR,
        flavor_name="keras",
        run_id=run_id,
        model=model,
        signature=signature(model, example_images),
        input_example=example_images,
        pip_requirements=_pinned_requirements(),
        validate_serving_input=False,
    )
    return info.model_uri


def register(model_uri: str, name: str, alias: str) -> str:
    """Register the logged model as a new version of `name` and point `alias` at it."""
    version = mlflow.register_model(model_uri, name)
    MlflowClient().set_registered_model_alias(name, alias, version.version)
    return version.version
