"""Your own detection data as Pascal VOC XML files (as LabelImg, CVAT and others write)."""

from __future__ import annotations

import dataclasses
import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from nbdetect.bounding_box.formats import check_format
from nbdetect.datasets.common import (
    SWAPPED_SIZE_HINT,
    ImageProblem,
    ImageRecords,
    LoadResult,
    box_problem,
    inspect_images,
)
from nbdetect.datasets.errors import ProblemLog
from nbdetect.utils import checks

_CALLER = "load_voc_xml"
_CORNERS = ("xmin", "ymin", "xmax", "ymax")


@dataclasses.dataclass
class _Annotated:
    """One XML file's image and its valid objects (class names, not yet ids)."""

    path: str
    size: tuple[int, int]
    boxes: list[tuple[float, float, float, float]]
    names: list[str]


def load_voc_xml(
    directory: str | os.PathLike,
    bounding_box_format: str,
    *,
    class_names: Sequence[str] | None = None,
    on_error: str = "raise",
) -> LoadResult:
    """Load images and boxes from Pascal VOC XML annotation files.

    Two layouts are understood:

    - VOC's own: `directory/Annotations/*.xml`, with the images in `directory/JPEGImages/`.
    - Flat (LabelImg's default): `directory/*.xml` next to the images.

    Each XML file describes one image: `<filename>` (in the images folder), optionally
    `<size><width>`/`<height>` (checked against the file), and one `<object>` per box with
    `<name>` and `<bndbox>` `<xmin>`, `<ymin>`, `<xmax>`, `<ymax>`. VOC coordinates are
    1-based and inclusive (a box over the first 10 pixels is xmin=1, xmax=10); they become
    pixel edges `[xmin - 1, ymin - 1, xmax, ymax]` (as Detectron2 reads them; tfds's
    `voc` subtracts 1 from the far edges too, one pixel less). Files written 0-based overshoot
    by at most a pixel and are clipped. Images without an XML file are not loaded; an image
    with no objects needs an XML file without `<object>`s. All objects are loaded, those
    marked `<difficult>` too.

    Every file is parsed and checked, and every image read and decoded once (on all CPU
    cores, see `inspect_image`), when you call this, so a missing, truncated or corrupt image
    fails here, named, and not in the middle of training; this costs about one epoch's
    decoding. The images are then decoded again, lazily, in the `tf.data` pipeline.
    Grayscale, RGBA, palette and 16-bit images load as 8-bit RGB.

    Args:
        directory: the dataset folder, in one of the two layouts.
        bounding_box_format: the format of the boxes yielded, one of
            `nbdetect.bounding_box.FORMATS` (required).
        class_names: the classes, in class-id order; objects of other classes are errors.
            `None`: every name found, sorted alphabetically.
        on_error: `"raise"`: a `ValueError` at the first bad file or object; `"skip"`:
            leave bad images and objects out, warn once with the counts per reason, and
            record each in the result's `report`.

    Returns:
        A `LoadResult`, which unpacks as `(dataset, class_names)`: an unbatched
        `tf.data.Dataset` of `{"images": [H, W, 3] float32 in [0, 255], "bounding_boxes":
        {"boxes": [N, 4] float32, "classes": [N] float32}}`, one element per XML file in
        file-name order, and the class names indexed by class id. Its `.report` is a
        `LoadReport` of what was loaded and skipped.

    Raises:
        ValueError: no XML files, invalid `class_names`, and, with `on_error="raise"`, any
            bad entry (an `AnnotationError`): malformed XML, a missing, unreadable,
            undecodable or differently sized image, an image file named by two XML files,
            an object without a name or box, an unknown class, or a box with non-positive
            size, a coordinate that is not a finite number, or outside its image.
        FileNotFoundError: `directory` does not exist.

    Example:
        >>> from nbdetect.datasets.voc_xml import load_voc_xml
        >>> import os, tempfile
        >>> from PIL import Image
        >>> folder = tempfile.mkdtemp()  # the flat layout: XML files next to the images
        >>> Image.new("RGB", (64, 48)).save(os.path.join(folder, "a.jpg"))
        >>> xml = (
        ...     "<annotation><filename>a.jpg</filename><object><name>dog</name><bndbox>"
        ...     "<xmin>5</xmin><ymin>7</ymin><xmax>24</xmax><ymax>16</ymax>"
        ...     "</bndbox></object></annotation>"
        ... )
        >>> with open(os.path.join(folder, "a.xml"), "w") as file:
        ...     _ = file.write(xml)
        >>> train_ds, class_names = load_voc_xml(folder, "xywh")
        >>> class_names
        ['dog']
        >>> next(iter(train_ds))["bounding_boxes"]["boxes"].numpy()  # 1-based, inclusive
        array([[ 4.,  6., 20., 10.]], dtype=float32)
        >>> train_ds = train_ds.shuffle(64).ragged_batch(4)
    """
    bounding_box_format = check_format(bounding_box_format, caller=_CALLER)
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{_CALLER}() got directory={directory!r}, not a directory.")
    known = _check_class_names(class_names)
    xml_dir, image_dir = _layout(directory)
    xml_files = sorted(f for f in os.listdir(xml_dir) if f.lower().endswith(".xml"))
    if not xml_files:
        raise ValueError(
            f"{_CALLER}(): no .xml files in {xml_dir}. Expected VOC's layout "
            "(Annotations/*.xml and JPEGImages/) or XML files next to the images."
        )
    log = ProblemLog(_CALLER, directory, on_error)
    parsed = []
    first_file: dict[str, str] = {}  # normalised image path -> the XML file naming it first
    for xml_file in xml_files:
        item = _parse(os.path.join(xml_dir, xml_file), image_dir, log, first_file)
        if item is not None:
            parsed.append(item)
    inspected = inspect_images([item.path for item in parsed])
    annotated = []
    for item, size in zip(parsed, inspected):
        item = _read_objects(item, size, known, log)
        if item is not None:
            annotated.append(item)

    names = list(known) if known is not None else sorted({n for a in annotated for n in a.names})
    class_ids = {name: index for index, name in enumerate(names)}
    records = ImageRecords()
    for item in annotated:
        records.add(item.path, item.size, item.boxes, [class_ids[n] for n in item.names])
    return LoadResult(
        records.to_dataset(bounding_box_format),
        names,
        log.finish(len(records.paths), records.num_boxes),
    )


