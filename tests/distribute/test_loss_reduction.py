"""A user's Keras loss keeps its `reduction`: "sum" against "sum_over_batch_size".

Keras documents `reduction="sum_over_batch_size"` as the sum of the loss values divided
by their number, and `"sum"` as the plain sum. `keras.losses.Huber` averages the last axis
(the 4 box offsets), so the box loss of a batch has one value per image and anchor,
`B * A` values: the box_loss RetinaNet reports with `"sum_over_batch_size"` is the one it
reports with `"sum"` divided by `B * A`.
"""

import keras
import numpy as np
import pytest
from distribute_cases import BATCH_SIZE, build_model, synthetic_data


@pytest.fixture(scope="module")
def model_and_batch():
    data = synthetic_data(num_images=BATCH_SIZE)
    targets = {"boxes": data["boxes"], "classes": data["classes"]}
    return build_model(), data["images"], targets


def box_loss_with(model, images, targets, reduction):
    model.compile(
        optimizer=keras.optimizers.SGD(0.01),
        classification_loss="focal",
        box_loss=keras.losses.Huber(reduction=reduction),
    )
    # One batch of all the images: the reported value is that batch's loss.
    return model.evaluate(images, targets, batch_size=len(images), verbose=0, return_dict=True)


def test_sum_reduction_changes_the_box_loss_as_keras_documents(model_and_batch):
    model, images, targets = model_and_batch
    summed = box_loss_with(model, images, targets, "sum")
    averaged = box_loss_with(model, images, targets, "sum_over_batch_size")
    anchors = model(images[:1])["box"].shape[1]
    elements = len(images) * anchors  # B * A loss values (Huber averages the 4 offsets)

    assert summed["box_loss"] > 0 and np.isfinite(summed["box_loss"]), summed
    np.testing.assert_allclose(
        averaged["box_loss"],
        summed["box_loss"] / elements,
        rtol=1e-4,
        err_msg=(
            f'box_loss with reduction="sum_over_batch_size" should be the "sum" one '
            f"({summed['box_loss']}) / (B * A = {len(images)} * {anchors}); "
            f"got {averaged['box_loss']}"
        ),
    )
    # The classification loss (focal, by name) is the same in both compiles.
    np.testing.assert_allclose(
        averaged["classification_loss"], summed["classification_loss"], rtol=1e-6
    )
