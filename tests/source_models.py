"""Other libraries' RetinaNets with random weights, saved as those libraries' presets.

The conversion tests (and the lead's other tests) load these folders with
`nbdetect.models.RetinaNet.from_preset(dir)` and compare against the model objects.
Everything is built offline and seeded. Weights are random but not trivial: BatchNorm
statistics, GroupNorm scales and the heads are perturbed, so that a wrong mapping of any
variable changes the outputs.

Each builder takes pytest's `tmp_path_factory` and builds at most once per pytest session
and worker process: the model object stays cached in this module, the folder under the
session's base temporary directory.
"""

from __future__ import annotations

import os

import keras
import numpy as np

_CACHE: dict = {}

# keras-hub's `resnet_50_imagenet` preset (what its RetinaNet presets use as image encoder).
RESNET_50 = dict(
    input_conv_filters=[64],
    input_conv_kernel_sizes=[7],
    stackwise_num_filters=[64, 128, 256, 512],
    stackwise_num_blocks=[3, 4, 6, 3],
    stackwise_num_strides=[1, 2, 2, 2],
    block_type="bottleneck_block",
    use_pre_activation=False,
)

# keras-hub's conversion script (tools/checkpoint_conversion/convert_retinanet_checkpoints.py):
# torchvision's ImageNet mean and standard deviation as scale and offset.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def keras_hub_retinanet(tmp_path_factory, variant="v1", num_classes=91, image_size=None):
    """A KerasHub `RetinaNetObjectDetector` (ResNet50 image encoder), random weights.

    Args:
        tmp_path_factory: pytest's fixture of that name.
        variant: `"v1"` (as `retinanet_resnet50_fpn_coco`: P6 from the pyramid's P5,
            `use_p5=False`) or `"v2"` (as `retinanet_resnet50_fpn_v2_coco`: P6 from C5,
            GroupNorm in the heads).
        num_classes: 91 as the real presets (torchvision's COCO category ids).
        image_size: the image converter's resize (`None`: no resize, so that the
            detector's `predict` and `model(images)` see the same pixels).

    Returns:
        `(model, preset_dir)`: the detector (with its preprocessor) and the folder
        `model.save_to_preset` wrote (config.json, model.weights.h5, task.json,
        task.weights.h5, preprocessor.json, metadata.json).
    """
    key = ("keras_hub", variant, num_classes, image_size)
    if key not in _CACHE:
        import keras_hub

        keras.utils.set_random_seed(1 if variant == "v1" else 2)
        encoder = keras_hub.models.ResNetBackbone(**RESNET_50)
        backbone = keras_hub.models.RetinaNetBackbone(
            image_encoder=encoder, min_level=3, max_level=7, use_p5=variant == "v2"
        )
        converter = keras_hub.layers.RetinaNetImageConverter(
            image_size=image_size,
            scale=[1.0 / 255.0 / s for s in IMAGENET_STD],
            offset=[-m / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)],
        )
        preprocessor = keras_hub.models.RetinaNetObjectDetectorPreprocessor(
            image_converter=converter
        )
        model = keras_hub.models.RetinaNetObjectDetector(
            backbone=backbone,
            num_classes=num_classes,
            preprocessor=preprocessor,
            use_prediction_head_norm=variant == "v2",
        )
        _perturb(model, seed=10 + num_classes)
        _calibrate_heads(
            model,
            _preprocess(model, _images(256, 256)),
            ("bbox_regression", model.box_head),
            ("cls_logits", model.classification_head),
        )
        directory = _directory(tmp_path_factory, f"keras_hub_{variant}_{num_classes}")
        model.save_to_preset(directory)
        _CACHE[key] = (model, directory)
    return _CACHE[key]


