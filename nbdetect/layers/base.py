"""The base class of nbdetect's augmentation layers, and the helpers they share.

Every layer takes what a detection pipeline holds at any point:

- one example `{"images": [H, W, C], "bounding_boxes": {"boxes": [N, 4], "classes": [N]}}`,
- a dense batch (`[B, H, W, C]` images, `[B, N, 4]` boxes padded with -1),
- a ragged batch as `ds.ragged_batch(...)` makes it: `tf.RaggedTensor` boxes `[B, None, 4]`
  and, when the images differ in size, `tf.RaggedTensor` images `[B, None, None, C]`,
- or plain images without boxes.

Next to `"bounding_boxes"` the dict may hold `"segmentation_masks"` (per-pixel labels as
large as the images, batched like them: `[B, H, W, 1]` or one channel per class), which
geometric layers move with the images' geometry, nearest-neighbour; and `"labels"`
(classification targets, `[B, num_classes]` floats), which `MixUp` and `Mosaic` mix as
they mix the images. Any other key passes through unchanged.

Class ids may sit under `"classes"` or its alias `"labels"`; other per-box entries (such as
`"confidence"` or `"iscrowd"`) travel with their boxes. The output has the input's
structure: single in, single out; ragged boxes stay ragged; dense boxes stay dense and
keep their padding.

Inside, a layer sees a batch and boxes in absolute `xyxy`; this module converts on the way
in and out, clips the boxes to the output image and drops the ones with nothing left
(ragged and single examples lose them, dense batches mark them -1 with their classes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Integral, Real
from typing import Any

import keras
import tensorflow as tf

from nbdetect.bounding_box.clip import clip_to_image
from nbdetect.bounding_box.converters import convert_format
from nbdetect.bounding_box.formats import check_format
from nbdetect.bounding_box.validate import standardize_box_dict, validate_format
from nbdetect.layers.image_batches import (
    as_tf,
    get_image,
    image_sizes,
    map_images,
    with_known_channels,
)
from nbdetect.layers.segmentation_masks import finish_masks, prepare_masks, resampled
from nbdetect.utils import checks, tensors

__all__ = [  # the helpers other modules import from here, image_batches' included
    "AugmentationLayer",
    "as_tf",
    "check_choice",
    "check_size",
    "get_image",
    "image_sizes",
    "map_images",
    "parse_range",
    "per_box_keys",
]

INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian")


class AugmentationLayer(keras.layers.Layer):
    """Base class: input handling, random parameters, box bookkeeping and config.

    Subclasses either implement the per-image protocol below, or override `augment` when
    they combine examples (`Mosaic`, `MixUp`) or leave geometry alone (colour layers):

    - `get_random_transformation(batch_size, heights, widths)`: a dict of `[B, ...]`
      tensors, one entry per image, drawn with `self.uniform` / `self.bernoulli`.
    - `transform_image(image, transformation)`: one image `[h, w, C]` and its entries.
    - `transform_images(images, transformation)`: a dense batch; by default
      `transform_image` on each image. Override it with a batched op where one exists.
    - `transform_boxes(boxes, transformation, heights, widths)`: `[M, 4]` absolute `xyxy`
      boxes in the input image, each with its image's entries and size (`[M]`), to `xyxy`
      in the output image. Clipping happens afterwards.
    - `transform_segmentation_masks(masks, transformation)`: a dense or ragged batch of
      masks `[B, H, W, K]` moved like the images, nearest-neighbour, 0 where no input
      pixel lands. Without it, a layer refuses inputs with `"segmentation_masks"`.
    - `output_size`: `(height, width)` when every output image has that size, else `None`
      (each output image has the size of its input).

    Args:
        bounding_box_format: the format of the input boxes, one of
            `nbdetect.bounding_box.FORMATS`; required when the input has boxes.
        seed: an integer for reproducible draws; `None` draws differently every run.
        **kwargs: passed to `keras.layers.Layer` (`name`, `dtype`).

    Example:
        A left-right mirror that flips every image:

        >>> import numpy as np
        >>> import tensorflow as tf
        >>> from nbdetect.layers import AugmentationLayer
        >>> class Mirror(AugmentationLayer):
        ...     def get_random_transformation(self, batch_size, heights, widths):
        ...         return {}
        ...     def transform_image(self, image, transformation):
        ...         return tf.reverse(image, [1])
        ...     def transform_boxes(self, boxes, transformation, heights, widths):
        ...         x1, y1, x2, y2 = tf.unstack(boxes, axis=-1)
        ...         return tf.stack([widths - x2, y1, widths - x1, y2], axis=-1)
        >>> batch = {  # one 4 x 6 image with one box; any structure the layers accept
        ...     "images": np.zeros((1, 4, 6, 3), "float32"),
        ...     "bounding_boxes": {"boxes": np.array([[[0.0, 1.0, 2.0, 3.0]]]),
        ...                        "classes": np.array([[1.0]])},
        ... }
        >>> out = Mirror(bounding_box_format="xyxy")(batch)
        >>> out["bounding_boxes"]["boxes"].numpy().tolist()
        [[[4.0, 1.0, 6.0, 3.0]]]
    """

    # Colour layers leave geometry alone: boxes and masks stay as they are, so they need
    # no box format.
    _geometric = True
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
        self.seed = checks.whole_number(seed, "seed", type(self).__name__, None, none_ok=True)
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

    def transform_segmentation_masks(self, masks: Any, transformation: dict) -> Any:
        """Move a dense or ragged batch of masks `[B, H, W, K]` with the images.

        Resample nearest-neighbour (an output pixel holds one input pixel's label) and
        fill with 0; the output has the output images' sizes.
        """
        raise NotImplementedError(
            f"{type(self).__name__} got 'segmentation_masks' but does not implement "
            "transform_segmentation_masks(masks, transformation), so it cannot move them "
            "with the images (returning them unmoved would misalign them). Implement it "
            "(nearest-neighbour, as the layers in nbdetect.layers do), or augment the masks "
            "with another layer."
        )

    def transform_pixels(self, images: Any, transformation: dict) -> Any:
        """`transform_images` on a dense batch; a ragged one goes image by image."""
        if tensors.is_ragged(images):
            return AugmentationLayer.transform_images(self, images, transformation)
        return self.transform_images(images, transformation)

    def augment(self, data: dict) -> dict:
        """Augment a batch.

        Args:
            data: `"images"` `[B, H, W, C]` (dense or ragged, the compute dtype),
                `"bounding_boxes"` (absolute `xyxy`, or `None`), `"segmentation_masks"`
                (`[B, H, W, K]` like the images, or `None`) and `"labels"` (the
                classification labels for layers that combine examples, or `None`).

        Returns:
            `data` with its entries augmented; the boxes are moved but not yet clipped.
        """
        return self.apply_transformation(data, self.get_random_transformation)

    def apply_transformation(self, data: dict, make_transformation: Callable) -> dict:
        """Move images, boxes and masks by `make_transformation(batch_size, heights, widths)`."""
        images = data["images"]
        heights, widths = image_sizes(images)
        transformation = make_transformation(tf.shape(heights)[0], heights, widths)
        result = dict(data, images=self.transform_pixels(images, transformation))
        if data.get("bounding_boxes") is not None:
            result["bounding_boxes"] = self._move_boxes(
                data["bounding_boxes"], transformation, heights, widths
            )
        if data.get("segmentation_masks") is not None:
            result["segmentation_masks"] = resampled(
                lambda masks: self.transform_segmentation_masks(masks, transformation),
                data["segmentation_masks"],
            )
        return result

    def inference(self, data: dict) -> dict:
        """What the layer does with `training=False`: by default, nothing."""
        return data

    # ----------------------------------------------------------------------- call

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the layer; a dict that mixes TensorFlow tensors and arrays is converted first.

        Keras' `Layer.__call__` refuses a nested argument that mixes tensors and other
        values (`{"images": tf_images, "bounding_boxes": {"boxes": np_boxes, ...}}`), so
        such a dict has its other values made TensorFlow tensors before Keras sees it: the
        result is the same as for the all-tensor dict.
        """
        if args and isinstance(args[0], dict):
            args = (_tensors_if_mixed(args[0]), *args[1:])
        elif isinstance(kwargs.get("inputs"), dict):
            kwargs["inputs"] = _tensors_if_mixed(kwargs["inputs"])
        return super().__call__(*args, **kwargs)

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
        raw = dict(inputs) if is_dict else {}
        data = {
            "images": images,
            "bounding_boxes": None,
            "segmentation_masks": None,
            "labels": None,
        }
        # Checks of sizes unknown when traced (None where Python could compare them).
        assertions = []
        if raw.get("labels") is not None and self._needs_batch:
            data["labels"] = self._prepare_labels(raw["labels"], images, assertions)
        raw_boxes = raw.get("bounding_boxes")
        if raw_boxes is not None and self._geometric:
            data["bounding_boxes"] = self._prepare_boxes(raw_boxes, images, single, assertions)
        elif raw_boxes is not None:
            # Boxes that only travel along are checked all the same: a batch of boxes
            # that does not belong to the images is as wrong here as anywhere.
            self._check_boxes(_box_tensors(raw_boxes, self._caller()), images, single, assertions)
        squeeze = False
        if raw.get("segmentation_masks") is not None and self._geometric:
            data["segmentation_masks"], squeeze = prepare_masks(
                raw["segmentation_masks"], images, single, self._caller(), assertions
            )
        assertions = [assertion for assertion in assertions if assertion is not None]
        if assertions:
            # Sizes unknown when traced: nothing may use the inputs before the checks ran
            # (a gather over mismatched batches would fail first, with its own message).
            data = _after(assertions, data)

        data = self.augment(data) if training else self.inference(data)

        output = data["images"][0] if single else data["images"]
        if not is_dict:
            return output
        result = dict(raw, images=output)
        if data["bounding_boxes"] is not None:
            result["bounding_boxes"] = self._finish_boxes(
                data["bounding_boxes"], data["images"], single
            )
        if data["segmentation_masks"] is not None:
            result["segmentation_masks"] = finish_masks(data["segmentation_masks"], single, squeeze)
        if data["labels"] is not None:
            result["labels"] = data["labels"]
        return result

    def _prepare_labels(self, labels: Any, images: Any, assertions: list) -> Any:
        """Classification labels `[B, ...]` for a layer that mixes them: floats, one per image."""
        labels = as_tf(labels)
        if tensors.is_ragged(labels) or not labels.dtype.is_floating or not labels.shape.rank:
            raise ValueError(
                f"{self._caller()} got 'labels' of shape {tensors.static_shape(labels)} and "
                f"dtype {labels.dtype.name}; {type(self).__name__} mixes the labels of the "
                "images it combines, so it expects float labels, one row per image: "
                "[batch, num_classes], e.g. tf.one_hot(class_ids, num_classes). Integer "
                "class ids cannot be mixed."
            )
        assertions.append(
            checks.same_batch_size(images, labels, type(self).__name__, ("images", "labels"))
        )
        return tf.cast(labels, self.compute_dtype)

    def _caller(self) -> str:
        return f"{type(self).__name__}()"

    def _prepare_images(self, images: Any) -> tuple[Any, bool]:
        images = as_tf(images)
        rank = images.shape.rank
        if rank not in (3, 4):
            raise ValueError(
                f"{self._caller()} expected one image [height, width, channels] or a batch "
                f"[batch, height, width, channels], got images of shape "
                f"{tensors.static_shape(images)}."
            )
        if tensors.is_ragged(images) and rank != 4:
            raise ValueError(
                f"{self._caller()} got a tf.RaggedTensor of images with shape "
                f"{images.shape}; a ragged batch of images is [batch, None, None, channels]."
            )
        images = with_known_channels(images, 3, "images", self._caller())
        dtype = self.compute_dtype
        if tensors.is_ragged(images):
            images = images.with_flat_values(tf.cast(images.flat_values, dtype))
        else:
            images = tf.cast(images, dtype)
        single = rank == 3
        return (images[None] if single else images), single

    def _prepare_boxes(
        self, bounding_boxes: Any, images: Any, single: bool, assertions: list
    ) -> dict:
        if self.bounding_box_format is None:
            raise ValueError(
                f"{self._caller()} got inputs with 'bounding_boxes' but no "
                "bounding_box_format, so it cannot tell how to move the boxes. Pass the "
                f"format of your boxes, e.g. {type(self).__name__}(..., "
                "bounding_box_format='xywh'); formats: nbdetect.bounding_box.FORMATS."
            )
        bounding_boxes = _box_tensors(bounding_boxes, self._caller())
        self._check_boxes(bounding_boxes, images, single, assertions)
        per_box = per_box_keys(bounding_boxes)
        boxes = {}
        for key, value in bounding_boxes.items():
            if single and key in per_box:
                # One example is one row of a ragged batch: vanished boxes are removed.
                value = tf.RaggedTensor.from_tensor(value[None])
            boxes[key] = value
        boxes = convert_format(boxes, self.bounding_box_format, "xyxy", images=images)
        return boxes

    def _check_boxes(
        self, bounding_boxes: Any, images: Any, single: bool, assertions: list
    ) -> None:
        """Boxes that belong to the images: one entry per image, one class id per box.

        Sizes known when the layer is traced are compared in Python; unknown ones (in
        `tf.data`) by cheap assertions on the batch size and the row lengths, appended to
        `assertions`.
        """
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
        caller = type(self).__name__
        if not single:
            assertions.append(
                checks.same_batch_size(
                    images, bounding_boxes["boxes"], caller, ("images", "bounding_boxes['boxes']")
                )
            )
        if tensors.in_tf_graph():
            key = info["classes_key"]
            assertions.append(
                _assert_one_class_id_per_box(
                    bounding_boxes["boxes"], bounding_boxes[key], caller, key
                )
            )

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


def _box_tensors(bounding_boxes: Any, caller: str) -> Any:
    """A bounding box dict with its values as TensorFlow tensors (anything else as is)."""
    if not isinstance(bounding_boxes, dict):
        return bounding_boxes
    tf_boxes = {key: as_tf(value) for key, value in bounding_boxes.items()}
    return standardize_box_dict(tf_boxes, caller.removesuffix("()"))


def _leaves(value: Any) -> list:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def _is_tensor(value: Any) -> bool:
    return tensors.is_ragged(value) or tensors.is_tf_tensor(value) or keras.ops.is_tensor(value)


def _tensors_if_mixed(inputs: dict) -> dict:
    """`inputs` with every value a TensorFlow tensor when it mixes tensors and arrays.

    Keras' `Layer.__call__` refuses such mixes; an input without tensors (numpy only),
    with tensors only, or with symbolic Keras tensors is returned as it is.
    """
    leaves = [leaf for leaf in _leaves(inputs) if leaf is not None]
    if any(isinstance(leaf, keras.KerasTensor) for leaf in leaves):
        return inputs
    kinds = {_is_tensor(leaf) for leaf in leaves}
    if kinds != {True, False}:
        return inputs
    return _convert_values(inputs)


def _convert_values(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _convert_values(item) for key, item in value.items()}
    return as_tf(value)


def _assert_one_class_id_per_box(boxes: Any, classes: Any, caller: str, key: str) -> Any:
    """Inside a graph: assert that `classes` has one entry per box where sizes are unknown.

    Static sizes were compared by `validate_format`; this adds one small assertion for a
    ragged batch (its row splits) or for dense sizes unknown when traced.
    """
    text = (
        f"{caller}() got bounding_boxes['{key}'] with a different number of class ids per "
        "image than bounding_boxes['boxes'] has boxes; expected one class id per box. Fix: "
        "batch boxes and class ids together (ds.ragged_batch(...) on the whole dict), or "
        "slice both the same way."
    )
    if tensors.is_ragged(boxes) and tensors.is_ragged(classes):
        first, second = boxes.row_splits, classes.row_splits
        if first is second:
            return None
        second = tf.cast(second, first.dtype)
        first_size, second_size = tf.size(first), tf.size(second)
        common = tf.minimum(first_size, second_size)
        same = tf.equal(first_size, second_size) & tf.reduce_all(
            tf.equal(first[:common], second[:common])
        )
        data = [text, "boxes per image:", boxes.row_lengths()]
        return tf.debugging.Assert(same, [*data, "class ids per image:", classes.row_lengths()])
    lead = tensors.rank(boxes) - 1
    boxes_shape = tensors.static_shape(boxes)[:lead]
    classes_shape = tensors.static_shape(classes)[:lead]
    if None not in boxes_shape and None not in classes_shape:
        return None  # compared by validate_format
    return tf.debugging.assert_equal(tf.shape(boxes)[:lead], tf.shape(classes)[:lead], message=text)


def _after(assertions: list, structure: Any) -> Any:
    """`structure`'s tensors (ragged ones' parts included) made to wait for `assertions`."""
    with tf.control_dependencies(assertions):
        return tf.nest.map_structure(
            lambda x: None if x is None else tf.identity(x), structure, expand_composites=True
        )


def _row(transformation: dict, index: Any) -> dict:
    return {key: value[index] for key, value in transformation.items()}


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
    either_order: bool = False,
) -> tuple[float, float]:
    """Read a factor argument: a number or a `(low, high)` pair.

    Args:
        value: what the user passed.
        name: the argument's name, for messages.
        caller: the layer's name, for messages.
        single: what one number `f` means: `"symmetric"` is `(-f, f)`, `"from_zero"` is
            `(0, f)`, `None` means only pairs are accepted.
        bounds: the smallest and largest allowed values (`None`: unbounded).
        either_order: accept a pair given high to low, as `(low, high)`.

    Returns:
        `(low, high)` as floats, `low <= high`.

    Raises:
        ValueError: not a number or a pair of finite numbers, low > high, or outside
            `bounds`.

    Example:
        >>> from nbdetect.layers.base import parse_range
        >>> parse_range(0.2, "factor", "RandomRotation")
        (-0.2, 0.2)
        >>> parse_range((0.3, 0.1), "factor", "RandomRotation")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: RandomRotation() got factor=(0.3, 0.1); expected a (low, high) pair ...
    """
    is_number = _is_real(value)
    if is_number and single is not None:
        low, high = (-abs(value), abs(value)) if single == "symmetric" else (0.0, value)
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(map(_is_real, value)):
        low, high = sorted(value) if either_order else value
    else:
        example = f"{name}=0.2 or {name}=(0.1, 0.3)" if single else f"{name}=(0.1, 0.3)"
        kind = "a number or a (low, high) pair" if single else "a (low, high) pair of numbers"
        checks.fail(caller, name, value, kind, f"e.g. {example}")
    smallest, largest = bounds
    below = smallest is not None and min(low, high) < smallest
    if below or (largest is not None and max(low, high) > largest):
        checks.fail(caller, name, value, f"values {checks.bounds(smallest, largest)}")
    if low > high:
        checks.fail(
            caller, name, value, "a (low, high) pair with low <= high", f"{name}=({high}, {low})"
        )
    return float(low), float(high)


