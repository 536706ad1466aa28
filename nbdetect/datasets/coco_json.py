"""Your own detection data in COCO's JSON format."""

from __future__ import annotations

import json
import os
from typing import Any

from nbdetect.bounding_box.formats import check_format
from nbdetect.datasets.common import (
    ImageProblem,
    ImageRecords,
    LoadResult,
    box_problem,
    format_numbers,
    inspect_image,
)
from nbdetect.datasets.errors import ProblemLog

_CALLER = "load_coco_json"


def load_coco_json(
    annotation_file: str | os.PathLike,
    image_dir: str | os.PathLike,
    bounding_box_format: str,
    *,
    on_error: str = "raise",
) -> LoadResult:
    """Load images and boxes described by a COCO-format annotation file.

    The file is read and every entry checked when you call this, and every image file's
    header is read (see `inspect_image`), so bad data fails here with a message naming the
    file and the entry, not in the middle of training. Images are decoded lazily, in the
    `tf.data` pipeline.

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
            unreadable or differently sized image, an annotation pointing at an unknown
            image or category, a malformed entry, or a box with non-positive size or
            outside its image.
        FileNotFoundError: `annotation_file` or `image_dir` does not exist.

    Example:
        >>> result = load_coco_json("annotations.json", "images/", "xywh", on_error="skip")
        >>> train_ds, class_names = result
        >>> print(result.report)
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
    """The usable images by id; each with its path and `(width, height)`."""
    images: dict[int, dict] = {}
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
        where = f"{where} ({file_name!r})"
        if image_id in images:
            log.problem(
                "duplicate image id",
                f"{where}: image id {image_id} is used again in images[{index}] (first by "
                f"{images[image_id]['file_name']!r}); image ids must be unique.",
                "image",
            )
            continue
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
        try:
            size = inspect_image(path)
        except ImageProblem as problem:
            log.problem(problem.reason, f"{where}: {problem}.", "image")
            continue
        if all(v is not None for v in declared) and tuple(declared) != size:
            log.problem(
                "image size mismatch",
                f"{where}: the file {path} is {size[0]}x{size[1]} (width x height) but the "
                f"annotation file says {declared[0]}x{declared[1]}; boxes would land in the "
                "wrong place.",
                "image",
            )
            continue
        images[image_id] = {"file_name": file_name, "path": path, "size": size}
    return images


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
    for index, entry in enumerate(data.get("annotations", [])):
        if not isinstance(entry, dict):
            log.problem(
                "malformed annotation",
                f"{source}: annotations[{index}] must be an object, got {_short(entry)}.",
                "box",
            )
            continue
        name = f"annotation id {entry['id']}" if "id" in entry else f"annotations[{index}]"
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