def _check_class_names(class_names: Sequence[str] | None) -> tuple[str, ...] | None:
    if class_names is None:
        return None
    names = [] if isinstance(class_names, str) else list(class_names)
    if not names or not all(isinstance(n, str) for n in names) or len(set(names)) < len(names):
        raise ValueError(
            f"{_CALLER}() got class_names={class_names!r}; expected a non-empty list of "
            "unique class names (strings) in class-id order, or None to collect them from "
            "the files."
        )
    return tuple(names)


def _layout(directory: str) -> tuple[str, str]:
    """The folders holding the XML files and the images."""
    annotations = os.path.join(directory, "Annotations")
    if os.path.isdir(annotations):
        return annotations, os.path.join(directory, "JPEGImages")
    return directory, directory


@dataclasses.dataclass
class _Parsed:
    """One well-formed XML file, before its image is read."""

    xml_path: str
    filename: str
    path: str
    declared: tuple[int, int] | None
    objects: list[ET.Element]


def _parse(
    xml_path: str, image_dir: str, log: ProblemLog, first_file: dict[str, str]
) -> _Parsed | None:
    """Parse one XML file and check its image entry; `None` when the image is skipped."""
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as error:
        log.problem("malformed XML", f"{xml_path}: not well-formed XML: {error}.", "image")
        return None
    objects = root.findall("object")
    filename = (root.findtext("filename") or "").strip()
    if root.tag != "annotation" or not filename:
        log.problem(
            "malformed XML",
            f"{xml_path}: expected an <annotation> element with a <filename>, got "
            f"<{root.tag}> {'with' if filename else 'without'} a filename.",
            "image",
        )
        log.count_dropped_boxes("box of a skipped image", len(objects))
        return None
    where = f"{xml_path} ({filename!r})"
    declared = _declared_size(root)
    if declared == "invalid":
        log.problem(
            "malformed XML",
            f"{where}: <size> must hold positive integers <width> and <height>.",
            "image",
        )
        log.count_dropped_boxes("box of a skipped image", len(objects))
        return None
    path = os.path.join(image_dir, filename)
    key = os.path.normcase(os.path.normpath(path))
    if key in first_file:
        log.problem(
            "duplicate image file",
            checks.data_message(
                xml_path,
                f"image {filename!r}",
                f"{first_file[key]} annotates the same image file {path}, so its boxes "
                "would be split over two examples, each missing the other's",
                "merge the two files' <object>s into one XML file and delete the other",
            ),
            "image",
        )
        log.count_dropped_boxes("box of a skipped image", len(objects))
        return None
    first_file[key] = xml_path
    return _Parsed(xml_path, filename, path, declared, objects)


