"""Finding the image height and width that relative (`rel_`) boxes are measured against."""

from __future__ import annotations

from typing import Any

import numpy as np

from nbdetect.utils import tensors


def image_size(images: Any = None, image_shape: Any = None, *, caller: str) -> tuple[Any, Any]:
    """Height and width of the images that boxes belong to.

    Args:
        images: one image `[H, W, C]`, a batch `[B, H, W, C]` (numpy, tensor, or a
            `tf.RaggedTensor` / list of images of different sizes).
        image_shape: `(H, W)` or `(H, W, C)`; an alternative to `images`.
        caller: the public function's name, for error messages.

    Returns:
        `(height, width)`: numbers or scalar tensors when every image has the same size,
        else two vectors of shape `[B]`, one entry per image.

    Raises:
        ValueError: neither or both of `images` and `image_shape` given, or either of a
            shape that is not an image's.
    """
    if images is not None and image_shape is not None:
        raise ValueError(
            f"{caller}() got both `images` and `image_shape`; pass only one of them "
            "(image_shape=(height, width) is enough)."
        )
    if image_shape is not None:
        return _from_image_shape(image_shape, caller)
    if images is None:
        raise ValueError(
            f"{caller}() needs the image size to convert between relative (`rel_`) and "
            "absolute box formats, but got neither `images` nor `image_shape`. Pass the "
            "images the boxes belong to (images=...) or their size "
            "(image_shape=(height, width))."
        )
    if isinstance(images, (list, tuple)):
        shapes = [np.shape(image) for image in images]
        if any(len(s) != 3 for s in shapes):
            raise ValueError(
                f"{caller}() got a list of images with shapes {shapes}; each image must "
                "be [height, width, channels]."
            )
        heights = np.array([s[0] for s in shapes])
        widths = np.array([s[1] for s in shapes])
        if len(set(heights)) == 1 and len(set(widths)) == 1:
            return int(heights[0]), int(widths[0])
        return heights, widths
    if tensors.is_ragged(images):
        return _ragged_image_size(images)
    rank = tensors.rank(images)
    if rank not in (3, 4):
        raise ValueError(
            f"{caller}() got images of shape {tensors.static_shape(images)}; expected one "
            "image [height, width, channels] or a batch [batch, height, width, channels]."
        )
    static = tensors.static_shape(images)
    height, width = static[-3], static[-2]
    if height is None or width is None:
        dynamic = tensors.array_ops(images).shape(images)
        height = dynamic[-3] if height is None else height
        width = dynamic[-2] if width is None else width
    return height, width


def _from_image_shape(image_shape: Any, caller: str) -> tuple[Any, Any]:
    symbolic_entries = isinstance(image_shape, (list, tuple)) and any(
        tensors.array_kind(size) in (tensors.TF, tensors.BACKEND) for size in image_shape
    )
    if symbolic_entries:
        # e.g. (tf.shape(image)[0], tf.shape(image)[1]) inside tf.data: no numpy view.
        if len(image_shape) not in (2, 3):
            raise ValueError(
                f"{caller}() got image_shape with {len(image_shape)} entries; expected "
                "(height, width) or (height, width, channels)."
            )
        return image_shape[0], image_shape[1]
    if tensors.is_tf_tensor(image_shape):
        static = tensors.static_shape(image_shape)
        if len(static) != 1 or static[0] not in (2, 3, None):
            raise ValueError(
                f"{caller}() got image_shape of shape {static}; expected (height, width) "
                "or (height, width, channels)."
            )
        return image_shape[0], image_shape[1]
    shape = tuple(np.asarray(image_shape).reshape(-1).tolist())
    if len(shape) not in (2, 3) or min(shape[:2]) <= 0:
        raise ValueError(
            f"{caller}() got image_shape={image_shape!r}; expected (height, width) or "
            "(height, width, channels) with positive height and width."
        )
    return shape[0], shape[1]


def _ragged_image_size(images: Any) -> tuple[Any, Any]:
    import tensorflow as tf

    heights = images.row_lengths()
    if images.ragged_rank >= 2:
        # The first row of each image carries that image's width.
        first_rows = tf.minimum(images.row_starts(), images.values.nrows() - 1)
        widths = tf.gather(images.values.row_lengths(), first_rows)
    else:
        widths = tf.fill(tf.shape(heights), tf.shape(images.flat_values)[1])
    return heights, widths


def align_to_boxes(size: Any, boxes: Any) -> Any:
    """Shape a height or width so it broadcasts against one box coordinate `[..., 1]`.

    A scalar stays a scalar. A per-image vector `[B]` becomes `[B, 1, 1]` for dense boxes
    `[B, N, 4]`, or one entry per box `[total_boxes, 1]` for ragged boxes (to be used on
    their `flat_values`).
    """
    scalar = size.shape.rank == 0 if tensors.is_tf_tensor(size) else np.ndim(size) == 0
    if size is None or scalar:
        return size
    if tensors.is_ragged(boxes):
        import tensorflow as tf

        per_box = tf.gather(tf.cast(size, "float32"), boxes.value_rowids())
        return per_box[:, None]
    if tensors.rank(boxes) != 3:
        raise ValueError(
            f"Got images of different sizes (one per image, {np.shape(size)[0]} images) for "
            f"boxes of shape {tensors.static_shape(boxes)}; boxes for a batch of images "
            "must be batched: [batch, num_boxes, 4]."
        )
    num_images, batch = tensors.static_shape(size)[0], tensors.static_shape(boxes)[0]
    if num_images is not None and batch is not None and num_images != batch:
        raise ValueError(
            f"Got {num_images} images of different sizes but boxes for {batch} images "
            f"(shape {tensors.static_shape(boxes)}); pass one image per entry of the batch."
        )
    ops = tensors.array_ops(boxes)
    return ops.cast(size, "float32")[:, None, None]
