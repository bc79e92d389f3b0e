"""System metrics: recorded by default, off with `tracking.system_metrics=false`; sampled with
MLflow's monitors into the run's tracking queue."""

import time

from pipeline.tracking.outbox import END, METRICS, Outbox
from pipeline.tracking.system_metrics import QueuedSystemMetrics

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


# The sampler on its own (pipeline/tracking/system_metrics.py), into a real queue of a run in a
# real SQLite store.


def queued_samples(outbox: Outbox) -> list[list]:
    return [
        record["metrics"]
        for record in outbox.records()
        if record.op == METRICS and record["metrics"][0][0].startswith("system/")
    ]


def sampler(tmp_path, uri: str, run_id: str, interval: float) -> QueuedSystemMetrics:
    outbox = Outbox(tmp_path / "run")
    outbox.open(uri, run_id)
    return QueuedSystemMetrics(outbox, run_id, uri, interval)


def test_samples_are_queued_every_interval_one_step_each_and_none_after_the_end(
    tmp_path, sqlite_experiment
):
    uri, client, experiment_id = sqlite_experiment
    monitor = sampler(tmp_path, uri, client.create_run(experiment_id).info.run_id, 0.05)
    monitor.start()
    deadline = time.monotonic() + 30
    while len(queued_samples(monitor.outbox)) < 3:
        assert time.monotonic() < deadline, "fewer than 3 samples in 30 s"
        time.sleep(0.05)
    monitor.finish()
    samples = queued_samples(monitor.outbox)
    monitor.outbox.put(END, status="FINISHED")
    time.sleep(0.2)  # several intervals: a thread still sampling would queue after the end
    assert queued_samples(monitor.outbox) == samples
    assert [record[0][3] for record in samples] == list(range(len(samples)))
    names = {name for name, *_ in samples[0]}
    assert set(SYSTEM_METRICS) <= names
    for name, value, _, _ in samples[-1]:
        if name == "system/cpu_utilization_percentage":
            assert 0 <= value <= 100


def test_a_run_shorter_than_one_interval_gets_one_sample(tmp_path, sqlite_experiment):
    uri, client, experiment_id = sqlite_experiment
    monitor = sampler(tmp_path, uri, client.create_run(experiment_id).info.run_id, 600)
    monitor.start()
    monitor.finish()
    assert [record[0][3] for record in queued_samples(monitor.outbox)] == [0]


def test_a_continued_run_goes_on_from_its_last_step(tmp_path, sqlite_experiment):
    uri, client, experiment_id = sqlite_experiment
    run_id = client.create_run(experiment_id).info.run_id
    for step in range(3):
        client.log_metric(run_id, SYSTEM_METRICS[0], 10.0, step=step)
    monitor = sampler(tmp_path, uri, run_id, 600)
    monitor.start()
    monitor.finish()
    assert [record[0][3] for record in queued_samples(monitor.outbox)] == [3]
