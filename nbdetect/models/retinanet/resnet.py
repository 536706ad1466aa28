"""ResNet v1 feature extractors as KerasCV and torchvision (KerasHub) build them.

`keras.applications.ResNet50` (`Backbone("resnet50")`) differs from the ResNet50 of the
detectors nbdetect loads weights from, in ways that change every feature map:

- `"kerascv"` (KerasCV `ResNetBackbone`, the backbone of `retinanet_resnet50_pascalvoc`):
  the stride of a stage sits on its first 1x1 convolution, convolutions use `"same"`
  padding and no bias, BatchNorm epsilon 1.001e-5.
- `"torchvision"` (KerasHub `ResNetBackbone`, ported from torchvision, the backbone of
  KerasHub's RetinaNet presets): the stride sits on the 3x3 convolution, strided layers
  pad explicitly (`ZeroPadding2D`, then `"valid"`), no bias, BatchNorm epsilon 1e-5.

Layers are named as in `keras.applications` (`conv1_conv`, `pool1_pool`,
`conv3_block1_1_conv`, ...), so that `Backbone`'s stage freezing finds the stages. The
graph (layer types, their order and connections) is the source library's, so that
Keras orders the layers as the source did: weights files are laid out in that order.
"""

from __future__ import annotations

from typing import Any

import keras

VARIANTS = ("kerascv", "torchvision")
STACK_BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
STACK_FILTERS = (64, 128, 256, 512)

_EPSILON = {"kerascv": 1.001e-5, "torchvision": 1e-5}
_MOMENTUM = {"kerascv": 0.99, "torchvision": 0.9}


def resnet(
    variant: str,
    depth: int = 50,
    include_top: bool = False,
    weights: str | None = None,
    input_tensor: Any = None,
) -> keras.Model:
    """A ResNet v1 (bottleneck blocks) from images to C5, KerasCV's or torchvision's.

    Takes images already preprocessed (the `Backbone` puts the preprocessing in front).
    For an `H x W` input, C3-C5 are `ceil(H / stride) x ceil(W / stride)`.

    Args:
        variant: `"kerascv"` or `"torchvision"` (see the module docstring).
        depth: 50, 101 or 152.
        include_top: must be False (feature extractor only); accepted for the
            `keras.applications` signature that `Backbone` calls.
        weights: `None` (random initialisation) or the path of a Keras weights file of
            this network. No ImageNet download: these variants get their weights from the
            detector they are converted from.
        input_tensor: the tensor to build on; default a new `Input((None, None, 3))`.

    Returns:
        A functional `keras.Model` from images to C5 (2048 channels, stride 32).

    Example:
        >>> import numpy as np
        >>> from nbdetect.models.retinanet.resnet import resnet
        >>> model = resnet("torchvision")
        >>> model(np.zeros((1, 64, 96, 3))).shape
        TensorShape([1, 2, 3, 2048])
    """
    if variant not in VARIANTS:
        raise ValueError(
            f"resnet() got variant={variant!r}; expected one of {VARIANTS}: 'kerascv' "
            "(KerasCV's ResNetBackbone) or 'torchvision' (KerasHub's ResNetBackbone)."
        )
    if depth not in STACK_BLOCKS:
        raise ValueError(f"resnet() got depth={depth}; expected one of {sorted(STACK_BLOCKS)}.")
    if include_top:
        raise ValueError(
            "resnet() builds feature extractors only; got include_top=True, pass False."
        )
    if weights == "imagenet":
        raise ValueError(
            f"The {variant} ResNet{depth} has no ImageNet weights to download; its weights "
            "come with the detector it is converted from: RetinaNet.from_preset("
            "'retinanet_resnet50_fpn_coco') or a KerasHub / KerasCV preset folder. For an "
            "ImageNet backbone use the preset 'resnet50_imagenet'."
        )
    images = keras.Input((None, None, 3)) if input_tensor is None else input_tensor
    x = _stem(images, variant)
    for stage, (filters, blocks) in enumerate(zip(STACK_FILTERS, STACK_BLOCKS[depth]), 2):
        for block in range(1, blocks + 1):
            x = _bottleneck(
                x,
                filters,
                stride=2 if block == 1 and stage > 2 else 1,
                conv_shortcut=block == 1,
                variant=variant,
                name=f"conv{stage}_block{block}",
            )
    inputs = keras.utils.get_source_inputs(images) if input_tensor is not None else images
    model = keras.Model(inputs, x, name=f"{variant}_resnet{depth}")
    if weights is not None:
        model.load_weights(weights)
    return model


def _batchnorm(variant, name):
    return keras.layers.BatchNormalization(
        epsilon=_EPSILON[variant], momentum=_MOMENTUM[variant], name=name
    )


def _stem(x, variant):
    if variant == "kerascv":
        x = keras.layers.Conv2D(
            64, 7, strides=2, padding="same", use_bias=False, name="conv1_conv"
        )(x)
        x = _batchnorm(variant, "conv1_bn")(x)
        x = keras.layers.Activation("relu", name="conv1_relu")(x)
        return keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool1_pool")(x)
    # torchvision pads 3 (and 1 for the pooling) on every side; "same" would pad 2 and 3.
    x = keras.layers.ZeroPadding2D(3, name="conv1_pad")(x)
    x = keras.layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = _batchnorm(variant, "conv1_bn")(x)
    x = keras.layers.Activation("relu", name="conv1_relu")(x)
    x = keras.layers.ZeroPadding2D(1, name="pool1_pad")(x)
    return keras.layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)


def _bottleneck(x, filters, stride, conv_shortcut, variant, name):
    shortcut = x
    if conv_shortcut:
        # Created before the main branch, as both libraries do: the graph is theirs, so
        # Keras orders the layers as theirs, the order their weights files follow.
        shortcut = keras.layers.Conv2D(
            4 * filters, 1, strides=stride, use_bias=False, name=f"{name}_0_conv"
        )(x)
        shortcut = _batchnorm(variant, f"{name}_0_bn")(shortcut)
    first_stride, middle_stride = (stride, 1) if variant == "kerascv" else (1, stride)
    x = keras.layers.Conv2D(
        filters, 1, strides=first_stride, use_bias=False, name=f"{name}_1_conv"
    )(x)
    x = _batchnorm(variant, f"{name}_1_bn")(x)
    x = keras.layers.Activation("relu", name=f"{name}_1_relu")(x)
    padding = "same"
    if middle_stride > 1:
        x = keras.layers.ZeroPadding2D(1, name=f"{name}_2_pad")(x)
        padding = "valid"
    x = keras.layers.Conv2D(
        filters, 3, strides=middle_stride, padding=padding, use_bias=False, name=f"{name}_2_conv"
    )(x)
    x = _batchnorm(variant, f"{name}_2_bn")(x)
    x = keras.layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = keras.layers.Conv2D(4 * filters, 1, use_bias=False, name=f"{name}_3_conv")(x)
    x = _batchnorm(variant, f"{name}_3_bn")(x)
    x = keras.layers.Add(name=f"{name}_add")([shortcut, x])
    return keras.layers.Activation("relu", name=f"{name}_out")(x)
