import math

import keras
import numpy as np
import pytest

from nbdetect.models import RetinaNet
from nbdetect.models.retinanet import ARCHITECTURES, Backbone, PadToMultiple


@pytest.fixture(scope="module")
def mobilenet():
    return Backbone("mobilenet_v3_small")


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_features_are_ceil_size_over_stride(architecture):
    backbone = Backbone(architecture)
    for height, width in [(65, 97), (64, 64)]:
        features = backbone(np.zeros((1, height, width, 3), "float32"))
        assert set(features) == {"P3", "P4", "P5"}
        for level, stride in (("P3", 8), ("P4", 16), ("P5", 32)):
            assert tuple(features[level].shape[1:3]) == (
                math.ceil(height / stride),
                math.ceil(width / stride),
            ), (architecture, level, height, width)


def frozen_weight_names(backbone):
    return {w.path for w in backbone.non_trainable_weights}


def test_random_weights_train_everything(mobilenet):
    assert mobilenet.trainable_stages == 5 and not mobilenet.freeze_batchnorm
    batchnorm = [w for w in mobilenet.weights if "moving_" in w.path]
    assert len(mobilenet.non_trainable_weights) == len(batchnorm)


def test_frozen_stages_and_batchnorm():
    backbone = Backbone("resnet50", trainable_stages=3, freeze_batchnorm=True)
    trainable = {w.path.split("/")[0] for w in backbone.trainable_weights}
    assert not any(name.startswith(("conv1_", "conv2_")) for name in trainable)
    assert any(name.startswith("conv3_") for name in trainable)
    assert not any("_bn" in name for name in trainable)
    nothing = Backbone("mobilenet_v3_small", trainable_stages=0)
    assert not nothing.trainable_weights


def test_frozen_batchnorm_keeps_its_statistics_in_training():
    model = RetinaNet.from_preset(
        "mobilenet_v3_small",
        num_classes=2,
        bounding_box_format="xywh",
        freeze_backbone_batchnorm=True,
        trainable_backbone_stages=5,
        num_filters=16,
        num_head_conv_layers=1,
    )
    model.compile(optimizer="sgd")
    moving = [w for w in model.backbone.weights if "moving_mean" in w.path]
    before = [w.numpy().copy() for w in moving]
    images = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    targets = {"boxes": np.array([[[5, 5, 30, 30]]] * 2, "float32"), "classes": np.zeros((2, 1))}
    model.fit(images, targets, verbose=0)
    assert all(np.array_equal(b, w.numpy()) for b, w in zip(before, moving))
    stem = model.backbone.get_layer("conv").kernel
    assert stem.trainable  # convolutions still train


def test_config_round_trip_keeps_freezing():
    backbone = Backbone("mobilenet_v3_small", trainable_stages=2, freeze_batchnorm=True)
    config = backbone.get_config()
    assert config["pretrained_weights"] is None
    clone = Backbone.from_config(config)
    assert frozen_weight_names(clone) == frozen_weight_names(backbone)


def test_batchnorm_momentum():
    def momenta(backbone):
        return {
            layer.momentum
            for layer in backbone.layers
            if isinstance(layer, keras.layers.BatchNormalization)
        }

    # From scratch, moving statistics must follow the training within tens of steps.
    assert momenta(Backbone("mobilenet_v3_small")) == {0.9}
    assert momenta(Backbone("mobilenet_v3_small", batchnorm_momentum=0.99)) == {0.99}


def test_pretrained_momentum_survives_a_reload(tmp_path):
    classifier = keras.applications.MobileNetV3Small(
        include_top=False, weights=None, input_shape=(None, None, 3)
    )
    path = str(tmp_path / "notop.weights.h5")
    classifier.save_weights(path)
    backbone = Backbone("mobilenet_v3_small", pretrained_weights=path)
    assert backbone.batchnorm_momentum == 0.999  # MobileNetV3's own
    assert Backbone.from_config(backbone.get_config()).batchnorm_momentum == 0.999


