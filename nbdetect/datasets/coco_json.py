"""Your own detection data in COCO's JSON format."""

from __future__ import annotations

import json
import os
from typing import Any

from nbdetect.bounding_box.formats import check_format
from nbdetect.datasets.common import (
    SWAPPED_SIZE_HINT,
    ImageProblem,
    ImageRecords,
    LoadResult,
    box_problem,
    format_numbers,
    inspect_images,
)
from nbdetect.datasets.errors import ProblemLog
from nbdetect.utils import checks

_CALLER = "load_coco_json"


def load_coco_json(
    annotation_file: str | os.PathLike,
    image_dir: str | os.PathLike,
    bounding_box_format: str,
    *,
    on_error: str = "raise",
) -> LoadResult:
    """Load images and boxes described by a COCO-format annotation file.

    The file is read and every entry checked when you call this, and every image file is
    read and decoded once, on all CPU cores (see `inspect_image`), so bad data (a missing,
    truncated or corrupt image, one in a format TensorFlow cannot decode) fails here with a
    message naming the file and the entry, not in the middle of training. This costs about
    one epoch's decoding; the images are then decoded again, lazily, in the `tf.data`
    pipeline. Grayscale, RGBA, palette and 16-bit images load as 8-bit RGB.

    Category ids, whatever they are (COCO's run 1..90 with gaps), become class ids
    0..K-1 in increasing id order, and `class_names` holds the categories' names in that
    order. Images with no annotations are kept, with no boxes. Boxes may overshoot the image
    by up to a pixel (rounding in annotation tools) and are clipped to it.

    Args:
        annotation_file: the JSON file, with `"images"` (`id`, `file_name`, optionally
            `width` and `height`), `"categories"` (`id`, `name`) and `"annotations"`
            (`id`, `image_id`, `category_id`, `bbox` as `[x, y, width, height]` in pixels,
            optionally `iscrowd`).
        image_dir: the directory that `file_name`s are relative to.
        bounding_box_format: the format of the boxes yielded, one of
            `nbdetect.bounding_box.FORMATS` (required).
        on_error: `"raise"`: a `ValueError` at the first bad entry; `"skip"`: leave bad
            images and annotations out, warn once with the counts per reason, and record
            each in the result's `report`.

    Returns:
        A `LoadResult`, which unpacks as `(dataset, class_names)`: an unbatched
        `tf.data.Dataset` of `{"images": [H, W, 3] float32 in [0, 255], "bounding_boxes":
        {"boxes": [N, 4] float32, "classes": [N] float32, "iscrowd": [N] float32}}` in the
        file's image order, and the category names indexed by class id. Its `.report` is a
        `LoadReport`: images and boxes loaded, and everything skipped.

    Raises:
        ValueError: a file that is not JSON or not COCO-shaped, bad categories, and, with
            `on_error="raise"`, any bad entry (an `AnnotationError`): a missing,
            unreadable, undecodable or differently sized image, an image id or image file
            used twice, an annotation id used twice, an annotation pointing at an unknown
            image or category, a malformed entry, or a box with non-positive size, a
            coordinate that is not a finite number, or outside its image.
        FileNotFoundError: `annotation_file` or `image_dir` does not exist.

    Example:
        >>> from nbdetect.datasets.coco_json import load_coco_json
        >>> import json, os, tempfile
        >>> from PIL import Image
        >>> folder = tempfile.mkdtemp()
        >>> Image.new("RGB", (64, 48)).save(os.path.join(folder, "a.png"))
        >>> coco = {
        ...     "images": [
        ...         {"id": 1, "file_name": "a.png", "width": 64, "height": 48},
        ...         {"id": 2, "file_name": "lost.png"},
        ...     ],
        ...     "categories": [{"id": 1, "name": "cat"}],
        ...     "annotations": [
        ...         {"id": 7, "image_id": 1, "category_id": 1, "bbox": [4, 6, 20, 10]}
        ...     ],
        ... }
        >>> with open(os.path.join(folder, "annotations.json"), "w") as file:
        ...     json.dump(coco, file)
        >>> annotation_file = os.path.join(folder, "annotations.json")
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:  # lost.png is missing
        ...     warnings.simplefilter("always")
        ...     result = load_coco_json(annotation_file, folder, "xywh", on_error="skip")
        >>> print(caught[0].message)  # doctest: +ELLIPSIS
        load_coco_json() skipped 1 image and 0 boxes of ... (missing image: 1); loaded 1 image...
        >>> train_ds, class_names = result
        >>> class_names, result.report.skipped
        (['cat'], {'missing image': 1})
        >>> example = next(iter(train_ds))
        >>> example["images"].shape, example["bounding_boxes"]["boxes"].numpy()
        (TensorShape([48, 64, 3]), array([[ 4.,  6., 20., 10.]], dtype=float32))
        >>> train_ds = train_ds.shuffle(64).ragged_batch(4)
    """
    bounding_box_format = check_format(bounding_box_format, caller=_CALLER)
    source = os.fspath(annotation_file)
    image_dir = os.fspath(image_dir)
    log = ProblemLog(_CALLER, source, on_error)
    if not os.path.isdir(image_dir):
        raise FileNotFoundError(f"{_CALLER}() got image_dir={image_dir!r}, not a directory.")
    data = _read_json(source)
    category_ids, class_names = _categories(data, source)
    images = _images(data, source, image_dir, log)
    per_image = _annotations(data, source, images, category_ids, log)

    records = ImageRecords(extra_keys=("iscrowd",))
    for image_id, image in images.items():
        boxes, classes, crowd = per_image[image_id]
        records.add(image["path"], image["size"], boxes, classes, iscrowd=crowd)
    return LoadResult(
        records.to_dataset(bounding_box_format),
        class_names,
        log.finish(len(records.paths), records.num_boxes),
    )


