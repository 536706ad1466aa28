"""Colour augmentations: Keras core's colour layers, taught to carry boxes along.

Keras 3's `RandomBrightness`, `RandomContrast`, `RandomSaturation`, `RandomHue` and
`RandomColorJitter` are correct and run in `tf.data` on any backend, so these layers
reuse them for the pixels and add what detection pipelines need around them: dicts with
`"bounding_boxes"` (passed through untouched, so no format is needed), `"classes"` or
`"labels"`, single examples, and ragged batches of images of different sizes (each image
transformed on its own, as Keras' layers need dense input). Their factors mean what they
mean in Keras core (and, for these five, in KerasCV).
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import keras

from nbdetect.layers.base import AugmentationLayer, map_images, parse_range
from nbdetect.utils import checks, tensors

# What Keras core accepts for each factor: a number or a (low, high) pair within these.
BRIGHTNESS_BOUNDS = (-1.0, 1.0)
UNIT_BOUNDS = (0.0, 1.0)


def check_factor(value: Any, name: str, caller: str, bounds: tuple[float, float]) -> Any:
    """Check a colour factor as Keras core reads it; return it unchanged.

    A number (for `[-1, 1]` bounds its magnitude) or a `(low, high)` pair, within `bounds`.

    Example:
        >>> from nbdetect.layers.color import UNIT_BOUNDS, check_factor
        >>> check_factor(0.2, "factor", "RandomHue", UNIT_BOUNDS)
        0.2
        >>> check_factor(1.5, "factor", "RandomHue", UNIT_BOUNDS)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: RandomHue() got factor=1.5; expected a number in [0, 1], or a (low, ...
    """
    if isinstance(value, Real) and not isinstance(value, bool):
        low, high = bounds
        magnitude = abs(value) if low < 0 else value
        if not (math.isfinite(magnitude) and low <= magnitude <= high):
            checks.fail(
                caller, name, value, f"a number in [{low:g}, {high:g}], or a (low, high) pair in it"
            )
        return value
    is_pair = isinstance(value, (tuple, list)) and len(value) == 2
    if not (is_pair and all(isinstance(v, Real) and not isinstance(v, bool) for v in value)):
        low, high = bounds
        checks.fail(
            caller, name, value, f"a number in [{low:g}, {high:g}], or a (low, high) pair in it"
        )
    parse_range(value, name, caller, single=None, bounds=bounds)
    return value


class KerasColorLayer(AugmentationLayer):
    """Base of the colour layers: a Keras core layer on the images; boxes and masks untouched.

    Subclasses build the core layer in `__init__` as `self.color_layer`.
    """

    _geometric = False

    color_layer: keras.layers.Layer

    def augment(self, data):
        """Apply the Keras layer to a dense batch, or to each image of a ragged one."""
        images = data["images"]
        if tensors.is_ragged(images):
            return dict(data, images=map_images(lambda i, image: self.color_layer(image), images))
        return dict(data, images=self.color_layer(images))


class KerasFactorColorLayer(KerasColorLayer):
    """A colour layer with Keras core's `(factor, value_range, seed)` arguments.

    Subclasses name the core layer as `keras_layer`.
    """

    keras_layer: type[keras.layers.Layer]
    factor_bounds: tuple[float, float] = UNIT_BOUNDS

    def __init__(
        self,
        factor: float | tuple[float, float],
        value_range: tuple[float, float] = (0, 255),
        seed: int | None = None,
        bounding_box_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(bounding_box_format=bounding_box_format, seed=seed, **kwargs)
        caller = type(self).__name__
        check_factor(factor, "factor", caller, self.factor_bounds)
        checks.value_range(value_range, caller)
        self.factor, self.value_range = factor, value_range
        self.color_layer = self.keras_layer(factor, value_range, seed=seed)

    def get_config(self) -> dict:
        """The layer's arguments."""
        config = super().get_config()
        config.update({"factor": self.factor, "value_range": self.value_range})
        return config


@keras.saving.register_keras_serializable(package="nbdetect")
class RandomBrightness(KerasFactorColorLayer):
    """Add a random brightness offset to each image (`keras.layers.RandomBrightness`).

    Args:
        factor: a number `f` for `[-f, f]`, or a `(low, high)` pair in `[-1, 1]`: the
            offset as a fraction of `value_range`'s span.
        value_range: `(low, high)` of the pixel values; outputs are clipped to it.
        seed: an integer for reproducible draws.
        bounding_box_format: accepted for symmetry with the other layers; boxes are not
            touched, so it is not needed.
        **kwargs: passed to `keras.layers.Layer`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.layers import RandomBrightness
        >>> boxes = {"boxes": np.array([[[2.0, 2.0, 8.0, 8.0]]]), "classes": np.array([[1.0]])}
        >>> layer = RandomBrightness(0.2)
        >>> out = layer({"images": np.full((1, 10, 10, 3), 100.0), "bounding_boxes": boxes})
        >>> out["bounding_boxes"] is boxes  # boxes unchanged
        True
    """

    keras_layer = keras.layers.RandomBrightness
    factor_bounds = BRIGHTNESS_BOUNDS


@keras.saving.register_keras_serializable(package="nbdetect")
class RandomContrast(KerasFactorColorLayer):
    """Scale each image's contrast randomly (`keras.layers.RandomContrast`).

    Arguments are in KerasCV's order (`value_range` first).

    Args:
        value_range: `(low, high)` of the pixel values.
        factor: a number `f` or a pair `(low, high)`: the contrast factor is drawn from
            `[1 - low, 1 + high]` (`[1 - f, 1 + f]`).
        seed: an integer for reproducible draws.
        bounding_box_format: accepted, not needed: boxes are not touched.
        **kwargs: passed to `keras.layers.Layer`.

    Example:
        >>> from nbdetect.layers import RandomContrast
        >>> layer = RandomContrast(value_range=(0, 255), factor=0.3)
        >>> layer.color_layer.factor  # Keras core's layer reads it as (0, 0.3)
        (0, 0.3)
    """

    keras_layer = keras.layers.RandomContrast

    def __init__(
        self,
        value_range: tuple[float, float],
        factor: float | tuple[float, float],
        seed: int | None = None,
        bounding_box_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(factor, value_range, seed, bounding_box_format, **kwargs)


@keras.saving.register_keras_serializable(package="nbdetect")
class RandomSaturation(KerasFactorColorLayer):
    """Change each image's saturation randomly (`keras.layers.RandomSaturation`).

    Args:
        factor: a number `f` for `[0, f]` or a pair in `[0, 1]`; 0.5 leaves the image
            unchanged, 0 makes it grey, 1 fully saturated.
        value_range: `(low, high)` of the pixel values.
        seed: an integer for reproducible draws.
        bounding_box_format: accepted, not needed: boxes are not touched.
        **kwargs: passed to `keras.layers.Layer`.

    Example:
        >>> from nbdetect.layers import RandomSaturation
        >>> layer = RandomSaturation((0.3, 0.7))
    """

    keras_layer = keras.layers.RandomSaturation


@keras.saving.register_keras_serializable(package="nbdetect")
class RandomHue(KerasFactorColorLayer):
    """Rotate each image's hue randomly (`keras.layers.RandomHue`).

    Args:
        factor: a number `f` for `[0, f]` or a pair in `[0, 1]`: how far the hue may
            turn (1 is half a turn either way).
        value_range: `(low, high)` of the pixel values.
        seed: an integer for reproducible draws.
        bounding_box_format: accepted, not needed: boxes are not touched.
        **kwargs: passed to `keras.layers.Layer`.

    Example:
        >>> from nbdetect.layers import RandomHue
        >>> layer = RandomHue(0.1, value_range=(0, 255))
    """

    keras_layer = keras.layers.RandomHue


@keras.saving.register_keras_serializable(package="nbdetect")
class RandomColorJitter(KerasColorLayer):
    """Brightness, contrast, saturation and hue at once (`keras.layers.RandomColorJitter`).

    Args:
        value_range: `(low, high)` of the pixel values.
        brightness_factor: as `RandomBrightness`'s `factor`; `None` skips it.
        contrast_factor: as `RandomContrast`'s `factor`; `None` skips it.
        saturation_factor: as `RandomSaturation`'s `factor`; `None` skips it.
        hue_factor: as `RandomHue`'s `factor`; `None` skips it.
        seed: an integer for reproducible draws.
        bounding_box_format: accepted, not needed: boxes are not touched.
        **kwargs: passed to `keras.layers.Layer`.

    Example:
        >>> from nbdetect.layers import RandomColorJitter
        >>> layer = RandomColorJitter((0, 255), brightness_factor=0.2, hue_factor=0.1)
    """

    def __init__(
        self,
        value_range: tuple[float, float] = (0, 255),
        brightness_factor: float | tuple[float, float] | None = None,
        contrast_factor: float | tuple[float, float] | None = None,
        saturation_factor: float | tuple[float, float] | None = None,
        hue_factor: float | tuple[float, float] | None = None,
        seed: int | None = None,
        bounding_box_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(bounding_box_format=bounding_box_format, seed=seed, **kwargs)
        caller = type(self).__name__
        checks.value_range(value_range, caller)
        for name, factor, bounds in (
            ("brightness_factor", brightness_factor, BRIGHTNESS_BOUNDS),
            ("contrast_factor", contrast_factor, UNIT_BOUNDS),
            ("saturation_factor", saturation_factor, UNIT_BOUNDS),
            ("hue_factor", hue_factor, UNIT_BOUNDS),
        ):
            if factor is not None:
                check_factor(factor, name, caller, bounds)
        self.value_range = value_range
        self.brightness_factor = brightness_factor
        self.contrast_factor = contrast_factor
        self.saturation_factor = saturation_factor
        self.hue_factor = hue_factor
        self.color_layer = keras.layers.RandomColorJitter(
            value_range,
            brightness_factor=brightness_factor,
            contrast_factor=contrast_factor,
            saturation_factor=saturation_factor,
            hue_factor=hue_factor,
            seed=seed,
        )

    def get_config(self) -> dict:
        """The layer's arguments."""
        config = super().get_config()
        config.update(
            {
                "value_range": self.value_range,
                "brightness_factor": self.brightness_factor,
                "contrast_factor": self.contrast_factor,
                "saturation_factor": self.saturation_factor,
                "hue_factor": self.hue_factor,
            }
        )
        return config
