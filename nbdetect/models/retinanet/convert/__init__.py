"""Pretrained RetinaNets of KerasHub and KerasCV, converted into nbdetect's `RetinaNet`.

`RetinaNet.from_preset` comes here for what is not nbdetect's own:

- KerasHub: the names `"retinanet_resnet50_fpn_coco"` and
  `"retinanet_resnet50_fpn_v2_coco"` (downloaded with `kagglehub`), or a folder written
  by `keras_hub.models.RetinaNetObjectDetector.save_to_preset` (`keras_hub`).
- KerasCV: the name `"retinanet_resnet50_pascalvoc"`, a folder written by KerasCV's
  `save_to_preset`, or a bare KerasCV RetinaNet `.weights.h5` file (`keras_cv`).

The result is built from nbdetect's parts only (no KerasHub or KerasCV import): the
source's architecture options map onto `Backbone`, `FeaturePyramid`, `PredictionHead`
and the anchor generator, its normalisation becomes the backbone's `preprocessing`, and
its weights are read from the `.h5` files by variable path (`weights_file`). Raw outputs
equal the source's (after a documented permutation of head channels), and detections
equal its `predict()` with the same NMS settings.
"""

from __future__ import annotations

import json
import os
from typing import Any

import keras

from nbdetect.datasets.class_names import class_mapping_for
from nbdetect.layers.non_max_suppression import MultiClassNonMaxSuppression, NonMaxSuppression
from nbdetect.models.retinanet.backbones import Backbone
from nbdetect.models.retinanet.convert.anchors import TorchvisionAnchorGenerator
from nbdetect.models.retinanet.convert.download import (
    KERAS_CV_PRESETS,
    KERAS_HUB_PRESETS,
    download_preset,
)
from nbdetect.models.retinanet.label_encoder import RetinaNetLabelEncoder

__all__ = [
    "KERAS_CV_PRESETS",
    "KERAS_HUB_PRESETS",
    "TorchvisionAnchorGenerator",
    "from_foreign_preset",
    "is_foreign_preset",
]

# from_preset() options a conversion accepts besides the RetinaNet arguments below.
_BACKBONE_OPTIONS = ("trainable_backbone_stages", "freeze_backbone_batchnorm")
_MODEL_OPTIONS = ("prediction_decoder", "class_mapping", "clip_boxes", "name", "trainable")


def is_foreign_preset(preset: str) -> bool:
    """Whether `preset` is a KerasHub / KerasCV preset name, folder or weights file."""
    if preset in KERAS_HUB_PRESETS or preset in KERAS_CV_PRESETS:
        return True
    if os.path.isfile(preset):
        return preset.endswith(".h5")
    return _library_of_folder(preset) is not None


def from_foreign_preset(
    cls: type,
    preset: str,
    num_classes: int | None,
    bounding_box_format: str | None,
    options: dict[str, Any],
) -> keras.Model:
    """Convert a KerasHub / KerasCV preset into `cls` (see `RetinaNet.from_preset`)."""
    from nbdetect.models.retinanet.convert import keras_cv, keras_hub

    unknown = sorted(set(options) - set(_BACKBONE_OPTIONS) - set(_MODEL_OPTIONS))
    if unknown:
        raise ValueError(
            f"RetinaNet.from_preset({preset!r}) got {unknown}; a converted KerasHub / "
            "KerasCV detector keeps its architecture and accepts only "
            f"{', '.join(_BACKBONE_OPTIONS + _MODEL_OPTIONS)}."
        )
    if preset in KERAS_HUB_PRESETS or preset in KERAS_CV_PRESETS:
        folder = download_preset(preset)
    else:
        folder = preset
    if os.path.isfile(folder):
        return keras_cv.from_weights_file(cls, folder, num_classes, bounding_box_format, options)
    library = _library_of_folder(folder)
    if library == "keras_hub":
        return keras_hub.from_folder(cls, folder, num_classes, bounding_box_format, options)
    if library == "keras_cv":
        return keras_cv.from_folder(cls, folder, num_classes, bounding_box_format, options)
    raise ValueError(
        f"RetinaNet.from_preset({preset!r}): the folder {folder!r} holds no KerasHub or "
        "KerasCV RetinaNet (its config.json is missing or names another model)."
    )


def _library_of_folder(folder: str) -> str | None:
    config = read_json(os.path.join(folder, "config.json"))
    if config is None:
        return None
    name = str(config.get("registered_name") or config.get("module") or "")
    if name.startswith("keras_hub"):
        return "keras_hub"
    if name.startswith("keras_cv"):
        return "keras_cv"
    return None


def read_json(path: str) -> dict | None:
    """The JSON object in `path`, or None when there is no such file."""
    if not os.path.isfile(path):
        return None
    with open(path) as file:
        return json.load(file)


def check_num_classes(preset: str, found: int, given: int | None, source: str) -> int:
    """The number of classes, or an error if `num_classes=` disagrees with the file."""
    if given is not None and given != found:
        raise ValueError(
            f"RetinaNet.from_preset({preset!r}) got num_classes={given}, but {source} "
            f"holds a detector of {found} classes. Leave num_classes out to load it as "
            "trained (nothing was loaded)."
        )
    return found


def assemble(
    cls: type,
    *,
    backbone_args: dict[str, Any],
    feature_pyramid: keras.layers.Layer,
    heads: tuple[keras.layers.Layer, keras.layers.Layer],
    anchor_generator: Any,
    box_variance: list[float],
    decoder: dict[str, Any],
    num_classes: int,
    bounding_box_format: str,
    options: dict[str, Any],
) -> keras.Model:
    """A `cls` (RetinaNet) from converted parts, with the user's `from_preset` options.

    `decoder` holds the source decoder's settings (`iou_threshold`, ...; and
    `class_agnostic`, default True: both libraries' default NMS is class-agnostic).

    The backbone defaults to fine-tuning settings for pretrained weights (stages 3-5
    train, BatchNorm frozen), as `Backbone` uses for ImageNet weights.
    """
    options = dict(options)
    backbone = Backbone(
        trainable_stages=options.pop("trainable_backbone_stages", 3),
        freeze_batchnorm=options.pop("freeze_backbone_batchnorm", True),
        **backbone_args,
    )
    decoder_class = (
        NonMaxSuppression if decoder.get("class_agnostic", True) else MultiClassNonMaxSuppression
    )
    options.setdefault(
        "prediction_decoder",
        decoder_class(
            bounding_box_format=bounding_box_format,
            from_logits=decoder.get("from_logits", True),
            iou_threshold=decoder.get("iou_threshold", 0.5),
            confidence_threshold=decoder.get("confidence_threshold", 0.5),
            max_detections=decoder.get("max_detections", 100),
        ),
    )
    options.setdefault("class_mapping", class_mapping_for(num_classes))
    # Neither library clips decoded boxes before NMS: the same boxes, the same detections.
    options.setdefault("clip_boxes", False)
    classification_head, box_head = heads
    return cls(
        backbone,
        num_classes,
        bounding_box_format,
        label_encoder=RetinaNetLabelEncoder(
            bounding_box_format, anchor_generator, box_variance=box_variance
        ),
        feature_pyramid=feature_pyramid,
        classification_head=classification_head,
        box_head=box_head,
        **options,
    )
