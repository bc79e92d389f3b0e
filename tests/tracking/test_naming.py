"""Run names, metric names, and the TensorFlow-free import of what config time loads."""

import pytest

from pipeline.tracking.naming import compact_number, run_name
from pipeline.tracking.records import metric_name
from tests.helpers import imports_tensorflow
from tests.tracking.helpers import tracked_config


@pytest.mark.parametrize(
    "value, text", [(1e-3, "1e-3"), (2.5e-4, "2.5e-4"), (0.01, "1e-2"), (1.0, "1e0")]
)
def test_compact_number(value, text):
    assert compact_number(value) == text


def test_run_name_from_config_unless_given(tmp_path):
    assert (
        run_name(tracked_config(tmp_path, "optimizer=sgd", "model.dropout=0.5"))
        == "convnet-sgd-lr1e-2-do0.5"
    )
    assert run_name(tracked_config(tmp_path, "tracking.run_name=mine")) == "mine"


@pytest.mark.parametrize(
    "key, name",
    [
        ("loss", "train/loss"),
        ("val_accuracy", "val/accuracy"),
        ("learning_rate", "optimizer/learning_rate"),
        ("samples_per_second", "speed/samples_per_second"),
        ("test_loss", "test/loss"),
        ("test_recall_class_3", "test_per_class/recall_class_3"),
    ],
)
def test_metric_names_group_by_section(key, name):
    assert metric_name(key) == name


def test_config_time_modules_do_not_import_tensorflow():
    assert not imports_tensorflow(
        "pipeline.tracking.multirun", "pipeline.ui", "pipeline.tracking.tracker"
    )


def test_stopwatch_sums_only_the_time_inside_its_blocks(monkeypatch):
    from pipeline import timings

    now = [100.0]  # the clock moves only when the test says: exact sums, however busy the host
    monkeypatch.setattr(timings.time, "perf_counter", lambda: now[0])
    stopwatch = timings.Stopwatch()
    with stopwatch:
        now[0] += 0.25
    now[0] += 10.0  # outside its blocks
    with stopwatch:
        now[0] += 0.5
    assert stopwatch.seconds == 0.75


def test_passwords_are_never_logged():
    from pipeline.tracking.naming import flat_params, redact, user_overrides
    from tests.helpers import compose_config

    params = flat_params(compose_config("tracking=server", "tracking.server.password=s3:cret"))
    assert params["tracking.server.password"] == "***"
    assert params["tracking.optuna_storage"].startswith(
        "postgresql://mnist@127.0.0.1:5433/optuna?passfile="
    )
    assert "s3:cret" not in " ".join(params.values())
    assert redact("http://127.0.0.1:5001") == "http://127.0.0.1:5001"
    assert user_overrides(
        ["x=1", "tracking.parent_run_id=abc", "++trial.storage='postgresql://u:p@h/db'"]
    ) == ["x=1", "++trial.storage='postgresql://u:***@h/db'"]
