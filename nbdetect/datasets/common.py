"""What the file loaders share: checking images and boxes, and building the `tf.data` pipeline."""

from __future__ import annotations

import concurrent.futures
import math
import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from nbdetect.bounding_box.converters import convert_format
from nbdetect.bounding_box.formats import is_relative
from nbdetect.datasets.errors import LoadReport
from nbdetect.utils import checks

# Formats `tf.io.decode_image` decodes, as Pillow names them.
DECODABLE_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "WEBP")

# Box edges may overshoot the image by this many pixels: rounding in annotation tools, and
# 0-based coordinates written into 1-based VOC files, do that. Such boxes are clipped.
EDGE_TOLERANCE = 1.0

# A JPEG ends with an end-of-image marker; looking for it near the end of the file catches
# truncated files without decoding them.
_JPEG_END = b"\xff\xd9"
_JPEG_TAIL_BYTES = 1024


class LoadResult(tuple):
    """`(dataset, class_names)`, which also carries the loader's `report`.

    Unpacks like a pair: `ds, class_names = load_coco_json(...)`; keep the whole result to
    read `result.report`, the `LoadReport` of what was loaded and skipped.
    """

    def __new__(cls, dataset: Any, class_names: list[str], report: LoadReport):
        """Pair `dataset` with `class_names`, and attach `report`."""
        result = super().__new__(cls, (dataset, class_names))
        result.report = report
        return result

    @property
    def dataset(self):
        """The `tf.data.Dataset`."""
        return self[0]

    @property
    def class_names(self) -> list[str]:
        """Class names indexed by class id."""
        return self[1]


class ImageProblem(Exception):
    """An image file that cannot be used; `reason` (the `LoadReport` key) and what is wrong.

    Attributes:
        reason: the kind of problem, e.g. `"missing image"` or `"undecodable image"`.
        fix: how to fix it, for problems reported in `checks.data_message`'s style;
            `None` for those whose message is complete as it is.
    """

    def __init__(self, reason: str, detail: str, fix: str | None = None):
        super().__init__(detail)
        self.reason = reason
        self.fix = fix

    def message(self, source: str, entry: str, where: str | None = None) -> str:
        """The problem of `entry` (an image entry) in the annotation file `source`.

        Problems with a `fix` read `source, entry: problem. Fix: ...`; the others keep the
        loader's older `where: problem.`, `where` defaulting to `source: entry`.
        """
        if self.fix is None:
            return f"{where or f'{source}: {entry}'}: {self}."
        return checks.data_message(source, entry, str(self), self.fix)


# Follows a size mismatch where the annotation's width and height are the file's swapped.
SWAPPED_SIZE_HINT = (
    " The sizes are swapped: the image was probably annotated turned by its EXIF orientation "
    "tag, which TensorFlow does not apply. Fix: save the image with the rotation applied "
    "(PIL.ImageOps.exif_transpose), or use boxes drawn on the unrotated pixels."
)

# Fix for image data that TensorFlow cannot decode.
_FIX_IMAGE_DATA = (
    "re-export the image (open and save it with an image editor or Pillow) or remove its "
    "entry; on_error='skip' leaves such images out and reports them"
)


