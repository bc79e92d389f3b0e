"""freeze_startup_objects: what start-up made leaves the collector's walk, once per process."""

import gc
import subprocess
import sys

from pipeline import PROJECT_ROOT

CHECK = """
import gc
import weakref
from pipeline.processes.memory import freeze_startup_objects

class Node:
    pass

kept = Node()
cycle = Node(); cycle.me = cycle; garbage = weakref.ref(cycle); del cycle
freeze_startup_objects()
assert garbage() is None  # garbage before the freeze is freed, not kept forever
assert gc.get_freeze_count() > 0 and not any(o is kept for o in gc.get_objects())  # out of the walk
later = Node(); later.me = later; made_later = weakref.ref(later); del later
gc.collect()
assert made_later() is None  # what jobs make later is still collected
frozen = gc.get_freeze_count()
freeze_startup_objects()  # the next job of the same process: nothing more is frozen
assert gc.get_freeze_count() == frozen
print("ok")
"""


def test_start_up_objects_are_frozen_once_and_later_garbage_is_still_collected():
    # In a process of its own: a freeze lasts as long as the process.
    before = gc.get_freeze_count()  # another test may have run a training entry point here
    done = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
    assert gc.get_freeze_count() == before  # this test process is left as it was
