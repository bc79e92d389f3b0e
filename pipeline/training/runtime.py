"""Process-wide TensorFlow settings: threads, seeds, determinism, precision."""

import logging

import keras
import tensorflow as tf
from omegaconf import DictConfig

log = logging.getLogger(__name__)


def configure_runtime(trainer_cfg: DictConfig) -> None:
    # Each job starts from a blank Keras state, as if alone in its process: a multirun's or a
    # search's later jobs would otherwise carry every earlier model's graph state (layer
    # names counting up, memory growing) and pay for it in garbage-collection pauses. (The
    # models pipeline/training/reuse.py keeps are the process's own, and outlive this.)
    keras.backend.clear_session()
    try:
        if trainer_cfg.intra_op_threads:
            tf.config.threading.set_intra_op_parallelism_threads(trainer_cfg.intra_op_threads)
        if trainer_cfg.inter_op_threads:
            tf.config.threading.set_inter_op_parallelism_threads(trainer_cfg.inter_op_threads)
    except RuntimeError:
        log.warning("thread settings ignored: TensorFlow was already initialised in this process")
    # Seeds Python, numpy and Keras (weights and dropout); the data order has its own key.
    keras.utils.set_random_seed(trainer_cfg.seed)
    if trainer_cfg.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.mixed_precision.set_global_policy(
        "mixed_float16" if trainer_cfg.mixed_precision else "float32"
    )
