"""losses.get: names, instances, serialized configs, and helpful errors."""

import keras
import pytest

from nbdetect import losses


@pytest.mark.parametrize(
    "name, cls",
    [
        ("focal", losses.FocalLoss),
        ("Focal", losses.FocalLoss),
        ("smoothl1", losses.SmoothL1Loss),
        ("smooth_l1", losses.SmoothL1Loss),
        ("HUBER", keras.losses.Huber),
    ],
)
def test_names(name, cls):
    loss = losses.get(name, reduction="sum")
    assert type(loss) is cls and loss.reduction == "sum"


def test_arguments_reach_the_constructor():
    assert losses.get("focal", from_logits=True, alpha=0.5).alpha == 0.5
    assert losses.get("smoothl1", l1_cutoff=0.1).l1_cutoff == 0.1
    assert losses.get("CIoU", bounding_box_format="xywh").bounding_box_format == "xywh"
    assert type(losses.get("giou", bounding_box_format="yxyx")) is losses.GIoULoss


def test_instances_and_configs_pass_through():
    loss = losses.SmoothL1Loss(reduction="none")
    assert losses.get(loss) is loss
    restored = losses.get(keras.saving.serialize_keras_object(losses.FocalLoss(gamma=3.0)))
    assert isinstance(restored, losses.FocalLoss) and restored.gamma == 3.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: losses.get("smoothl2"), "'focal', 'smoothl1', 'huber', 'giou', 'ciou'"),
        (lambda: losses.get("giou"), "bounding_box_format"),
        (lambda: losses.get(losses.FocalLoss(), reduction="sum"), "keyword arguments"),
        (lambda: losses.get(None), "not a loss"),
    ],
)
def test_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
