"""KerasCV's `RetinaNet` (as `retinanet_resnet50_pascalvoc`) into nbdetect's.

What maps onto what (KerasCV 0.9; `config.json` + `model.weights.h5`, as KerasCV's
`preset_utils.save_to_preset` writes them, or the weights file alone):

- `ResNetBackbone` (ResNet50 v1, `include_rescaling=True`) -> `Backbone("kerascv_resnet50")`
  with `preprocessing="rescale"` (x / 255). `layers/functional/layers/conv2d[_k]` and
  `batch_normalization[_k]` (the feature extractor's layers, numbered in its layer
  order) -> the k-th `Conv2D` / `BatchNormalization` of the backbone, whose graph is
  KerasCV's and so is ordered the same way.
- `FeaturePyramid`: `conv_c{3,4,5}_1x1` -> `lateral_P{3,4,5}`, `conv_c{3,4,5}_3x3` ->
  `output_P{3,4,5}`, `conv_c6_3x3` -> `output_P6` (from C5), `conv_c7_3x3` -> `output_P7`.
- `layers/prediction_head` (box) and `layers/prediction_head_1` (classification), 3
  hidden convolutions: `conv_layers/conv2d[_k]` -> `conv_k`, `prediction_layer` ->
  `prediction`. No channel permutation: KerasCV's anchors and box coding are nbdetect's
  (`center_yxhw` deltas, variance `[0.1, 0.1, 0.2, 0.2]`, scale-major anchors), except
  that KerasCV clips anchors to the image (`clip_boxes=True`, kept).
- Decoder: its `NonMaxSuppression` (class-agnostic) -> nbdetect's, same thresholds.
"""

from __future__ import annotations

import os
from typing import Any

import keras

from nbdetect.models.retinanet import convert
from nbdetect.models.retinanet.anchor_generator import AnchorGenerator
from nbdetect.models.retinanet.convert.weights_file import (
    WeightsFile,
    assign_all,
    functional_assignments,
    head_assignments,
    layer_variables,
)
from nbdetect.models.retinanet.feature_pyramid import FeaturePyramid
from nbdetect.models.retinanet.prediction_head import PredictionHead, classification_bias

# retinanet_resnet50_pascalvoc, assumed for a bare weights file.
DEFAULTS = {
    "num_classes": 20,
    "bounding_box_format": "xywh",
    "backbone": {
        "stackwise_filters": [64, 128, 256, 512],
        "stackwise_blocks": [3, 4, 6, 3],
        "stackwise_strides": [1, 2, 2, 2],
        "include_rescaling": True,
        "block_type": "block",
    },
    "anchor_generator": {
        "sizes": [32.0, 64.0, 128.0, 256.0, 512.0],
        "scales": [2**0, 2 ** (1 / 3), 2 ** (2 / 3)],
        "aspect_ratios": [0.5, 1.0, 2.0],
        "strides": [8, 16, 32, 64, 128],
        "clip_boxes": True,
    },
    "box_variance": [0.1, 0.1, 0.2, 0.2],
    "decoder": {"from_logits": True, "iou_threshold": 0.5, "confidence_threshold": 0.5},
    "head_conv_layers": 3,
}
_BOX_HEAD, _CLASS_HEAD = "layers/prediction_head", "layers/prediction_head_1"
_BACKBONE = "layers/functional"


def from_folder(
    cls: type,
    folder: str,
    num_classes: int | None,
    bounding_box_format: str | None,
    options: dict[str, Any],
) -> keras.Model:
    """Convert a KerasCV RetinaNet preset folder (config.json, model.weights.h5)."""
    config = convert.read_json(os.path.join(folder, "config.json"))
    if config.get("registered_name") != "keras_cv>RetinaNet":
        raise ValueError(
            f"{os.path.join(folder, 'config.json')} describes a "
            f"{config.get('registered_name') or config.get('class_name')}; nbdetect "
            "converts KerasCV's RetinaNet (keras_cv>RetinaNet) only."
        )
    settings = _settings(config["config"], folder)
    weights = os.path.join(folder, config.get("weights") or "model.weights.h5")
    return _convert(cls, folder, weights, settings, num_classes, bounding_box_format, options)


