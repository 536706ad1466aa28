"""Class ids a RetinaNet cannot learn are an error in fit and evaluate, never a finite loss.

Before, ids >= num_classes trained as background (one_hot of an out-of-range id is all
zeros), fractional ids were truncated and negative ids other than the -1 padding were
ignored: the loss stayed finite and mAP was 0 without a word. The check runs inside the
compiled train step (a tf.debugging assertion), in an eager step (Python) and in JAX's
jitted step (a host callback; see test_retinanet_jax.py).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from retinanet_cases import compiled, tiny_retinanet, two_image_batch

from nbdetect.metrics import BoxCOCOMetrics


def with_classes(classes):
    images, targets = two_image_batch()
    targets["classes"] = np.array(classes, "float32")
    return images, targets


# (case, class ids of the two-image batch (num_classes=3), message fragments)
BAD_CLASS_IDS = [
    ("id equal to num_classes", [[0, 3], [-1, -1]], ["e.g. 3", "[0, 3)"]),
    ("id far past num_classes", [[7, 2], [-1, -1]], ["e.g. 7", "num_classes"]),
    ("negative id other than -1", [[0, -2], [-1, -1]], ["e.g. -2", "-1 for padding"]),
    ("fractional id", [[0.5, 2], [-1, -1]], ["e.g. 0.5", "whole numbers"]),
]
EAGER_MESSAGE = "RetinaNet (fit or evaluate) got y['classes'] with 1 invalid class id(s)"
GRAPH_MESSAGE = "RetinaNet (fit or evaluate) got y[classes] invalid class ids"


@pytest.fixture(scope="module")
def model():
    return compiled(tiny_retinanet(num_classes=3))


@pytest.fixture(scope="module")
def eager_model():
    return compiled(tiny_retinanet(num_classes=3), run_eagerly=True)


@pytest.mark.parametrize(
    ("classes", "fragments"),
    [case[1:] for case in BAD_CLASS_IDS],
    ids=[case[0] for case in BAD_CLASS_IDS],
)
def test_eager_fit_names_the_bad_id(eager_model, classes, fragments):
    images, targets = with_classes(classes)
    with pytest.raises(ValueError) as error:
        eager_model.fit(images, targets, batch_size=2, epochs=1, verbose=0)
    for fragment in [EAGER_MESSAGE, *fragments]:
        assert fragment in str(error.value)


@pytest.mark.parametrize(
    "classes", [case[1] for case in BAD_CLASS_IDS], ids=[case[0] for case in BAD_CLASS_IDS]
)
def test_compiled_fit_and_evaluate_stop_at_the_bad_id(model, classes):
    images, targets = with_classes(classes)
    dataset = tf.data.Dataset.from_tensor_slices((images, targets)).batch(2)
    for run in (
        lambda: model.fit(dataset, epochs=1, verbose=0),
        lambda: model.evaluate(dataset, verbose=0),
    ):
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"invalid class ids") as error:
            run()
        assert GRAPH_MESSAGE in str(error.value)
        assert "expected whole numbers in [0, 3), or -1 for padding" in str(error.value)


def test_ragged_targets_are_checked_too(model):
    images, _ = two_image_batch()
    targets = {
        "boxes": tf.ragged.constant([[[10, 20, 50, 60]], []], ragged_rank=1, dtype=tf.float32),
        "classes": tf.ragged.constant([[5.0], []]),
    }
    dataset = tf.data.Dataset.from_tensors((images, targets))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"invalid class ids"):
        model.fit(dataset, epochs=1, verbose=0)


def test_valid_ids_and_padding_train_as_before(model):
    images, targets = two_image_batch()
    history = model.fit(images, targets, batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_compile_gives_coco_metrics_the_models_num_classes():
    metric = BoxCOCOMetrics("xywh", evaluate_freq=1e9)
    model = compiled(tiny_retinanet(num_classes=3), metrics=[metric])
    assert metric.num_classes == 3
    chosen = BoxCOCOMetrics("xywh", evaluate_freq=1e9, num_classes=5)
    compiled(tiny_retinanet(num_classes=3), metrics=[chosen])
    assert chosen.num_classes == 5  # a user's own choice is kept
    del model
    keras.backend.clear_session()
