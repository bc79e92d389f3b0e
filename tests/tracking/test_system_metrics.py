"""MLflow's system metrics: recorded by default, off with `tracking.system_metrics=false`."""

# What MLflow's CPU monitor records on every machine (GPU figures only where NVML finds one).
SYSTEM_METRICS = ("system/cpu_utilization_percentage", "system/system_memory_usage_megabytes")


def system_metric_names(run) -> set[str]:
    return {name for name in run.data.metrics if name.startswith("system/")}


def test_a_run_records_cpu_and_memory(smoke_run):
    assert set(SYSTEM_METRICS) <= system_metric_names(smoke_run.run)
    history = smoke_run.client.get_metric_history(smoke_run.run.info.run_id, SYSTEM_METRICS[0])
    assert history and all(0 <= m.value for m in history)


def test_the_switch_turns_them_off(smoke_store):
    """The shared store's jobs ran with `tracking.system_metrics=false` and a sampling interval
    shorter than their runs (tests/conftest.py): none recorded any."""
    for run in smoke_store.children:
        assert run.info.end_time - run.info.start_time > 200  # ms: longer than one sample
        assert system_metric_names(run) == set()
