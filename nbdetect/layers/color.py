"""Colour augmentations: Keras core's colour layers, taught to carry boxes along.

Keras 3's `RandomBrightness`, `RandomContrast`, `RandomSaturation` and `RandomHue` run in
`tf.data` on any backend, so these layers reuse them for the pixels and add what
detection pipelines need around them: dicts with `"bounding_boxes"` (passed through
untouched, so no format is needed), `"classes"` or `"labels"`, single examples, and ragged
batches of images of different sizes (each image transformed on its own, as Keras' layers
need dense input). Factors and argument order are KerasCV 0.9's, and so are the output
pixels for a given factor (where KerasCV's are numbers: at saturation factor 1 it makes
grey and black pixels NaN), with two of Keras core's behaviours set right on the way:

- Its `RandomSaturation` clips the HSV saturation to `value_range` instead of `[0, 1]`,
  so above factor 0.5 pixels in `[0, 255]` leave the range (-510 at 0.75). Here it runs
  on the images scaled to `[0, 1]`, where its clip is the right one.
- Its `RandomContrast` reads a number `f` as the range `[1, 1 + f]` and sorts a pair;
  KerasCV (and this module) read `f` as `[1 - f, 1 + f]` and a pair `(low, high)` as
  `[1 - low, 1 + high]`, so `(0.5, 0.2)` is `[0.5, 1.2]`.

Every output stays inside `value_range`.

`RandomColorJitter` chains these four layers (KerasCV's order) rather than Keras core's
`RandomColorJitter`, which has both behaviours.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import keras
import tensorflow as tf

from nbdetect.layers.base import AugmentationLayer, map_images, parse_range
from nbdetect.utils import checks, tensors

# What each factor accepts: a number or a (low, high) pair within these.
BRIGHTNESS_BOUNDS = (-1.0, 1.0)
UNIT_BOUNDS = (0.0, 1.0)


def check_factor(value: Any, name: str, caller: str, bounds: tuple[float, float]) -> Any:
    """Check a brightness, saturation or hue factor (Keras core's and KerasCV's alike).

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
    low, high = bounds
    expected = f"a number in [{low:g}, {high:g}], or a (low, high) pair in it"
    if _is_number(value):
        magnitude = abs(value) if low < 0 else value
        if not (math.isfinite(magnitude) and low <= magnitude <= high):
            checks.fail(caller, name, value, expected)
        return value
    if not (isinstance(value, (tuple, list)) and len(value) == 2 and all(map(_is_number, value))):
        checks.fail(caller, name, value, expected)
    parse_range(value, name, caller, single=None, bounds=bounds)
    return value


def check_contrast_factor(value: Any, name: str, caller: str) -> Any:
    """Check a contrast factor as KerasCV 0.9 reads it; return it unchanged.

    A number `f` in `[0, 1]` means contrast factors in `[1 - f, 1 + f]`; a pair
    `(low, high)` means `[1 - low, 1 + high]`, which must lie in KerasCV's `[-1, 2]` and
    not be empty (so `(0.5, 0.2)` is `[0.5, 1.2]` and `(0.5, -0.5)` always 0.5).

    Example:
        >>> from nbdetect.layers.color import check_contrast_factor
        >>> check_contrast_factor((0.5, 0.2), "factor", "RandomContrast")
        (0.5, 0.2)
        >>> check_contrast_factor((0.2, -0.5), "factor", "RandomContrast")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: RandomContrast() got factor=(0.2, -0.5); expected a number f in [0, 1] ...
    """
    expected = (
        "a number f in [0, 1] (contrast factors in [1 - f, 1 + f]), or a pair (low, high) "
        "for factors in [1 - low, 1 + high], a non-empty range within [-1, 2]"
    )
    fix = f"e.g. {name}=(0.5, 0.2) for [0.5, 1.2], or {name}=(0.5, -0.5) for always 0.5"
    if _is_number(value):
        if not (math.isfinite(value) and 0 <= value <= 1):
            checks.fail(caller, name, value, expected, fix)
        return value
    pair = isinstance(value, (tuple, list)) and len(value) == 2 and all(map(_is_number, value))
    if not (pair and all(map(math.isfinite, value)) and -1 <= 1 - value[0] <= 1 + value[1] <= 2):
        checks.fail(caller, name, value, expected, fix)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


class KerasCVContrast(keras.layers.RandomContrast):
    """Keras core's `RandomContrast` drawing its factor as KerasCV 0.9 does.

    KerasCV draws the contrast factor from `[1 - low, 1 + high]` for a pair `(low, high)`
    and from `[1 - f, 1 + f]` for a number `f`; Keras core reads `f` as `(0, f)` (never
    lowering contrast) and sorts a pair (`(0.5, 0.2)` would mean `[0.8, 1.5]`). Keras core
    draws from `[1 - factor[0], 1 + factor[1]]`, so keeping the pair as given is all it
    takes. Check the factor with `check_contrast_factor` first: this takes it as it is.
    """

    # Keras core's __init__ stores `factor` through this private hook. Should a Keras
    # release rename it, Keras' reading comes back and the contrast-range tests in
    # tests/layers/test_color_layers.py fail.
    def _set_factor(self, factor):
        if isinstance(factor, Real):
            factor = (factor, factor)
        self.factor = (float(factor[0]), float(factor[1]))