def inspect_image(path: str, decode: bool = True) -> tuple[int, int]:
    """Check up front that the pipeline will decode an image file; return its size.

    Reads the header with Pillow (and, for PNG, verifies every chunk's checksum; for a JPEG
    without its end-of-image marker, decodes it with Pillow to tell a truncated file from one
    with data appended), then, with `decode`, decodes the file with the very op the
    `tf.data` pipeline uses (`tf.io.decode_image`), so that data damaged in its middle (a
    PNG whose compressed data is broken under valid checksums, a JPEG with intact ends) is
    found here, named, and not in the middle of training.

    Args:
        path: the image file.
        decode: also decode the pixels (about the cost of one epoch's decoding); `False`
            reads only the header.

    Returns:
        `(width, height)` in pixels.

    Raises:
        ImageProblem: the file is missing, a directory, empty, unreadable, truncated,
            corrupt, in a format TensorFlow cannot decode, or decodes to another size than
            its header says.
    """
    from PIL import Image

    if os.path.isdir(path):
        raise ImageProblem(
            "unreadable image",
            f"{path} is a directory, not an image file",
            "point the entry at the image file itself",
        )
    if not os.path.isfile(path):
        raise ImageProblem("missing image", f"image file not found: {path}")
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise ImageProblem(
            "unreadable image", f"cannot read image {path}: {type(error).__name__}: {error}"
        ) from error
    if not data:
        raise ImageProblem(
            "unreadable image",
            f"the image file {path} is empty (0 bytes)",
            "copy the image again from its source, or remove its entry",
        )
    try:
        with Image.open(path) as image:
            image_format, size = image.format, image.size
            if image_format == "PNG":
                image.verify()
            elif image_format == "JPEG" and _JPEG_END not in data[-_JPEG_TAIL_BYTES:]:
                # Data after the end marker (e.g. a phone's motion-photo video) hides it; only
                # a full decode tells such a file from a truncated one.
                image.load()
    except Exception as error:  # Pillow raises many types for broken files.
        raise ImageProblem(
            "unreadable image", f"cannot read image {path}: {type(error).__name__}: {error}"
        ) from error
    if image_format not in DECODABLE_FORMATS:
        raise ImageProblem(
            "unreadable image",
            f"image {path} is in {image_format} format, which tf.io.decode_image cannot "
            f"decode; convert it to one of {', '.join(DECODABLE_FORMATS)}",
        )
    if decode:
        _decode(path, data, size)
    return size


def _decode(path: str, data: bytes, size: tuple[int, int]) -> None:
    """Decode `data` as the pipeline will; raise `ImageProblem` if that fails or disagrees."""
    import tensorflow as tf

    try:
        image = tf.io.decode_image(data, channels=3, expand_animations=False)
    except tf.errors.OpError as error:
        raise ImageProblem(
            "undecodable image",
            f"the image data in {path} cannot be decoded ({_tf_reason(error)})",
            _FIX_IMAGE_DATA,
        ) from None
    height, width = image.shape[:2]
    if (width, height) != tuple(size):
        raise ImageProblem(
            "undecodable image",
            f"{path} decodes to {width}x{height} pixels (width x height) but its header says "
            f"{size[0]}x{size[1]}",
            _FIX_IMAGE_DATA,
        )


def _tf_reason(error: Exception) -> str:
    """TensorFlow's message without the op's `{{function_node ...}}` and `[Op:...]` noise."""
    text = getattr(error, "message", None) or str(error)
    text = re.sub(r"\{\{[^}]*\}\}\s*", "", text)
    text = re.sub(r"\s*\[Op:[^\]]*\].*$", "", text, flags=re.S)
    return text.strip().rstrip(".") or type(error).__name__


def inspect_images(paths: Sequence[str]) -> list[tuple[int, int] | ImageProblem]:
    """`inspect_image` on many files in a thread pool: each file's size or its problem.

    Decoding releases Python's lock, so the files are checked on all CPU cores; results
    come back in the order of `paths`.
    """
    if not paths:
        return []
    import tensorflow as tf  # noqa: F401  (imported once here, not in every thread)

    def one(path: str) -> tuple[int, int] | ImageProblem:
        try:
            return inspect_image(path)
        except ImageProblem as problem:
            return problem

    workers = min(len(paths), _WORKERS)
    if workers <= 1:
        return [one(path) for path in paths]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, paths))


_WORKERS = min(16, os.cpu_count() or 1)


def box_problem(x1: float, y1: float, x2: float, y2: float, width: int, height: int) -> str | None:
    """Why the corner box `(x1, y1, x2, y2)` cannot be used in a `width` x `height` image.

    Returns:
        `None` for a usable box, else what is wrong ("has non-positive width", ...), to follow
        the box in an error message.
    """
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        return "has a coordinate that is not a finite number"
    if x2 <= x1:
        return "has non-positive width"
    if y2 <= y1:
        return "has non-positive height"
    tolerance = EDGE_TOLERANCE
    if x1 < -tolerance or y1 < -tolerance or x2 > width + tolerance or y2 > height + tolerance:
        return (
            f"extends outside the image (width {width}, height {height}; corners "
            f"x {_number(x1)}..{_number(x2)}, y {_number(y1)}..{_number(y2)})"
        )
    return None


