"""Feature extractors from `keras.applications` classifiers (and `resnet`), for RetinaNet."""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Callable
from typing import Any

import keras
from keras import ops

from nbdetect.models.retinanet.resnet import resnet

# The largest stride a backbone output has (C5).
MAX_STRIDE = 32


@dataclasses.dataclass(frozen=True)
class _Architecture:
    """How to cut a `keras.applications` classifier into stages.

    `stage_starts[k - 1]` names the first layer of stage `k` (`k = 1..5`): the layer
    that brings the feature maps to stride `2**k`. C3 and C4 are the inputs of the first
    layers of stages 4 and 5; C5 is the network's output. Names with automatic numbering
    (`activation_12`) change from one build to the next, so only explicit names are used.
    """

    builder: Callable[..., keras.Model]
    stage_starts: tuple[str, str, str, str, str]
    # The preprocessing its weights expect that the classifier leaves to the caller
    # (`Backbone(preprocessing=...)`'s values); None: none, or built in.
    preprocessing: str | dict | None = None
    # Stride-2 layers that round sizes down (`correct_pad` with unknown input sizes):
    # pad the input to a multiple of 32 and crop the features back to ceil(size / stride).
    pad_input: bool = False
    builder_kwargs: dict = dataclasses.field(default_factory=dict)


_RESNET_STAGES = (
    "conv1_pad",
    "pool1_pad",
    "conv3_block1_1_conv",
    "conv4_block1_1_conv",
    "conv5_block1_1_conv",
)

# torchvision's ImageNet normalisation, `(x / 255 - mean) / std`, as `x * scale + offset`.
TORCHVISION_PREPROCESSING = {
    "scale": [1 / 255 / std for std in (0.229, 0.224, 0.225)],
    "offset": [-mean / std for mean, std in zip((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))],
}

ARCHITECTURES = {
    "resnet50": _Architecture(keras.applications.ResNet50, _RESNET_STAGES, preprocessing="caffe"),
    "resnet101": _Architecture(keras.applications.ResNet101, _RESNET_STAGES, preprocessing="caffe"),
    # The ResNet50 of KerasCV's RetinaNet (`include_rescaling=True`: x / 255).
    "kerascv_resnet50": _Architecture(
        functools.partial(resnet, "kerascv", 50),
        ("conv1_conv", "pool1_pool", *_RESNET_STAGES[2:]),
        preprocessing="rescale",
    ),
    # The ResNet50 of KerasHub's RetinaNet presets (torchvision's, normalisation included).
    "torchvision_resnet50": _Architecture(
        functools.partial(resnet, "torchvision", 50),
        _RESNET_STAGES,
        preprocessing=TORCHVISION_PREPROCESSING,
    ),
    "mobilenet_v3_small": _Architecture(
        keras.applications.MobileNetV3Small,
        (
            "conv",
            "expanded_conv_depthwise_pad",
            "expanded_conv_1_depthwise_pad",
            "expanded_conv_3_depthwise_pad",
            "expanded_conv_8_depthwise_pad",
        ),
        pad_input=True,
        builder_kwargs={"include_preprocessing": True},
    ),
    "mobilenet_v3_large": _Architecture(
        keras.applications.MobileNetV3Large,
        (
            "conv",
            "expanded_conv_1_depthwise_pad",
            "expanded_conv_3_depthwise_pad",
            "expanded_conv_6_depthwise_pad",
            "expanded_conv_12_depthwise_pad",
        ),
        pad_input=True,
        builder_kwargs={"include_preprocessing": True},
    ),
    "efficientnetv2_b0": _Architecture(
        keras.applications.EfficientNetV2B0,
        (
            "stem_conv",
            "block2a_expand_conv",
            "block3a_expand_conv",
            "block4a_dwconv2",
            "block6a_dwconv2",
        ),
        builder_kwargs={"include_preprocessing": True},
    ),
}


