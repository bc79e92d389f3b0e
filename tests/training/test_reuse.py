"""Jobs of one process that differ only in numbers train the model the first one traced, and
get exactly the numbers a fresh model gives (pipeline/training/reuse.py)."""

import zipfile

import keras
import numpy as np
import pytest

from pipeline.training import reuse
from pipeline.training import run as training_run
from pipeline.training.models import TunableDropout, build_model, keras_only
from pipeline.training.optimizers import build_optimizer
from pipeline.training.run import train_and_evaluate
from tests.helpers import compose_config
from tests.training.helpers import read_metrics, smoke_config

FIRST = ("optimizer=adam", "model.dropout=0.3", "optimizer.learning_rate=0.002")
# Other numbers only: the dropout rate, the peak and length of the cosine schedule.
SECOND = ("optimizer=adam", "model.dropout=0.45", "optimizer.learning_rate=0.0007")

LEARNED = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


@pytest.fixture
def trained_models(monkeypatch):
    """The model object each job of this test trained, in order."""
    reuse.forget_traced()
    models = []

    def spy(model, deterministic):
        kept = reuse.reuse_traced(model, deterministic)
        models.append(kept)
        return kept

    monkeypatch.setattr(training_run, "reuse_traced", spy)
    yield models
    reuse.forget_traced()


@pytest.mark.heavy
def test_a_job_that_differs_in_numbers_reuses_the_model_and_gets_a_fresh_ones_results(
    tmp_path, trained_models
):
    train_and_evaluate(smoke_config(tmp_path / "a", *FIRST, "trainer.epochs=1"), tmp_path / "a")
    second = smoke_config(tmp_path / "b", *SECOND, "trainer.batch_size=32")
    train_and_evaluate(second, tmp_path / "b")
    assert trained_models[1] is trained_models[0]

    reuse.forget_traced()  # as in a process of its own
    train_and_evaluate(second, tmp_path / "fresh")
    assert trained_models[2] is not trained_models[0]
    reused, fresh = read_metrics(tmp_path / "b"), read_metrics(tmp_path / "fresh")
    for key in LEARNED:  # bit-identical: deterministic runs (the times differ, of course)
        assert reused["history"][key] == fresh["history"][key], key
    assert reused["test_accuracy"] == fresh["test_accuracy"]


def _compiled(*overrides: str) -> keras.Model:
    cfg = compose_config("experiments=tune", *overrides)
    model = build_model(cfg.model)
    model.compile(
        optimizer=build_optimizer(cfg.optimizer, cfg.schedule, 10, 2),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


@pytest.mark.parametrize(
    "other",
    [
        ("optimizer=rmsprop",),  # another optimizer class
        ("optimizer=adam", "model.dropout=0.0"),  # no dropout layer
        ("optimizer=adam", "optimizer.beta_1=0.8"),  # a constant of the optimizer's step
        ("optimizer=adam", "schedule=exponential"),  # another schedule shape
        ("optimizer=adam", "model.dense_units=64"),  # another architecture
    ],
)
def test_a_job_with_another_graph_gets_a_model_of_its_own(other):
    reuse.forget_traced()
    first = reuse.reuse_traced(_compiled(*FIRST), deterministic=False)
    assert reuse.reuse_traced(_compiled(*SECOND), deterministic=False) is first
    assert reuse.reuse_traced(_compiled(*other), deterministic=False) is not first
    assert reuse.reuse_traced(_compiled(*SECOND), deterministic=True) is not first
    reuse.forget_traced()


def test_the_kept_model_takes_the_new_jobs_state_and_numbers():
    reuse.forget_traced()
    first = reuse.reuse_traced(_compiled(*FIRST), deterministic=False)
    first.optimizer.build(first.trainable_variables)
    first.optimizer.iterations.assign(7)
    for variable in first.trainable_variables:
        variable.assign(np.ones(variable.shape))
    fresh = _compiled(*SECOND)
    kept = reuse.reuse_traced(fresh, deterministic=False)
    assert kept is first
    for ours, theirs in zip(kept.variables, fresh.variables, strict=True):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert int(kept.optimizer.iterations.numpy()) == 0
    assert kept.get_layer("dropout").rate == 0.45
    assert kept.optimizer._learning_rate.get_config() == fresh.optimizer._learning_rate.get_config()
    reuse.forget_traced()


def test_what_leaves_the_project_is_keras_own_layers_and_independent_of_the_model(tmp_path):
    model = _compiled(*FIRST)
    assert isinstance(model.get_layer("dropout"), TunableDropout)
    copy = keras_only(model)
    assert {type(layer).__module__.split(".")[0] for layer in copy.layers} == {"keras"}
    # Saved, it names nothing of this project (a served model loads without it): no layer, no
    # optimizer with our learning-rate schedule.
    copy.save(tmp_path / "model.keras")
    with zipfile.ZipFile(tmp_path / "model.keras") as saved:
        assert "pipeline" not in saved.read("config.json").decode()
    assert copy.get_layer("dropout").rate == 0.3
    assert copy.count_params() == model.count_params()
    images = np.random.default_rng(0).integers(0, 256, (16, 28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(copy.predict(images, verbose=0), model.predict(images, verbose=0))
    model.trainable_variables[0].assign(np.zeros(model.trainable_variables[0].shape))
    assert np.any(copy.trainable_variables[0].numpy() != 0)
