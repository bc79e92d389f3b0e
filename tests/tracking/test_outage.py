"""A tracking server that goes away in the middle of a training: training never waits on it.
A real `mlflow server`, hung (SIGSTOP: requests time out) or killed and started again on the
same port; MLflow's own retries shortened so that each outage outlasts them."""

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import keras
import pytest
from mlflow import MlflowClient

from pipeline import PROJECT_ROOT
from pipeline.tracking import delivery
from pipeline.tracking.records import MODEL_URI_TAG
from pipeline.training import run as training_run
from tests.helpers import child_environment
from tests.servers import TrackingServer, free_port
from tests.tracking.helpers import (
    REQUEST_SETTINGS,
    SYSTEM_METRICS_INTERVAL,
    event_after,
    no_request_times_out_after_the_thaw,
    only_run,
    tracked_config,
    train,
)

pytestmark = [
    pytest.mark.heavy,
    pytest.mark.system,
    pytest.mark.usefixtures("own_request_settings"),
]

EPOCHS = 8
# MLflow's own retries shortened (no retry, 2 s per request): every outage here outlasts them.
SHORT_RETRIES = (
    "tracking.delivery.request_retries=0",
    "tracking.delivery.request_timeout=2",
    "tracking.delivery.max_backoff=1",
    "tracking.system_metrics=false",
)


def checking_client(server: TrackingServer) -> MlflowClient:
    """The test's own queries after the outage, with MLflow's default retries and timeout: the
    server may still be working through the requests it took while hung."""
    for name in REQUEST_SETTINGS:
        os.environ.pop(name, None)
    return MlflowClient(server.url)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = TrackingServer(tmp_path_factory.mktemp("tracking-server"), free_port())
    server.start()
    yield server
    server.stop()


def outage_config(folder: Path, server: TrackingServer, *overrides: str):
    return tracked_config(
        folder,
        f"tracking.uri={server.url}",
        f"trainer.epochs={EPOCHS}",
        "trainer.max_train_samples=1024",
        *SHORT_RETRIES,
        *overrides,
    )


class EpochClock(keras.callbacks.Callback):
    """When each epoch begins (the time between two is a whole epoch: training, validation,
    checkpoint and tracking), and the server's fate: hung after `stop_after` epochs, back
    once training has ended and the run has found it away (so the outage outlasts MLflow's
    own retries), while the run waits for its queue."""

    def __init__(self, server: TrackingServer, stop_after: int, found_away: threading.Event):
        super().__init__()
        self.server, self.stop_after, self.found_away = server, stop_after, found_away
        self.begins: list[float] = []
        self.hung = threading.Event()
        self.epochs_while_hung = 0
        self.training_thread: threading.Thread | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self.begins.append(time.monotonic())
        self.training_thread = threading.current_thread()

    def on_epoch_end(self, epoch, logs=None):
        if self.hung.is_set():
            self.epochs_while_hung += 1
        if epoch + 1 == self.stop_after:
            self.server.freeze()
            self.frozen_ms = time.time() * 1000
            self.hung.set()

    def on_train_end(self, logs=None):
        assert self.found_away.wait(60), "the run never found the server away"
        no_request_times_out_after_the_thaw()
        self.hung.clear()
        self.server.thaw()
        self.thawed, self.thawed_ms = time.monotonic(), time.time() * 1000