def from_weights_file(
    cls: type,
    path: str,
    num_classes: int | None,
    bounding_box_format: str | None,
    options: dict[str, Any],
) -> keras.Model:
    """Convert a bare KerasCV RetinaNet `.weights.h5` (retinanet_resnet50_pascalvoc's)."""
    settings = {**DEFAULTS, "num_classes": num_classes or DEFAULTS["num_classes"]}
    return _convert(cls, path, path, settings, num_classes, bounding_box_format, options)


def network(
    cls: type, num_classes: int, bounding_box_format: str = "xywh", **options: Any
) -> keras.Model:
    """KerasCV 0.9's RetinaNet network as an nbdetect `cls`, with random weights.

    The architecture a converted `retinanet_resnet50_pascalvoc` gets (KerasCV's ResNet50
    with `x / 255`, P6 from C5, 3-convolution heads, anchors clipped to the image,
    class-agnostic NMS), untrained: to train it from scratch, or to compare nbdetect
    with KerasCV on one network.

    Args:
        cls: the RetinaNet class to build.
        num_classes: the classes of the classification head.
        bounding_box_format: the boxes' format.
        **options: `from_preset` options (`trainable_backbone_stages`,
            `freeze_backbone_batchnorm`, `prediction_decoder`, ...).

    Returns:
        The uncompiled model; 35,596,952 parameters for 20 classes, as KerasCV's.

    Example:
        >>> from nbdetect.models import RetinaNet
        >>> from nbdetect.models.retinanet.convert import keras_cv
        >>> model = keras_cv.network(RetinaNet, 20, trainable_backbone_stages=5)
        >>> model.classification_head.num_conv_layers
        3
    """
    settings = {**DEFAULTS, "num_classes": num_classes}
    return _build(cls, settings, num_classes, bounding_box_format, options)


def _settings(config: dict, folder: str) -> dict:
    """What the conversion needs from a KerasCV config, checked against what it supports."""
    backbone = config["backbone"]
    backbone_config = backbone.get("config", {})
    expected = DEFAULTS["backbone"]
    differs = {k: backbone_config.get(k) for k in expected if backbone_config.get(k) != expected[k]}
    if backbone.get("registered_name") != "keras_cv>ResNetBackbone" or differs:
        raise ValueError(
            f"{folder}: the RetinaNet's backbone is {backbone.get('registered_name')} "
            f"with {differs or 'another configuration'}; nbdetect converts KerasCV's "
            f"ResNet50 v1 backbone ({expected}) only."
        )
    for part in ("feature_pyramid", "classification_head", "box_head"):
        if part in config and config[part] is not None:
            head_layers = config[part].get("config", {}).get("num_conv_layers", 3)
            if part == "feature_pyramid" or head_layers != 3:
                raise ValueError(
                    f"{folder}: the RetinaNet has a custom {part}; nbdetect converts "
                    "KerasCV's default feature pyramid and 3-convolution heads only."
                )
    anchors = config.get("label_encoder", {}).get("config", {}).get("anchor_generator")
    anchor_config = {**DEFAULTS["anchor_generator"]}
    if anchors:
        anchor_config.update({k: v for k, v in anchors["config"].items() if k in anchor_config})
    encoder = config.get("label_encoder", {}).get("config", {})
    decoder = config.get("prediction_decoder") or {}
    decoder_config = {
        **decoder.get("config", DEFAULTS["decoder"]),
        # KerasCV's default NonMaxSuppression is class-agnostic; its multi-class one is not.
        "class_agnostic": decoder.get("registered_name") != "keras_cv>MultiClassNonMaxSuppression",
    }
    return {
        **DEFAULTS,
        "num_classes": config["num_classes"],
        "bounding_box_format": config["bounding_box_format"],
        "anchor_generator": anchor_config,
        "box_variance": encoder.get("box_variance", DEFAULTS["box_variance"]),
        "decoder": decoder_config,
    }


