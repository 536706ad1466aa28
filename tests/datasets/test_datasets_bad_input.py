"""Bad input at the loaders' door, one table row per case: what is written, the error, and skip.

Each row damages a small, valid dataset written here (3 images, 4 boxes), then:

- `on_error="raise"`: the load raises the row's error class with a message holding its
  fragment (the file and the entry are named);
- `on_error="skip"`: the load warns once, the report counts the row's reason, and iterating
  the returned `tf.data.Dataset` yields exactly the images and boxes that were not skipped.

Rows whose input is fine (grayscale, RGBA, 16-bit, palette images...) check instead that the
pipeline yields 3-channel images with the right pixels and the boxes unchanged.
"""

import io
import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from nbdetect.datasets import AnnotationError, load_coco_json, load_voc_xml
from nbdetect.datasets.common import ImageProblem, inspect_image

# file name -> (width, height, format)
FILES = {"a.png": (64, 48, "PNG"), "b.jpg": (80, 60, "JPEG"), "c.png": (40, 30, "PNG")}
CATEGORIES = [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]
# COCO annotations: id -> (file, category id, [x, y, width, height]).
BOXES = {
    10: ("a.png", 1, [4, 6, 20, 10]),
    11: ("b.jpg", 2, [10, 20, 15, 8]),
    12: ("c.png", 1, [1, 2, 5, 5]),
    13: ("b.jpg", 1, [30, 10, 20, 20]),
}
IMAGE_IDS = {"a.png": 1, "b.jpg": 2, "c.png": 3}


def _pixels(name):
    width, height, _ = FILES[name]
    seed = list(FILES).index(name)
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)


def _write_images(image_dir):
    image_dir.mkdir(parents=True, exist_ok=True)
    for name, (_, _, fmt) in FILES.items():
        Image.fromarray(_pixels(name)).save(image_dir / name, format=fmt)


def _coco():
    return {
        "images": [
            {"id": IMAGE_IDS[n], "file_name": n, "width": w, "height": h}
            for n, (w, h, _) in FILES.items()
        ],
        "annotations": [
            {"id": i, "image_id": IMAGE_IDS[n], "category_id": c, "bbox": list(b)}
            for i, (n, c, b) in BOXES.items()
        ],
        "categories": [dict(c) for c in CATEGORIES],
    }


def _voc_xml(name, width, height, boxes, filename=None):
    objects = "".join(
        f"<object><name>{cls}</name><bndbox><xmin>{x + 1}</xmin><ymin>{y + 1}</ymin>"
        f"<xmax>{x + w}</xmax><ymax>{y + h}</ymax></bndbox></object>"
        for cls, (x, y, w, h) in boxes
    )
    size = f"<size><width>{width}</width><height>{height}</height><depth>3</depth></size>"
    return f"<annotation><filename>{filename or name}</filename>{size}{objects}</annotation>"


def _voc_boxes(name):
    names = {c["id"]: c["name"] for c in CATEGORIES}
    return [(names[c], b) for _, (n, c, b) in sorted(BOXES.items()) if n == name]


# ---------------------------------------------------------------- damage to image files


def _png_chunks(data):
    position, chunks = 8, []
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        chunks.append(
            (data[position + 4 : position + 8], data[position + 8 : position + 8 + length])
        )
        position += 12 + length
    return chunks


def _png_from_chunks(chunks):
    out = b"\x89PNG\r\n\x1a\n"
    for kind, body in chunks:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        out += struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)
    return out


def png_broken_under_valid_checksums(path):
    """Zero 20 bytes in the middle of the compressed pixels and fix the chunk's checksum."""
    chunks = []
    for kind, body in _png_chunks(path.read_bytes()):
        if kind == b"IDAT":
            middle = len(body) // 2
            body = body[:middle] + bytes(20) + body[middle + 20 :]
        chunks.append((kind, body))
    path.write_bytes(_png_from_chunks(chunks))


