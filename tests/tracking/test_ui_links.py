"""The links into the MLflow UI: their routes, and what they point at in a store."""

import json
import subprocess
import sys
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from mlflow import MlflowClient

from pipeline.tracking.ui_links import (
    BEST_CHILD_TAG,
    compare_url,
    experiment_links,
    links_text,
    multirun_links,
    run_url,
    runs_table_url,
    store_links,
)
from tests.helpers import imports_tensorflow

UI = "http://127.0.0.1:5123"


def compare_query(url: str) -> dict[str, list[str]]:
    """What the compare page reads: the hash route's query, decoded, each value parsed as JSON."""
    route = urlsplit(url).fragment
    assert route.startswith("/compare-runs?")
    query = parse_qs(unquote(route.partition("?")[2]))
    return {key: json.loads(value) for key, (value,) in query.items()}


def test_page_links_follow_the_ui_routes():
    assert runs_table_url(UI, "7") == f"{UI}/#/experiments/7/runs"
    assert run_url(UI + "/", "7", "abc") == f"{UI}/#/experiments/7/runs/abc"


def test_compare_link_selects_the_runs_in_order_and_is_one_clickable_token():
    url = compare_url(UI, "7", ["b2", "a1", "c3"])
    assert compare_query(url) == {"runs": ["b2", "a1", "c3"], "experiments": ["7"]}
    assert not set(url) & set(' "[],')  # terminals end a link at these


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store shaped as the multirun callback leaves it: an older and a newer multirun, each a
    parent with children, the newer one naming its best child; and a plain run elsewhere."""
    client = MlflowClient(f"sqlite:///{tmp_path_factory.mktemp('ui-links')}/mlflow.db")
    sweeps = client.create_experiment("sweeps")
    single = client.create_experiment("single")
    client.set_terminated(client.create_run(single, run_name="lonely").info.run_id)

    def multirun(name: str, children: list[str], best: str | None = None) -> dict[str, str]:
        parent = client.create_run(sweeps, run_name=name, tags={"multirun": "parent"}).info.run_id
        ids = {
            child: client.create_run(
                sweeps, run_name=child, tags={"mlflow.parentRunId": parent}
            ).info.run_id
            for child in children
        }
        if best:
            client.set_tag(parent, BEST_CHILD_TAG, ids[best])
        return {"parent": parent, **ids}

    old = multirun("multirun old", ["old-a", "old-b"])
    new = multirun("multirun new", ["sgd", "adam", "rmsprop"], best="adam")
    return client, sweeps, single, old, new


def test_experiment_links_point_at_the_latest_multirun(store):
    client, sweeps, _, old, new = store
    links = experiment_links(client, UI, sweeps, "sweeps")
    assert links.runs == runs_table_url(UI, sweeps)
    assert links.multirun == "multirun new" and links.children == 3
    assert compare_query(links.compare)["runs"] == [new["sgd"], new["adam"], new["rmsprop"]]
    assert links.best == run_url(UI, sweeps, new["adam"]) and links.best_name == "adam"
    assert old["old-a"] not in links.compare


def test_multirun_links_without_a_best_child(store):
    client, sweeps, _, old, _ = store
    links = multirun_links(client, UI, old["parent"])
    assert links.name == "sweeps" and links.best is None
    assert compare_query(links.compare) == {
        "runs": [old["old-a"], old["old-b"]],
        "experiments": [sweeps],
    }
    assert "best run" not in links.text()


def test_store_links_list_every_experiment_with_runs(store):
    client, sweeps, single, _, new = store
    links = store_links(client, UI)
    assert sorted(entry.name for entry in links) == ["single", "sweeps"]  # not the empty Default
    lone = next(entry for entry in links if entry.name == "single")
    assert lone.runs == runs_table_url(UI, single) and lone.compare is None
    text = links_text(links)
    assert f"runs table  {runs_table_url(UI, sweeps)}" in text
    assert f"best run    {run_url(UI, sweeps, new['adam'])}  (adam)" in text


def test_ui_serves_where_the_config_says():
    from pipeline.ui import server_command

    command = server_command("sqlite:////s/mlflow.db", "http://127.0.0.1:5123")
    assert command[1:] == [
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        "sqlite:////s/mlflow.db",
        "--host",
        "127.0.0.1",
        "--port",
        "5123",
    ]


def test_link_modules_do_not_import_tensorflow():
    assert not imports_tensorflow(
        "pipeline.ui", "pipeline.tracking.ui_links", "pipeline.report.build"
    )


@pytest.mark.parametrize(
    "override, message",
    [
        (
            "tracking.uri=http://127.0.0.1:9",
            "error: tracking.uri=http://127.0.0.1:9 is unreachable",
        ),
        (
            "tracking.ui_urll=x",
            "error: Could not override 'tracking.ui_urll': Key 'ui_urll' not in 'TrackingConfig'",
        ),
    ],
)
def test_make_ui_stops_on_one_line_before_serving(override, message):
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.ui", override, "tracking.connect_timeout=1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == message or result.stderr.strip().startswith(message + " (")
