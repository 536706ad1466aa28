"""KerasHub's `RetinaNetObjectDetector` (ported from torchvision) into nbdetect's RetinaNet.

What maps onto what (a folder `save_to_preset` writes: `config.json` + `model.weights.h5`
for the `RetinaNetBackbone`, `task.json` + `task.weights.h5` for the heads,
`preprocessor.json` for the image converter):

- `ResNetBackbone` (ResNet50, torchvision's) -> `Backbone("torchvision_resnet50")`, with
  the image converter's `x * scale + offset` as its `preprocessing` (torchvision's ImageNet
  mean and std); `layers/functional/layers/conv2d[_k]`, `batch_normalization[_k]` -> the
  k-th `Conv2D` / `BatchNormalization` of the backbone (same graph, same order).
- `FeaturePyramid`: `lateral_conv_layers/conv2d[_k]` -> `lateral_P{3+k}`,
  `output_conv_layers/conv2d[_k]` -> `output_P{3+k}` (k < 3), `output_P6` (k = 3, from C5
  if `use_p5` else from the pyramid's P5: KerasHub's flag means "use the backbone's P5"),
  `output_P7` (k = 4).
- `task.weights.h5`: `layers/prediction_head` (box) and `layers/prediction_head_1`
  (classification): `conv_layers/conv2d[_k]` -> `conv_k`,
  `group_norm_layers/group_normalization[_k]` -> `group_norm_k`
  (`use_prediction_head_norm`), `prediction_layer` -> `prediction`.
- Anchors: `TorchvisionAnchorGenerator` (KerasHub's geometry). KerasHub orders a
  location's 9 anchors aspect ratio first (its ratio is height / width), nbdetect scale
  first (width / height): the output channels of both heads are permuted per anchor
  (`anchor_order`), and each anchor's 4 box channels `[dx, dy, dw, dh]` (KerasHub's
  `center_xywh` deltas) become nbdetect's `[dy, dx, dh, dw]`; box variance `[1, 1, 1, 1]`.
- Decoder: its `NonMaxSuppression` (class-agnostic) -> nbdetect's, same thresholds.
"""

from __future__ import annotations

import os
from typing import Any

import keras
import numpy as np

from nbdetect.models.retinanet import convert
from nbdetect.models.retinanet.convert.anchors import (
    TorchvisionAnchorGenerator,
    keras_hub_anchor_order,
)
from nbdetect.models.retinanet.convert.weights_file import (
    WeightsFile,
    assign_all,
    functional_assignments,
    head_assignments,
    indexed,
    layer_variables,
)
from nbdetect.models.retinanet.feature_pyramid import FeaturePyramid
from nbdetect.models.retinanet.prediction_head import PredictionHead

# keras-hub's resnet_50 presets, the image encoder of its RetinaNet presets.
RESNET_50 = {
    "input_conv_filters": [64],
    "input_conv_kernel_sizes": [7],
    "stackwise_num_filters": [64, 128, 256, 512],
    "stackwise_num_blocks": [3, 4, 6, 3],
    "stackwise_num_strides": [1, 2, 2, 2],
    "block_type": "bottleneck_block",
    "use_pre_activation": False,
}
# KerasHub's box coding: [dx, dy, dw, dh]; nbdetect's channel c is KerasHub's BOX_CHANNELS[c].
BOX_CHANNELS = (1, 0, 3, 2)
_BOX_HEAD, _CLASS_HEAD = "layers/prediction_head", "layers/prediction_head_1"


