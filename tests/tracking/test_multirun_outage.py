"""A multirun's parent run when its tracking server is away at the end: the summary waits for
it as a run's queue does, and a server that does not come back costs one line, not a
traceback. A real `mlflow server`, hung (SIGSTOP) or killed (then `make sync` delivers the summary and the end it queued); the
callback as Hydra calls it."""

import threading
import time

import pytest
from mlflow import MlflowClient

from pipeline.processes import patience
from pipeline.tracking.multirun import MultirunTracking
from pipeline.tracking.records import (
    BEST_CHILD_RUN_ID_TAG,
    CHILDREN_TAG,
    OVERRIDES_TAG,
    PARENT_ID_TAG,
    best_metric_name,
)
from tests.servers import TrackingServer, free_port
from tests.tracking.helpers import event_after, no_request_times_out_after_the_thaw, tracked_config

pytestmark = [
    pytest.mark.heavy,
    pytest.mark.system,
    pytest.mark.usefixtures("own_request_settings"),
]

OBJECTIVE = best_metric_name("val_accuracy")


@pytest.fixture
def server(tmp_path):
    server = TrackingServer(tmp_path / "tracking-server", free_port())
    server.start()
    yield server
    if server.process is not None:
        server.thaw()  # a failed test may leave it hung
    server.stop()


def multirun_config(tmp_path, server: TrackingServer, final_wait: float, *overrides: str):
    return tracked_config(
        tmp_path,
        f"tracking.uri={server.url}",
        "tracking.delivery.request_retries=0",
        "tracking.delivery.request_timeout=2",
        "tracking.delivery.max_backoff=1",
        f"tracking.delivery.final_wait={final_wait}",
        *overrides,
        hydra=True,
    )


def start_with_two_jobs(callback: MultirunTracking, cfg, client: MlflowClient) -> str:
    """The multirun's start, and two finished child runs; the id of the better one."""
    callback.on_multirun_start(cfg)
    experiment_id = client.get_run(callback.parent_id).info.experiment_id
    runs = []
    for dropout, value in (("0.25", 0.91), ("0.5", 0.95)):
        run = client.create_run(
            experiment_id,
            run_name=f"dropout {dropout}",
            tags={PARENT_ID_TAG: callback.parent_id, OVERRIDES_TAG: f"model.dropout={dropout}"},
        )
        client.log_metric(run.info.run_id, OBJECTIVE, value)
        client.set_terminated(run.info.run_id, "FINISHED")
        runs.append(run.info.run_id)
    return runs[1]


def tracking_lines(capfd) -> list[str]:
    return [line for line in capfd.readouterr().err.splitlines() if line.startswith("tracking:")]


def test_the_summary_waits_for_a_hung_server_and_lands_once(tmp_path, server, monkeypatch, capfd):
    cfg = multirun_config(tmp_path, server, final_wait=60)
    client = MlflowClient(server.url)
    callback = MultirunTracking()
    best = start_with_two_jobs(callback, cfg, client)
    parent_id = callback.parent_id

    found_away = event_after(monkeypatch, patience, "say")  # its first line: "is away"

    def thaw_once_found_away():
        assert found_away.wait(60), "the summary never found the server away"
        no_request_times_out_after_the_thaw()
        server.thaw()

    server.freeze()
    thawing = threading.Thread(target=thaw_once_found_away)
    thawing.start()
    callback.on_multirun_end(cfg)
    thawing.join()

    parent = client.get_run(parent_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags[BEST_CHILD_RUN_ID_TAG] == best
    assert parent.data.tags[CHILDREN_TAG] == "2"
    assert [m.value for m in client.get_metric_history(parent_id, OBJECTIVE)] == [0.95]
    assert [f.path for f in client.list_artifacts(parent_id)] == ["children.csv"]
    said = tracking_lines(capfd)
    assert len(said) == 2 and "is away" in said[0] and "is back" in said[1], said
    assert callback.parent_id is None  # nothing left for the exit handler


def test_ctrl_c_while_the_summary_waits_ends_the_parent_killed(
    tmp_path, server, monkeypatch, capfd
):
    cfg = multirun_config(tmp_path, server, 60, "tracking.delivery.interrupted_wait=5")
    client = MlflowClient(server.url)
    callback = MultirunTracking()
    start_with_two_jobs(callback, cfg, client)
    parent_id = callback.parent_id
    said_away = patience.say

    def ctrl_c_once_found_away(line):
        said_away(line)
        if not hasattr(ctrl_c_once_found_away, "pressed"):
            ctrl_c_once_found_away.pressed = True
            no_request_times_out_after_the_thaw()
            server.thaw()  # the end, after the Ctrl-C, finds the server answering
            raise KeyboardInterrupt

    monkeypatch.setattr(patience, "say", ctrl_c_once_found_away)
    server.freeze()
    with pytest.raises(KeyboardInterrupt):
        callback.on_multirun_end(cfg)
    assert client.get_run(parent_id).info.status == "KILLED"
    assert callback.parent_id is None
    said = tracking_lines(capfd)
    assert len(said) == 1 and "is away" in said[0], said


def test_a_server_that_stays_away_gets_the_summary_and_end_from_make_sync(tmp_path, server, capfd):
    cfg = multirun_config(tmp_path, server, final_wait=3)
    client = MlflowClient(server.url)
    callback = MultirunTracking()
    best = start_with_two_jobs(callback, cfg, client)
    parent_id, sweep_dir = callback.parent_id, callback.sweep_dir

    server.stop()
    started = time.monotonic()
    callback.on_multirun_end(cfg)  # no exception: the jobs' runs are recorded already
    waited = time.monotonic() - started
    said = tracking_lines(capfd)
    assert len(said) == 3, said
    assert "is away" in said[0]
    assert "did not take the multirun's summary" in said[1] and str(sweep_dir) in said[1]
    assert f"parent run {parent_id}" in said[2] and "stays RUNNING" in said[2]
    assert f"make sync RUN={sweep_dir}" in said[2]
    assert callback.parent_id is None
    print(f"\nthe end gave up {waited:.1f} s after it began (final_wait 3 s)")

    server.start()
    assert client.get_run(parent_id).info.status == "RUNNING"
    from pipeline.sync import main

    assert main([str(sweep_dir), "tracking.delivery.request_retries=0"]) == 0
    parent = client.get_run(parent_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags[BEST_CHILD_RUN_ID_TAG] == best
    assert parent.data.tags[CHILDREN_TAG] == "2"
    assert [f.path for f in client.list_artifacts(parent_id)] == ["children.csv"]


def test_a_summary_the_store_refuses_is_queued_and_the_parent_still_ends(tmp_path, server, capfd):
    """Not an outage: the store answers, but refuses the summary (here a 400 before it is
    written). The end does not wait behind it."""
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

    from pipeline.tracking.outbox import SUMMARY, Outbox

    class RefusedSummary(MultirunTracking):
        def before_summary(self, parent):
            raise MlflowException("the summary is refused", error_code=INVALID_PARAMETER_VALUE)

    cfg = multirun_config(tmp_path, server, final_wait=3)
    client = MlflowClient(server.url)
    callback = RefusedSummary()
    start_with_two_jobs(callback, cfg, client)
    parent_id, sweep_dir = callback.parent_id, callback.sweep_dir
    callback.on_multirun_end(cfg)

    (said,) = tracking_lines(capfd)
    assert "did not take the multirun's summary (the summary is refused)" in said
    assert client.get_run(parent_id).info.status == "FINISHED"
    assert [record.op for record in Outbox(sweep_dir).pending()] == [SUMMARY]
