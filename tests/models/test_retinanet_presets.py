import numpy as np
import pytest

from nbdetect.models import RetinaNet


def test_preset_table():
    names = set(RetinaNet.presets)
    assert {
        "resnet50",
        "resnet50_imagenet",
        "mobilenet_v3_small",
        "mobilenet_v3_small_imagenet",
        "efficientnetv2_b0",
        "efficientnetv2_b0_imagenet",
    } <= names
    assert all("description" in spec for spec in RetinaNet.presets.values())


def test_small_preset_builds_offline_and_predicts():
    model = RetinaNet.from_preset(
        "mobilenet_v3_small",
        num_classes=7,
        bounding_box_format="xywh",
        num_filters=32,
        num_head_conv_layers=1,
    )
    assert len(model.classification_head.conv_layers) == 1
    assert model.feature_pyramid.num_filters == 32
    detections = model.predict(np.zeros((2, 96, 80, 3), "float32"), verbose=0)
    assert detections["boxes"].shape == (2, 100, 4)


def test_default_heads_have_four_convolutions():
    model = RetinaNet.from_preset("efficientnetv2_b0", num_classes=2, bounding_box_format="xyxy")
    assert len(model.box_head.conv_layers) == 4 and model.box_head.num_filters == 256


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("retinanet_resnet50_pascalvoc",), {}, "ships no pretrained detector"),
        (("./missing_dir",), {}, "does not exist"),
        (("resnet50",), {"bounding_box_format": "xywh"}, "needs num_classes"),
        (("resnet50",), {"num_classes": 3}, "needs bounding_box_format"),
    ],
)
def test_preset_errors(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        RetinaNet.from_preset(*args, **kwargs)
