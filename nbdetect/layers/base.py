"""The base class of nbdetect's augmentation layers, and the helpers they share.

Every layer takes what a detection pipeline holds at any point:

- one example `{"images": [H, W, C], "bounding_boxes": {"boxes": [N, 4], "classes": [N]}}`,
- a dense batch (`[B, H, W, C]` images, `[B, N, 4]` boxes padded with -1),
- a ragged batch as `ds.ragged_batch(...)` makes it: `tf.RaggedTensor` boxes `[B, None, 4]`
  and, when the images differ in size, `tf.RaggedTensor` images `[B, None, None, C]`,
- or plain images without boxes.

Class ids may sit under `"classes"` or its alias `"labels"`; other per-box entries (such as
`"confidence"` or `"iscrowd"`) travel with their boxes. The output has the input's
structure: single in, single out; ragged boxes stay ragged; dense boxes stay dense and
keep their padding.

Inside, a layer sees a batch and boxes in absolute `xyxy`; this module converts on the way
in and out, clips the boxes to the output image and drops the ones with nothing left
(ragged and single examples lose them, dense batches mark them -1 with their classes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any

import keras
import tensorflow as tf

from nbdetect.bounding_box.clip import clip_to_image
from nbdetect.bounding_box.converters import convert_format
from nbdetect.bounding_box.formats import check_format
from nbdetect.bounding_box.validate import validate_format
from nbdetect.utils import tensors

INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian")


class AugmentationLayer(keras.layers.Layer):
    """Base class: input handling, random parameters, box bookkeeping and config.

    Subclasses either implement the per-image protocol below, or override `augment` when
    they combine examples (`Mosaic`, `MixUp`):

    - `get_random_transformation(batch_size, heights, widths)`: a dict of `[B, ...]`
      tensors, one entry per image, drawn with `self.uniform` / `self.bernoulli`.
    - `transform_image(image, transformation)`: one image `[h, w, C]` and its entries.
    - `transform_images(images, transformation)`: a dense batch; by default
      `transform_image` on each image. Override it with a batched op where one exists.
    - `transform_boxes(boxes, transformation, heights, widths)`: `[M, 4]` absolute `xyxy`
      boxes in the input image, each with its image's entries and size (`[M]`), to `xyxy`
      in the output image. Clipping happens afterwards.
    - `output_size`: `(height, width)` when every output image has that size, else `None`
      (each output image has the size of its input).

    Args:
        bounding_box_format: the format of the input boxes, one of
            `nbdetect.bounding_box.FORMATS`; required when the input has boxes.
        seed: an integer for reproducible draws; `None` draws differently every run.
        **kwargs: passed to `keras.layers.Layer` (`name`, `dtype`).

    Example:
        A left-right mirror that flips every image:

        >>> class Mirror(AugmentationLayer):
        ...     def get_random_transformation(self, batch_size, heights, widths):
        ...         return {}
        ...     def transform_image(self, image, transformation):
        ...         return tf.reverse(image, [1])
        ...     def transform_boxes(self, boxes, transformation, heights, widths):
        ...         x1, y1, x2, y2 = tf.unstack(boxes, axis=-1)
        ...         return tf.stack([widths - x2, y1, widths - x1, y2], axis=-1)
        >>> Mirror(bounding_box_format="xywh")(batch)  # any structure the layers accept
    """

    # Colour layers leave boxes alone, so they need no format.
    _moves_boxes = True
    # Layers that combine examples (Mosaic, MixUp) take batches only.
    _needs_batch = False
    output_size: tuple[int, int] | None = None

    def __init__(
        self, bounding_box_format: str | None = None, seed: int | None = None, **kwargs: Any
    ):
        super().__init__(**kwargs)
        if bounding_box_format is not None:
            bounding_box_format = check_format(bounding_box_format, caller=type(self).__name__)
        self.bounding_box_format = bounding_box_format
        self.seed = seed
        # A tf.random.Generator rather than a keras SeedGenerator: tf.data runs these layers
        # as TensorFlow graphs whatever the Keras backend is, and its state is a resource
        # variable that parallel map calls update safely.
        if seed is None:
            self._generator = tf.random.Generator.from_non_deterministic_state()
        else:
            self._generator = tf.random.Generator.from_seed(seed)
        # call() converts its inputs itself: ragged tensors must stay ragged, and inside
        # tf.data the inputs are TensorFlow tensors even under the JAX or torch backend.
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True

    def build(self, input_shape: Any = None) -> None:
        """Nothing to build: no weights; wrapped Keras layers build on their first call."""
        self.built = True

    # ----------------------------------------------------------------- random draws

    def uniform(self, shape: Any, minval: Any = 0.0, maxval: Any = 1.0) -> tf.Tensor:
        """Float32 values drawn uniformly from `[minval, maxval)`."""
        return self._generator.uniform(shape, minval=minval, maxval=maxval, dtype=tf.float32)

    def bernoulli(self, shape: Any, rate: float) -> tf.Tensor:
        """Booleans that are True with probability `rate`."""
        return self.uniform(shape) < rate

    # ------------------------------------------------------------- per-image protocol

    def get_random_transformation(self, batch_size: Any, heights: Any, widths: Any) -> dict:
        """The random parameters of each image; `heights`/`widths` are float32 `[B]`."""
        raise NotImplementedError(_hook_message(self, "get_random_transformation"))

    def transform_image(self, image: tf.Tensor, transformation: dict) -> tf.Tensor:
        """Transform one image `[h, w, C]`, given its own entries of `transformation`."""
        raise NotImplementedError(_hook_message(self, "transform_image"))

    def transform_images(self, images: tf.Tensor, transformation: dict) -> tf.Tensor:
        """Transform a dense batch `[B, H, W, C]` (or ragged images, one at a time)."""
        return map_images(
            lambda i, image: self.transform_image(image, _row(transformation, i)),
            images,
            self.output_size,
        )

    def transform_boxes(
        self, boxes: tf.Tensor, transformation: dict, heights: tf.Tensor, widths: tf.Tensor
    ) -> tf.Tensor:
        """Map `[M, 4]` absolute `xyxy` boxes into the output image."""
        raise NotImplementedError(_hook_message(self, "transform_boxes"))

    def augment(self, images: Any, bounding_boxes: dict | None) -> tuple[Any, dict | None]:
        """Augment a batch: images `[B, H, W, C]` (dense or ragged), boxes in `xyxy`.

        Returns the output images and the moved (not yet clipped) bounding box dict.
        """
        return self.apply_transformation(images, bounding_boxes, self.get_random_transformation)

    def apply_transformation(
        self, images: Any, bounding_boxes: dict | None, make_transformation: Callable
    ) -> tuple[Any, dict | None]:
        """Transform images and boxes with `make_transformation(batch_size, heights, widths)`."""
        heights, widths = image_sizes(images)
        transformation = make_transformation(tf.shape(heights)[0], heights, widths)
        if bounding_boxes is not None:
            bounding_boxes = self._move_boxes(bounding_boxes, transformation, heights, widths)
        if tensors.is_ragged(images):
            # Ragged images go one at a time through the per-image path.
            output = AugmentationLayer.transform_images(self, images, transformation)
        else:
            output = self.transform_images(images, transformation)
        return output, bounding_boxes

    def inference(self, images: Any, bounding_boxes: dict | None) -> tuple[Any, dict | None]:
        """What the layer does with `training=False`: by default, nothing."""
        return images, bounding_boxes

    # ----------------------------------------------------------------------- call

    def call(self, inputs: Any, training: bool = True) -> Any:
        """Augment `inputs`: a dict with `"images"` (and `"bounding_boxes"`) or images.

        Args:
            inputs: see the module docstring for the accepted structures.
            training: augment when True; when False apply `inference` (the identity for
                random layers, a deterministic resize for resizing layers).

        Returns:
            The same structure, with float images in the layer's compute dtype.
        """
        is_dict = isinstance(inputs, dict)
        if is_dict and "images" not in inputs:
            raise ValueError(
                f"{self._caller()} expected a dict with an 'images' key (and optionally "
                f"'bounding_boxes'), got keys {sorted(inputs)}. Pass "
                "{'images': images, 'bounding_boxes': {'boxes': ..., 'classes': ...}} or "
                "the images alone."
            )
        raw_images = inputs["images"] if is_dict else inputs
        images, single = self._prepare_images(raw_images)
        if single and self._needs_batch:
            raise ValueError(
                f"{self._caller()} combines the images of a batch, but got one image of "
                f"shape {tensors.static_shape(images[0])}. Batch the dataset first, e.g. "
                "ds.ragged_batch(4).map(layer)."
            )
        raw_boxes = inputs.get("bounding_boxes") if is_dict else None
        boxes = None
        if raw_boxes is not None and self._moves_boxes:
            boxes = self._prepare_boxes(raw_boxes, images, single)

        if training:
            output, boxes = self.augment(images, boxes)
        else:
            output, boxes = self.inference(images, boxes)

        if boxes is not None:
            boxes = self._finish_boxes(boxes, output, single)
        if single:
            output = output[0]
        if not is_dict:
            return output
        result = dict(inputs)
        result["images"] = output
        if raw_boxes is not None:
            result["bounding_boxes"] = raw_boxes if boxes is None else boxes
        return result

    def _caller(self) -> str:
        return f"{type(self).__name__}()"

    def _prepare_images(self, images: Any) -> tuple[Any, bool]:
        if not (tensors.is_ragged(images) or tensors.is_tf_tensor(images)):
            images = tf.convert_to_tensor(tensors.to_numpy(images))
        rank = images.shape.rank
        if rank not in (3, 4) or images.shape[-1] is None:
            raise ValueError(
                f"{self._caller()} expected one image [height, width, channels] or a batch "
                f"[batch, height, width, channels] with a known number of channels, got "
                f"images of shape {tensors.static_shape(images)}."
            )
        if tensors.is_ragged(images) and rank != 4:
            raise ValueError(
                f"{self._caller()} got a tf.RaggedTensor of images with shape "
                f"{images.shape}; a ragged batch of images is [batch, None, None, channels]."
            )
        dtype = self.compute_dtype
        if tensors.is_ragged(images):
            images = images.with_flat_values(tf.cast(images.flat_values, dtype))
        else:
            images = tf.cast(images, dtype)
        single = rank == 3
        return (images[None] if single else images), single

    def _prepare_boxes(self, bounding_boxes: Any, images: Any, single: bool) -> dict:
        if self.bounding_box_format is None:
            raise ValueError(
                f"{self._caller()} got inputs with 'bounding_boxes' but no "
                "bounding_box_format, so it cannot tell how to move the boxes. Pass the "
                f"format of your boxes, e.g. {type(self).__name__}(..., "
                "bounding_box_format='xywh'); formats: nbdetect.bounding_box.FORMATS."
            )
        try:
            info = validate_format(bounding_boxes, "bounding_boxes")
        except ValueError as error:
            raise ValueError(f"{self._caller()}: {error}") from None
        if info["is_batched"] == single:
            expected = "[num_boxes, 4] for one image" if single else "[batch, num_boxes, 4]"
            raise ValueError(
                f"{self._caller()} got images of shape {tensors.static_shape(images[0])} "
                f"{'(one image)' if single else '(a batch)'} but boxes of shape "
                f"{tensors.static_shape(bounding_boxes['boxes'])}; expected boxes "
                f"{expected}. Batch images and boxes together (ds.ragged_batch(...))."
            )
        per_box = per_box_keys(bounding_boxes)
        boxes = {}
        for key, value in bounding_boxes.items():
            if not (tensors.is_ragged(value) or tensors.is_tf_tensor(value)):
                value = tf.convert_to_tensor(tensors.to_numpy(value))
            if single and key in per_box:
                # One example is one row of a ragged batch: vanished boxes are removed.
                value = tf.RaggedTensor.from_tensor(value[None])
            boxes[key] = value
        boxes = convert_format(boxes, self.bounding_box_format, "xyxy", images=images)
        return boxes

    def _finish_boxes(self, bounding_boxes: dict, images: Any, single: bool) -> dict:
        bounding_boxes = clip_to_image(bounding_boxes, "xyxy", images=images)
        boxes = bounding_boxes["boxes"]
        bounding_boxes = convert_format(
            bounding_boxes, "xyxy", self.bounding_box_format, images=images
        )
        if not tensors.is_ragged(boxes):
            # convert_format keeps padding at -1 only for integer class ids, not one-hot.
            padding = tf.reduce_all(boxes == -1.0, axis=-1, keepdims=True)
            bounding_boxes["boxes"] = tf.where(padding, -1.0, bounding_boxes["boxes"])
        if single:
            bounding_boxes = {
                key: value[0] if tensors.is_ragged(value) else value
                for key, value in bounding_boxes.items()
            }
        return bounding_boxes

    def _move_boxes(self, bounding_boxes: dict, transformation: dict, heights, widths) -> dict:
        boxes = bounding_boxes["boxes"]
        flat, rowids = flatten_boxes(boxes)
        per_box = {key: tf.gather(value, rowids) for key, value in transformation.items()}
        moved = self.transform_boxes(
            flat, per_box, tf.gather(heights, rowids), tf.gather(widths, rowids)
        )
        result = dict(bounding_boxes)
        result["boxes"] = unflatten_boxes(boxes, drop_empty_boxes(flat, moved))
        return result

    # --------------------------------------------------------------------- config

    def get_config(self) -> dict:
        """The layer's arguments, so that `from_config(get_config())` rebuilds it."""
        config = super().get_config()
        config.update({"bounding_box_format": self.bounding_box_format, "seed": self.seed})
        return config


