"""The two training loops. Both log the same metric names per epoch (loss, accuracy,
val_loss, val_accuracy, plus what the callbacks add) and drive the same callbacks."""

from dataclasses import dataclass

import keras
import tensorflow as tf


@dataclass
class LoopInputs:
    model: keras.Model  # compiled: optimizer, loss and "accuracy"
    train_batches: tf.data.Dataset  # epochs [first_epoch, epochs) back to back
    val_batches: tf.data.Dataset
    first_epoch: int
    epochs: int
    steps_per_epoch: int
    callbacks: list[keras.callbacks.Callback]
    verbose: int


def fit_loop(inputs: LoopInputs) -> None:
    """Keras `model.fit`."""
    inputs.model.fit(
        inputs.train_batches,
        validation_data=inputs.val_batches,
        initial_epoch=inputs.first_epoch,
        epochs=inputs.epochs,
        steps_per_epoch=inputs.steps_per_epoch,
        callbacks=inputs.callbacks,
        verbose=inputs.verbose,
        shuffle=False,  # the order comes from training_batches
    )


def tape_loop(inputs: LoopInputs) -> None:
    """The explicit flow: a `tf.GradientTape` step compiled with `tf.function`."""
    model, optimizer = inputs.model, inputs.model.optimizer
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    mean_loss = keras.metrics.Mean(name="loss")
    accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    scales_loss = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)

    @tf.function(jit_compile=model.jit_compile is True)
    def train_step(images, labels):
        with tf.GradientTape() as tape:
            probabilities = model(images, training=True)
            loss = loss_fn(labels, probabilities) + sum(model.losses)
            scaled = optimizer.scale_loss(loss) if scales_loss else loss
        gradients = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))  # noqa: B905 (AutoGraph converts zip)
        mean_loss.update_state(loss, sample_weight=tf.shape(labels)[0])
        accuracy.update_state(labels, probabilities)

    callbacks = keras.callbacks.CallbackList(
        inputs.callbacks,
        add_history=True,
        add_progbar=inputs.verbose != 0,
        model=model,
        verbose=inputs.verbose,
        epochs=inputs.epochs,
        steps=inputs.steps_per_epoch,
    )
    batches = iter(inputs.train_batches)
    model.stop_training = False
    logs = {}
    callbacks.on_train_begin()
    for epoch in range(inputs.first_epoch, inputs.epochs):
        mean_loss.reset_state()
        accuracy.reset_state()
        callbacks.on_epoch_begin(epoch)
        for step in range(inputs.steps_per_epoch):
            callbacks.on_train_batch_begin(step)
            train_step(*next(batches))
            callbacks.on_train_batch_end(step)
        logs = {"loss": float(mean_loss.result()), "accuracy": float(accuracy.result())}
        callbacks.on_test_begin()
        validation = model.evaluate(inputs.val_batches, verbose=0, return_dict=True)
        callbacks.on_test_end(validation)
        logs.update({f"val_{name}": float(value) for name, value in validation.items()})
        callbacks.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callbacks.on_train_end(logs)


LOOPS = {"fit": fit_loop, "tape": tape_loop}
