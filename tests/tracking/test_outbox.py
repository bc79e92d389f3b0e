"""The tracking queue (pipeline/tracking/outbox.py) and its delivery to a real MLflow store:
order, durability, each record once, and `mnist-sync`."""

import json
import subprocess
import sys
import threading

import pytest
from mlflow import MlflowClient

from pipeline import PROJECT_ROOT
from pipeline.tracking.delivery import Delivery, Sender, deliver_all
from pipeline.tracking.outbox import (
    ARTIFACTS,
    END,
    METRICS,
    SUMMARY,
    TAGS,
    Outbox,
    OutboxBusy,
    outboxes_under,
)
from pipeline.tracking.records import (
    BEST_CHILD_RUN_ID_TAG,
    CHILDREN_TAG,
    OVERRIDES_TAG,
    PARENT_ID_TAG,
    best_metric_name,
)
from tests.helpers import child_environment
from tests.servers import free_port


@pytest.fixture
def store(sqlite_experiment):
    """A new run in the module's store."""
    uri, client, experiment_id = sqlite_experiment
    return uri, client, client.create_run(experiment_id).info.run_id


def queued_run(tmp_path, uri, run_id, epochs=3) -> Outbox:
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    outbox = Outbox(run_dir)
    outbox.open(uri, run_id)
    for epoch in range(epochs):
        outbox.put(
            METRICS,
            metrics=[
                ["train/loss", 1.0 / (epoch + 1), 1000 + epoch, epoch],
                ["val/accuracy", 0.5 + epoch / 10, 1000 + epoch, epoch],
            ],
        )
        checkpoint = run_dir / "checkpoints" / f"epoch-{epoch + 1:03d}.keras"
        checkpoint.write_bytes(b"weights %d" % epoch)
        outbox.put_files("checkpoints", files=[checkpoint])
    outbox.put(TAGS, tags={"note": "queued"})
    outbox.put(END, status="FINISHED")
    return outbox


def steps(client, run_id, key):
    return sorted(m.step for m in client.get_metric_history(run_id, key))


def test_records_keep_their_order_and_survive_a_half_written_line(tmp_path, store):
    uri, _, run_id = store
    outbox = queued_run(tmp_path, uri, run_id)
    with open(outbox.folder / "queue.jsonl", "a") as queue:
        queue.write('{"seq": 99, "op": "metr')  # a kill in the middle of an append
    records = Outbox(outbox.folder.parent).pending()
    assert [r.op for r in records] == [METRICS, ARTIFACTS] * 3 + [TAGS, END]
    assert [r.seq for r in records] == sorted(r.seq for r in records)
    # a new process appends after what is there
    assert Outbox(outbox.folder.parent).put(TAGS, tags={}) == records[-1].seq + 1


def test_a_queued_checkpoint_is_delivered_after_the_run_pruned_it(tmp_path, store):
    uri, client, run_id = store
    outbox = queued_run(tmp_path, uri, run_id, epochs=1)
    (outbox.folder.parent / "checkpoints" / "epoch-001.keras").unlink()
    deliver_all(Delivery(outbox, client))
    assert [f.path for f in client.list_artifacts(run_id, "checkpoints")] == [
        "checkpoints/epoch-001.keras"
    ]
    assert not outbox.files_of(2).exists()  # delivered files leave the queue


def test_delivery_after_a_kill_between_sending_and_marking_logs_each_step_once(tmp_path, store):
    uri, client, run_id = store
    outbox = queued_run(tmp_path, uri, run_id)
    first = outbox.pending()[0]
    Delivery(outbox, client).deliver(first, maybe_sent=False)
    (outbox.folder / "delivered").write_text("0")  # killed before it marked the record done
    report = deliver_all(Delivery(outbox, client))
    assert report.delivered == 8 and not report.rejected
    assert steps(client, run_id, "train/loss") == [0, 1, 2]
    assert steps(client, run_id, "val/accuracy") == [0, 1, 2]
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.tags["note"] == "queued"
    assert deliver_all(Delivery(outbox, client)).delivered == 0  # again: nothing left


