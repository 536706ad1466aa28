"""KerasHub's and KerasCV's RetinaNets converted into nbdetect's: same outputs, same detections.

The sources are built with random (perturbed) weights and saved as their library's
presets (`tests/source_models.py`); nothing is downloaded.
"""

import os
import shutil
import time

import h5py
import keras
import numpy as np
import pytest
import source_models

from nbdetect import losses
from nbdetect.datasets import COCO_CLASSES, VOC_CLASSES, class_names, pascal_voc
from nbdetect.layers import NonMaxSuppression
from nbdetect.models import RetinaNet
from nbdetect.models.retinanet import TorchvisionAnchorGenerator, convert
from nbdetect.models.retinanet.convert.keras_hub import anchor_permutations
from nbdetect.models.retinanet.convert.weights_file import Assignment, WeightsFile, assign_all

keras_hub = pytest.importorskip("keras_hub")
keras_cv = pytest.importorskip("keras_cv")

SIZES = [(256, 256), (320, 384)]


@pytest.fixture(scope="module")
def hub_v1(tmp_path_factory):
    return source_models.keras_hub_retinanet(tmp_path_factory, "v1")


@pytest.fixture(scope="module")
def hub_v2(tmp_path_factory):
    return source_models.keras_hub_retinanet(tmp_path_factory, "v2")


@pytest.fixture(scope="module")
def kcv(tmp_path_factory):
    return source_models.keras_cv_retinanet(tmp_path_factory)


@pytest.fixture(scope="module")
def converted_v2(hub_v2):
    return RetinaNet.from_preset(hub_v2[1])


def images(height, width, batch=1, seed=1):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (batch, height, width, 3)).astype("float32")


def raw(model, x):
    outputs = model(x)
    return {k: keras.ops.convert_to_numpy(v) for k, v in outputs.items()}


def hub_raw_in_our_order(source, model, x):
    """The KerasHub model's raw outputs, channels permuted per anchor as the conversion does."""
    theirs = raw(source, source_models.keras_hub_normalize(source, x))
    class_order, box_order = anchor_permutations(model, [0.5, 1.0, 2.0], model.num_classes)
    batch = x.shape[0]
    boxes = theirs["bbox_regression"].reshape(batch, -1, box_order.size)[..., box_order]
    classes = theirs["cls_logits"].reshape(batch, -1, class_order.size)[..., class_order]
    return {
        "box": boxes.reshape(batch, -1, 4),
        "classification": classes.reshape(batch, -1, model.num_classes),
    }


# --- raw outputs ---------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["v1", "v2"])
def test_keras_hub_raw_outputs(variant, hub_v1, hub_v2, converted_v2):
    source, folder = hub_v1 if variant == "v1" else hub_v2
    model = converted_v2 if variant == "v2" else RetinaNet.from_preset(folder)
    assert model.feature_pyramid.p6_input == ("C5" if variant == "v2" else "P5")
    assert model.box_head.use_group_norm == (variant == "v2")
    assert model.label_encoder.box_variance == [1.0, 1.0, 1.0, 1.0]
    assert isinstance(model.anchor_generator, TorchvisionAnchorGenerator)
    for height, width in SIZES:
        x = images(height, width)
        ours, theirs = raw(model, x), hub_raw_in_our_order(source, model, x)
        assert theirs["box"].std() > 0.1 and theirs["classification"].std() > 1.0
        for key in ("box", "classification"):
            np.testing.assert_allclose(ours[key], theirs[key], atol=1e-4, rtol=1e-4)


def test_keras_cv_raw_outputs(kcv):
    source, folder = kcv
    model = RetinaNet.from_preset(folder)
    assert model.bounding_box_format == "xywh" and model.num_classes == 20
    assert model.anchor_generator.clip_boxes
    for height, width in SIZES:
        x = images(height, width)
        ours, theirs = raw(model, x), raw(source, x)
        assert theirs["box"].std() > 0.1 and theirs["classification"].std() > 1.0
        for key in ("box", "classification"):
            np.testing.assert_allclose(ours[key], theirs[key], atol=1e-4, rtol=1e-4)