@keras.saving.register_keras_serializable(package="nbdetect")
class Backbone(keras.Model):
    """A `keras.applications` classifier as a C3-C5 feature extractor.

    Takes RGB images with values in `[0, 255]` (each architecture's ImageNet
    preprocessing is part of the model) of any size, and returns
    `{"P3", "P4", "P5"}`: the deepest feature maps at strides 8, 16 and 32, of
    `ceil(H / stride) x ceil(W / stride)` locations each, whatever the architecture's own
    padding does (MobileNetV3 rounds down: its input is padded to a multiple of 32 and its
    features cropped).

    Freezing, as detection practice does with pretrained backbones (Detectron2's frozen
    BatchNorm and stem, torchvision's `trainable_backbone_layers`): BatchNorm statistics
    from a batch of 2-8 images are noise, and the first stages' generic edge and texture
    filters need no retraining. Frozen layers also need no backward pass, which roughly
    halves the backbone's training cost.

    Args:
        architecture: one of `ARCHITECTURES`: `"resnet50"`, `"resnet101"`,
            `"mobilenet_v3_small"`, `"mobilenet_v3_large"`, `"efficientnetv2_b0"`, and
            the ResNet50s of converted detectors, `"kerascv_resnet50"` and
            `"torchvision_resnet50"` (see `nbdetect.models.retinanet.resnet`).
        pretrained_weights: `None` (random initialisation), `"imagenet"` (downloaded by
            Keras, then cached in `~/.keras/models`) or the path of a Keras weights file
            for the classifier without its top.
        trainable_stages: how many of the 5 stages (stem = 1 ... C5 = 5), counted from the
            top, train: 5 trains everything, 3 freezes the stem and stage 2 (torchvision's
            default), 0 freezes the whole backbone. Default: 3 with pretrained weights,
            5 without.
        freeze_batchnorm: run every BatchNorm layer in inference mode with fixed
            statistics and scale. Default: True with pretrained weights (False without:
            a random network needs its BatchNorm to train).
        batchnorm_momentum: momentum of the BatchNorm moving averages. Default: 0.9
            without pretrained weights, else the architecture's own (0.99 to 0.999, for
            ImageNet statistics). From scratch, 0.999 would leave the statistics that
            `predict()` uses near their initial values for thousands of steps, and the
            detections meaningless while the training loss looks fine.
        preprocessing: what the model does to the `[0, 255]` images first; default (None)
            what the architecture's weights expect. `"caffe"` (`CaffePreprocessing`),
            `"rescale"` (x / 255), `"none"`, or `{"scale": s, "offset": o}` for
            `x * s + o` (`ScaleOffset`; numbers or one per channel).
        **kwargs: passed to `keras.Model` (`name`, `trainable`).

    Example:
        >>> import numpy as np
        >>> from nbdetect.models.retinanet import Backbone
        >>> backbone = Backbone("mobilenet_v3_small")  # random weights: no download
        >>> features = backbone(np.zeros((1, 200, 300, 3)))
        >>> [tuple(features[k].shape[1:3]) for k in ("P3", "P4", "P5")]
        [(25, 38), (13, 19), (7, 10)]

        ImageNet weights are downloaded by Keras the first time (this needs internet):

        >>> backbone = Backbone("resnet50", pretrained_weights="imagenet")  # doctest: +SKIP

    `get_config()` records `pretrained_weights=None`: a saved model carries its weights, so
    reloading one never downloads anything. The freezing is recorded as resolved.
    """

    def __init__(
        self,
        architecture: str,
        pretrained_weights: str | None = None,
        trainable_stages: int | None = None,
        freeze_batchnorm: bool | None = None,
        batchnorm_momentum: float | None = None,
        preprocessing: str | dict | None = None,
        **kwargs: Any,
    ) -> None:
        if architecture not in ARCHITECTURES:
            raise ValueError(
                f"Backbone got architecture={architecture!r}; available: "
                f"{', '.join(sorted(ARCHITECTURES))}. Any other Keras model that maps images "
                "to {'P3', 'P4', 'P5'} features (strides 8, 16, 32) can be passed to "
                "RetinaNet(backbone=...) too."
            )
        pretrained = pretrained_weights is not None
        if trainable_stages is None:
            trainable_stages = 3 if pretrained else 5
        if freeze_batchnorm is None:
            freeze_batchnorm = pretrained
        if batchnorm_momentum is None and not pretrained:
            batchnorm_momentum = 0.9
        if not 0 <= trainable_stages <= 5:
            raise ValueError(
                f"Backbone got trainable_stages={trainable_stages}; expected 0 (all frozen) "
                "to 5 (all trainable)."
            )
        spec = ARCHITECTURES[architecture]

        # === Layers ===
        images = keras.Input((None, None, 3), name="images")
        x = images
        preprocessing_layer = _preprocessing_layer(
            spec.preprocessing if preprocessing is None else preprocessing
        )
        if preprocessing_layer is not None:
            x = preprocessing_layer(x)
        if spec.pad_input:
            x = PadToMultiple(MAX_STRIDE, name="pad_to_multiple")(x)
        classifier = _build_classifier(architecture, spec, x, pretrained_weights)
        starts = [classifier.get_layer(name) for name in spec.stage_starts]
        features = {"P3": starts[3].input, "P4": starts[4].input, "P5": classifier.output}
        if spec.pad_input:
            features = {
                level: CropToStride(stride, name=f"crop_{level}")([feature, images])
                for (level, feature), stride in zip(features.items(), (8, 16, 32))
            }

        # === Model ===
        super().__init__(inputs=images, outputs=features, **kwargs)

        # === Config ===
        self.architecture = architecture
        self.pretrained_weights = pretrained_weights
        self.trainable_stages = int(trainable_stages)
        self.freeze_batchnorm = bool(freeze_batchnorm)
        self.preprocessing = preprocessing
        _freeze(classifier.layers, starts, self.trainable_stages, self.freeze_batchnorm)
        batchnorms = [
            layer
            for layer in classifier.layers
            if isinstance(layer, keras.layers.BatchNormalization)
        ]
        for layer in batchnorms:
            if batchnorm_momentum is not None:
                layer.momentum = float(batchnorm_momentum)
        # Recorded as applied, so that a reloaded model (built without the pretrained
        # weights) keeps the architecture's momentum rather than the from-scratch default.
        self.batchnorm_momentum = batchnorms[0].momentum if batchnorms else None

    def get_config(self) -> dict:
        """The constructor arguments (weights not included: see the class docstring)."""
        return {
            "name": self.name,
            "trainable": self.trainable,
            "architecture": self.architecture,
            "pretrained_weights": None,
            "trainable_stages": self.trainable_stages,
            "freeze_batchnorm": self.freeze_batchnorm,
            "batchnorm_momentum": self.batchnorm_momentum,
            "preprocessing": self.preprocessing,
        }

    @classmethod
    def from_config(cls, config: dict) -> Backbone:
        """Rebuild from `get_config()`."""
        return cls(**config)


