"""The feature pyramid network: backbone features C3-C5 to pyramid levels P3-P7."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

LEVELS = ("P3", "P4", "P5")


@keras.saving.register_keras_serializable(package="nbdetect")
class FeaturePyramid(keras.layers.Layer):
    """RetinaNet's feature pyramid (Lin et al. 2017), as in KerasCV.

    1x1 lateral convolutions bring C3-C5 to `num_filters` channels; each level adds the
    nearest-neighbour 2x upsampling of the level above; a 3x3 convolution smooths each sum
    (P3-P5). P6 is a stride-2 3x3 convolution of C5 (or of the pyramid's P5, as
    torchvision's `retinanet_resnet50_fpn` does), P7 one of `relu(P6)`.

    Maps of any size work: an upsampled map is cropped to the level below, so a 13-row
    P4 under a 7-row P5 is fine (`ceil` sizes, as `AnchorGenerator` assumes).

    Args:
        num_filters: channels of every pyramid level (256 in the paper; fewer makes a
            smaller, faster model).
        p6_input: what P6 is computed from: `"C5"` (the backbone's last features, as in
            the paper, KerasCV and torchvision's v2) or `"P5"` (the pyramid's P5 output,
            as torchvision's v1 and KerasHub's `use_p5=False`).
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        inputs: `{"P3", "P4", "P5"}` backbone features at strides 8, 16, 32
            (`[B, h, w, c]` each), or a list of the three.

    Returns:
        A list of 5 maps `[B, h_l, w_l, num_filters]`, P3 to P7 (strides 8 to 128).

    Example:
        >>> import numpy as np
        >>> from nbdetect.models.retinanet import FeaturePyramid
        >>> c3, c4, c5 = (np.zeros((1, 256 // s, 256 // s, 16)) for s in (8, 16, 32))
        >>> fpn = FeaturePyramid(num_filters=64)
        >>> levels = fpn({"P3": c3, "P4": c4, "P5": c5})
        >>> [level.shape[1] for level in levels]  # for a 256-pixel image
        [32, 16, 8, 4, 2]
    """

    def __init__(self, num_filters: int = 256, p6_input: str = "C5", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if p6_input not in ("C5", "P5"):
            raise ValueError(
                f"FeaturePyramid got p6_input={p6_input!r}; expected 'C5' (P6 from the "
                "backbone's last features) or 'P5' (from the pyramid's P5 output)."
            )
        self.num_filters = int(num_filters)
        self.p6_input = p6_input

        def conv(kernel_size, strides, name):
            return keras.layers.Conv2D(
                self.num_filters,
                kernel_size,
                strides=strides,
                padding="same",
                dtype=self.dtype_policy,
                name=name,
            )

        self.lateral_convs = [conv(1, 1, f"lateral_{level}") for level in LEVELS]
        self.output_convs = [conv(3, 1, f"output_{level}") for level in LEVELS]
        self.p6_conv = conv(3, 2, "output_P6")
        self.p7_conv = conv(3, 2, "output_P7")

    def build(self, input_shape: Any) -> None:
        """Build the convolutions for C3-C5 of these shapes."""
        shapes = _as_list(input_shape)
        for layer, shape in zip(self.lateral_convs, shapes):
            layer.build(shape)
        pyramid_shape = (None, None, None, self.num_filters)
        for layer in self.output_convs:
            layer.build(pyramid_shape)
        self.p6_conv.build(shapes[2] if self.p6_input == "C5" else pyramid_shape)
        self.p7_conv.build(pyramid_shape)
        self.built = True

    def call(self, inputs: Any) -> list:
        """C3-C5 to `[P3, ..., P7]`; see the class docstring."""
        c3, c4, c5 = _as_list(inputs)
        l3, l4, l5 = (conv(c) for conv, c in zip(self.lateral_convs, (c3, c4, c5)))
        l4 = l4 + _upsample_like(l5, l4)
        l3 = l3 + _upsample_like(l4, l3)
        p3, p4, p5 = (conv(x) for conv, x in zip(self.output_convs, (l3, l4, l5)))
        p6 = self.p6_conv(c5 if self.p6_input == "C5" else p5)
        p7 = self.p7_conv(ops.relu(p6))
        return [p3, p4, p5, p6, p7]

    def compute_output_shape(self, input_shape: Any) -> list:
        """The shapes of P3-P7."""
        shapes = _as_list(input_shape)

        def half(size):
            return None if size is None else (size + 1) // 2

        (b, h3, w3, _), (_, h4, w4, _), (_, h5, w5, _) = shapes
        sizes = [(h3, w3), (h4, w4), (h5, w5), (half(h5), half(w5))]
        sizes.append((half(sizes[3][0]), half(sizes[3][1])))
        return [(b, h, w, self.num_filters) for h, w in sizes]

    def get_config(self) -> dict:
        """The constructor arguments, for `from_config`."""
        config = super().get_config()
        config.update(num_filters=self.num_filters, p6_input=self.p6_input)
        return config


def _as_list(inputs: Any) -> list:
    if isinstance(inputs, dict):
        missing = [level for level in LEVELS if level not in inputs]
        if missing:
            raise ValueError(
                f"FeaturePyramid got features {sorted(inputs)}, missing {missing}; expected "
                "{'P3', 'P4', 'P5'}: backbone features at strides 8, 16 and 32."
            )
        return [inputs[level] for level in LEVELS]
    inputs = list(inputs)
    if len(inputs) != 3:
        raise ValueError(
            f"FeaturePyramid got {len(inputs)} feature maps; expected 3 (strides 8, 16 and "
            "32), as a list or as {'P3', 'P4', 'P5'}."
        )
    return inputs


def _upsample_like(x: Any, like: Any) -> Any:
    """Nearest-neighbour 2x upsampling of `x`, cropped to the rows and columns of `like`."""
    x = ops.repeat(ops.repeat(x, 2, axis=1), 2, axis=2)
    shape = ops.shape(like)
    return x[:, : shape[1], : shape[2], :]