def _number(value: float) -> str:
    return f"{value:g}"


def format_numbers(values: Sequence[Any]) -> str:
    """`[10, 20, -5, 8]`: numbers as the user wrote them, without numpy or float noise."""
    return "[" + ", ".join(_number(v) if isinstance(v, float) else str(v) for v in values) + "]"


class ImageRecords:
    """Validated images and their boxes, collected one image at a time."""

    def __init__(self, extra_keys: Sequence[str] = ()):
        self.paths: list[str] = []
        self.sizes: list[tuple[int, int]] = []
        self.boxes: list[np.ndarray] = []
        self.classes: list[np.ndarray] = []
        self.extras: dict[str, list[np.ndarray]] = {key: [] for key in extra_keys}

    def add(
        self,
        path: str,
        size: tuple[int, int],
        boxes: Sequence[Sequence[float]],
        classes: Sequence[int],
        **extras: Sequence[float],
    ) -> None:
        """Add an image with its `xyxy` pixel boxes (clipped here), class ids and extras."""
        width, height = size
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        boxes = np.clip(boxes, 0, [width, height, width, height]).astype(np.float32)
        self.paths.append(path)
        self.sizes.append(size)
        self.boxes.append(boxes)
        self.classes.append(np.asarray(classes, np.float32).reshape(-1))
        for key in self.extras:
            self.extras[key].append(np.asarray(extras[key], np.float32).reshape(-1))

    @property
    def num_boxes(self) -> int:
        """Boxes over all images."""
        return sum(len(b) for b in self.boxes)

    def to_dataset(self, bounding_box_format: str):
        """An unbatched `tf.data.Dataset` that decodes each image lazily.

        Elements: `{"images": [H, W, 3] float32 in [0, 255], "bounding_boxes": {"boxes":
        [N, 4] float32 in bounding_box_format, "classes": [N] float32, and each extra
        key: [N] float32}}`.
        """
        import tensorflow as tf

        counts = np.array([len(b) for b in self.boxes], np.int64)
        ends = np.cumsum(counts)
        flat = {
            "boxes": _concat(self.boxes, (0, 4)),
            "classes": _concat(self.classes, (0,)),
            **{key: _concat(values, (0,)) for key, values in self.extras.items()},
        }
        flat = {key: tf.constant(value) for key, value in flat.items()}
        slices = {
            "path": tf.constant(self.paths, tf.string),
            # [height, width], as checked when loading.
            "size": tf.constant(np.array(self.sizes, np.int32).reshape(-1, 2)[:, ::-1]),
            "start": tf.constant(ends - counts),
            "end": tf.constant(ends),
        }

        def load(entry):
            image = tf.io.decode_image(
                tf.io.read_file(entry["path"]), channels=3, expand_animations=False
            )
            # Boxes were checked against the size Pillow read; a decoder that disagrees
            # would misplace every box, so stop rather than train on that.
            same_size = tf.reduce_all(tf.shape(image)[:2] == entry["size"])
            message = "image decoded to a different [height, width] than its header says:"
            check = tf.debugging.Assert(
                same_size, [message, entry["path"], tf.shape(image)[:2], entry["size"]]
            )
            with tf.control_dependencies([check]):
                image = tf.cast(image, tf.float32)
            boxes = {key: value[entry["start"] : entry["end"]] for key, value in flat.items()}
            boxes["boxes"] = convert_boxes(boxes["boxes"], "xyxy", bounding_box_format, image)
            return {"images": image, "bounding_boxes": boxes}

        dataset = tf.data.Dataset.from_tensor_slices(slices)
        return dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)


def _concat(arrays: list[np.ndarray], empty_shape: tuple[int, ...]) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.zeros(empty_shape, np.float32)


def convert_boxes(boxes: Any, source: str, target: str, image: Any) -> Any:
    """Convert `[N, 4]` boxes of one image inside `tf.data`, measuring relative ones on `image`."""
    import tensorflow as tf

    if source == target:
        return boxes
    if is_relative(source) or is_relative(target):
        return convert_format(boxes, source, target, image_shape=tf.shape(image))
    return convert_format(boxes, source, target)