def _convert(cls, preset, weights_path, settings, num_classes, bounding_box_format, options):
    with WeightsFile(weights_path, "KerasCV") as weights:
        kernel = f"{_CLASS_HEAD}/prediction_layer/vars/0"
        shape = weights.shape(kernel)
        anchors = len(settings["anchor_generator"]["scales"]) * len(
            settings["anchor_generator"]["aspect_ratios"]
        )
        expected = settings["num_classes"]
        if shape is None:
            raise weights.missing(kernel, (3, 3, 256, anchors * expected), "the class logits")
        if shape[-1] % anchors:
            raise ValueError(
                f"{weights_path}: the classification head has {shape[-1]} outputs, not a "
                f"multiple of {anchors} anchors per location: not a KerasCV RetinaNet."
            )
        found = convert.check_num_classes(preset, shape[-1] // anchors, num_classes, weights_path)
        if found != expected:
            if os.path.isdir(preset):
                said, hint = "its config.json", ""
            else:
                said = "the architecture assumed for a bare weights file (20 VOC classes)"
                hint = f" Pass num_classes={found} if the file is right."
            raise ValueError(
                f"{weights_path}: the classification head has {shape[-1]} outputs, "
                f"{found} classes x {anchors} anchors, but {said} says {expected} classes." + hint
            )
        model = _build(cls, settings, found, bounding_box_format, options)
        assign_all(_assignments(model, weights), model)
    return model


def _build(cls, settings, num_classes, bounding_box_format, options):
    bounding_box_format = bounding_box_format or settings["bounding_box_format"]
    layers = settings["head_conv_layers"]
    anchor_generator = AnchorGenerator(bounding_box_format, **settings["anchor_generator"])
    anchors = anchor_generator.anchors_per_location
    return convert.assemble(
        cls,
        backbone_args={
            "architecture": "kerascv_resnet50",
            "preprocessing": "rescale",
            # KerasCV's BatchNorm momentum, for fine-tuning with unfrozen BatchNorm.
            "batchnorm_momentum": 0.99,
        },
        feature_pyramid=FeaturePyramid(256, p6_input="C5"),
        heads=(
            PredictionHead(
                anchors * num_classes,
                # KerasCV's prior; a conversion overwrites it with the trained bias.
                bias_initializer=classification_bias(),
                num_conv_layers=layers,
                name="classification_head",
            ),
            PredictionHead(anchors * 4, num_conv_layers=layers, name="box_head"),
        ),
        anchor_generator=anchor_generator,
        box_variance=settings["box_variance"],
        decoder=settings["decoder"],
        num_classes=num_classes,
        bounding_box_format=bounding_box_format,
        options=options,
    )


def _assignments(model, weights):
    kinds = {keras.layers.Conv2D: "conv2d", keras.layers.BatchNormalization: "batch_normalization"}
    assignments = functional_assignments(weights, _BACKBONE, model.backbone.layers, kinds)
    fpn = model.feature_pyramid
    for level, lateral, output in zip((3, 4, 5), fpn.lateral_convs, fpn.output_convs):
        prefix = "layers/feature_pyramid"
        assignments += layer_variables(weights, lateral, f"{prefix}/conv_c{level}_1x1")
        assignments += layer_variables(weights, output, f"{prefix}/conv_c{level}_3x3")
    assignments += layer_variables(weights, fpn.p6_conv, "layers/feature_pyramid/conv_c6_3x3")
    assignments += layer_variables(weights, fpn.p7_conv, "layers/feature_pyramid/conv_c7_3x3")
    assignments += head_assignments(weights, model.box_head, _BOX_HEAD)
    assignments += head_assignments(weights, model.classification_head, _CLASS_HEAD)
    return assignments
