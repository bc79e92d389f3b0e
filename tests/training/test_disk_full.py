"""The disk fills up while a checkpoint is written: one line naming the folder, the previous
checkpoint intact, the run found by the same command again. On a real small filesystem
(tmpfs), which needs root."""

import os
import subprocess

import pytest

from pipeline.run_state import checkpoint_path, find_interrupted_run, fingerprint, load_state
from pipeline.training.checkpointing import OutOfSpace
from pipeline.training.run import train_and_evaluate
from tests.training.helpers import smoke_config

pytestmark = [pytest.mark.heavy, pytest.mark.system]


@pytest.fixture
def small_disk(tmp_path):
    """10 MB: room for one checkpoint of the seed convnet with Adam's state (7.5 MB), not two."""
    folder = tmp_path / "small"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=10m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_a_full_disk_is_one_line_keeps_the_last_checkpoint_and_the_run_is_found_again(
    small_disk, tmp_path
):
    cfg = smoke_config(tmp_path, "trainer.epochs=2", f"paths.output_dir={small_disk}")
    with pytest.raises(OutOfSpace) as full:
        train_and_evaluate(cfg, small_disk / "run")
    run = small_disk / "run"
    assert str(full.value) == (
        f"no space left on the device of {run} for epoch 2's checkpoint; epoch 1 is saved "
        "there: make room and run the same command again to resume it"
    )
    assert load_state(run).completed_epochs == 1 and checkpoint_path(run, 1).is_file()
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "epoch-001.keras",
        "epoch-001.rng.json",
        "state.json",
    ]  # nothing half written left behind

    # The same command again finds it (a resume itself: tests/training/test_run.py).
    assert find_interrupted_run(small_disk, fingerprint(cfg), exclude=small_disk / "next") == run