def test_another_box_format(kcv):
    source, folder = kcv
    model = RetinaNet.from_preset(folder, bounding_box_format="rel_yxyx")
    assert model.bounding_box_format == "rel_yxyx"
    x = images(256, 256, batch=2, seed=3)
    ours, theirs = model.predict(x, verbose=0), source.predict(x, verbose=0)
    from nbdetect.bounding_box import convert_format

    ours["boxes"] = convert_format(ours, source="rel_yxyx", target="xywh", images=x)["boxes"]
    assert_same_detections(ours, theirs, "xywh", 256, 256)


def test_bare_keras_cv_weights_file(kcv):
    source, folder = kcv
    model = RetinaNet.from_preset(os.path.join(folder, "model.weights.h5"))
    assert model.num_classes == 20 and model.bounding_box_format == "xywh"
    assert model.class_mapping == dict(enumerate(VOC_CLASSES))
    x = images(256, 256)
    np.testing.assert_allclose(raw(model, x)["box"], raw(source, x)["box"], atol=1e-4)


def test_anchors_equal_keras_hub_anchors(converted_v2, hub_v2):
    source, _ = hub_v2
    for height, width in [(256, 256), (320, 384)]:
        x = np.zeros((1, height, width, 3), "float32")
        theirs = np.concatenate(
            [keras.ops.convert_to_numpy(a) for a in source.anchor_generator(x).values()]
        )
        ours = keras.ops.convert_to_numpy(
            converted_v2.anchor_generator.anchors(image_shape=(height, width))
        )
        class_order, _ = anchor_permutations(converted_v2, [0.5, 1.0, 2.0], 1)
        np.testing.assert_array_equal(ours, theirs.reshape(-1, 9, 4)[:, class_order].reshape(-1, 4))


# --- decoded detections ------------------------------------------------------------------


def assert_same_detections(ours, theirs, bounding_box_format, height, width):
    count = np.asarray(theirs["num_detections"])
    np.testing.assert_array_equal(ours["num_detections"], count)
    labels = theirs["classes"] if "classes" in theirs else theirs["labels"]
    for b, n in enumerate(count):
        np.testing.assert_array_equal(ours["classes"][b, :n], np.asarray(labels)[b, :n])
        np.testing.assert_allclose(
            ours["confidence"][b, :n], np.asarray(theirs["confidence"])[b, :n], atol=1e-5
        )
        boxes = np.asarray(theirs["boxes"])[b, :n]
        np.testing.assert_allclose(ours["boxes"][b, :n], boxes, atol=2e-3)
    assert count.sum() > 0, "no detections: the comparison would prove nothing"


def test_keras_cv_detections_equal_its_predict(kcv):
    source, folder = kcv
    model = RetinaNet.from_preset(folder)
    assert isinstance(model.prediction_decoder, NonMaxSuppression)  # class-agnostic, as KerasCV's
    x = images(256, 256, batch=2, seed=3)
    ours, theirs = model.predict(x, verbose=0), source.predict(x, verbose=0)
    assert_same_detections(ours, theirs, "xywh", 256, 256)


@pytest.mark.parametrize("variant", ["v1", "v2"])
def test_keras_hub_detections_equal_its_predict(variant, hub_v1, hub_v2, converted_v2):
    """At the default thresholds. Neither model clips boxes before NMS (`clip_boxes`)."""
    source, folder = hub_v1 if variant == "v1" else hub_v2
    model = converted_v2 if variant == "v2" else RetinaNet.from_preset(folder)
    assert not model.clip_boxes
    x = images(256, 256, batch=2, seed=3)
    theirs = source.predict(x, verbose=0)  # its preprocessor normalises (no resize)
    assert_same_detections(model.predict(x, verbose=0), theirs, "yxyx", 256, 256)