def _read_json(source: str) -> dict:
    try:
        with open(source, encoding="utf-8") as file:
            data = json.load(file)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{source}: not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise ValueError(
            f"{source}: expected a JSON object with 'images', 'annotations' and "
            f"'categories', got a {type(data).__name__}."
        )
    for key in ("images", "categories"):
        if not isinstance(data.get(key), list):
            raise ValueError(
                f"{source}: expected a list under {key!r}, got "
                f"{_describe(data.get(key))}. A COCO file has 'images', 'annotations' and "
                "'categories' lists."
            )
    if not isinstance(data.get("annotations", []), list):
        raise ValueError(
            f"{source}: expected a list under 'annotations', got {_describe(data['annotations'])}."
        )
    return data


def _describe(value: Any) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {_short(value)}"


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _categories(data: dict, source: str) -> tuple[dict[int, int], list[str]]:
    """Category id -> class id (0..K-1 in id order), and the names in class-id order."""
    names = {}
    for index, category in enumerate(data["categories"]):
        if not (
            isinstance(category, dict)
            and _is_int(category.get("id"))
            and isinstance(category.get("name"), str)
        ):
            raise ValueError(
                f"{source}: categories[{index}] must be an object with an integer 'id' and "
                f"a string 'name', got {_short(category)}."
            )
        if category["id"] in names:
            raise ValueError(
                f"{source}: categories[{index}] repeats category id {category['id']} "
                f"({names[category['id']]!r} and {category['name']!r}); ids must be unique."
            )
        names[category["id"]] = category["name"]
    if not names:
        raise ValueError(f"{source}: 'categories' is empty; list at least one category.")
    ids = sorted(names)
    return {category_id: index for index, category_id in enumerate(ids)}, [names[i] for i in ids]


def _images(data: dict, source: str, image_dir: str, log: ProblemLog) -> dict[int, dict]:
    """The usable images by id; each with its path and `(width, height)`.

    The entries are checked first, then every image file is read and decoded (in a thread
    pool, see `inspect_images`), then the sizes the file declares are compared.
    """
    candidates = []
    first_entry: dict[int, str] = {}  # image id -> file name of its first entry
    first_file: dict[str, int] = {}  # normalised path -> the image id using it first
    for index, entry in enumerate(data["images"]):
        if not isinstance(entry, dict) or not _is_int(entry.get("id")):
            log.problem(
                "malformed image entry",
                f"{source}: images[{index}] must be an object with an integer 'id', got "
                f"{_short(entry)}.",
                "image",
            )
            continue
        image_id = entry["id"]
        where = f"{source}: image id {image_id}"
        file_name = entry.get("file_name")
        if not isinstance(file_name, str) or not file_name:
            log.problem(
                "malformed image entry",
                f"{where} (images[{index}]) has no string 'file_name', got {_short(file_name)}.",
                "image",
            )
            continue
        entry_name = f"image id {image_id} ({file_name!r})"
        where = f"{source}: {entry_name}"
        if image_id in first_entry:
            log.problem(
                "duplicate image id",
                f"{where}: image id {image_id} is used again in images[{index}] (first by "
                f"{first_entry[image_id]!r}); image ids must be unique.",
                "image",
            )
            continue
        first_entry[image_id] = file_name
        declared = (entry.get("width"), entry.get("height"))
        if any(v is not None and not (_is_number(v) and v > 0) for v in declared):
            log.problem(
                "malformed image entry",
                f"{where}: width and height must be positive numbers, got width "
                f"{_short(declared[0])}, height {_short(declared[1])}.",
                "image",
            )
            continue
        path = os.path.join(image_dir, file_name)
        key = os.path.normcase(os.path.normpath(path))
        if key in first_file:
            log.problem(
                "duplicate image file",
                checks.data_message(
                    source,
                    entry_name,
                    f"the file {path} is also the image of image id {first_file[key]}, so "
                    "its boxes would be split over two examples, each missing the other's",
                    f"give the file one entry and point the annotations of image id "
                    f"{image_id} at image id {first_file[key]}",
                ),
                "image",
            )
            continue
        first_file[key] = image_id
        candidates.append((image_id, entry_name, file_name, path, declared))

    images: dict[int, dict] = {}
    inspected = inspect_images([candidate[3] for candidate in candidates])
    for (image_id, entry_name, file_name, path, declared), size in zip(candidates, inspected):
        if isinstance(size, ImageProblem):
            log.problem(size.reason, size.message(source, entry_name), "image")
            continue
        mismatch = _size_mismatch(path, size, declared)
        if mismatch:
            log.problem("image size mismatch", f"{source}: {entry_name}: {mismatch}", "image")
            continue
        images[image_id] = {"file_name": file_name, "path": path, "size": size}
    return images