def png_short_data_under_valid_checksums(path):
    """Keep half the compressed pixels, in a well-formed chunk with a valid checksum."""
    chunks = [
        (k, b[: len(b) // 2] if k == b"IDAT" else b) for k, b in _png_chunks(path.read_bytes())
    ]
    path.write_bytes(_png_from_chunks(chunks))


def png_overwritten_middle(path):
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 20] = bytes(20)
    path.write_bytes(bytes(data))


def jpeg_broken_middle(path):
    """A bad marker in the middle of the scan; both ends of the file intact."""
    data = path.read_bytes()
    middle = (data.index(b"\xff\xda") + len(data)) // 2
    path.write_bytes(data[:middle] + b"\xff\x8a" + data[middle + 2 :])


def truncate_half(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def empty(path):
    path.write_bytes(b"")


def text(path):
    path.write_text("not an image, just text\n")


def directory(path):
    path.unlink()
    path.mkdir()


def delete(path):
    path.unlink()


def tiff(path):
    Image.open(path).convert("RGB").save(path, format="TIFF")


# Image damage rows: (id, file, damage, reason, message fragment). Both loaders, both modes.
IMAGE_DAMAGE = [
    ("png broken under valid checksums", "a.png", png_broken_under_valid_checksums,
     "undecodable image", "the image data in {path} cannot be decoded (Invalid PNG data"),
    ("png short data under valid checksums", "c.png", png_short_data_under_valid_checksums,
     "undecodable image", "the image data in {path} cannot be decoded"),
    ("jpeg broken in the middle", "b.jpg", jpeg_broken_middle,
     "undecodable image", "the image data in {path} cannot be decoded (jpeg::Uncompress failed"),
    ("png overwritten in the middle", "a.png", png_overwritten_middle,
     "unreadable image", "cannot read image {path}: SyntaxError: broken PNG file"),
    ("png truncated", "c.png", truncate_half, "unreadable image", "cannot read image {path}"),
    ("jpeg truncated", "b.jpg", truncate_half, "unreadable image",
     "cannot read image {path}: OSError"),
    ("empty file", "a.png", empty, "unreadable image", "the image file {path} is empty (0 bytes)"),
    ("text file", "b.jpg", text, "unreadable image",
     "cannot read image {path}: UnidentifiedImageError"),
    ("directory named like an image", "c.png", directory, "unreadable image",
     "{path} is a directory, not an image file. Fix: point the entry at the image file"),
    ("missing file", "a.png", delete, "missing image", "image file not found: {path}"),
    ("tiff", "a.png", tiff, "unreadable image",
     "image {path} is in TIFF format, which tf.io.decode_image cannot decode"),
]  # fmt: skip


def _expected_after_skip(skipped_file=None, skipped_box=None):
    """[(width, height, xywh boxes, class ids)] of the images a skip leaves, in file order."""
    class_ids = {c["id"]: i for i, c in enumerate(sorted(CATEGORIES, key=lambda c: c["id"]))}
    expected = []
    for name, (width, height, _) in FILES.items():
        if name == skipped_file:
            continue
        kept = [
            (b, class_ids[c]) for i, (n, c, b) in BOXES.items() if n == name and i != skipped_box
        ]
        boxes = np.array([b for b, _ in kept], np.float32).reshape(-1, 4)
        expected.append((width, height, boxes, [c for _, c in kept]))
    return expected


def _check_dataset(dataset, expected):
    """Iterate the pipeline: same number of examples, each with its boxes and classes."""
    elements = list(dataset)
    assert len(elements) == len(expected)
    for element, (width, height, boxes, classes) in zip(elements, expected):
        assert tuple(element["images"].shape) == (height, width, 3)
        got = element["bounding_boxes"]
        np.testing.assert_allclose(got["boxes"].numpy(), boxes)
        np.testing.assert_array_equal(got["classes"].numpy(), classes)


def _load(kind, root, on_error, **kwargs):
    if kind == "coco":
        return load_coco_json(
            root / "annotations.json", root / "images", "xywh", on_error=on_error, **kwargs
        )
    # With the order of the classes given, class ids match the COCO ones.
    return load_voc_xml(root, "xywh", class_names=["cat", "dog"], on_error=on_error, **kwargs)


def _write_dataset(kind, root, coco=None, voc=None):
    """The valid dataset; `coco` changes the JSON data, `voc` maps XML names to new text."""
    if kind == "coco":
        _write_images(root / "images")
        data = _coco()
        if coco:
            coco(data)
        (root / "annotations.json").write_text(json.dumps(data))
        return root / "images"
    _write_images(root / "JPEGImages")
    (root / "Annotations").mkdir()
    xml = {
        name.rsplit(".", 1)[0] + ".xml": _voc_xml(name, w, h, _voc_boxes(name))
        for name, (w, h, _) in FILES.items()
    }
    xml.update(voc or {})
    for xml_name, content in xml.items():
        (root / "Annotations" / xml_name).write_text(content)
    return root / "JPEGImages"


def _run_both_modes(kind, tmp_path, error, fragment, reason, expected, unit):
    with pytest.raises(error) as info:
        _load(kind, tmp_path, "raise")
    assert fragment in str(info.value)
    with pytest.warns(UserWarning, match=r"skipped") as warned:
        result = _load(kind, tmp_path, "skip")
    assert len(warned) == 1 and f"{reason}: 1" in str(warned[0].message)
    report = result.report
    assert report.skipped[reason] == 1
    assert any(fragment in message for message in report.messages)
    assert (report.skipped_images, report.skipped_boxes) == ((1, 0) if unit == "image" else (0, 1))
    _check_dataset(result.dataset, expected)
    assert report.num_images == len(expected)
    assert report.num_boxes == sum(len(e[2]) for e in expected)


@pytest.mark.parametrize("kind", ["coco", "voc"])
@pytest.mark.parametrize(
    ("file", "damage", "reason", "fragment"),
    [row[1:] for row in IMAGE_DAMAGE],
    ids=[row[0] for row in IMAGE_DAMAGE],
)
def test_damaged_image_files(tmp_path, kind, file, damage, reason, fragment):
    image_dir = _write_dataset(kind, tmp_path)
    path = image_dir / file
    damage(path)
    fragment = fragment.format(path=path)
    entry = f"image id {IMAGE_IDS[file]} ('{file}')" if kind == "coco" else f"'{file}'"
    with pytest.raises(AnnotationError, match="xml|json") as info:
        _load(kind, tmp_path, "raise")
    assert entry in str(info.value)  # the entry, besides the file
    _run_both_modes(
        kind, tmp_path, AnnotationError, fragment, reason, _expected_after_skip(file), "image"
    )


@pytest.mark.parametrize(
    "damage",
    [png_broken_under_valid_checksums, png_short_data_under_valid_checksums, jpeg_broken_middle],
)
def test_the_damage_passes_the_header_check_and_only_decoding_finds_it(tmp_path, damage):
    """Why the loaders decode up front: these files have intact headers, ends and checksums."""
    _write_images(tmp_path)
    path = tmp_path / ("b.jpg" if damage is jpeg_broken_middle else "a.png")
    damage(path)
    assert inspect_image(str(path), decode=False) == FILES[path.name][:2]
    with pytest.raises(ImageProblem, match="cannot be decoded") as info:
        inspect_image(str(path))
    assert info.value.reason == "undecodable image"


# ------------------------------------------------------- entries that would mislead silently


def _set_image(index, **fields):
    return lambda data: data["images"][index].update(fields)


def _set_box(annotation_id, **fields):
    def change(data):
        next(a for a in data["annotations"] if a["id"] == annotation_id).update(fields)

    return change


def _add_box(**fields):
    return lambda data: data["annotations"].append({"iscrowd": 0, **fields})


def _add_image(**fields):
    return lambda data: data["images"].append(fields)


# COCO rows: (id, change, error class, fragment, reason, unit skipped, and what a skip
# removes from the dataset: a file, an annotation id, or nothing (the entry was an extra)).
COCO_ENTRIES = [
    ("unknown category id", _set_box(13, category_id=5), AnnotationError,
     "annotation id 13 (image id 2, 'b.jpg'): category_id 5 is not one of the categories' ids",
     "unknown category", "box", None, 13),
    ("box outside the image", _set_box(13, bbox=[70, 10, 20, 20]), AnnotationError,
     "annotation id 13 (image id 2, 'b.jpg'): bbox [70, 10, 20, 20] extends outside the image",
     "invalid box", "box", None, 13),
    ("negative width", _set_box(13, bbox=[30, 10, -20, 20]), AnnotationError,
     "bbox [30, 10, -20, 20] has non-positive width", "invalid box", "box", None, 13),
    ("NaN coordinate", _set_box(13, bbox=[30, float("nan"), 20, 20]), AnnotationError,
     "bbox [30, nan, 20, 20] has a coordinate that is not a finite number", "invalid box",
     "box", None, 13),
    ("infinite size", _set_box(13, bbox=[30, 10, float("inf"), 20]), AnnotationError,
     "has a coordinate that is not a finite number", "invalid box", "box", None, 13),
    ("annotation of a missing image id", _set_box(13, image_id=99), AnnotationError,
     "annotation id 13: image_id 99 is not the id of any entry in 'images'", "unknown image",
     "box", None, 13),
    ("duplicate annotation id", _add_box(id=13, image_id=3, category_id=1, bbox=[1, 2, 5, 5]),
     AnnotationError,
     "annotations[4]: annotation id 13 is used again (first by annotations[3]). Fix: give "
     "every annotation its own id", "duplicate annotation id", "box", None, None),
    ("duplicate image id", _add_image(id=2, file_name="c.png"), AnnotationError,
     "image id 2 ('c.png'): image id 2 is used again in images[3] (first by 'b.jpg')",
     "duplicate image id", "image", None, None),
    ("one image file, two image ids", _add_image(id=4, file_name="b.jpg"), AnnotationError,
     "image id 4 ('b.jpg'): the file", "duplicate image file", "image", None, None),
    ("declared size differs", _set_image(1, width=81), AnnotationError,
     "image id 2 ('b.jpg'): the file", "image size mismatch", "image", "b.jpg", None),
    ("declared height alone differs", _set_image(1, width=None, height=61), AnnotationError,
     "(width x height) but the annotation file says height 61", "image size mismatch",
     "image", "b.jpg", None),
    ("declared size swapped (EXIF)", _set_image(1, width=60, height=80), AnnotationError,
     "The sizes are swapped: the image was probably annotated turned by its EXIF orientation",
     "image size mismatch", "image", "b.jpg", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "error", "fragment", "reason", "unit", "skipped_file", "skipped_box"),
    [row[1:] for row in COCO_ENTRIES],
    ids=[row[0] for row in COCO_ENTRIES],
)
def test_coco_entries(tmp_path, change, error, fragment, reason, unit, skipped_file, skipped_box):
    _write_dataset("coco", tmp_path, coco=change)
    expected = _expected_after_skip(skipped_file, skipped_box)
    _run_both_modes("coco", tmp_path, error, fragment, reason, expected, unit)


# VOC rows: (id, XML files to (re)write, fragment, reason, skipped file, skipped object).
_B_BOXES = _voc_boxes("b.jpg")
VOC_ENTRIES = [
    ("unknown class name",
     {"b.xml": _voc_xml("b.jpg", 80, 60, [_B_BOXES[0], ("horse", [30, 10, 20, 20])])},
     "Annotations/b.xml ('b.jpg'): object 2 ('horse'): class 'horse' is not in class_names",
     "unknown class", None, 13),
    ("NaN coordinate",
     {"b.xml": _voc_xml("b.jpg", 80, 60, [_B_BOXES[0], ("cat", [30, float("nan"), 20, 20])])},
     "object 2 ('cat'): bndbox (xmin=31, ymin=nan", "invalid box", None, 13),
    ("box outside the image",
     {"b.xml": _voc_xml("b.jpg", 80, 60, [_B_BOXES[0], ("cat", [70, 10, 20, 20])])},
     "object 2 ('cat'): bndbox (xmin=71, ymin=11, xmax=90, ymax=30; 1-based, inclusive) "
     "extends outside the image", "invalid box", None, 13),
    ("declared size differs", {"b.xml": _voc_xml("b.jpg", 80, 61, _B_BOXES)},
     "is 80x60 (width x height) but <size> says 80x61", "image size mismatch", "b.jpg", None),
    ("declared size swapped (EXIF)", {"b.xml": _voc_xml("b.jpg", 60, 80, _B_BOXES)},
     "The sizes are swapped", "image size mismatch", "b.jpg", None),
    ("infinite size", {"b.xml": _voc_xml("b.jpg", "inf", 60, _B_BOXES)},
     "<size> must hold positive integers", "malformed XML", "b.jpg", None),
    ("fractional size", {"b.xml": _voc_xml("b.jpg", 80.5, 60, _B_BOXES)},
     "<size> must hold positive integers", "malformed XML", "b.jpg", None),
    ("two XML files for one image",
     {"d.xml": _voc_xml("d", 40, 30, [("dog", [2, 2, 3, 3])], filename="c.png")},
     "Annotations/d.xml, image 'c.png':", "duplicate image file", "d", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("xml", "fragment", "reason", "skipped_file", "skipped_box"),
    [row[1:] for row in VOC_ENTRIES],
    ids=[row[0] for row in VOC_ENTRIES],
)
def test_voc_entries(tmp_path, xml, fragment, reason, skipped_file, skipped_box):
    _write_dataset("voc", tmp_path, voc=xml)
    unit = "image" if skipped_file else "box"
    expected = _expected_after_skip(skipped_file, skipped_box)
    _run_both_modes("voc", tmp_path, AnnotationError, fragment, reason, expected, unit)


# ------------------------------------------------------ images that must load as RGB


def _png16(values):
    """A 16-bit RGB PNG (Pillow writes no such files)."""
    height, width, _ = values.shape
    rows = b"".join(b"\0" + values[r].astype(">u2").tobytes() for r in range(height))
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return _png_from_chunks([(b"IHDR", header), (b"IDAT", zlib.compress(rows)), (b"IEND", b"")])


def _saved(image, fmt):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


RGB = _pixels("a.png")
GRAY = RGB[..., 0]
# (id, file bytes, expected [H, W, 3] pixels, tolerance). All replace a.png (64x48).
IMAGE_MODES = [
    ("grayscale png", _saved(Image.fromarray(GRAY), "PNG"), np.repeat(GRAY[..., None], 3, -1), 0),
    ("grayscale with alpha png", _saved(Image.fromarray(GRAY).convert("LA"), "PNG"),
     np.repeat(GRAY[..., None], 3, -1), 0),
    ("rgba png", _saved(Image.fromarray(RGB).convert("RGBA"), "PNG"), RGB, 0),
    ("palette png", _saved(Image.fromarray(RGB).convert("P"), "PNG"),
     np.asarray(Image.fromarray(RGB).convert("P").convert("RGB")), 0),
    ("1-bit png", _saved(Image.fromarray(GRAY > 127), "PNG"),
     np.repeat(np.where(GRAY[..., None] > 127, 255, 0), 3, -1), 0),
    ("16-bit grayscale png", _saved(Image.fromarray(GRAY.astype(np.uint16) * 257), "PNG"),
     np.repeat(GRAY[..., None], 3, -1), 0),
    ("16-bit rgb png", _png16(RGB.astype(np.uint16) * 257), RGB, 0),
    ("grayscale jpeg", _saved(Image.fromarray(GRAY), "JPEG"), None, None),
    ("cmyk jpeg", _saved(Image.fromarray(RGB).convert("CMYK"), "JPEG"), None, None),
    ("gif", _saved(Image.fromarray(RGB).convert("P"), "GIF"), None, None),
    ("bmp", _saved(Image.fromarray(RGB), "BMP"), RGB, 0),
]  # fmt: skip


@pytest.mark.parametrize("kind", ["coco", "voc"])
@pytest.mark.parametrize(
    ("data", "pixels", "tolerance"),
    [row[1:] for row in IMAGE_MODES],
    ids=[row[0] for row in IMAGE_MODES],
)
def test_image_modes_load_as_rgb_with_their_boxes(tmp_path, kind, data, pixels, tolerance):
    image_dir = _write_dataset(kind, tmp_path)
    (image_dir / "a.png").write_bytes(data)  # Pillow and TensorFlow go by content, not name
    result = _load(kind, tmp_path, "raise")
    assert result.report.skipped == {}
    _check_dataset(result.dataset, _expected_after_skip())
    first = next(iter(result.dataset))["images"].numpy()
    assert first.dtype == np.float32 and first.min() >= 0 and first.max() <= 255
    if pixels is None:  # lossy formats and conversions: compare with Pillow's reading
        pixels, tolerance = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), 3
    np.testing.assert_allclose(first, pixels.astype(np.float32), atol=tolerance)