def test_a_sender_delivers_as_records_arrive_and_finish_waits_for_the_last(tmp_path, store):
    uri, client, run_id = store
    outbox = Outbox(tmp_path / "run")
    outbox.open(uri, run_id)
    lines = []
    sender = Sender(Delivery(outbox, client), uri, max_backoff=1, say=lines.append).start()
    for epoch in range(5):
        outbox.put(METRICS, metrics=[["train/loss", float(epoch), 1000, epoch]])
    assert sender.drain(60, stop=lambda: False)
    outbox.put(END, status="KILLED")
    assert sender.finish(60) == 0
    assert steps(client, run_id, "train/loss") == [0, 1, 2, 3, 4]
    assert client.get_run(run_id).info.status == "KILLED"
    assert lines == []  # a store that never went away: nothing said


def away_server() -> str:
    """A tracking server address nobody answers at."""
    return f"http://127.0.0.1:{free_port()}"


def test_a_sender_says_once_that_the_store_is_away_and_keeps_the_records(
    tmp_path, store, monkeypatch
):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    _, client, run_id = store
    away = away_server()
    outbox = Outbox(tmp_path / "run")
    outbox.open(away, run_id)
    lines, said = [], threading.Event()

    def say(line):
        lines.append(line)
        said.set()

    sender = Sender(Delivery(outbox, MlflowClient(away)), away, max_backoff=0.2, say=say).start()
    outbox.put(METRICS, metrics=[["train/loss", 1.0, 1000, 0]])
    outbox.put(END, status="FINISHED")
    assert said.wait(60), "the sender never found the store away"
    assert not sender.drain(0.5, stop=lambda: False)  # retried in the meantime: said once
    assert sender.finish(0) == 2
    assert len(lines) == 1 and "is away" in lines[0] and str(outbox.folder) in lines[0]


def test_one_deliverer_per_queue(tmp_path, store):
    uri, _, run_id = store
    outbox = queued_run(tmp_path, uri, run_id, epochs=1)
    outbox.take_delivery()
    with pytest.raises(OutboxBusy):
        Outbox(outbox.folder.parent).take_delivery()
    outbox.release_delivery()
    Outbox(outbox.folder.parent).take_delivery()