def _size_mismatch(path: str, size: tuple[int, int], declared: tuple[Any, Any]) -> str | None:
    """Why the size the annotation file declares (either may be missing) is not the file's."""
    if all(v is None or v == real for v, real in zip(declared, size)):
        return None
    if None in declared:
        says = ", ".join(
            f"{name} {value}" for name, value in zip(("width", "height"), declared) if value
        )
    else:
        says = f"{declared[0]}x{declared[1]}"
    text = (
        f"the file {path} is {size[0]}x{size[1]} (width x height) but the annotation file "
        f"says {says}; boxes would land in the wrong place."
    )
    if tuple(declared) == size[::-1]:
        text += SWAPPED_SIZE_HINT
    return text


def _annotations(
    data: dict,
    source: str,
    images: dict[int, dict],
    category_ids: dict[int, int],
    log: ProblemLog,
) -> dict[int, tuple[list, list, list]]:
    """Per usable image id: its `xyxy` boxes, class ids and iscrowd flags."""
    listed_ids = {
        entry.get("id")
        for entry in data["images"]
        if isinstance(entry, dict) and _is_int(entry.get("id"))
    }
    per_image: dict[int, tuple[list, list, list]] = {i: ([], [], []) for i in images}
    first_annotation: dict[int | str, int] = {}
    for index, entry in enumerate(data.get("annotations", [])):
        if not isinstance(entry, dict):
            log.problem(
                "malformed annotation",
                f"{source}: annotations[{index}] must be an object, got {_short(entry)}.",
                "box",
            )
            continue
        name = f"annotation id {entry['id']}" if "id" in entry else f"annotations[{index}]"
        annotation_id = entry.get("id")
        if _is_int(annotation_id) or isinstance(annotation_id, str):
            if annotation_id in first_annotation:
                log.problem(
                    "duplicate annotation id",
                    checks.data_message(
                        source,
                        f"annotations[{index}]",
                        f"annotation id {annotation_id!r} is used again (first by "
                        f"annotations[{first_annotation[annotation_id]}])",
                        "give every annotation its own id, and delete copies of the same box",
                    ),
                    "box",
                )
                continue
            first_annotation[annotation_id] = index
        image_id = entry.get("image_id")
        if not _is_int(image_id) or image_id not in images:
            if _is_int(image_id) and image_id in listed_ids:
                # Its image was skipped, and reported, already.
                log.count_dropped_boxes("box of a skipped image", 1)
                continue
            log.problem(
                "unknown image",
                f"{source}: {name}: image_id {_short(image_id)} is not the id of any entry "
                "in 'images'.",
                "box",
            )
            continue
        where = f"{source}: {name} (image id {image_id}, {images[image_id]['file_name']!r})"
        category_id = entry.get("category_id")
        if not _is_int(category_id) or category_id not in category_ids:
            known = ", ".join(str(i) for i in sorted(category_ids))
            log.problem(
                "unknown category",
                f"{where}: category_id {_short(category_id)} is not one of the categories' "
                f"ids ({known}).",
                "box",
            )
            continue
        bbox = entry.get("bbox")
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(map(_is_number, bbox))):
            log.problem(
                "malformed annotation",
                f"{where}: bbox must be a list of 4 numbers [x, y, width, height], got "
                f"{_short(bbox)}.",
                "box",
            )
            continue
        iscrowd = entry.get("iscrowd", 0)
        if iscrowd not in (0, 1) or isinstance(iscrowd, float):
            log.problem(
                "malformed annotation",
                f"{where}: iscrowd must be 0 or 1, got {_short(iscrowd)}.",
                "box",
            )
            continue
        x, y, w, h = (float(v) for v in bbox)
        width, height = images[image_id]["size"]
        problem = box_problem(x, y, x + w, y + h, width, height)
        if problem:
            log.problem("invalid box", f"{where}: bbox {format_numbers(bbox)} {problem}.", "box")
            continue
        boxes, classes, crowd = per_image[image_id]
        boxes.append((x, y, x + w, y + h))
        classes.append(category_ids[category_id])
        crowd.append(iscrowd)
    return per_image
