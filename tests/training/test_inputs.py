import numpy as np

from pipeline.training.inputs import evaluation_batches, training_batches

IMAGES = np.arange(10 * 28 * 28, dtype=np.uint8).reshape(10, 28, 28)
LABELS = np.arange(10, dtype=np.uint8)


def _label_batches(dataset):
    return [labels.numpy().tolist() for _, labels in dataset]


def test_each_epoch_is_a_full_permutation_in_batches_that_never_span_epochs():
    batches = _label_batches(
        training_batches(IMAGES, LABELS, batch_size=4, seed=1, first_epoch=0, epochs=3)
    )
    assert [len(b) for b in batches] == [4, 4, 2] * 3
    epochs = [sum(batches[i : i + 3], []) for i in (0, 3, 6)]
    assert all(sorted(epoch) == list(range(10)) for epoch in epochs)
    assert epochs[0] != epochs[1], "each epoch has its own order"


def test_images_stay_with_their_labels_and_stay_uint8():
    for images, labels in training_batches(IMAGES, LABELS, 4, seed=3, first_epoch=0, epochs=1):
        assert images.dtype.name == "uint8"
        np.testing.assert_array_equal(images.numpy(), IMAGES[labels.numpy()])


def test_a_resumed_epoch_sees_exactly_the_batches_of_an_uninterrupted_run():
    straight = _label_batches(training_batches(IMAGES, LABELS, 4, seed=7, first_epoch=0, epochs=3))
    resumed = _label_batches(training_batches(IMAGES, LABELS, 4, seed=7, first_epoch=2, epochs=3))
    assert resumed == straight[6:]


def test_the_seed_changes_the_order():
    a = _label_batches(training_batches(IMAGES, LABELS, 10, seed=1, first_epoch=0, epochs=1))
    b = _label_batches(training_batches(IMAGES, LABELS, 10, seed=2, first_epoch=0, epochs=1))
    assert a != b


def test_evaluation_batches_keep_the_order():
    assert sum(_label_batches(evaluation_batches(IMAGES, LABELS, 3)), []) == list(range(10))


def test_neither_pipeline_starts_tf_datas_autotuning_thread():
    """Its thread made the training iterator's destruction at the end of `model.fit` wait
    18-20 s in two of three `make train` runs (pipeline/training/inputs.py)."""
    for batches in (
        training_batches(IMAGES, LABELS, 4, seed=1, first_epoch=0, epochs=1),
        evaluation_batches(IMAGES, LABELS, 3),
    ):
        assert batches.options().autotune.enabled is False