# ------------------------------------------------------------------------ helpers


def per_box_keys(bounding_boxes: dict) -> set:
    """The keys of a box dict's per-box entries, `"boxes"` and the class ids included.

    For ragged boxes, the ragged entries; for dense ones, those shaped like the boxes.
    """
    info = validate_format(bounding_boxes)
    boxes = bounding_boxes["boxes"]
    if info["ragged"]:
        return {key for key, value in bounding_boxes.items() if tensors.is_ragged(value)}
    lead = tensors.rank(boxes) - 1
    boxes_lead = tensors.static_shape(boxes)[:lead]
    return {
        key
        for key, value in bounding_boxes.items()
        if len(tensors.static_shape(value)) >= lead
        and tensors.static_shape(value)[:lead] == boxes_lead
    }


def _row(transformation: dict, index: Any) -> dict:
    return {key: value[index] for key, value in transformation.items()}


def image_sizes(images: Any) -> tuple[tf.Tensor, tf.Tensor]:
    """Heights and widths `[B]` (float32) of a dense or ragged batch of images."""
    if tensors.is_ragged(images):
        heights = images.row_lengths()
        if images.ragged_rank == 1:
            widths = tf.fill(tf.shape(heights), tf.shape(images.flat_values)[1])
        else:
            rows = images.values
            # Each image's first row carries its width; an empty image has none.
            first = tf.minimum(images.row_starts(), tf.maximum(rows.nrows() - 1, 0))
            widths = tf.where(heights > 0, tf.gather(rows.row_lengths(), first), 0)
        return tf.cast(heights, tf.float32), tf.cast(widths, tf.float32)
    shape = tf.shape(images)
    ones = tf.ones([shape[0]], tf.float32)
    return ones * tf.cast(shape[1], tf.float32), ones * tf.cast(shape[2], tf.float32)


