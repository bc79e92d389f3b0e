"""MLflow's system metrics: recorded by default, off with `tracking.system_metrics=false`."""
from tests.tracking.conftest import only_run, tracked_config, train
from mlflow import MlflowClient

# What MLflow's CPU monitor records on every machine (GPU figures only where NVML finds one).
SYSTEM_METRICS = ("system/cpu_utilization_percentage", "system/system_memory_usage_megabytes")


def system_metric_names(run) -> set[str]:
    return {name for name in run.data.metrics if name.startswith("system/")}


def test_a_run_records_cpu_and_memory(smoke_run):
    assert set(SYSTEM_METRICS) <= system_metric_names(smoke_run.run)
    history = smoke_run.client.get_metric_history(smoke_run.run.info.run_id, SYSTEM_METRICS[0])
    assert history and all(0 <= m.value for m in history)


def test_the_switch_turns_them_off(tmp_path):
    cfg = tracked_config(tmp_path, "tracking.system_metrics=false", "tracking.system_metrics_interval=0.2",
                         "tracking.log_model=false", "tracking.log_checkpoints=false")
    train(cfg, "quiet")
    assert system_metric_names(only_run(MlflowClient(cfg.tracking.uri), cfg)) == set()