# --- after conversion: a normal nbdetect model ------------------------------------------


def test_round_trips(converted_v2, tmp_path):
    x = images(128, 160)
    expected = raw(converted_v2, x)
    assert converted_v2.class_mapping == dict(enumerate(class_names.torchvision_coco_classes()))

    converted_v2.save_to_preset(str(tmp_path / "preset"))
    again = RetinaNet.from_preset(str(tmp_path / "preset"))
    path = str(tmp_path / "model.keras")
    converted_v2.save(path)
    loaded = keras.saving.load_model(path)
    for model in (again, loaded):
        assert model.class_mapping == converted_v2.class_mapping
        assert type(model.anchor_generator) is TorchvisionAnchorGenerator
        assert model.backbone.preprocessing == converted_v2.backbone.preprocessing
        for key, value in raw(model, x).items():
            np.testing.assert_array_equal(value, expected[key])


def test_fit_after_conversion(kcv):
    model = RetinaNet.from_preset(kcv[1], trainable_backbone_stages=3)
    trainable = {w.path.split("/")[0] for w in model.backbone.trainable_weights}
    assert not any(name.startswith(("conv1_", "conv2_")) for name in trainable)
    assert any(name.startswith("conv3_") for name in trainable)
    assert not any("_bn" in name for name in trainable)  # BatchNorm frozen by default
    model.compile(
        classification_loss=losses.FocalLoss(from_logits=True),
        box_loss="smoothl1",
        optimizer=keras.optimizers.SGD(0.001, global_clipnorm=10.0),
    )
    targets = {
        "boxes": np.array([[[10, 20, 50, 60]], [[30, 30, 40, 40]]], "float32"),
        "classes": np.array([[3], [14]], "float32"),
    }
    history = model.fit(images(128, 128, batch=2), targets, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"]).all()


# --- errors ------------------------------------------------------------------------------


def _copy(folder, destination, link_weights=True):
    os.makedirs(destination)
    for name in os.listdir(folder):
        source = os.path.join(folder, name)
        target = os.path.join(destination, name)
        if name.endswith(".h5") and link_weights:
            os.symlink(source, target)
        else:
            shutil.copy(source, target)
    return destination


def _edit_json(folder, name, edit):
    import json

    path = os.path.join(folder, name)
    with open(path) as file:
        config = json.load(file)
    edit(config)
    with open(path, "w") as file:
        json.dump(config, file)


def _with_h5(folder, destination, edit):
    destination = _copy(folder, destination)
    path = os.path.join(destination, "model.weights.h5")
    os.remove(path)
    shutil.copy(os.path.join(folder, "model.weights.h5"), path)
    with h5py.File(path, "r+") as file:
        edit(file)
    return destination


def _edited_task(folder, destination, edit):
    _edit_json(_copy(folder, destination), "task.json", edit)
    return destination


def _wrong_shape(file):
    del file["layers/feature_pyramid/conv_c6_3x3/vars/0"]
    file["layers/feature_pyramid/conv_c6_3x3/vars/0"] = np.zeros((3, 3, 256, 256), "float32")


def _set_fpn_batch_norm(config):
    config["config"]["backbone"]["config"]["use_fpn_batch_norm"] = True


def _set_resnet101(config):
    config["config"]["backbone"]["config"]["image_encoder"]["config"]["stackwise_num_blocks"] = [
        3,
        4,
        23,
        3,
    ]


ERRORS = [
    # (description, how to make the preset, from_preset kwargs, exception, message fragment)
    ("num_classes differs", lambda d, s: s["hub"], {"num_classes": 80}, ValueError,
     "got num_classes=80, but .*task.weights.h5 holds a detector of 91 classes"),
    ("num_classes differs, bare file", lambda d, s: os.path.join(s["cv"], "model.weights.h5"),
     {"num_classes": 5}, ValueError, "got num_classes=5, but .*model.weights.h5 holds .* 20 "),
    ("KerasHub heads as a KerasCV file", lambda d, s: os.path.join(s["hub"], "task.weights.h5"),
     {}, ValueError, "819 outputs, 91 classes x 9 anchors, but the architecture assumed"),
    ("KerasHub heads as a KerasCV file, 91 classes",
     lambda d, s: os.path.join(s["hub"], "task.weights.h5"), {"num_classes": 91}, ValueError,
     r"has no variable 'layers/functional/layers/conv2d/vars/0' \(for nbdetect's .*shape "
     r"\(7, 7, 3, 64\)"),
    ("KerasHub backbone as a KerasCV file", lambda d, s: os.path.join(s["hub"], "model.weights.h5"),
     {}, ValueError, r"has no variable 'layers/prediction_head_1/prediction_layer/vars/0'"),
    ("a layer missing", lambda d, s: _with_h5(s["cv"], d, lambda f: f.__delitem__(
        "layers/functional/layers/batch_normalization_7")), {}, ValueError,
     r"no variable 'layers/functional/layers/batch_normalization_7/vars/0' .*shape \(256,\)"),
    ("a wrong shape", lambda d, s: _with_h5(s["cv"], d, _wrong_shape), {}, ValueError,
     r"'layers/feature_pyramid/conv_c6_3x3/vars/0' has shape \(3, 3, 256, 256\); expected "
     r"\(3, 3, 2048, 256\)"),
    ("use_fpn_batch_norm", lambda d, s: _edited_task(s["hub"], d, _set_fpn_batch_norm),
     {}, ValueError, "use_fpn_batch_norm': True"),
    ("ResNet101 image encoder", lambda d, s: _edited_task(s["hub"], d, _set_resnet101),
     {}, ValueError, r"image encoder .*stackwise_num_blocks': \[3, 4, 23, 3\]"),
    ("a truncated file", lambda d, s: _truncated(s["cv"], d), {}, ValueError,
     "Could not read .*model.weights.h5' as a Keras weights file .*truncated file"),
    ("not an h5 file", lambda d, s: _text_file(d), {}, ValueError,
     "Could not read .* as a Keras weights file"),
    ("a name-only option", lambda d, s: s["cv"], {"num_filters": 64}, ValueError,
     r"got \['num_filters'\]; a converted KerasHub / KerasCV detector keeps its architecture"),
]  # fmt: skip


def _truncated(folder, destination):
    destination = _copy(folder, destination)
    path = os.path.join(destination, "model.weights.h5")
    os.remove(path)
    with open(os.path.join(folder, "model.weights.h5"), "rb") as source:
        data = source.read(10_000_000)
    with open(path, "wb") as file:
        file.write(data)
    return destination


def _text_file(directory):
    os.makedirs(directory)
    path = os.path.join(directory, "notes.weights.h5")
    with open(path, "w") as file:
        file.write("not hdf5")
    return path


@pytest.mark.parametrize(("make", "kwargs", "exception", "message"), [e[1:] for e in ERRORS],
                         ids=[e[0] for e in ERRORS])  # fmt: skip
def test_conversion_errors(make, kwargs, exception, message, hub_v1, kcv, tmp_path):
    preset = make(str(tmp_path / "preset"), {"hub": hub_v1[1], "cv": kcv[1]})
    with pytest.raises(exception, match=message):
        RetinaNet.from_preset(preset, **kwargs)


def test_nothing_is_assigned_when_a_variable_is_missing(kcv, tmp_path):
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    before = [w.numpy().copy() for w in layer.weights]
    with WeightsFile(os.path.join(kcv[1], "model.weights.h5"), "KerasCV") as weights:
        path = "layers/feature_pyramid/conv_c3_1x1/vars/1"  # shape (256,): the bias only
        plan = [
            Assignment(layer.bias, weights, path, source_shape=(256,), transform=lambda v: v[:2]),
            Assignment(layer.kernel, weights, "layers/missing/vars/0"),
        ]
        with pytest.raises(ValueError, match="layers/missing/vars/0"):
            assign_all(plan)
    for weight, value in zip(layer.weights, before):
        np.testing.assert_array_equal(weight.numpy(), value)


# --- preset names: downloaded with kagglehub ----------------------------------------------


def test_offline_name_fails_at_once_with_the_fix(monkeypatch):
    kagglehub = pytest.importorskip("kagglehub")
    requests = pytest.importorskip("requests")
    calls = []

    def offline(handle, *args, **kwargs):
        calls.append(handle)
        raise requests.ConnectionError("Failed to resolve 'api.kaggle.com'")

    monkeypatch.setattr(kagglehub, "model_download", offline)
    start = time.monotonic()
    with pytest.raises(RuntimeError) as error:
        RetinaNet.from_preset("retinanet_resnet50_fpn_coco")
    assert time.monotonic() - start < 5
    assert calls == ["keras/retinanet/keras/retinanet_resnet50_fpn_coco/4"]
    message = str(error.value)
    assert "could not download" in message and "Failed to resolve" in message
    assert (
        'kagglehub.model_download("keras/retinanet/keras/retinanet_resnet50_fpn_coco/4")' in message
    )
    assert "RetinaNet.from_preset('/path/to/retinanet_resnet50_fpn_coco')" in message


def test_missing_kagglehub_names_the_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "kagglehub", None)
    with pytest.raises(ImportError, match="pip install kagglehub"):
        RetinaNet.from_preset("retinanet_resnet50_pascalvoc")