def from_folder(
    cls: type,
    folder: str,
    num_classes: int | None,
    bounding_box_format: str | None,
    options: dict[str, Any],
) -> keras.Model:
    """Convert a KerasHub `RetinaNetObjectDetector` preset folder."""
    task = convert.read_json(os.path.join(folder, "task.json"))
    if task is None or task.get("registered_name") != "keras_hub>RetinaNetObjectDetector":
        found = "no task.json" if task is None else f"a {task.get('registered_name')} task"
        raise ValueError(
            f"{folder} holds {found}; nbdetect converts KerasHub's "
            "RetinaNetObjectDetector presets (config.json, task.json and their weights), "
            "e.g. what RetinaNetObjectDetector.save_to_preset() writes."
        )
    settings = _settings(task["config"], folder)
    with (
        WeightsFile(os.path.join(folder, "model.weights.h5"), "KerasHub") as backbone_weights,
        WeightsFile(os.path.join(folder, "task.weights.h5"), "KerasHub") as head_weights,
    ):
        kernel = f"{_CLASS_HEAD}/prediction_layer/vars/0"
        shape = head_weights.shape(kernel)
        anchors = settings["anchors_per_location"]
        if shape is None:
            expected = (3, 3, 256, anchors * settings["num_classes"])
            raise head_weights.missing(kernel, expected, "the class logits")
        found = convert.check_num_classes(
            folder, shape[-1] // anchors, num_classes, head_weights.path
        )
        if found * anchors != shape[-1] or found != settings["num_classes"]:
            raise ValueError(
                f"{head_weights.path}: the classification head has {shape[-1]} outputs; "
                f"task.json says {settings['num_classes']} classes x {anchors} anchors "
                f"= {settings['num_classes'] * anchors}."
            )
        model = _build(cls, settings, bounding_box_format, options)
        assign_all(_assignments(model, settings, backbone_weights, head_weights), model)
    return model


def _settings(task: dict, folder: str) -> dict:
    """What the conversion needs from task.json / preprocessor.json, checked."""
    backbone = task["backbone"]["config"]
    encoder = backbone["image_encoder"]
    encoder_config = {k: encoder["config"].get(k) for k in RESNET_50}
    if encoder.get("registered_name") != "keras_hub>ResNetBackbone" or encoder_config != RESNET_50:
        differs = {k: v for k, v in encoder_config.items() if v != RESNET_50[k]}
        raise ValueError(
            f"{folder}: the image encoder is {encoder.get('registered_name')} "
            f"{differs or ''}; nbdetect converts KerasHub RetinaNets with the ResNet50 "
            f"image encoder ({RESNET_50}) only."
        )
    unsupported = {
        "use_fpn_batch_norm": backbone.get("use_fpn_batch_norm", False),
        "min_level": backbone.get("min_level", 3),
        "max_level": backbone.get("max_level", 7),
    }
    if unsupported != {"use_fpn_batch_norm": False, "min_level": 3, "max_level": 7}:
        raise ValueError(
            f"{folder}: the RetinaNetBackbone has {unsupported}; nbdetect converts the "
            "pyramid of KerasHub's presets (P3-P7, use_fpn_batch_norm=False) only."
        )
    anchors = task.get("anchor_generator", {}).get("config", {})
    anchor_config = {
        "min_level": anchors.get("min_level", 3),
        "max_level": anchors.get("max_level", 7),
        "num_scales": anchors.get("num_scales", 3),
        "aspect_ratios": anchors.get("aspect_ratios", [0.5, 1.0, 2.0]),
        "anchor_size": anchors.get("anchor_size", 4),
    }
    encoder_config = task.get("label_encoder", {}).get("config", {})
    if encoder_config.get("encoding_format", "center_xywh") != "center_xywh":
        raise ValueError(
            f"{folder}: the label encoder's encoding_format is "
            f"{encoder_config['encoding_format']!r}; KerasHub's RetinaNet decodes "
            "'center_xywh' deltas, the only format converted."
        )
    if task.get("activation") not in (None, "sigmoid"):
        raise ValueError(
            f"{folder}: the detector's activation is {task['activation']!r}; nbdetect "
            "converts sigmoid classifiers (activation None or 'sigmoid') only."
        )
    return {
        "num_classes": task["num_classes"],
        "bounding_box_format": task.get("bounding_box_format", "yxyx"),
        "use_p5": backbone["use_p5"],
        "head_conv_layers": task.get("pre_logits_num_conv_layers", 4),
        "use_group_norm": task.get("use_prediction_head_norm", False),
        "anchors": anchor_config,
        "anchors_per_location": anchor_config["num_scales"] * len(anchor_config["aspect_ratios"]),
        "box_variance": encoder_config.get("box_variance", [1.0, 1.0, 1.0, 1.0]),
        "decoder": (task.get("prediction_decoder") or {}).get("config", {}),
        "preprocessing": _preprocessing(folder),
    }


