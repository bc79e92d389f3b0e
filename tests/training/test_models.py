import numpy as np
import pytest

from pipeline.training.models import build_model
from tests.helpers import compose_config


@pytest.mark.parametrize("name,params", [("convnet", 619_786), ("tf_tutorial", 93_322)])
def test_seed_models_have_the_exact_parameter_counts(name, params):
    assert build_model(compose_config(f"model={name}").model).count_params() == params


def test_model_takes_raw_uint8_images_and_returns_probabilities():
    model = build_model(compose_config("model=tf_tutorial").model)
    images = np.random.default_rng(0).integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
    probabilities = np.asarray(model(images))
    assert probabilities.shape == (4, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_dropout_and_activation_come_from_the_config():
    model = build_model(compose_config("model.dropout=0.3", "model.activation=tanh").model)
    assert model.get_layer("dropout").rate == 0.3
    assert model.get_layer("conv1").activation.__name__ == "tanh"
    assert "dropout" not in [
        layer.name for layer in build_model(compose_config("model.dropout=0").model).layers
    ]