def _preprocessing_layer(preprocessing: str | dict | None) -> keras.layers.Layer | None:
    if preprocessing is None or preprocessing == "none":
        return None
    if preprocessing == "caffe":
        return CaffePreprocessing(name="caffe_preprocessing")
    if preprocessing == "rescale":
        return ScaleOffset(1 / 255.0, 0.0, name="rescale")
    if isinstance(preprocessing, dict) and set(preprocessing) <= {"scale", "offset"}:
        return ScaleOffset(
            preprocessing.get("scale", 1.0), preprocessing.get("offset", 0.0), name="scale_offset"
        )
    raise ValueError(
        f"Backbone got preprocessing={preprocessing!r}; expected None (the architecture's "
        "own), 'caffe', 'rescale' (x / 255), 'none', or {'scale': s, 'offset': o} for "
        "x * s + o, e.g. {'scale': 1 / 127.5, 'offset': -1.0}."
    )


def _build_classifier(architecture, spec, inputs, weights):
    try:
        with warnings.catch_warnings():
            # MobileNetV3 warns that weights for 224-pixel inputs load for any input size:
            # right for a fully convolutional feature extractor.
            warnings.filterwarnings("ignore", "`input_shape` is undefined", UserWarning)
            return spec.builder(
                include_top=False, weights=weights, input_tensor=inputs, **spec.builder_kwargs
            )
    except ValueError:  # a wrong argument, not a failed download
        raise
    except Exception as error:
        if weights != "imagenet":
            raise
        raise RuntimeError(
            f"Could not download the ImageNet weights of {architecture!r} ({error}). "
            f"Without internet, the preset {architecture!r} (no '_imagenet') builds the "
            "same model with random weights. To use the pretrained weights offline, "
            "download the file from the URL above on a machine with internet and either "
            "put it in ~/.keras/models/ (Keras then finds it without downloading) or "
            f"pass its path: RetinaNet.from_preset('{architecture}', "
            "backbone_weights='/path/to/file.h5', ...)."
        ) from error


def _freeze(layers, starts, trainable_stages, freeze_batchnorm):
    """Freeze the first `5 - trainable_stages` stages, and BatchNorm if asked."""
    first_trainable = 5 - trainable_stages  # stages 1..first_trainable are frozen
    start_ids = {id(layer): stage for stage, layer in enumerate(starts, start=1)}
    stage = 0
    for layer in layers:
        stage = start_ids.get(id(layer), stage)
        if stage <= first_trainable and stage > 0:
            layer.trainable = False
        if freeze_batchnorm and isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


@keras.saving.register_keras_serializable(package="nbdetect")
class CaffePreprocessing(keras.layers.Layer):
    """ResNet's ImageNet preprocessing: RGB `[0, 255]` to BGR minus the ImageNet mean.

    What `keras.applications.resnet.preprocess_input` does, as a layer in the model.

    Example:
        >>> import numpy as np
        >>> from nbdetect.models.retinanet.backbones import CaffePreprocessing
        >>> np.asarray(CaffePreprocessing()(np.full((1, 1, 1, 3), 128.0))).round(3)
        array([[[[24.061, 11.221,  4.32 ]]]], dtype=float32)
    """

    MEAN_BGR = (103.939, 116.779, 123.68)

    def call(self, images: Any) -> Any:
        """`[B, H, W, 3]` RGB to BGR minus the mean."""
        return ops.flip(images, axis=-1) - ops.convert_to_tensor(self.MEAN_BGR, self.compute_dtype)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        """The input's shape."""
        return tuple(input_shape)


