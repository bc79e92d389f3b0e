"""JobTimings: the per-phase seconds every training job writes to timings.json."""

import json
import time

from pipeline.timings import TIMINGS_FILE, JobTimings


def test_one_off_phases_add_up_and_per_epoch_phases_keep_one_value_each(tmp_path, monkeypatch):
    now = [100.0]  # the clock moves only when the test says: exact sums, however busy the host
    monkeypatch.setattr(time, "perf_counter", lambda: now[0])
    timings = JobTimings()
    with timings.measure("data_s"):
        now[0] += 0.25
    timings.add("data_s", 1.0)
    for seconds in (2.0, 3.0):
        timings.append("train_s", seconds)
    with timings.measure("checkpoint_s", per_epoch=True):
        pass
    timings.write(tmp_path)

    written = json.loads((tmp_path / TIMINGS_FILE).read_text())
    assert written["data_s"] == 1.25
    assert written["train_s"] == [2.0, 3.0]
    assert len(written["checkpoint_s"]) == 1
    assert written["job_s"] == 0.25
    assert not list(tmp_path.glob("*.tmp"))


def test_a_phase_that_raises_is_still_measured():
    timings = JobTimings()
    try:
        with timings.measure("model_s"):
            raise ValueError("bad model")
    except ValueError:
        pass
    assert timings.phases["model_s"] >= 0.0
