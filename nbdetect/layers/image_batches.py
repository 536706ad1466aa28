"""Batches of images as the augmentation layers hold them: dense or ragged, in TensorFlow.

A batch is a dense `[B, H, W, C]` tensor or, when its images differ in size, a
`tf.RaggedTensor` `[B, None, None, C]` as `ds.ragged_batch(...)` makes it. The functions
here turn what users pass into such a batch (`as_tf`, `with_known_channels`) and work on
one without padding it (`image_sizes`, `get_image`, `map_images`). Segmentation masks are
batches of this kind too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from nbdetect.utils import tensors


def as_tf(value: Any) -> Any:
    """`value` as a TensorFlow tensor: tensors as they are, arrays converted.

    A list of per-image arrays of different lengths (the numpy spelling of a ragged
    batch) becomes a `tf.RaggedTensor`: boxes `[B, None, 4]`, class ids `[B, None]`,
    images of different sizes `[B, None, None, C]`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.layers.image_batches import as_tf
        >>> as_tf([np.zeros((2, 4)), np.zeros((0, 4))]).shape
        TensorShape([2, None, 4])
    """
    if value is None or tensors.is_ragged(value) or tensors.is_tf_tensor(value):
        return value
    rows = tensors.per_image_rows(value)
    if rows is not None:
        return _ragged_from_rows(rows)
    return tf.convert_to_tensor(tensors.to_numpy(value))


def _ragged_from_rows(rows: list) -> tf.RaggedTensor:
    arrays = [np.asarray(row) for row in rows]
    filled = [array for array in arrays if array.size]
    if filled:
        # Rows without entries (np.array([]) for an image without boxes) take the shape
        # and dtype of the others.
        inner, dtype = filled[0].shape[1:], filled[0].dtype
        arrays = [a if a.size else a.astype(dtype).reshape((0, *inner)) for a in arrays]
    if len({array.shape[1:] for array in arrays}) <= 1:
        lengths = [len(array) for array in arrays]
        return tf.RaggedTensor.from_row_lengths(np.concatenate(arrays), lengths)
    return tf.ragged.stack(
        [tf.RaggedTensor.from_tensor(array) if array.ndim > 1 else array for array in arrays]
    )


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


def with_known_channels(images: Any, default: int, name: str, caller: str) -> Any:
    """`images` with a static number of channels, checked where it was unknown.

    Two common inputs leave it unknown: `tf.ragged.constant(list_of_images)` makes every
    axis ragged, the channels too (`[B, None, None, None]`), and `tf.io.decode_image`
    inside `tf.data` gives `[None, None, None]`. Eagerly the number is read from the data;
    in a graph it is taken to be `default` and checked when the graph runs.

    Args:
        images: a dense or ragged batch, or one image, with a channel axis.
        default: the number of channels assumed in a graph (3 for images, 1 for masks).
        name: what `images` is, for messages (`"images"`, `"segmentation_masks"`).
        caller: the layer, for messages.

    Returns:
        A dense tensor, or a `tf.RaggedTensor` whose `flat_values` are `[pixels, C]`.

    Example:
        >>> import tensorflow as tf
        >>> from nbdetect.layers.image_batches import with_known_channels
        >>> images = tf.ragged.constant([tf.zeros((2, 3, 3)).numpy().tolist()])
        >>> images.shape, with_known_channels(images, 3, "images", "RandomFlip()").shape
        (TensorShape([1, None, None, None]), TensorShape([1, None, None, 3]))
    """
    if images.shape[-1] is not None:
        return images
    ragged_channels = tensors.is_ragged(images) and images.flat_values.shape.rank == 1
    channels = _eager_channels(images) if tf.executing_eagerly() else None
    channels = default if channels is None else channels
    fix = (
        f"give every pixel {channels} channels, or fix the number in the pipeline: "
        f"tf.io.decode_image(..., channels={channels}) or "
        f"tf.ensure_shape({name}, [None, None, {channels}])."
    )
    source = "read from the first pixel" if tf.executing_eagerly() else "unknown when traced"
    message = (
        f"{caller} got {name} of shape {tensors.static_shape(images)}, whose number of "
        f"channels is not fixed; expected {channels} in every pixel ({source}), but some "
        f"pixels have a different number. Fix: {fix}"
    )
    if ragged_channels:
        return tensors.uniform_last_axis(images, channels, message)
    flat = images.flat_values if tensors.is_ragged(images) else images
    check = tf.debugging.assert_equal(tf.shape(flat)[-1], channels, message=message)
    with tf.control_dependencies([check]):
        flat = tf.ensure_shape(tf.identity(flat), [*flat.shape[:-1], channels])
    return images.with_flat_values(flat) if tensors.is_ragged(images) else flat


def _eager_channels(images: Any) -> int | None:
    """The number of channels of the first pixel of an eager batch, if it has pixels."""
    if not tensors.is_ragged(images):
        return int(tf.shape(images)[-1])
    if images.flat_values.shape.rank > 1:
        return int(tf.shape(images.flat_values)[-1])
    inner = images
    while tensors.is_ragged(inner.values):
        inner = inner.values
    lengths = inner.row_lengths()
    return int(lengths[0]) if int(tf.size(lengths)) else None