def _preprocessing(folder: str) -> dict | str:
    """The image converter's `x * scale + offset`, as `Backbone(preprocessing=...)`."""
    preprocessor = convert.read_json(os.path.join(folder, "preprocessor.json"))
    if preprocessor is None:  # a detector saved without preprocessor: no normalisation
        return "none"
    config = preprocessor["config"]["image_converter"]["config"]
    scale, offset = config.get("scale"), config.get("offset")
    if "mean" in config and "variance" in config:
        # ImageConverter's older arguments: scale, then (x - mean) / sqrt(variance).
        std = [float(v) ** 0.5 for v in config["variance"]]
        scale = [(1.0 if scale is None else scale) / s for s in std]
        offset = [-m / s for m, s in zip(config["mean"], std)]
    if scale is None and offset is None:
        return "none"
    return {"scale": 1.0 if scale is None else scale, "offset": 0.0 if offset is None else offset}


def _build(cls, settings, bounding_box_format, options):
    bounding_box_format = bounding_box_format or settings["bounding_box_format"]
    anchors = settings["anchors"]
    levels = range(anchors["min_level"], anchors["max_level"] + 1)
    num_scales = anchors["num_scales"]
    anchor_generator = TorchvisionAnchorGenerator(
        bounding_box_format,
        sizes=[2.0**level * anchors["anchor_size"] for level in levels],
        scales=[2 ** (i / num_scales) for i in range(num_scales)],
        aspect_ratios=sorted(1.0 / r for r in anchors["aspect_ratios"]),
        strides=[2**level for level in levels],
    )
    head = dict(
        num_conv_layers=settings["head_conv_layers"], use_group_norm=settings["use_group_norm"]
    )
    per_location = anchor_generator.anchors_per_location
    return convert.assemble(
        cls,
        backbone_args={
            "architecture": "torchvision_resnet50",
            "preprocessing": settings["preprocessing"],
            "batchnorm_momentum": 0.9,
        },
        feature_pyramid=FeaturePyramid(256, p6_input="C5" if settings["use_p5"] else "P5"),
        heads=(
            PredictionHead(
                per_location * settings["num_classes"], name="classification_head", **head
            ),
            PredictionHead(per_location * 4, name="box_head", **head),
        ),
        anchor_generator=anchor_generator,
        box_variance=settings["box_variance"],
        decoder=settings["decoder"],
        num_classes=settings["num_classes"],
        bounding_box_format=bounding_box_format,
        options=options,
    )


def anchor_permutations(model, hub_aspect_ratios, num_classes):
    """Channel orders of the class and box outputs: ours from KerasHub's.

    Returns:
        `(class_order, box_order)`: `ours[..., i] = hub[..., order[i]]`.
    """
    generator = model.anchor_generator
    order = keras_hub_anchor_order(generator.scales, generator.aspect_ratios, hub_aspect_ratios)
    class_order = [hub * num_classes + c for hub in order for c in range(num_classes)]
    box_order = [hub * 4 + c for hub in order for c in BOX_CHANNELS]
    return np.array(class_order), np.array(box_order)


def _assignments(model, settings, backbone_weights, head_weights):
    kinds = {keras.layers.Conv2D: "conv2d", keras.layers.BatchNormalization: "batch_normalization"}
    assignments = functional_assignments(
        backbone_weights, "layers/functional", model.backbone.layers, kinds
    )
    fpn = model.feature_pyramid
    prefix = "layers/feature_pyramid"
    for k, (lateral, output) in enumerate(zip(fpn.lateral_convs, fpn.output_convs)):
        name = indexed("conv2d", k)
        assignments += layer_variables(
            backbone_weights, lateral, f"{prefix}/lateral_conv_layers/{name}"
        )
        assignments += layer_variables(
            backbone_weights, output, f"{prefix}/output_conv_layers/{name}"
        )
    for k, conv in ((3, fpn.p6_conv), (4, fpn.p7_conv)):
        path = f"{prefix}/output_conv_layers/{indexed('conv2d', k)}"
        assignments += layer_variables(backbone_weights, conv, path)
    class_order, box_order = anchor_permutations(
        model, settings["anchors"]["aspect_ratios"], settings["num_classes"]
    )
    assignments += head_assignments(
        head_weights, model.box_head, _BOX_HEAD, lambda value: value[..., box_order]
    )
    assignments += head_assignments(
        head_weights, model.classification_head, _CLASS_HEAD, lambda value: value[..., class_order]
    )
    return assignments
