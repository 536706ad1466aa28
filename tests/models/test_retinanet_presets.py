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
        (
            ("retinanet_resnet50_voc",),
            {},
            "retinanet_resnet50_pascalvoc .downloaded with kagglehub",
        ),
        (("./missing_dir",), {}, "does not exist"),
        (("resnet50",), {"bounding_box_format": "xywh"}, "needs num_classes"),
        (("resnet50",), {"num_classes": 3}, "needs bounding_box_format"),
    ],
)
def test_preset_errors(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        RetinaNet.from_preset(*args, **kwargs)


def test_class_mapping_is_saved_with_the_model(tmp_path):
    import keras
    from retinanet_cases import tiny_retinanet

    model = tiny_retinanet(num_classes=3, class_mapping={0: "cat", 2: "dog", 1: "fox"})
    assert model.class_mapping == {0: "cat", 1: "fox", 2: "dog"}
    model.save_to_preset(str(tmp_path / "preset"))
    assert RetinaNet.from_preset(str(tmp_path / "preset")).class_mapping == model.class_mapping
    model.save(str(tmp_path / "model.keras"))
    loaded = keras.saving.load_model(str(tmp_path / "model.keras"))
    assert loaded.class_mapping == model.class_mapping
    assert tiny_retinanet().class_mapping is None


@pytest.mark.parametrize(
    ("class_mapping", "message"),
    [
        (["cat", "dog"], "class_mapping of type list; expected None or a dict"),
        ({3: "cat"}, "class_mapping key 3; expected class ids 0 to 2"),
        ({"one": "cat"}, "class_mapping key 'one'"),
    ],
)
def test_class_mapping_errors(class_mapping, message):
    from retinanet_cases import tiny_retinanet

    with pytest.raises(ValueError, match=message):
        tiny_retinanet(num_classes=3, class_mapping=class_mapping)