def sync(*args):
    return subprocess.run(
        [sys.executable, "-m", "pipeline.sync", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=child_environment(),
    )


def test_sync_delivers_every_queued_run_under_the_output_folder(tmp_path, store):
    uri, client, run_id = store
    outbox = queued_run(tmp_path, uri, run_id)
    assert [o.folder for o in outboxes_under(tmp_path)] == [outbox.folder]
    result = sync("--all", f"paths.output_dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    assert f"delivered 8 records to run {run_id}" in result.stdout
    assert client.get_run(run_id).info.status == "FINISHED"
    again = sync(str(outbox.folder.parent))
    assert again.returncode == 0 and "nothing to deliver" in again.stdout
    assert steps(client, run_id, "train/loss") == [0, 1, 2]


def test_sync_with_the_store_away_is_one_line_and_loses_nothing(
    tmp_path, store, capsys, own_request_settings
):
    from pipeline.sync import main  # in this process: the command line is the test above's

    _, _, run_id = store
    outbox = queued_run(tmp_path, away_server(), run_id, epochs=1)
    assert main([str(outbox.folder.parent), "tracking.delivery.request_retries=0"]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ") and "nothing is lost" in line
    assert len(outbox.pending()) == 4
    assert json.loads((outbox.folder / "target.json").read_text())["run_id"] == run_id


def test_sync_refuses_a_folder_without_a_queue(tmp_path, capsys):
    from pipeline.sync import main

    assert main([str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path} has no tracking queue"


ENDED_MS = 1_700_000_000_000


def queued_multirun(tmp_path, sqlite_experiment, job_uris=None):
    """A multirun that ended while its store was away: two jobs queued their last epoch and
    end, the parent its summary and end. (sweep folder, parent id, job run ids)"""
    uri, client, experiment_id = sqlite_experiment
    parent_id = client.create_run(experiment_id, run_name="multirun").info.run_id
    sweep = tmp_path / "multiruns" / "2026-12-03" / "10-00-00-000000"
    jobs = []
    for number, (dropout, value) in enumerate((("0.25", 0.91), ("0.5", 0.95))):
        tags = {PARENT_ID_TAG: parent_id, OVERRIDES_TAG: f"model.dropout={dropout}"}
        run_id = client.create_run(experiment_id, tags=tags).info.run_id
        job = Outbox(sweep / str(number))
        job.open((job_uris or {}).get(number, uri), run_id)
        job.put(METRICS, metrics=[[best_metric_name("val_accuracy"), value, 1000, 1]])
        job.put(END, status="FINISHED", time_ms=ENDED_MS - 1000)
        jobs.append(run_id)
    parent = Outbox(sweep)
    parent.open(uri, parent_id)
    parent.put(SUMMARY, objective="val_accuracy", mode="max")
    parent.put(END, status="FINISHED", time_ms=ENDED_MS)
    return sweep, parent_id, jobs


def assert_summary(client, parent_id, best: str) -> None:
    run = client.get_run(parent_id)
    assert run.info.status == "FINISHED" and run.info.end_time == ENDED_MS  # not the sync's time
    assert run.data.tags[BEST_CHILD_RUN_ID_TAG] == best and run.data.tags[CHILDREN_TAG] == "2"
    assert run.data.metrics[best_metric_name("val_accuracy")] == 0.95
    assert [f.path for f in client.list_artifacts(parent_id)] == ["children.csv"]


def test_a_multirun_folder_delivers_its_jobs_then_its_parents_summary_and_end(
    tmp_path, sqlite_experiment, own_request_settings
):
    """The summary is written when delivered, from the children as the store has them then:
    after their queues."""
    from pipeline.sync import main

    sweep, parent_id, jobs = queued_multirun(tmp_path, sqlite_experiment)
    assert [o.folder.parent for o in outboxes_under(tmp_path)] == [sweep / "0", sweep / "1", sweep]

    assert main([str(sweep)]) == 0
    _, client, _ = sqlite_experiment
    assert_summary(client, parent_id, best=jobs[1])
    assert {client.get_run(job).info.status for job in jobs} == {"FINISHED"}
    assert not outboxes_under(tmp_path)
    assert main([str(sweep)]) == 0  # again: nothing left to deliver, said so


def test_a_parent_waits_while_one_of_its_jobs_queues_is_left(
    tmp_path, sqlite_experiment, own_request_settings, capsys
):
    from pipeline.sync import main

    uri, client, _ = sqlite_experiment
    sweep, parent_id, jobs = queued_multirun(tmp_path, sqlite_experiment, {1: away_server()})
    assert main([str(sweep), "tracking.delivery.request_retries=0"]) == 1
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and f"records of {sweep / '1'}" in errors[0], errors
    assert errors[1].startswith(f"error: {sweep}: its jobs' records are not all delivered")
    assert client.get_run(parent_id).info.status == "RUNNING"  # no summary without job 1
    assert len(Outbox(sweep).pending()) == 2

    Outbox(sweep / "1").open(uri, jobs[1])  # its store is back
    assert main([str(sweep)]) == 0
    assert_summary(client, parent_id, best=jobs[1])


def test_a_queued_end_older_than_the_runs_own_end_leaves_it(tmp_path, store):
    """A search's parent run, ended later by another worker that joined it: that end stays."""
    uri, client, run_id = store
    client.set_terminated(run_id, "FINISHED", ENDED_MS)
    outbox = Outbox(tmp_path / "sweep")
    outbox.open(uri, run_id)
    outbox.put(END, status="FAILED", time_ms=ENDED_MS - 60_000)
    deliver_all(Delivery(outbox, client))
    info = client.get_run(run_id).info
    assert (info.status, info.end_time) == ("FINISHED", ENDED_MS)
    assert not outbox.pending()
