"""The garbage collector in a training process: what start-up imported is never garbage."""

import gc


def freeze_startup_objects() -> None:
    """Take every object alive now out of the collector's reach, once per process.

    After TensorFlow's, Keras's, MLflow's and Optuna's imports that is about half a million
    objects (modules, classes, functions) that live as long as the process, and every full
    collection walks them all: each job's `clear_session` (which collects) and the ones Python
    starts by itself during training. Objects made later, each job's model among them, stay
    collectable."""
    if gc.get_freeze_count() == 0:
        gc.collect()  # what is already garbage is freed, not kept forever
        gc.freeze()