def get_image(images: Any, index: Any) -> tf.Tensor:
    """Image `index` of a dense or ragged batch, as a dense `[h, w, C]` tensor.

    For a ragged batch the image is a slice of `flat_values` reshaped, not a padded copy.
    """
    if not tensors.is_ragged(images):
        return images[index]
    start, stop = images.row_splits[index], images.row_splits[index + 1]
    if images.ragged_rank == 1:
        return images.flat_values[start:stop]
    rows = images.values
    first, last = rows.row_splits[start], rows.row_splits[stop]
    height = stop - start
    width = (last - first) // tf.maximum(height, 1)
    channels = images.shape[-1]
    return tf.reshape(rows.flat_values[first:last], tf.stack([height, width, channels]))


def map_images(
    fn: Callable[[tf.Tensor, tf.Tensor], tf.Tensor],
    images: Any,
    output_size: Sequence[int] | None = None,
) -> Any:
    """Apply `fn(index, image)` to every image of a dense or ragged batch.

    A `tf.while_loop` over the batch writing to a `tf.TensorArray`, which works for any
    batch size (also unknown ones, as `ragged_batch` without `drop_remainder` gives) and
    keeps images of different sizes apart without padding: `tf.map_fn` with a ragged
    output signature is several times slower.

    Args:
        fn: takes the image's index in the batch (int32 scalar) and the image `[h, w, C]`;
            returns an image of `output_size`, or of the input image's size when that is
            `None`.
        images: a dense `[B, H, W, C]` or ragged `[B, None, None, C]` batch.
        output_size: the `(height, width)` of every output image, or `None`.

    Returns:
        A dense `[B, height, width, C]` batch when `output_size` is given; otherwise the
        input's structure (ragged in, ragged out, row partitions unchanged).
    """
    channels = images.shape[-1]
    ragged = tensors.is_ragged(images)
    count = tf.cast(images.nrows() if ragged else tf.shape(images)[0], tf.int32)
    if output_size is not None:
        element_shape = [*output_size, channels]
    elif not ragged:
        element_shape = images.shape[1:]
    else:
        # Each image as a row of pixels; concatenated, they are the new flat values.
        element_shape = [None, channels]
    array = tf.TensorArray(
        images.dtype, size=count, element_shape=element_shape, infer_shape=not ragged
    )

    def body(index, array):
        image = fn(index, get_image(images, index))
        if ragged and output_size is None:
            image = tf.reshape(image, [-1, channels])
        return index + 1, array.write(index, image)

    _, array = tf.while_loop(lambda index, _: index < count, body, (tf.constant(0), array))
    if ragged and output_size is None:
        pixels = array.concat()
        return images.with_flat_values(tf.reshape(pixels, tf.shape(images.flat_values)))
    stacked = array.stack()
    return tf.ensure_shape(stacked, [images.shape[0], *element_shape])


