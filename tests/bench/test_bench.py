"""The benchmark's own arithmetic and plumbing (its timings are measured by `make bench`, not asserted)."""

import json

import pytest

from pipeline.bench.__main__ import flatten
from pipeline.bench.flops import forward_flops_per_sample, training_flops_per_sample
from pipeline.training.models import build_model
from tests.helpers import compose_config


def test_convnet_costs_about_48_mflop_per_training_sample():
    # conv 28x28x(9x1)x32 + 14x14x(9x32)x64 + 7x7x(9x64)x128, dense 2048x256 + 256x10; 2 FLOPs a MAC
    forward = 2 * (
        28 * 28 * 9 * 32 + 14 * 14 * 9 * 32 * 64 + 7 * 7 * 9 * 64 * 128 + 2048 * 256 + 256 * 10
    )
    model = build_model(compose_config("model=convnet").model)
    assert forward_flops_per_sample(model) == forward
    assert training_flops_per_sample(model) == pytest.approx(47.9e6, rel=0.01)


def test_tf_tutorial_flops_follow_its_valid_convolutions():
    forward = 2 * (
        26 * 26 * 9 * 32 + 11 * 11 * 9 * 32 * 64 + 3 * 3 * 9 * 64 * 64 + 576 * 64 + 64 * 10
    )
    assert (
        forward_flops_per_sample(build_model(compose_config("model=tf_tutorial").model)) == forward
    )


def test_results_flatten_to_dotted_numeric_metrics():
    nested = {"throughput": {"convnet": {"ratio": 1.5, "note": "x"}, "ok": True}, "n": 3}
    assert flatten(nested) == {"throughput.convnet.ratio": 1.5, "n": 3.0}


def test_both_sides_of_the_throughput_comparison_time_the_epochs_after_the_first(tmp_path):
    from pipeline.bench.throughput import bare_keras_fit, pipeline_fit
    from tests.training.helpers import smoke_config

    cfg = smoke_config(tmp_path, "model=tf_tutorial")  # 2 epochs: the first is not timed
    for speeds in (bare_keras_fit(cfg, 2), pipeline_fit(cfg, 2)):
        assert len(speeds.samples_per_second) == len(speeds.cpu_us_per_sample) == 1
        assert all(s > 0 for s in speeds.samples_per_second)
        # a smoke sample costs tens to thousands of CPU microseconds, never nothing
        assert all(1 < us < 1e5 for us in speeds.cpu_us_per_sample)


def test_fixed_search_trials_lie_in_the_default_search_space():
    from pipeline.bench.search_speed import fixed_trials
    from pipeline.search.sweeper.search_space import build_search_space

    sweeper = compose_config("experiments=tune", return_hydra_config=True).hydra.sweeper
    space = build_search_space(sweeper.params, [], sweeper.conditional_params, None)
    trials = fixed_trials(12)
    for params in trials:
        searched = {
            **space.distributions,
            **{name: c.distribution for name, c in space.conditionals.items() if c.applies(params)},
        }
        assert params.keys() == searched.keys()
        assert all(
            searched[name]._contains(searched[name].to_internal_repr(value))
            for name, value in params.items()
        )
    assert {p["optimizer"] for p in trials} == {"sgd", "adam", "rmsprop"} and len(
        set(map(str, trials))
    ) == 12


def test_enqueued_trials_survive_hydras_override_grammar():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from pipeline.bench.search_speed import enqueue_literal, fixed_trials

    trials = fixed_trials(4)
    (override,) = OverridesParser.create().parse_overrides(
        [f"hydra.sweeper.enqueue_trials={enqueue_literal(trials)}"]
    )
    assert override.value() == trials


def test_multirun_grid_is_the_experiments_with_entries_replaced():
    from pipeline.bench.search_speed import multirun_grid

    assert multirun_grid(["trainer.seed=1", "optimizer=adam,sgd"]) == {
        "optimizer": ["adam", "sgd"],
        "model.dropout": ["0.25", "0.5"],
        "trainer.seed": ["1"],
    }


def test_hand_written_convnet_is_the_seed_convnet():
    from omegaconf import OmegaConf

    from pipeline.bench.hand_written import convnet

    model_cfg = compose_config("model=convnet").model
    hand = convnet(OmegaConf.to_container(model_cfg), model_cfg.dropout)
    assert hand.count_params() == build_model(model_cfg).count_params() == 619_786


