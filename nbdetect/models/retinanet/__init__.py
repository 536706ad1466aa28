"""RetinaNet and its parts, each injectable into `RetinaNet(...)` and serializable.

* `RetinaNet`: the model (`from_preset`, `compile`, `fit`, `predict`, `predict_raw`,
  `decode_predictions`, `save_to_preset`).
* `Backbone`: `keras.applications` classifiers (and KerasCV's / torchvision's ResNet50,
  `resnet`) as C3-C5 feature extractors, with frozen BatchNorm / stages for fine-tuning.
* `FeaturePyramid`, `PredictionHead`: the P3-P7 pyramid and the class / box subnets.
* `RetinaNetBackbone`: an image encoder and its `FeaturePyramid` as one model, apart from
  the detection task (KerasHub's split); `RetinaNet(backbone=RetinaNetBackbone(...))`.
* `AnchorGenerator`, `RetinaNetLabelEncoder`, `encode_box_to_deltas`,
  `decode_deltas_to_boxes`: anchors, training targets and the box coding.
* `convert`: KerasHub's and KerasCV's pretrained RetinaNets as nbdetect models
  (`RetinaNet.from_preset("retinanet_resnet50_fpn_coco")`, or their preset folders), with
  `TorchvisionAnchorGenerator`, the anchors of detectors ported from torchvision.

Example::

    from nbdetect.models.retinanet import FeaturePyramid, PredictionHead, RetinaNet

    model = RetinaNet.from_preset(
        "mobilenet_v3_small", num_classes=7, bounding_box_format="xywh",
        num_filters=64, num_head_conv_layers=2,
    )
"""

from nbdetect.models.retinanet.anchor_generator import AnchorGenerator, default_anchor_generator
from nbdetect.models.retinanet.backbones import (
    ARCHITECTURES,
    Backbone,
    CaffePreprocessing,
    CropToStride,
    PadToMultiple,
    ScaleOffset,
)
from nbdetect.models.retinanet.box_coder import decode_deltas_to_boxes, encode_box_to_deltas
from nbdetect.models.retinanet.convert import TorchvisionAnchorGenerator
from nbdetect.models.retinanet.feature_pyramid import FeaturePyramid
from nbdetect.models.retinanet.label_encoder import RetinaNetLabelEncoder
from nbdetect.models.retinanet.prediction_head import PredictionHead, classification_bias
from nbdetect.models.retinanet.presets import PRESETS
from nbdetect.models.retinanet.retinanet import BOX_VARIANCE, RetinaNet
from nbdetect.models.retinanet.retinanet_backbone import RetinaNetBackbone

__all__ = [
    "ARCHITECTURES",
    "BOX_VARIANCE",
    "PRESETS",
    "AnchorGenerator",
    "Backbone",
    "CaffePreprocessing",
    "CropToStride",
    "FeaturePyramid",
    "PadToMultiple",
    "PredictionHead",
    "RetinaNet",
    "RetinaNetBackbone",
    "RetinaNetLabelEncoder",
    "ScaleOffset",
    "TorchvisionAnchorGenerator",
    "classification_bias",
    "decode_deltas_to_boxes",
    "default_anchor_generator",
    "encode_box_to_deltas",
]
