"""RetinaNet presets: backbones by name, saved models, KerasHub / KerasCV detectors."""

from __future__ import annotations

import json
import os
from typing import Any

import keras

from nbdetect.models.retinanet import convert
from nbdetect.models.retinanet.backbones import Backbone
from nbdetect.models.retinanet.feature_pyramid import FeaturePyramid
from nbdetect.models.retinanet.prediction_head import PredictionHead, classification_bias

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"

_DESCRIPTIONS = {
    "resnet50": "ResNet50 (25M parameters): the RetinaNet paper's backbone.",
    "resnet101": "ResNet101 (44M parameters).",
    "mobilenet_v3_small": "MobileNetV3 Small (1M parameters): the fastest, for CPUs.",
    "mobilenet_v3_large": "MobileNetV3 Large (3M parameters).",
    "efficientnetv2_b0": "EfficientNetV2 B0 (6M parameters).",
}


def _presets() -> dict[str, dict[str, Any]]:
    table = {}
    for architecture, description in _DESCRIPTIONS.items():
        table[architecture] = {
            "architecture": architecture,
            "pretrained_weights": None,
            "description": f"{description} Random weights; builds offline.",
        }
        table[f"{architecture}_imagenet"] = {
            "architecture": architecture,
            "pretrained_weights": "imagenet",
            "description": f"{description} ImageNet weights, downloaded by Keras.",
        }
    return table


PRESETS = _presets()

# from_preset() options that only mean something when building from a name.
_NAME_OPTIONS = (
    "backbone_weights",
    "trainable_backbone_stages",
    "freeze_backbone_batchnorm",
    "num_filters",
    "num_head_conv_layers",
)


def from_preset(
    cls: type,
    preset: str,
    num_classes: int | None,
    bounding_box_format: str | None,
    **kwargs: Any,
) -> keras.Model:
    """Build `cls` (a RetinaNet) from a preset name or directory; see `RetinaNet.from_preset`."""
    if convert.is_foreign_preset(preset):
        return convert.from_foreign_preset(cls, preset, num_classes, bounding_box_format, kwargs)
    if os.path.isdir(preset):
        return _from_directory(cls, preset, num_classes, bounding_box_format, kwargs)
    if preset not in PRESETS:
        hint = (
            " (a directory of that name does not exist)"
            if os.sep in preset or preset.startswith(".")
            else ""
        )
        pretrained = [*convert.KERAS_HUB_PRESETS, *convert.KERAS_CV_PRESETS]
        raise ValueError(
            f"RetinaNet.from_preset() got {preset!r}{hint}; expected a preset name, one of "
            f"{', '.join(PRESETS)}; a pretrained detector of KerasHub or KerasCV, one of "
            f"{', '.join(pretrained)} (downloaded with kagglehub), or their preset folder or "
            "weights file; or a directory written by model.save_to_preset()."
        )
    missing = [
        name
        for name, value in (
            ("num_classes", num_classes),
            ("bounding_box_format", bounding_box_format),
        )
        if value is None
    ]
    if missing:
        raise ValueError(
            f"RetinaNet.from_preset({preset!r}) needs {' and '.join(missing)}, e.g. "
            f"RetinaNet.from_preset({preset!r}, num_classes=20, bounding_box_format='xywh')."
        )
    spec = PRESETS[preset]
    backbone_weights = kwargs.pop("backbone_weights", None)
    backbone = Backbone(
        spec["architecture"],
        pretrained_weights=backbone_weights or spec["pretrained_weights"],
        trainable_stages=kwargs.pop("trainable_backbone_stages", None),
        freeze_batchnorm=kwargs.pop("freeze_backbone_batchnorm", None),
    )
    num_filters = kwargs.pop("num_filters", 256)
    num_head_conv_layers = kwargs.pop("num_head_conv_layers", 4)
    if "feature_pyramid" not in kwargs:
        kwargs["feature_pyramid"] = FeaturePyramid(num_filters)
    anchors_per_location = 9
    if kwargs.get("anchor_generator") is not None:
        anchors_per_location = kwargs["anchor_generator"].anchors_per_location
    if "classification_head" not in kwargs:
        kwargs["classification_head"] = PredictionHead(
            anchors_per_location * num_classes,
            bias_initializer=classification_bias(),
            num_conv_layers=num_head_conv_layers,
            num_filters=num_filters,
            name="classification_head",
        )
    if "box_head" not in kwargs:
        kwargs["box_head"] = PredictionHead(
            anchors_per_location * 4,
            bias_initializer="zeros",
            num_conv_layers=num_head_conv_layers,
            num_filters=num_filters,
            name="box_head",
        )
    return cls(backbone, num_classes, bounding_box_format, **kwargs)


def _from_directory(cls, directory, num_classes, bounding_box_format, overrides):
    name_only = [name for name in _NAME_OPTIONS if name in overrides]
    if name_only:
        raise ValueError(
            f"RetinaNet.from_preset() got {name_only} for the saved model in {directory!r}; "
            "those options build a new model from a preset name. A saved model keeps its "
            "architecture."
        )
    with open(os.path.join(directory, CONFIG_FILE)) as file:
        config = json.load(file)["config"]
    if num_classes is not None and num_classes != config["num_classes"]:
        raise ValueError(
            f"RetinaNet.from_preset({directory!r}) got num_classes={num_classes}, but the "
            f"saved model predicts {config['num_classes']} classes. Leave num_classes out "
            "to load it as saved."
        )
    if bounding_box_format is not None:
        config["bounding_box_format"] = bounding_box_format
    config.update(overrides)
    model = cls.from_config(config)
    model.load_weights(os.path.join(directory, WEIGHTS_FILE))
    return model


def save_to_preset(model: keras.Model, directory: str) -> None:
    """Write `model` to `directory`; see `RetinaNet.save_to_preset`."""
    from nbdetect import __version__

    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, CONFIG_FILE), "w") as file:
        json.dump(keras.saving.serialize_keras_object(model), file, indent=2)
    model.save_weights(os.path.join(directory, WEIGHTS_FILE))
    metadata = {
        "nbdetect_version": __version__,
        "keras_version": keras.__version__,
        "class_name": type(model).__name__,
        "num_classes": model.num_classes,
        "bounding_box_format": model.bounding_box_format,
    }
    with open(os.path.join(directory, METADATA_FILE), "w") as file:
        json.dump(metadata, file, indent=2)
