"""The benchmark's own arithmetic and plumbing (its timings are measured by `make bench`, not asserted)."""
import pytest

from pipeline.bench.__main__ import flatten
from pipeline.bench.flops import forward_flops_per_sample, training_flops_per_sample
from pipeline.training.models import build_model
from tests.conftest import compose_config


def test_convnet_costs_about_48_mflop_per_training_sample():
    # conv 28x28x(9x1)x32 + 14x14x(9x32)x64 + 7x7x(9x64)x128, dense 2048x256 + 256x10; 2 FLOPs a MAC
    forward = 2 * (28 * 28 * 9 * 32 + 14 * 14 * 9 * 32 * 64 + 7 * 7 * 9 * 64 * 128 + 2048 * 256 + 256 * 10)
    model = build_model(compose_config("model=convnet").model)
    assert forward_flops_per_sample(model) == forward
    assert training_flops_per_sample(model) == pytest.approx(47.9e6, rel=0.01)


def test_tf_tutorial_flops_follow_its_valid_convolutions():
    forward = 2 * (26 * 26 * 9 * 32 + 11 * 11 * 9 * 32 * 64 + 3 * 3 * 9 * 64 * 64 + 576 * 64 + 64 * 10)
    assert forward_flops_per_sample(build_model(compose_config("model=tf_tutorial").model)) == forward


def test_results_flatten_to_dotted_numeric_metrics():
    nested = {"throughput": {"convnet": {"ratio": 1.5, "note": "x"}, "ok": True}, "n": 3}
    assert flatten(nested) == {"throughput.convnet.ratio": 1.5, "n": 3.0}


def test_both_sides_of_the_throughput_comparison_time_the_epochs_after_the_first(tmp_path):
    from pipeline.bench.throughput import bare_keras_fit, pipeline_fit
    from tests.training.conftest import smoke_config

    cfg = smoke_config(tmp_path, "model=tf_tutorial")   # 2 epochs: the first is not timed
    for speeds in (bare_keras_fit(cfg, 2), pipeline_fit(cfg, 2)):
        assert len(speeds.samples_per_second) == len(speeds.cpu_us_per_sample) == 1
        assert all(s > 0 for s in speeds.samples_per_second)
        # a smoke sample costs tens to thousands of CPU microseconds, never nothing
        assert all(1 < us < 1e5 for us in speeds.cpu_us_per_sample)