def test_job_parts_add_up_to_the_job_and_separate_tracing(tmp_path):
    from pipeline.timings import job_parts, trial_breakdown

    timings = {
        "job_s": 20.0,
        "data_s": 0.5,
        "model_s": 0.5,
        "tracking_start_s": 1.0,
        "train_s": [6.0, 4.0, 4.0],
        "validation_s": [0.5, 0.5, 0.5],
        "checkpoint_s": [0.2, 0.2, 0.2],
        "epoch_tracking_s": [0.1, 0.1, 0.1],
        "results_tracking_s": 1.0,
        "figures_s": 0.6,
    }  # no wait for the queue, no test evaluation
    parts = job_parts(timings)
    assert parts["tracing_s"] == pytest.approx(2.0) and parts["training_steps_s"] == pytest.approx(
        12.0
    )
    assert (
        parts["results_metrics_and_files_s"] == pytest.approx(0.4)
        and parts["tracking_wait_s"] == 0.0
    )
    assert sum(parts.values()) == pytest.approx(timings["job_s"])
    assert (
        trial_breakdown(tmp_path, 30.0) == {}
    )  # jobs from before timings.json: no breakdown, no error
    (tmp_path / "0").mkdir()
    (tmp_path / "0" / "timings.json").write_text(json.dumps(timings))
    assert trial_breakdown(tmp_path, 30.0)["outside_jobs_s"] == pytest.approx(10.0)


def test_tracing_is_the_first_step_beyond_an_ordinary_step_of_its_epoch():
    from pipeline.timings import job_parts

    timings = {
        "job_s": 20.0,
        "train_s": [6.0, 4.0],
        "first_batch_s": 2.5,
        "train_batches": [11, 11],
    }
    parts = job_parts(timings)  # the other 10 steps of epoch 1: 0.35 s each
    assert parts["tracing_s"] == pytest.approx(2.15)
    assert parts["training_steps_s"] == pytest.approx(7.85)


@pytest.mark.slow  # two whole processes, each importing TensorFlow: a benchmark's run, not the product's
def test_search_section_runs_both_arms_end_to_end(tmp_path):
    from pipeline.bench.__main__ import main

    output = tmp_path / "results.json"
    main(
        [
            "--sections",
            "search",
            "--search-trials",
            "1",
            "--search-epochs",
            "1",
            "--search-train-samples",
            "256",
            "--search-eval-samples",
            "200",
            "--repeats",
            "1",
            "--output",
            str(output),
            "--no-mlflow",
        ]
    )
    search = json.loads(output.read_text())["sections"]["search"]
    assert search["jobs"] == 1 and search["pipeline_vs_hand_written"] > 0
    assert search["pipeline_trials_per_hour"] > 0 and search["hand_written_trials_per_hour"] > 0
    assert {"training_steps_s", "validation_s", "checkpoint_s", "outside_jobs_s"} <= search[
        "pipeline_trial"
    ].keys()
    assert search["hand_written_trial"]["trial_s"] > 0


@pytest.mark.slow
def test_multirun_and_parallel_sections_run_end_to_end(tmp_path):
    from pipeline.bench.__main__ import main

    output = tmp_path / "results.json"
    main(
        [
            "--sections",
            "multirun",
            "search_parallel",
            "--search-trials",
            "2",
            "--search-epochs",
            "1",
            "--search-train-samples",
            "256",
            "--search-eval-samples",
            "200",
            "--repeats",
            "1",
            "--multirun-params",
            "optimizer=adam",
            "model.dropout=0.25",
            "trainer.seed=1",
            "--output",
            str(output),
            "--no-mlflow",
        ]
    )
    sections = json.loads(output.read_text())["sections"]
    assert (
        sections["multirun"]["jobs"] == 1 and sections["multirun"]["pipeline_vs_hand_written"] > 0
    )
    parallel = sections["search_parallel"]
    assert all(parallel[arm]["trials_per_hour"] > 0 for arm in ("1x2", "2x1", "2x1_joblib"))
    assert parallel["fastest"] in ("1x2", "2x1", "2x1_joblib") and parallel["2x1_vs_1x2"] > 0
