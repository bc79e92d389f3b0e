"""The tf.data input pipeline: uint8 images stay in memory; batches are gathered by index.

Each epoch's order is a stateless shuffle keyed by (seed, epoch), so a run resumed at
epoch k sees exactly the batches an uninterrupted run would have seen from epoch k on
(a reshuffling `Dataset.shuffle` would replay epoch 0's order after a restart).

tf.data's autotuning is off: its optimisation thread (TF 2.21) often misses the wake-up when
an iterator is destroyed, and the iterator's destructor then waits out the thread's current
period at the end of `model.fit`. `AUTOTUNE` below then falls back to tf.data's static
defaults, which train as fast here (figures: docs/performance.md, `make train`).
"""

import numpy as np
import tensorflow as tf


def training_batches(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    seed: int,
    first_epoch: int,
    epochs: int,
) -> tf.data.Dataset:
    """All batches of epochs [first_epoch, epochs), epoch after epoch; no batch spans two epochs."""
    images, labels = tf.constant(images), tf.constant(labels)
    count = len(labels)

    def epoch_order(epoch: tf.Tensor) -> tf.data.Dataset:
        key = tf.stack([tf.constant(seed, tf.int64), epoch])
        order = tf.random.experimental.stateless_shuffle(tf.range(count), seed=key)
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    def gather(indices: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.gather(images, indices), tf.gather(labels, indices)

    return (
        tf.data.Dataset.range(first_epoch, epochs)
        .flat_map(epoch_order)
        .map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
        .with_options(_WITHOUT_AUTOTUNING)
    )


def evaluation_batches(images: np.ndarray, labels: np.ndarray, batch_size: int) -> tf.data.Dataset:
    return (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
        .with_options(_WITHOUT_AUTOTUNING)
    )


def _options_without_autotuning() -> tf.data.Options:
    options = tf.data.Options()
    options.autotune.enabled = False
    return options


_WITHOUT_AUTOTUNING = _options_without_autotuning()
