"""The comparison link a multirun prints opens MLflow's comparison page of its runs, in a real
browser, on the server `make ui` starts. Needs Debian's `chromium` (apt-get install chromium)."""
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient
from tests.servers import free_port, wait_until_healthy

from pipeline import PROJECT_ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Headless, and nothing that reaches beyond the loopback server.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Virtual milliseconds the page gets to fetch the runs and render; more on each retry, as
# MLflow's UI renders slowly on a busy machine.
RENDER_BUDGETS_MS = (15_000, 40_000, 90_000)


def printed_link(output: str, label: str) -> str:
    (line,) = [line for line in output.splitlines() if line.strip().startswith(label + " ")]
    return line.split()[1]


def rendered_page(url: str, profile: Path, budget_ms: int) -> str:
    result = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                             f"--virtual-time-budget={budget_ms}", "--dump-dom", url],
                            capture_output=True, text=True, timeout=180)
    return result.stdout


@pytest.mark.slow  # ~1-2 min: a two-job smoke multirun, the server's start, the page's render
def test_printed_compare_link_shows_the_multiruns_runs(tmp_path):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    ui_url = f"http://127.0.0.1:{free_port()}"
    overrides = [f"paths.output_dir={tmp_path}/outputs", f"paths.mlruns_dir={tmp_path}/mlruns",
                 "tracking.experiment_name=ui-links", f"tracking.ui_url={ui_url}"]
    sweep = subprocess.run([sys.executable, "-m", "pipeline.train", "-m", "optimizer=sgd,adam", "trainer=smoke",
                            "tracking.log_model=false", "tracking.log_checkpoints=false", *overrides],
                           cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
                           env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert sweep.returncode == 0, sweep.stderr[-2000:]
    compare = printed_link(sweep.stdout, "compare")

    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    experiment = client.get_experiment_by_name("ui-links")
    children = client.search_runs([experiment.experiment_id], "tags.mlflow.parentRunId != ''")
    names = {run.info.run_name for run in children}
    assert len(names) == 2

    # make ui: prints the store's links, then becomes the server.
    ui_output = tmp_path / "ui.out"
    with open(ui_output, "w") as out:
        server = subprocess.Popen([sys.executable, "-m", "pipeline.tracking.ui", *overrides], cwd=PROJECT_ROOT,
                                  stdout=out, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        wait_until_healthy(ui_url, server)
        assert printed_link(ui_output.read_text(), "compare") == compare
        for attempt, budget in enumerate(RENDER_BUDGETS_MS):
            page = rendered_page(compare, tmp_path / f"profile-{attempt}", budget)
            if all(name in page for name in names):
                break
        assert all(name in page for name in names), f"{sorted(names)} not in the rendered page"
        assert "Comparing 2 Runs" in page
    finally:
        os.killpg(server.pid, signal.SIGTERM)   # the server and its workers
        server.wait(timeout=30)