def keras_cv_retinanet(tmp_path_factory, num_classes=20):
    """A KerasCV `RetinaNet` as `retinanet_resnet50_pascalvoc`, random weights.

    ResNet50 v1 backbone (`ResNetBackbone`, `include_rescaling=True`), `"xywh"` boxes,
    default pyramid and heads.

    Args:
        tmp_path_factory: pytest's fixture of that name.
        num_classes: 20 as the real preset (Pascal VOC).

    Returns:
        `(model, preset_dir)`: the model and the folder `model.save_to_preset` wrote
        (config.json, model.weights.h5, metadata.json).
    """
    key = ("keras_cv", num_classes)
    if key not in _CACHE:
        import keras_cv

        keras.utils.set_random_seed(3)
        backbone = keras_cv.models.ResNetBackbone(
            stackwise_filters=[64, 128, 256, 512],
            stackwise_blocks=[3, 4, 6, 3],
            stackwise_strides=[1, 2, 2, 2],
            include_rescaling=True,
        )
        model = keras_cv.models.RetinaNet(
            backbone=backbone, num_classes=num_classes, bounding_box_format="xywh"
        )
        _perturb(model, seed=20 + num_classes)
        _calibrate_heads(
            model,
            _images(256, 256),
            ("box", model.box_head),
            ("classification", model.classification_head),
        )
        directory = _directory(tmp_path_factory, f"keras_cv_{num_classes}")
        # KerasCV 0.9's RetinaNet has no save_to_preset method: this is what its presets
        # on Kaggle were written with.
        from keras_cv.src.utils.preset_utils import save_to_preset

        save_to_preset(model, directory)
        _CACHE[key] = (model, directory)
    return _CACHE[key]


def keras_hub_normalize(model, images):
    """What the KerasHub detector's image converter does to `[0, 255]` images."""
    return _preprocess(model, images)


def _images(height, width, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (1, height, width, 3)).astype("float32")


def _preprocess(model, images):
    return keras.ops.convert_to_numpy(model.preprocessor.image_converter(images))


def _directory(tmp_path_factory, name):
    directory = tmp_path_factory.mktemp(name, numbered=True)
    return os.fspath(directory)


def _perturb(model, seed):
    """Non-trivial normalisation statistics, scales and biases (random init: 0s and 1s)."""
    rng = np.random.default_rng(seed)
    draws = {
        "gamma": lambda n: rng.uniform(0.6, 1.2, n),
        "beta": lambda n: rng.normal(0.0, 0.1, n),
        "moving_mean": lambda n: rng.normal(0.0, 0.1, n),
        "moving_variance": lambda n: rng.uniform(0.8, 1.5, n),
        "bias": lambda n: rng.normal(0.0, 0.05, n),
    }
    for variable in model.weights:
        draw = draws.get(variable.name)
        if draw is not None:
            variable.assign(draw(variable.shape).astype("float32"))


def _calibrate_heads(model, images, *outputs):
    """Scale each head's output layer so that its outputs spread over a useful range.

    Box offsets get a standard deviation of about 0.5 (moderate boxes), with per-channel
    biases so that a permuted channel shows. Class logits get a standard deviation of
    about 2 and an offset that leaves about 30 anchors of `images` above a confidence of
    0.5: few enough that NMS compares distinct, unsaturated scores.
    """
    raw = model(images)
    rng = np.random.default_rng(0)
    for (name, head), std in zip(outputs, (0.5, 2.0)):
        values = keras.ops.convert_to_numpy(raw[name])
        layer = head.prediction_layer
        factor = std / max(float(values.std()), 1e-6)
        bias = keras.ops.convert_to_numpy(layer.bias)
        bias = (bias - values.mean()) * factor + rng.normal(0.0, std / 2, bias.shape)
        layer.kernel.assign(keras.ops.convert_to_numpy(layer.kernel) * factor)
        layer.bias.assign(bias.astype("float32"))
    class_name, class_head = outputs[1]
    logits = keras.ops.convert_to_numpy(model(images)[class_name])
    best = np.sort(logits.max(axis=-1).ravel())
    bias = class_head.prediction_layer.bias
    bias.assign(keras.ops.convert_to_numpy(bias) - best[-30])
