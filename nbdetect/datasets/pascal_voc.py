"""Pascal VOC through TensorFlow Datasets, as the KerasCV guide loads it."""

from __future__ import annotations

import os
from typing import Any

from nbdetect.bounding_box.formats import check_format
from nbdetect.datasets.common import convert_boxes
from nbdetect.datasets.errors import DatasetNotAvailableError

# tfds's label order (`voc.py`'s _VOC_LABELS): class id i is VOC_CLASSES[i].
VOC_CLASSES = (
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)


def unpackage_raw_tfds_inputs(inputs: dict, bounding_box_format: str) -> dict:
    """Turn one tfds detection example into the nbdetect data contract (the guide's function).

    Args:
        inputs: a tfds example with `"image"` (`[H, W, 3]` uint8) and `"objects"` holding
            `"bbox"` (`[N, 4]` `rel_yxyx`, as tfds stores boxes) and `"label"` (`[N]`).
        bounding_box_format: the format to convert the boxes to.

    Returns:
        `{"images": [H, W, 3] float32 in [0, 255], "bounding_boxes": {"boxes": [N, 4]
        float32, "classes": [N] float32}}`.

    Example:
        >>> from nbdetect.datasets.pascal_voc import unpackage_raw_tfds_inputs
        >>> import numpy as np
        >>> example = {  # as tfds yields it: boxes in rel_yxyx
        ...     "image": np.zeros((100, 200, 3), np.uint8),
        ...     "objects": {"bbox": np.array([[0.25, 0.125, 0.5, 0.625]]), "label": [7]},
        ... }
        >>> inputs = unpackage_raw_tfds_inputs(example, bounding_box_format="xywh")
        >>> boxes = inputs["bounding_boxes"]
        >>> boxes["boxes"].numpy().tolist(), boxes["classes"].numpy().tolist()
        ([[25.0, 25.0, 100.0, 25.0]], [7.0])

        On a whole tfds dataset (this downloads VOC, about 0.9 GB, so needs internet):

        >>> import tensorflow_datasets as tfds  # doctest: +SKIP
        >>> ds = tfds.load("voc/2007", split="train")  # doctest: +SKIP
        >>> ds = ds.map(lambda x: unpackage_raw_tfds_inputs(x, "xywh"))  # doctest: +SKIP
    """
    import tensorflow as tf

    bounding_box_format = check_format(bounding_box_format, caller="unpackage_raw_tfds_inputs")
    image = tf.cast(inputs["image"], tf.float32)
    boxes = tf.cast(inputs["objects"]["bbox"], tf.float32)
    return {
        "images": image,
        "bounding_boxes": {
            "boxes": convert_boxes(boxes, "rel_yxyx", bounding_box_format, image),
            "classes": tf.cast(inputs["objects"]["label"], tf.float32),
        },
    }


def load_pascal_voc(
    split: str,
    dataset: str = "voc/2007",
    *,
    bounding_box_format: str,
    shuffle_files: bool = True,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
):
    """Load Pascal VOC from TensorFlow Datasets, with boxes in pixels of the requested format.

    The first call downloads (about 0.9 GB for `voc/2007`) and prepares the dataset under
    `data_dir`, which needs internet. Without it, prepare the data on a machine with internet
    (`tfds.builder("voc/2007", data_dir=DIR).download_and_prepare()`), copy `DIR` over, and
    pass `data_dir=DIR`.

    Args:
        split: a tfds split: `"train"`, `"validation"`, `"test"`, or an expression such as
            `"train+validation"` or `"train[:10%]"`.
        dataset: the tfds name, `"voc/2007"` or `"voc/2012"`.
        bounding_box_format: the format of the boxes yielded, one of
            `nbdetect.bounding_box.FORMATS` (required).
        shuffle_files: read the dataset's files in random order (tfds's option; shuffle
            examples with `Dataset.shuffle`).
        data_dir: where prepared tfds data lives; `None`: tfds's default
            (`~/tensorflow_datasets` or `$TFDS_DATA_DIR`).
        download: download and prepare the data if it is not in `data_dir` yet.

    Returns:
        `(dataset, class_names)`: an unbatched `tf.data.Dataset` of `{"images": [H, W, 3]
        float32 in [0, 255], "bounding_boxes": {"boxes": [N, 4] float32, "classes": [N]
        float32}}`, and the 20 class names (`VOC_CLASSES`), indexed by class id.

    Raises:
        ValueError: an unknown box format.
        DatasetNotAvailableError: the data is not prepared in `data_dir` and could not be
            downloaded (no internet, or `download=False`).

    Example:
        Skipped in doctests: the first call downloads VOC (about 0.9 GB), which needs
        internet.

        >>> from nbdetect.datasets.pascal_voc import load_pascal_voc
        >>> train_ds, class_names = load_pascal_voc(  # doctest: +SKIP
        ...     "train", bounding_box_format="xywh"
        ... )
        >>> train_ds = train_ds.shuffle(16).ragged_batch(4, drop_remainder=True)  # doctest: +SKIP
    """
    import tensorflow as tf
    import tensorflow_datasets as tfds

    bounding_box_format = check_format(bounding_box_format, caller="load_pascal_voc")
    builder = tfds.builder(dataset, data_dir=data_dir)
    if download:
        try:
            builder.download_and_prepare()
        except Exception as error:  # Network and archive errors come in many types.
            raise DatasetNotAvailableError(
                _not_available(dataset, builder, error, download)
            ) from error
    try:
        ds = builder.as_dataset(split=split, shuffle_files=shuffle_files)
    except AssertionError as error:
        # tfds reports data missing from data_dir with an AssertionError.
        if "could not find data" not in str(error):
            raise
        raise DatasetNotAvailableError(_not_available(dataset, builder, error, download)) from error
    class_names = list(builder.info.features["objects"]["label"].names)
    ds = ds.map(
        lambda inputs: unpackage_raw_tfds_inputs(inputs, bounding_box_format),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return ds, class_names


def _not_available(dataset: str, builder: Any, error: Exception, download: bool) -> str:
    cause = f"{type(error).__name__}: {error}".strip()
    why = f"could not be downloaded here ({cause})" if download else f"download=False ({cause})"
    return (
        f"load_pascal_voc(): the TensorFlow Datasets dataset {dataset!r} is not prepared in "
        f"{builder.data_dir}, and {why}. Download it once on a "
        f"machine with internet, e.g. tfds.builder({dataset!r}, data_dir=DIR)"
        ".download_and_prepare(), copy DIR to this machine and pass data_dir=DIR. For data "
        "that needs no download, use nbdetect.datasets.load_shapes()."
    )