@keras.saving.register_keras_serializable(package="nbdetect")
class ScaleOffset(keras.layers.Layer):
    """`x * scale + offset`: rescaling and per-channel normalisation as a layer.

    Multiplies, then adds, in the compute dtype, as Keras' `Rescaling` and KerasHub's
    `ImageConverter` do, so that converted models see the same numbers.

    Args:
        scale: a number, or one per channel.
        offset: a number, or one per channel.
        **kwargs: passed to `keras.layers.Layer`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.models.retinanet.backbones import ScaleOffset
        >>> np.asarray(ScaleOffset(1 / 127.5, -1.0)(np.full((1, 1, 1, 3), 255.0)))
        array([[[[1., 1., 1.]]]], dtype=float32)
    """

    def __init__(self, scale: float | list, offset: float | list = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = _number_or_list(scale)
        self.offset = _number_or_list(offset)

    def call(self, images: Any) -> Any:
        """`[B, H, W, C]` images times `scale` plus `offset`."""
        images = ops.cast(images, self.compute_dtype)
        scale = ops.convert_to_tensor(self.scale, self.compute_dtype)
        offset = ops.convert_to_tensor(self.offset, self.compute_dtype)
        return images * scale + offset

    def compute_output_shape(self, input_shape: Any) -> tuple:
        """The input's shape."""
        return tuple(input_shape)

    def get_config(self) -> dict:
        """The constructor arguments, for `from_config`."""
        config = super().get_config()
        config.update(scale=self.scale, offset=self.offset)
        return config


def _number_or_list(value: Any) -> float | list[float]:
    if isinstance(value, (int, float)):
        return float(value)
    return [float(v) for v in value]


@keras.saving.register_keras_serializable(package="nbdetect")
class PadToMultiple(keras.layers.Layer):
    """Zero-pad images at the bottom and right to a multiple of `multiple` pixels.

    Args:
        multiple: the size both sides are padded up to a multiple of.
        **kwargs: passed to `keras.layers.Layer`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.models.retinanet.backbones import PadToMultiple
        >>> PadToMultiple(32)(np.zeros((1, 33, 64, 3))).shape
        TensorShape([1, 64, 64, 3])
    """

    def __init__(self, multiple: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.multiple = int(multiple)

    def call(self, images: Any) -> Any:
        """Pad `[B, H, W, C]` images."""
        shape = ops.shape(images)
        pad_h = (-shape[1]) % self.multiple
        pad_w = (-shape[2]) % self.multiple
        return ops.pad(images, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]])

    def compute_output_shape(self, input_shape: Any) -> tuple:
        """The padded shape (unknown sizes stay unknown)."""

        def padded(size):
            return None if size is None else -(-size // self.multiple) * self.multiple

        batch, height, width, channels = input_shape
        return (batch, padded(height), padded(width), channels)

    def get_config(self) -> dict:
        """The constructor arguments, for `from_config`."""
        config = super().get_config()
        config.update(multiple=self.multiple)
        return config


@keras.saving.register_keras_serializable(package="nbdetect")
class CropToStride(keras.layers.Layer):
    """Crop a feature map to `ceil(H / stride) x ceil(W / stride)` of its input image.

    Args:
        stride: the feature map's stride.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        inputs: `[feature_map, images]`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.models.retinanet.backbones import CropToStride
        >>> CropToStride(8)([np.zeros((1, 8, 8, 4)), np.zeros((1, 50, 64, 3))]).shape
        TensorShape([1, 7, 8, 4])
    """

    def __init__(self, stride: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stride = int(stride)

    def call(self, inputs: list) -> Any:
        """Crop `inputs[0]` to the stride grid of the images `inputs[1]`."""
        features, images = inputs
        shape = ops.shape(images)
        rows = (shape[1] + self.stride - 1) // self.stride
        cols = (shape[2] + self.stride - 1) // self.stride
        return features[:, :rows, :cols, :]

    def compute_output_shape(self, input_shape: list) -> tuple:
        """The feature map's shape with `ceil(H / stride) x ceil(W / stride)` locations."""
        (batch, _, _, channels), (_, height, width, _) = input_shape

        def ceil(size):
            return None if size is None else -(-size // self.stride)

        return (batch, ceil(height), ceil(width), channels)

    def get_config(self) -> dict:
        """The constructor arguments, for `from_config`."""
        config = super().get_config()
        config.update(stride=self.stride)
        return config