def test_downloaded_name_loads_like_its_folder(monkeypatch, kcv):
    monkeypatch.setattr(convert, "download_preset", lambda name: kcv[1])
    model = RetinaNet.from_preset("retinanet_resnet50_pascalvoc")
    assert model.num_classes == 20


# --- class names ---------------------------------------------------------------------------


def test_class_names():
    assert len(COCO_CLASSES) == 80 and len(set(COCO_CLASSES)) == 80
    assert COCO_CLASSES[0] == "person" and COCO_CLASSES[-1] == "toothbrush"
    assert VOC_CLASSES is pascal_voc.VOC_CLASSES and len(VOC_CLASSES) == 20
    names = class_names.torchvision_coco_classes()
    assert len(names) == 91 and names[0] == "__background__" and names.count("N/A") == 10
    assert [n for n in names if n not in ("N/A", "__background__")] == list(COCO_CLASSES)
    assert names[class_names.COCO_CATEGORY_IDS[COCO_CLASSES.index("dog")]] == "dog"
    assert class_names.class_mapping_for(80) == dict(enumerate(COCO_CLASSES))
    assert class_names.class_mapping_for(7) is None


# --- the parts' new options ----------------------------------------------------------------


def test_feature_pyramid_p6_input():
    from nbdetect.models.retinanet import FeaturePyramid

    features = [np.zeros((1, s, s, c), "float32") for s, c in ((8, 8), (4, 16), (2, 32))]
    for p6_input, channels in (("C5", 32), ("P5", 16)):
        fpn = FeaturePyramid(16, p6_input=p6_input)
        levels = fpn(features)
        assert fpn.p6_conv.kernel.shape[2] == channels and levels[3].shape[1] == 1
        assert FeaturePyramid.from_config(fpn.get_config()).p6_input == p6_input
    with pytest.raises(ValueError, match="p6_input='C6'; expected 'C5'"):
        FeaturePyramid(p6_input="C6")


def test_prediction_head_group_norm():
    from nbdetect.models.retinanet import PredictionHead

    head = PredictionHead(18, num_conv_layers=2, num_filters=32, use_group_norm=True)
    assert head(np.ones((1, 4, 4, 8), "float32")).shape == (1, 4, 4, 18)
    assert [len(layer.weights) for layer in head.conv_layers] == [1, 1]  # no bias
    assert [layer.groups for layer in head.group_norm_layers] == [32, 32]
    assert PredictionHead.from_config(head.get_config()).use_group_norm
