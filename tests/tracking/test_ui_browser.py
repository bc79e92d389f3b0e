"""The comparison link `make ui` prints opens MLflow's comparison page of the multirun's runs,
in a real browser, on the server `make ui` starts. Needs Debian's `chromium`, which `make test`
installs where apt works as root."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

from pipeline import PROJECT_ROOT
from tests.servers import free_port, wait_until_healthy

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Headless, and nothing that reaches beyond the loopback server.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Virtual milliseconds the page gets to fetch the runs and render; more on each retry, as
# MLflow's UI renders slowly on a busy machine.
RENDER_BUDGETS_MS = (5_000, 15_000, 40_000, 90_000)


def printed_link(output: str, label: str) -> str:
    (line,) = [line for line in output.splitlines() if line.strip().startswith(label + " ")]
    return line.split()[1]


def rendered_page(url: str, profile: Path, budget_ms: int) -> str:
    result = subprocess.run(
        [
            CHROMIUM,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    return result.stdout


@pytest.fixture
def ui_server(smoke_store, tmp_path):
    """`make ui` on the shared multirun store: it prints the store's links, then becomes the
    server; yields its URL and what it printed."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (make test installs it where apt works as root)")
    ui_url = f"http://127.0.0.1:{free_port()}"
    ui_output = tmp_path / "ui.out"
    with open(ui_output, "w") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipeline.ui",
                *smoke_store.overrides,
                f"tracking.ui_url={ui_url}",
            ],
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
    try:
        wait_until_healthy(ui_url, server)
        yield ui_url, ui_output.read_text()
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and its workers
        server.wait(timeout=30)


def test_printed_compare_link_shows_the_multiruns_runs(smoke_store, ui_server, tmp_path):
    ui_url, printed = ui_server
    compare = printed_link(printed, "compare")
    assert compare.startswith(f"{ui_url}/#/compare-runs?runs=")
    run_ids = json.loads(unquote(compare.split("runs=", 1)[1].split("&", 1)[0]))
    names = {smoke_store.client.get_run(run_id).info.run_name for run_id in run_ids}
    assert run_ids and len(names) >= 2
    for attempt, budget in enumerate(RENDER_BUDGETS_MS):
        page = rendered_page(compare, tmp_path / f"profile-{attempt}", budget)
        if all(name in page for name in names):
            break
    assert all(name in page for name in names), f"{sorted(names)} not in the rendered page"
    assert f"Comparing {len(run_ids)} Runs" in page
