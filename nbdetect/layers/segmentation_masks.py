"""Segmentation masks in the augmentation layers: checked against their images, moved with them.

A mask is a per-pixel label image as large as its image: class ids `[H, W, 1]` (or
`[H, W]`), or one channel per class `[H, W, K]`, in any integer, float or bool dtype;
batched and ragged exactly like the images (`ds.ragged_batch(...)` on the whole dict).
Geometric layers move masks with the same geometry as the images, resampled
nearest-neighbour so that every output pixel holds a label of the input (never a blend of
two class ids) and filled with 0 where no input pixel lands; colour layers leave them
alone.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from nbdetect.layers.image_batches import as_tf, image_sizes, with_known_channels
from nbdetect.utils import checks, tensors

# The image ops (ImageProjectiveTransformV3 above all) take these dtypes; masks of other
# dtypes are moved as one of them and cast back.
_RESAMPLED_AS = {
    tf.bool: tf.int32,
    tf.int8: tf.int32,
    tf.int16: tf.int32,
    tf.uint16: tf.int32,
    tf.uint32: tf.int64,
    tf.uint64: tf.int64,
}


def prepare_masks(
    masks: Any, images: Any, single: bool, caller: str, assertions: list
) -> tuple[Any, bool]:
    """Masks as a batch like `images`, with a channel axis, checked against the images.

    Args:
        masks: what the user passed under `"segmentation_masks"`.
        images: the layer's batch of images (`[B, H, W, C]`, dense or ragged).
        single: whether the input was one example (then `masks` is one mask).
        caller: the layer, for messages.
        assertions: where checks of sizes unknown when traced are appended (or None).

    Returns:
        The masks as a batch with the images' structure, and whether a channel axis was
        added (the output drops it again).

    Raises:
        ValueError: masks of the wrong rank, ragged where the images are dense or the
            other way round, or of another size than their images.
    """
    masks = as_tf(masks)
    rank = masks.shape.rank
    image_rank = 3 if single else 4
    layout = "[height, width, 1] for one image" if single else "[batch, height, width, 1]"
    if rank not in (image_rank - 1, image_rank):
        raise ValueError(
            f"{caller} got segmentation_masks of shape {tensors.static_shape(masks)} with "
            f"images of shape {tensors.static_shape(images[0] if single else images)}; "
            f"expected {layout} (or one channel per class), the images' height and width."
        )
    squeeze = rank == image_rank - 1
    if squeeze:
        masks = _map_flat(masks, lambda values: values[..., None])
    masks = with_known_channels(masks, 1, "segmentation_masks", caller)
    if single:
        masks = masks[None]
    if tensors.is_ragged(images) and not tensors.is_ragged(masks):
        raise ValueError(
            f"{caller} got a ragged batch of images (of different sizes) but dense "
            f"segmentation_masks of shape {tensors.static_shape(masks)}; padded masks do "
            "not say where each image ends. Batch images and masks together: "
            "ds.ragged_batch(...) on the whole dict."
        )
    assertions.append(
        checks.same_batch_size(images, masks, caller, ("images", "segmentation_masks"))
    )
    assertions.append(_check_sizes(masks, images, caller))
    if tensors.is_ragged(masks) and not tensors.is_ragged(images):
        # Ragged masks of dense images (tf.ragged.constant makes them): each mask has its
        # image's size, checked above, so nothing is padded.
        masks = masks.to_tensor()
    return masks, squeeze


def _map_flat(masks: Any, fn: Any) -> Any:
    """`fn` on a dense tensor, or on a ragged one's `flat_values` (its pixels)."""
    return masks.with_flat_values(fn(masks.flat_values)) if tensors.is_ragged(masks) else fn(masks)


def _check_sizes(masks: Any, images: Any, caller: str) -> Any:
    """Each mask as large as its image: in Python where known, else an assertion."""
    message = (
        f"{caller} got segmentation_masks whose height and width differ from their "
        "images'; expected each mask to have its image's height and width. Resize masks "
        "and images together (one layer call on the whole dict) before this layer."
    )
    if not tensors.is_ragged(masks):
        mask_size, image_size = masks.shape[1:3], images.shape[1:3]
        if mask_size.is_fully_defined() and image_size.is_fully_defined():
            if mask_size != image_size:
                raise ValueError(f"{message} Masks {mask_size}, images {image_size}.")
            return None
    batch = tf.minimum(tf.shape(image_sizes(masks)[0])[0], tf.shape(image_sizes(images)[0])[0])
    mask_sizes = tf.stack(image_sizes(masks), axis=-1)[:batch]
    image_sizes_ = tf.stack(image_sizes(images), axis=-1)[:batch]
    if tf.executing_eagerly():
        if not bool(tf.reduce_all(mask_sizes == image_sizes_)):
            raise ValueError(
                f"{message} Masks (height, width): {mask_sizes.numpy().tolist()}, images: "
                f"{image_sizes_.numpy().tolist()}."
            )
        return None
    return tf.debugging.assert_equal(mask_sizes, image_sizes_, message=message)


def resampled(transform: Any, masks: Any) -> Any:
    """`transform(masks)` run in a dtype the image ops take, cast back to the masks' dtype."""
    dtype = masks.dtype
    work = _RESAMPLED_AS.get(dtype)
    if work is None:
        return transform(masks)
    if tensors.is_ragged(masks):
        moved = transform(masks.with_flat_values(tf.cast(masks.flat_values, work)))
        return moved.with_flat_values(tf.cast(moved.flat_values, dtype))
    return tf.cast(transform(tf.cast(masks, work)), dtype)


def finish_masks(masks: Any, single: bool, squeeze: bool) -> Any:
    """The output masks in the input's layout: one mask back from a batch of one."""
    if single:
        masks = masks[0]
    if squeeze:
        masks = _map_flat(masks, lambda values: values[..., 0])
    return masks
