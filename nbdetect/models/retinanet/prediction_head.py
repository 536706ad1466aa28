"""The class and box subnets RetinaNet runs on every pyramid level."""

from __future__ import annotations

import math
from typing import Any

import keras

# The focal-loss prior (RetinaNet paper, section 4.1): every anchor starts at a 1% object
# probability, so the ~100k background anchors do not swamp the first training steps.
PRIOR_PROBABILITY = 0.01


@keras.saving.register_keras_serializable(package="nbdetect")
class PredictionHead(keras.layers.Layer):
    """`num_conv_layers` 3x3 ReLU convolutions, then a 3x3 convolution to `output_filters`.

    One instance is shared by all pyramid levels (same weights at every scale), as in the
    paper. Kernels start from a normal distribution with standard deviation 0.01. With
    `use_group_norm`, each hidden convolution (without bias) is followed by a
    GroupNormalization of 32 groups before the ReLU, as in torchvision's
    `retinanet_resnet50_fpn_v2` (KerasHub's `use_prediction_head_norm`).

    Args:
        output_filters: channels of the output: anchors per location times the classes
            (classification) or times 4 (boxes).
        bias_initializer: initializer of the output bias; see `classification_bias`.
        num_conv_layers: hidden convolutions (4 in the paper and KerasHub; 1 or 2 make
            small models train several times faster on a CPU).
        num_filters: channels of the hidden convolutions.
        use_group_norm: GroupNormalization (32 groups) after each hidden convolution.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        x: one pyramid level `[B, h, w, c]`.

    Returns:
        `[B, h, w, output_filters]`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.models.retinanet import PredictionHead, classification_bias
        >>> head = PredictionHead(9 * 20, classification_bias(), num_conv_layers=2)
        >>> head(np.zeros((1, 16, 16, 256))).shape
        TensorShape([1, 16, 16, 180])
    """

    def __init__(
        self,
        output_filters: int,
        bias_initializer: Any = "zeros",
        num_conv_layers: int = 4,
        num_filters: int = 256,
        use_group_norm: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.output_filters = int(output_filters)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.num_conv_layers = int(num_conv_layers)
        self.num_filters = int(num_filters)
        self.use_group_norm = bool(use_group_norm)
        self.conv_layers = [
            keras.layers.Conv2D(
                self.num_filters,
                3,
                padding="same",
                # With GroupNorm the ReLU comes after the normalisation, and a bias
                # before it would be subtracted again.
                activation=None if self.use_group_norm else "relu",
                use_bias=not self.use_group_norm,
                kernel_initializer=keras.initializers.RandomNormal(stddev=0.01),
                dtype=self.dtype_policy,
                name=f"conv_{i}",
            )
            for i in range(self.num_conv_layers)
        ]
        self.group_norm_layers = [
            keras.layers.GroupNormalization(32, dtype=self.dtype_policy, name=f"group_norm_{i}")
            for i in range(self.num_conv_layers if self.use_group_norm else 0)
        ]
        self.prediction_layer = keras.layers.Conv2D(
            self.output_filters,
            3,
            padding="same",
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.01),
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name="prediction",
        )

    def build(self, input_shape: Any) -> None:
        """Build the convolutions for levels of this shape."""
        shape = tuple(input_shape)
        for layer in self.conv_layers:
            layer.build(shape)
            shape = shape[:-1] + (self.num_filters,)
        for layer in self.group_norm_layers:
            layer.build(shape)
        self.prediction_layer.build(shape)
        self.built = True

    def call(self, x: Any) -> Any:
        """One level `[B, h, w, c]` to `[B, h, w, output_filters]`."""
        for i, layer in enumerate(self.conv_layers):
            x = layer(x)
            if self.use_group_norm:
                x = keras.activations.relu(self.group_norm_layers[i](x))
        return self.prediction_layer(x)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        """The input's shape with `output_filters` channels."""
        return tuple(input_shape[:-1]) + (self.output_filters,)

    def get_config(self) -> dict:
        """The constructor arguments, for `from_config`."""
        config = super().get_config()
        config.update(
            output_filters=self.output_filters,
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
            num_conv_layers=self.num_conv_layers,
            num_filters=self.num_filters,
            use_group_norm=self.use_group_norm,
        )
        return config

    @classmethod
    def from_config(cls, config: dict) -> PredictionHead:
        """Rebuild from `get_config()`."""
        config = dict(config)
        config["bias_initializer"] = keras.initializers.deserialize(config["bias_initializer"])
        return cls(**config)


def classification_bias(prior_probability: float = PRIOR_PROBABILITY) -> Any:
    """The classification output's bias initializer: `-log((1 - p) / p)`.

    Args:
        prior_probability: the object probability every anchor starts at.

    Returns:
        A `keras.initializers.Constant`.

    Example:
        >>> from nbdetect.models.retinanet import classification_bias
        >>> round(float(classification_bias()(shape=(1,))[0]), 5)  # sigmoid of this is 0.01
        -4.59512
    """
    return keras.initializers.Constant(-math.log((1 - prior_probability) / prior_probability))