def clip(values: Any, low: float, high: float) -> Any:
    """Clip a Keras layer's output, a TensorFlow tensor or an array of the Keras backend.

    Keras core's layers return TensorFlow tensors inside a graph (`tf.data`) and arrays of
    the Keras backend outside one (JAX arrays under JAX), where `tf` ops would not apply.
    """
    if tf.is_tensor(values):
        return tf.clip_by_value(values, low, high)
    return keras.ops.clip(values, low, high)


def saturate(layer: keras.layers.Layer, images: Any, value_range: tuple[float, float]) -> Any:
    """Apply Keras core's `RandomSaturation` built for `(0, 1)` to images in `value_range`.

    The HSV saturation lies in `[0, 1]` whatever the pixel range, and Keras core clips it
    to its own `value_range`: built for `(0, 1)` and given images scaled to `[0, 1]`, it
    clips right. The result is scaled back and clipped to `value_range` against rounding.

    Args:
        layer: a `keras.layers.RandomSaturation` with `value_range=(0, 1)`.
        images: `[B, H, W, 3]` or `[H, W, 3]` floats in `value_range`.
        value_range: `(low, high)` of the pixel values, `low < high`.

    Returns:
        The images with their saturation changed, shaped as given, in `value_range`.
    """
    low, high = value_range
    span = high - low
    return clip(layer((images - low) / span) * span + low, low, high)


class KerasColorLayer(AugmentationLayer):
    """Base of the colour layers: Keras core layers on the images; boxes and masks untouched.

    Subclasses implement `adjust`.
    """

    _geometric = False

    def adjust(self, images: Any) -> Any:
        """Change the colours of a dense batch `[B, H, W, 3]` or of one image `[H, W, 3]`."""
        raise NotImplementedError(f"{type(self).__name__} must implement adjust(images)")

    def augment(self, data):
        """Apply `adjust` to a dense batch, or to each image of a ragged one."""
        images = data["images"]
        if tensors.is_ragged(images):
            return dict(data, images=map_images(lambda i, image: self.adjust(image), images))
        return dict(data, images=self.adjust(images))


