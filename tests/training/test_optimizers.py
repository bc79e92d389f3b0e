import keras
import numpy as np
import pytest

from pipeline.config.choices import group_options
from pipeline.training.optimizers import WarmupSchedule, build_optimizer
from tests.helpers import compose_config


@pytest.mark.parametrize("name", group_options("optimizer"))
def test_each_optimizer_config_builds_its_keras_optimizer_with_its_values(name):
    cfg = compose_config(f"optimizer={name}", "schedule=constant")  # the rate as configured
    optimizer = build_optimizer(cfg.optimizer, cfg.schedule, steps_per_epoch=10, epochs=2)
    assert isinstance(optimizer, keras.optimizers.Optimizer)
    assert cfg.optimizer._target_ == f"keras.optimizers.{type(optimizer).__name__}"
    assert (
        type(optimizer).__name__.lower() == name
    )  # each file builds the optimizer it is named after
    assert float(optimizer.learning_rate) == pytest.approx(cfg.optimizer.learning_rate)
    passed_through = {
        key: value
        for key, value in cfg.optimizer.items()
        if key not in ("_target_", "name", "learning_rate") and value is not None
    }
    for key, value in passed_through.items():
        assert getattr(optimizer, key) == pytest.approx(value), key


def test_sgd_momentum_and_nesterov_are_passed_through():
    cfg = compose_config("optimizer=sgd", "optimizer.momentum=0.8", "optimizer.nesterov=true")
    optimizer = build_optimizer(cfg.optimizer, cfg.schedule, 10, 2)
    assert (optimizer.momentum, optimizer.nesterov) == (0.8, True)


def _rates(cfg, steps):
    optimizer = build_optimizer(cfg.optimizer, cfg.schedule, steps_per_epoch=10, epochs=3)
    schedule = optimizer._learning_rate
    return np.array([float(schedule(step)) for step in steps])


def test_cosine_schedule_warms_up_then_decays_to_the_final_fraction():
    cfg = compose_config(
        "schedule=cosine", "schedule.warmup_epochs=1", "schedule.final_lr_fraction=0.1"
    )
    rates = _rates(cfg, [0, 4, 9, 10, 20, 30])
    peak = cfg.optimizer.learning_rate * cfg.schedule.peak_lr_factor
    assert peak == pytest.approx(2 * cfg.optimizer.learning_rate)  # conf/schedule/cosine.yaml
    assert rates[0] == pytest.approx(peak / 10) and rates[1] == pytest.approx(peak / 2)
    assert rates[2] == pytest.approx(peak) and rates[3] == pytest.approx(peak)
    assert rates[-1] == pytest.approx(0.1 * peak)
    assert np.all(np.diff(rates[3:]) < 0)


def test_exponential_schedule_decays_per_epoch():
    cfg = compose_config("schedule=exponential", "schedule.decay_per_epoch=0.5")
    rates = _rates(cfg, [0, 10, 20])
    np.testing.assert_allclose(
        rates, cfg.optimizer.learning_rate * np.array([1, 0.5, 0.25]), rtol=1e-6
    )


def test_schedules_survive_a_checkpoint(tmp_path):
    cfg = compose_config("schedule=cosine", "schedule.warmup_epochs=0.5", "model=tf_tutorial")
    from pipeline.training.models import build_model

    model = build_model(cfg.model)
    model.compile(
        optimizer=build_optimizer(cfg.optimizer, cfg.schedule, 10, 3),
        loss="sparse_categorical_crossentropy",
    )
    model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras")
    assert float(restored.optimizer._learning_rate(7)) == pytest.approx(
        float(model.optimizer._learning_rate(7))
    )


def test_a_schedule_keeps_its_numbers_through_its_config():
    cfg = compose_config("schedule=cosine", "schedule.warmup_epochs=0.5")
    schedule = build_optimizer(cfg.optimizer, cfg.schedule, 10, 3)._learning_rate
    restored = keras.optimizers.schedules.deserialize(
        keras.optimizers.schedules.serialize(schedule)
    )
    assert restored.get_config() == schedule.get_config()
    np.testing.assert_array_equal(
        [float(restored(step)) for step in range(30)], [float(schedule(step)) for step in range(30)]
    )


def test_checkpoints_with_the_earlier_warmup_schedule_still_load():
    earlier = WarmupSchedule(keras.optimizers.schedules.CosineDecay(0.002, 20), 5)
    restored = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(earlier))
    assert float(restored(3)) == pytest.approx(float(earlier(3)))