def test_unknown_architecture_and_stages():
    with pytest.raises(ValueError, match="available: efficientnetv2_b0"):
        Backbone("vgg16")
    with pytest.raises(ValueError, match="trainable_stages=7"):
        Backbone("mobilenet_v3_small", trainable_stages=7)


def test_imagenet_download_failure_explains_the_offline_options(monkeypatch):
    from keras.src.utils import file_utils

    def no_network(fname, origin=None, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -3] name resolution")

    monkeypatch.setattr(file_utils, "get_file", no_network)
    with pytest.raises(RuntimeError) as error:
        RetinaNet.from_preset(
            "mobilenet_v3_small_imagenet", num_classes=3, bounding_box_format="xywh"
        )
    message = str(error.value)
    assert "Could not download the ImageNet weights of 'mobilenet_v3_small'" in message
    assert "URL fetch failure" in message
    assert "'mobilenet_v3_small' (no '_imagenet') builds the same model" in message
    assert "backbone_weights=" in message and "~/.keras/models" in message


def test_local_weights_file(tmp_path):
    classifier = keras.applications.MobileNetV3Small(
        include_top=False, weights=None, input_shape=(None, None, 3)
    )
    path = str(tmp_path / "mobilenet_v3_small_notop.weights.h5")
    classifier.save_weights(path)
    model = RetinaNet.from_preset(
        "mobilenet_v3_small", num_classes=3, bounding_box_format="xywh", backbone_weights=path
    )
    np.testing.assert_array_equal(
        model.backbone.get_layer("conv").kernel.numpy(), classifier.get_layer("conv").kernel.numpy()
    )
    # Pretrained weights: frozen BatchNorm and stem + stage 2 by default.
    assert model.backbone.trainable_stages == 3 and model.backbone.freeze_batchnorm


def test_pad_to_multiple():
    padded = PadToMultiple(32)(np.ones((1, 33, 64, 3), "float32"))
    assert padded.shape == (1, 64, 64, 3)
    assert float(keras.ops.sum(padded)) == 33 * 64 * 3


def test_converted_detectors_resnets_freeze_by_stage():
    backbone = Backbone("kerascv_resnet50", trainable_stages=3, freeze_batchnorm=True)
    trainable = {w.path.split("/")[0] for w in backbone.trainable_weights}
    assert not any(name.startswith(("conv1_", "conv2_")) for name in trainable)
    assert any(name.startswith("conv3_") for name in trainable)
    assert not any("_bn" in name for name in trainable)


@pytest.mark.parametrize(
    ("preprocessing", "pixel", "expected"),
    [
        (None, 255.0, 1.0),  # the architecture's own: KerasCV's x / 255
        ("rescale", 255.0, 1.0),
        ("none", 7.0, 7.0),
        ({"scale": [2.0, 1.0, 0.5], "offset": [1.0, 0.0, -1.0]}, 2.0, [5.0, 2.0, 0.0]),
    ],
)
def test_preprocessing_option(preprocessing, pixel, expected):
    backbone = Backbone("kerascv_resnet50", preprocessing=preprocessing)
    layers = [layer for layer in backbone.layers if not isinstance(layer, keras.layers.InputLayer)]
    first = layers[0]
    images = np.full((1, 1, 1, 3), pixel, "float32")
    out = images if preprocessing == "none" else first(images)
    np.testing.assert_allclose(np.asarray(out)[0, 0, 0], np.broadcast_to(expected, 3), rtol=1e-6)
    assert Backbone.from_config(backbone.get_config()).preprocessing == preprocessing


def test_preprocessing_and_weights_errors():
    with pytest.raises(ValueError, match="preprocessing='imagenet'; expected None"):
        Backbone("kerascv_resnet50", preprocessing="imagenet")
    with pytest.raises(ValueError, match="has no ImageNet weights to download"):
        Backbone("torchvision_resnet50", pretrained_weights="imagenet")