class KerasFactorColorLayer(KerasColorLayer):
    """A colour layer around one Keras core layer, with a `factor` and a `value_range`.

    Subclasses name the core layer as `keras_layer`; `__init__` builds it as
    `self.color_layer`. Arguments are in KerasCV's order, `(factor, value_range, seed)`
    unless a subclass reorders them.
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
        self.check_factor(factor, caller)
        self.checked_range = checks.value_range(value_range, caller)
        self.factor, self.value_range = factor, value_range
        self.color_layer = self.keras_layer(factor, self.core_value_range(), seed=seed)

    def check_factor(self, factor: Any, caller: str) -> None:
        """Raise a ValueError unless `factor` is a number or pair in `factor_bounds`."""
        check_factor(factor, "factor", caller, self.factor_bounds)

    def core_value_range(self) -> tuple[float, float]:
        """The `value_range` the Keras core layer is built with: the pixels' own."""
        return self.checked_range

    def adjust(self, images: Any) -> Any:
        """The Keras core layer on a dense batch `[B, H, W, 3]` or one image `[H, W, 3]`."""
        return self.color_layer(images)

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
    """Scale each image's contrast randomly about its channel means, as KerasCV 0.9.

    Each channel's pixels `x` become `(x - mean) * c + mean`, clipped to `value_range`,
    with one contrast factor `c` per image. Arguments are in KerasCV's order
    (`value_range` first); Keras core's `keras.layers.RandomContrast` draws `c`, from
    KerasCV's range (Keras core's own reading of `factor` differs, see the module).

    Args:
        value_range: `(low, high)` of the pixel values; outputs are clipped to it.
        factor: a number `f` in `[0, 1]`: `c` is drawn from `[1 - f, 1 + f]`; or a pair
            `(low, high)`, the largest decrease and increase: `c` is drawn from
            `[1 - low, 1 + high]` (`(0.5, 0.2)`: `[0.5, 1.2]`; `(0.5, -0.5)`: always
            0.5), a non-empty range within `[-1, 2]` as in KerasCV.
        seed: an integer for reproducible draws.
        bounding_box_format: accepted, not needed: boxes are not touched.
        **kwargs: passed to `keras.layers.Layer`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.layers import RandomContrast
        >>> layer = RandomContrast(value_range=(0, 255), factor=(0.5, -0.5))  # c = 0.5
        >>> image = np.array([[[0.0, 0, 0], [100.0, 200, 50]]])  # 1 x 2 pixels
        >>> layer(image).numpy().tolist()  # halfway to the channel means (50, 100, 25)
        [[[25.0, 50.0, 12.5], [75.0, 150.0, 37.5]]]
    """

    keras_layer = KerasCVContrast

    def __init__(
        self,
        value_range: tuple[float, float],
        factor: float | tuple[float, float],
        seed: int | None = None,
        bounding_box_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(factor, value_range, seed, bounding_box_format, **kwargs)

    def check_factor(self, factor: Any, caller: str) -> None:
        """Raise a ValueError unless `factor` is a contrast factor as KerasCV reads it."""
        check_contrast_factor(factor, "factor", caller)


@keras.saving.register_keras_serializable(package="nbdetect")
class RandomSaturation(KerasFactorColorLayer):
    """Change each image's saturation randomly, as KerasCV 0.9.

    The HSV saturation of each image is multiplied by `s / (1 - s)` for a draw `s` and
    clipped to `[0, 1]`. Keras core's `keras.layers.RandomSaturation` draws `s` and runs on
    the images scaled to `[0, 1]` (so that its clip is the right one, see the module).
    Arguments are in KerasCV's order, `(factor, seed)`; `value_range`, which KerasCV's
    layer does not take (its saturation is the same for any scale of pixels from 0), is
    a keyword.

    Args:
        factor: a number `f` for `[0, f]` or a pair in `[0, 1]`; 0.5 leaves the image
            unchanged, 0 makes it grey, 1 fully saturated.
        seed: an integer for reproducible draws.
        value_range: `(low, high)` of the pixel values; outputs stay in it.
        bounding_box_format: accepted, not needed: boxes are not touched.
        **kwargs: passed to `keras.layers.Layer`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.layers import RandomSaturation
        >>> layer = RandomSaturation((1.0, 1.0), 7)  # fully saturated; seed 7
        >>> layer(np.array([[[200.0, 100, 100]]])).numpy().tolist()  # [1, 1, 3]
        [[[200.0, 0.0, 0.0]]]
    """

    keras_layer = keras.layers.RandomSaturation

    def __init__(
        self,
        factor: float | tuple[float, float],
        seed: int | None = None,
        *,
        value_range: tuple[float, float] = (0, 255),
        bounding_box_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(factor, value_range, seed, bounding_box_format, **kwargs)

    def core_value_range(self) -> tuple[float, float]:
        """`(0, 1)`: the range `adjust` scales the images to for the Keras core layer."""
        return (0.0, 1.0)

    def adjust(self, images: Any) -> Any:
        """Saturation of a dense batch `[B, H, W, 3]` or one image `[H, W, 3]`."""
        return saturate(self.color_layer, images, self.checked_range)


@keras.saving.register_keras_serializable(package="nbdetect")
class RandomHue(KerasFactorColorLayer):
    """Rotate each image's hue randomly (`keras.layers.RandomHue`), as KerasCV 0.9.

    Args:
        factor: a number `f` for `[0, f]` or a pair in `[0, 1]`: how far the hue may
            turn (1 is half a turn either way).
        value_range: `(low, high)` of the pixel values; outputs stay in it.
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
    """Brightness, contrast, saturation and hue in turn, as KerasCV 0.9's layer.

    Each step draws its own factor per image and means what the layer of its name means
    here (`RandomContrast`'s `[1 - low, 1 + high]`, `RandomSaturation`'s clip); outputs
    stay in `value_range`.

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
        self.checked_range = checks.value_range(value_range, caller)
        for name, factor, bounds in (
            ("brightness_factor", brightness_factor, BRIGHTNESS_BOUNDS),
            ("saturation_factor", saturation_factor, UNIT_BOUNDS),
            ("hue_factor", hue_factor, UNIT_BOUNDS),
        ):
            if factor is not None:
                check_factor(factor, name, caller, bounds)
        if contrast_factor is not None:
            check_contrast_factor(contrast_factor, "contrast_factor", caller)
        self.value_range = value_range
        self.brightness_factor = brightness_factor
        self.contrast_factor = contrast_factor
        self.saturation_factor = saturation_factor
        self.hue_factor = hue_factor

        def step_seed(step: int) -> int | None:
            # Steps seeded alike would draw the same uniform numbers for every image.
            return None if self.seed is None else self.seed + step

        # nbdetect's own layers, so each step means what the layer of its name means here.
        steps = []
        if brightness_factor is not None:
            steps.append(RandomBrightness(brightness_factor, value_range, seed=step_seed(0)))
        if contrast_factor is not None:
            steps.append(RandomContrast(value_range, contrast_factor, seed=step_seed(1)))
        if saturation_factor is not None:
            steps.append(RandomSaturation(saturation_factor, step_seed(2), value_range=value_range))
        if hue_factor is not None:
            steps.append(RandomHue(hue_factor, value_range, seed=step_seed(3)))
        self.steps = steps

    def adjust(self, images: Any) -> Any:
        """Each step on a dense batch `[B, H, W, 3]` or one image `[H, W, 3]`, in turn."""
        for step in self.steps:
            images = step.adjust(images)
        return images

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