def flatten_boxes(boxes: Any) -> tuple[tf.Tensor, tf.Tensor]:
    """All boxes of a batch as `[M, 4]`, and the index of each box's image `[M]`."""
    if tensors.is_ragged(boxes):
        return boxes.flat_values, boxes.value_rowids()
    shape = tf.shape(boxes, out_type=tf.int64)
    return tf.reshape(boxes, [-1, 4]), tf.repeat(tf.range(shape[0]), shape[1])


def unflatten_boxes(boxes: Any, flat: tf.Tensor) -> Any:
    """Put `[M, 4]` boxes back into the batch structure of `boxes`."""
    if tensors.is_ragged(boxes):
        return boxes.with_flat_values(flat)
    return tf.ensure_shape(tf.reshape(flat, tf.shape(boxes)), boxes.shape)


def drop_empty_boxes(before: tf.Tensor, after: tf.Tensor) -> tf.Tensor:
    """Zero the boxes that had no area before a transform, padding included.

    A transform can give such a box an area (the bounding box of a rotated inverted box,
    for one); zeroed, clipping recognises it as no box.
    """
    empty = (before[:, 2] <= before[:, 0]) | (before[:, 3] <= before[:, 1])
    return tf.where(empty[:, None], tf.zeros_like(after), after)


def parse_range(
    value: Any,
    name: str,
    caller: str,
    single: str | None = "symmetric",
    bounds: tuple[float | None, float | None] = (None, None),
) -> tuple[float, float]:
    """Read a factor argument: a number or a `(low, high)` pair.

    Args:
        value: what the user passed.
        name: the argument's name, for messages.
        caller: the layer's name, for messages.
        single: what one number `f` means: `"symmetric"` is `(-f, f)`, `"from_zero"` is
            `(0, f)`, `None` means only pairs are accepted.
        bounds: the smallest and largest allowed values (`None`: unbounded).

    Returns:
        `(low, high)` as floats, `low <= high`.

    Raises:
        ValueError: not a number or a pair of numbers, or outside `bounds`.

    Example:
        >>> parse_range(0.2, "factor", "RandomRotation()")
        (-0.2, 0.2)
    """
    is_number = isinstance(value, Real) and not isinstance(value, bool)
    if is_number and single is not None:
        low, high = (-abs(value), abs(value)) if single == "symmetric" else (0.0, value)
    elif (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, Real) and not isinstance(v, bool) for v in value)
    ):
        low, high = value
    else:
        example = f"{name}=0.2 or {name}=(0.1, 0.3)" if single else f"{name}=(0.1, 0.3)"
        kind = "a number or a (low, high) pair" if single else "a (low, high) pair"
        raise ValueError(f"{caller} got {name}={value!r}; expected {kind}, e.g. {example}.")
    if low > high:
        raise ValueError(
            f"{caller} got {name}={value!r} with low > high; pass (low, high) with "
            f"low <= high, e.g. {name}=({high}, {low})."
        )
    smallest, largest = bounds
    if (smallest is not None and low < smallest) or (largest is not None and high > largest):
        raise ValueError(
            f"{caller} got {name}={value!r}; its values must lie in [{smallest}, {largest}]."
        )
    return float(low), float(high)


def check_choice(value: Any, name: str, choices: Sequence[str], caller: str) -> str:
    """Return `value` if it is one of `choices`, else raise a ValueError listing them."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{caller} got {name}={value!r}; expected one of {allowed}.")
    return value


def check_size(value: Any, name: str, caller: str) -> tuple[int, int]:
    """Return a `(height, width)` pair of positive ints, or raise a ValueError."""
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        return int(value[0]), int(value[1])
    raise ValueError(
        f"{caller} got {name}={value!r}; expected (height, width), two positive integers, "
        f"e.g. {name}=(640, 640)."
    )


def _hook_message(layer: Any, method: str) -> str:
    """The error of a per-image hook a subclass did not implement."""
    return (
        f"{type(layer).__name__} does not implement {method}(); an AugmentationLayer "
        "subclass implements get_random_transformation, transform_image and "
        "transform_boxes, or overrides augment() instead (as the colour layers do)."
    )