def requests_while_hung(monkeypatch, clock: EpochClock) -> list[threading.Thread]:
    """The threads that send MLflow's HTTP requests while the server hangs (MLflow sends every
    request, artifacts included, through a `requests` session)."""
    import requests

    threads, send = [], requests.Session.request

    def request(session, *args, **kwargs):
        if clock.hung.is_set():
            threads.append(threading.current_thread())
        return send(session, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", request)
    return threads


def assert_every_step_once(client: MlflowClient, run_id: str, epochs: int = EPOCHS) -> None:
    for name in ("train/loss", "val/accuracy", "speed/epoch_time"):
        assert sorted(m.step for m in client.get_metric_history(run_id, name)) == list(
            range(epochs)
        ), name
    checkpoints = {Path(f.path).name for f in client.list_artifacts(run_id, "checkpoints")}
    assert {f"epoch-{epoch:03d}.keras" for epoch in range(1, epochs + 1)} <= checkpoints
    assert {Path(f.path).name for f in client.list_artifacts(run_id, "evaluation")} >= {
        "learning_curves.png"
    }


def test_training_goes_on_while_the_server_hangs_and_the_run_ends_finished(
    tmp_path, server, monkeypatch, capfd
):
    cfg = outage_config(
        tmp_path,
        server,
        "tracking.system_metrics=true",
        f"tracking.system_metrics_interval={SYSTEM_METRICS_INTERVAL}",
    )
    found_away = event_after(monkeypatch, delivery.Sender, "_went_away")
    clock = EpochClock(server, stop_after=3, found_away=found_away)
    callbacks = training_run.training_callbacks
    monkeypatch.setattr(
        training_run, "training_callbacks", lambda *args: callbacks(*args) + [clock]
    )
    hung_requests = requests_while_hung(monkeypatch, clock)
    train(cfg, "outage")
    delivered = time.monotonic() - clock.thawed

    # Training went on while the server hung (it thaws only once training has ended) and
    # never sent a request itself: each would have waited for its timeout. The epochs'
    # seconds, printed below, show it too; a ratio of them would depend on the host's load.
    assert clock.epochs_while_hung == EPOCHS - clock.stop_after
    assert clock.training_thread not in hung_requests, hung_requests

    client = checking_client(server)
    run = only_run(client, cfg)
    assert run.info.status == "FINISHED" and MODEL_URI_TAG in run.data.tags
    assert_every_step_once(client, run.info.run_id)
    # System metrics were sampled all along: while the server hung and after it came back.
    samples = client.get_metric_history(run.info.run_id, "system/cpu_utilization_percentage")
    assert sorted(m.step for m in samples) == list(range(len(samples)))
    assert any(clock.frozen_ms < m.timestamp < clock.thawed_ms for m in samples), samples
    assert max(m.timestamp for m in samples) > clock.thawed_ms, samples
    said = [line for line in capfd.readouterr().err.splitlines() if line.startswith("tracking:")]
    assert len(said) == 2 and "is away" in said[0] and "is back" in said[1], said
    epochs = [
        later - earlier for earlier, later in zip(clock.begins, clock.begins[1:], strict=False)
    ]
    undisturbed, away = epochs[1:2], epochs[3:]  # epoch 1 traces the model; 3 ends with the freeze
    print(
        f"\nepoch seconds, server up: {undisturbed}; hung: {[round(e, 3) for e in away]}; "
        f"the rest delivered and the run ended {delivered:.2f} s after it came back"
    )  # pytest -rP: the figures


def test_a_run_that_ends_while_the_server_hangs_is_delivered_later_by_sync_each_step_once(
    tmp_path, server
):
    from pipeline.sync import main as sync

    epochs = 4
    overrides = [
        "trainer=smoke",
        f"trainer.epochs={epochs}",
        "trainer.verbose=2",
        f"tracking.uri={server.url}",
        f"paths.output_dir={tmp_path}/outputs",
        *SHORT_RETRIES,
        "tracking.delivery.final_wait=2",
    ]
    training = subprocess.Popen(
        [sys.executable, "-m", "pipeline.train", *overrides],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_environment(TF_CPP_MIN_LOG_LEVEL="2"),
    )
    for line in training.stdout:  # the server hangs after epoch 2, until the training has ended
        if line.startswith(f"epoch 2/{epochs}"):
            server.freeze()
            break
    stdout, stderr = training.communicate(timeout=300)
    assert training.returncode == 0, stderr[-3000:]
    lines = stderr.strip().splitlines()
    assert len(lines) == 2 and "is away" in lines[0], lines  # no retry warnings, no traceback
    left = re.match(
        r"tracking: .* did not take (\d+) records of run (\w+) .*`make sync RUN=(\S+)`", lines[1]
    )
    assert left, lines[1]
    run_id, run_dir = left.group(2), Path(left.group(3))

    server.thaw()  # the requests it accepted while hung land now: sync must not repeat them
    started, synced_ms = time.monotonic(), time.time() * 1000
    assert sync([str(run_dir)]) == 0
    print(f"\nsync delivered {left.group(1)} records in {time.monotonic() - started:.2f} s")
    client = checking_client(server)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and MODEL_URI_TAG in run.data.tags
    assert run.info.end_time < synced_ms  # when the training ended, not when it was delivered
    assert_every_step_once(client, run_id, epochs)
    assert sync([str(run_dir)]) == 0  # again: nothing left, nothing twice
    assert_every_step_once(checking_client(server), run_id, epochs)