def _read_objects(
    parsed: _Parsed,
    size: tuple[int, int] | ImageProblem,
    known: tuple[str, ...] | None,
    log: ProblemLog,
) -> _Annotated | None:
    """Check one file's image (`size`, as `inspect_image` found it) and its objects."""
    xml_path, filename, path = parsed.xml_path, parsed.filename, parsed.path
    declared, objects = parsed.declared, parsed.objects
    where = f"{xml_path} ({filename!r})"
    if isinstance(size, ImageProblem):
        log.problem(size.reason, size.message(xml_path, f"image {filename!r}", where), "image")
        log.count_dropped_boxes("box of a skipped image", len(objects))
        return None
    if declared is not None and declared != size:
        swapped = SWAPPED_SIZE_HINT if declared == size[::-1] else ""
        log.problem(
            "image size mismatch",
            f"{where}: the file {path} is {size[0]}x{size[1]} (width x height) but <size> "
            f"says {declared[0]}x{declared[1]}; boxes would land in the wrong place.{swapped}",
            "image",
        )
        log.count_dropped_boxes("box of a skipped image", len(objects))
        return None

    item = _Annotated(path, size, [], [])
    for index, element in enumerate(objects):
        name = (element.findtext("name") or "").strip()
        what = f"{where}: object {index + 1} ({name!r})" if name else f"{where}: object {index + 1}"
        if not name:
            log.problem("malformed object", f"{what} has no <name>.", "box")
            continue
        if known is not None and name not in known:
            log.problem(
                "unknown class",
                f"{what}: class {name!r} is not in class_names {list(known)}.",
                "box",
            )
            continue
        corners = _corners(element)
        if isinstance(corners, str):
            log.problem("malformed object", f"{what}: {corners}.", "box")
            continue
        xmin, ymin, xmax, ymax = corners
        problem = box_problem(xmin - 1, ymin - 1, xmax, ymax, *size)
        if problem:
            written = ", ".join(f"{k}={v:g}" for k, v in zip(_CORNERS, corners))
            log.problem(
                "invalid box",
                f"{what}: bndbox ({written}; 1-based, inclusive) {problem}.",
                "box",
            )
            continue
        item.boxes.append((xmin - 1, ymin - 1, xmax, ymax))
        item.names.append(name)
    return item


def _declared_size(root: ET.Element) -> tuple[int, int] | str | None:
    """`(width, height)` from `<size>`, `None` without one, `"invalid"` for bad values."""
    size = root.find("size")
    if size is None:
        return None
    try:
        values = [float(size.findtext(k) or "") for k in ("width", "height")]
    except ValueError:
        return "invalid"
    if not all(math.isfinite(v) and v == round(v) for v in values):
        return "invalid"
    width, height = (int(v) for v in values)
    # Some tools write <width>0</width> when they did not know the size: no information.
    if width == 0 and height == 0:
        return None
    return (width, height) if width > 0 and height > 0 else "invalid"


def _corners(element: ET.Element) -> tuple[float, float, float, float] | str:
    """The `<bndbox>` numbers, or what is wrong with them."""
    box = element.find("bndbox")
    if box is None:
        return "has no <bndbox>"
    values = []
    for key in _CORNERS:
        text = (box.findtext(key) or "").strip()
        try:
            values.append(float(text))
        except ValueError:
            return f"<bndbox> <{key}> must be a number, got {text!r}"
    return tuple(values)