def _is_real(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def check_choice(value: Any, name: str, choices: Sequence[str], caller: str) -> str:
    """Return `value` if it is one of `choices`, else raise a ValueError listing them.

    Example:
        >>> from nbdetect.layers.base import check_choice
        >>> check_choice("nearest", "interpolation", ("bilinear", "nearest"), "RandomZoom")
        'nearest'
    """
    return checks.one_of(value, name, caller, choices)


def check_size(value: Any, name: str, caller: str) -> tuple[int, int]:
    """Return a `(height, width)` pair of positive ints, or raise a ValueError.

    Example:
        >>> from nbdetect.layers.base import check_size
        >>> check_size((480, 640), "target_size", "Mosaic")
        (480, 640)
    """
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, Integral) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        return int(value[0]), int(value[1])
    checks.fail(
        caller,
        name,
        value,
        "(height, width): two whole numbers >= 1",
        f"e.g. {name}=(640, 640)",
    )


def _hook_message(layer: Any, method: str) -> str:
    """The error of a per-image hook a subclass did not implement."""
    return (
        f"{type(layer).__name__} does not implement {method}(); an AugmentationLayer "
        "subclass implements get_random_transformation, transform_image and "
        "transform_boxes, or overrides augment() instead (as the colour layers do)."
    )
