"""Pascal VOC XML loading on small files written here: layouts, every bad input, skip mode."""

import re

import numpy as np
import pytest
from PIL import Image

from nbdetect import bounding_box
from nbdetect.datasets import AnnotationError, load_voc_xml

SIZES = {"000001.jpg": (64, 48), "000002.png": (80, 60), "000003.png": (40, 30)}
# (name, xmin, ymin, xmax, ymax), VOC's 1-based inclusive pixel numbers.
OBJECTS = {
    "000001.jpg": [("dog", 1, 1, 10, 20), ("person", 30, 5, 64, 48)],
    "000002.png": [("cat", 11, 21, 25, 28)],
    "000003.png": [],
}


def _object_xml(name, xmin, ymin, xmax, ymax):
    return (
        f"<object><name>{name}</name><difficult>0</difficult><bndbox>"
        f"<xmin>{xmin}</xmin><ymin>{ymin}</ymin><xmax>{xmax}</xmax><ymax>{ymax}</ymax>"
        "</bndbox></object>"
    )


def _xml(filename, size, objects):
    size_xml = ""
    if size is not None:
        size_xml = f"<size><width>{size[0]}</width><height>{size[1]}</height></size>"
    body = "".join(_object_xml(*o) for o in objects)
    return f"<annotation><filename>{filename}</filename>{size_xml}{body}</annotation>"


def _write(root, layout="voc", objects=None, sizes=None):
    """Write the dataset; `objects` / `sizes` override OBJECTS / the <size> per image."""
    objects = {**OBJECTS, **(objects or {})}
    sizes = {**SIZES, **(sizes or {})}
    xml_dir = root / "Annotations" if layout == "voc" else root
    image_dir = root / "JPEGImages" if layout == "voc" else root
    xml_dir.mkdir(parents=True, exist_ok=True)
    image_dir.mkdir(parents=True, exist_ok=True)
    pixels = {}
    for seed, (name, (width, height)) in enumerate(SIZES.items()):
        array = np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)
        Image.fromarray(array).save(image_dir / name)
        pixels[name] = array
        stem = name.rsplit(".", 1)[0]
        (xml_dir / f"{stem}.xml").write_text(_xml(name, sizes[name], objects[name]))
    return xml_dir, image_dir, pixels


def _elements(ds):
    return [
        {"images": e["images"].numpy(), **{k: v.numpy() for k, v in e["bounding_boxes"].items()}}
        for e in ds
    ]


@pytest.mark.parametrize("layout", ["voc", "flat"])
def test_loads_both_layouts_with_1_based_coordinates(tmp_path, layout):
    _, _, pixels = _write(tmp_path, layout)
    result = load_voc_xml(tmp_path, "xyxy")
    ds, class_names = result
    assert class_names == ["cat", "dog", "person"]
    first, second, empty = _elements(ds)
    assert first["images"].shape == (48, 64, 3)
    # xmin=1..xmax=10 covers pixels 0..9: edges 0 and 10.
    np.testing.assert_allclose(first["boxes"], [[0, 0, 10, 20], [29, 4, 64, 48]])
    np.testing.assert_array_equal(first["classes"], [1, 2])
    np.testing.assert_array_equal(second["images"], pixels["000002.png"].astype(np.float32))
    np.testing.assert_allclose(second["boxes"], [[10, 20, 25, 28]])
    np.testing.assert_array_equal(second["classes"], [0])
    assert empty["boxes"].shape == (0, 4) and empty["classes"].shape == (0,)
    assert set(first) == {"images", "boxes", "classes"}
    assert (result.report.num_images, result.report.num_boxes) == (3, 3)


def test_class_names_given_fix_the_ids(tmp_path):
    _write(tmp_path)
    ds, class_names = load_voc_xml(tmp_path, "xywh", class_names=["person", "dog", "cat", "unused"])
    assert class_names == ["person", "dog", "cat", "unused"]
    first, second, _ = _elements(ds)
    np.testing.assert_array_equal(first["classes"], [1, 0])
    np.testing.assert_allclose(second["boxes"], [[10, 20, 15, 8]])


def test_images_without_size_element_and_zero_size_are_read_from_the_file(tmp_path):
    _write(tmp_path, sizes={"000001.jpg": None, "000002.png": (0, 0)})
    ds, _ = load_voc_xml(tmp_path, "xywh")
    assert [e["images"].shape[:2] for e in ds] == [(48, 64), (60, 80), (30, 40)]


@pytest.mark.parametrize("target", ["xywh", "rel_xyxy", "center_xywh"])
def test_formats_and_ragged_batch(tmp_path, target):
    _write(tmp_path)
    reference = _elements(load_voc_xml(tmp_path, "xyxy")[0])
    ds, _ = load_voc_xml(tmp_path, target)
    for ref, got in zip(reference, _elements(ds)):
        expected = bounding_box.convert_format(
            ref["boxes"], source="xyxy", target=target, images=ref["images"]
        )
        np.testing.assert_allclose(got["boxes"], expected, atol=1e-5)
    dense = bounding_box.to_dense(next(iter(ds.ragged_batch(3)))["bounding_boxes"], 32)
    assert dense["boxes"].shape == (3, 32, 4)


def _objects(*objects):
    return {"objects": {"000001.jpg": list(objects)}}


def _replace_xml(text):
    def damage(xml_dir, image_dir):
        (xml_dir / "000002.xml").write_text(text)

    return damage


def _replace_image(content):
    def damage(xml_dir, image_dir):
        path = image_dir / "000002.png"
        if content == "truncate":
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 2])
        elif content == "delete":
            path.unlink()
        else:
            path.write_bytes(content)

    return damage


XML = r"Annotations/00000\d\.xml"
# (case, what to write, damage afterwards, unit skipped, message pattern).
BAD_ENTRIES = [
    (
        "not well-formed",
        {},
        _replace_xml("<annotation><filename>000002.png</filename>"),
        "image",
        rf"{XML}: not well-formed XML: no element found",
    ),
    (
        "no filename",
        {},
        _replace_xml("<annotation><object><name>cat</name></object></annotation>"),
        "image",
        rf"{XML}: expected an <annotation> element with a <filename>, got <annotation> without",
    ),
    (
        "missing image",
        {},
        _replace_image("delete"),
        "image",
        rf"{XML} \('000002\.png'\): image file not found: .*JPEGImages/000002\.png",
    ),
    (
        "corrupt image",
        {},
        _replace_image(b"\x89PNG garbage"),
        "image",
        rf"{XML} \('000002\.png'\): cannot read image .*000002\.png",
    ),
    (
        "truncated image",
        {},
        _replace_image("truncate"),
        "image",
        rf"{XML} \('000002\.png'\): cannot read image .*000002\.png",
    ),
    (
        "size mismatch",
        {"sizes": {"000002.png": (81, 60)}},
        None,
        "image",
        rf"{XML} \('000002\.png'\): the file .*000002\.png is 80x60 \(width x height\) but "
        r"<size> says 81x60",
    ),
    (
        "bad size",
        {"sizes": {"000002.png": ("wide", 60)}},
        None,
        "image",
        rf"{XML} \('000002\.png'\): <size> must hold positive integers",
    ),
    (
        "object without name",
        _objects(("", 1, 1, 10, 10)),
        None,
        "box",
        rf"{XML} \('000001\.jpg'\): object 1 has no <name>",
    ),
    (
        "non-numeric coordinate",
        _objects(("dog", 1, 1, "ten", 10)),
        None,
        "box",
        rf"{XML} \('000001\.jpg'\): object 1 \('dog'\): <bndbox> <xmax> must be a number, "
        r"got 'ten'",
    ),
    (
        "non-positive width",
        _objects(("dog", 1, 1, 10, 20), ("dog", 20, 5, 10, 9)),
        None,
        "box",
        rf"{XML} \('000001\.jpg'\): object 2 \('dog'\): bndbox \(xmin=20, ymin=5, xmax=10, "
        r"ymax=9; 1-based, inclusive\) has non-positive width",
    ),
    (
        "non-positive height",
        _objects(("dog", 1, 9, 10, 7)),
        None,
        "box",
        rf"{XML} \('000001\.jpg'\): object 1 \('dog'\): bndbox .* has non-positive height",
    ),
    (
        "outside the image",
        _objects(("dog", 1, 1, 70, 20)),
        None,
        "box",
        rf"{XML} \('000001\.jpg'\): object 1 \('dog'\): bndbox \(xmin=1, ymin=1, xmax=70, "
        r"ymax=20; 1-based, inclusive\) extends outside the image \(width 64, height 48",
    ),
]


def _prepare(tmp_path, write, damage):
    xml_dir, image_dir, _ = _write(tmp_path, **write)
    if damage:
        damage(xml_dir, image_dir)


@pytest.mark.parametrize(
    ("write", "damage", "unit", "match"),
    [case[1:] for case in BAD_ENTRIES],
    ids=[case[0] for case in BAD_ENTRIES],
)
def test_bad_entries_raise_naming_file_and_entry(tmp_path, write, damage, unit, match):
    _prepare(tmp_path, write, damage)
    with pytest.raises(ValueError, match=match) as info:
        load_voc_xml(tmp_path, "xywh")
    assert isinstance(info.value, AnnotationError)


@pytest.mark.parametrize(
    ("write", "damage", "unit", "match"),
    [case[1:] for case in BAD_ENTRIES],
    ids=[case[0] for case in BAD_ENTRIES],
)
def test_skip_mode_counts_every_bad_entry(tmp_path, write, damage, unit, match):
    _prepare(tmp_path, write, damage)
    with pytest.warns(UserWarning, match=r"load_voc_xml\(\) skipped") as warned:
        result = load_voc_xml(tmp_path, "xywh", on_error="skip")
    assert len(warned) == 1
    report = result.report
    assert len(report.messages) == 1 and re.search(match, report.messages[0])
    skipped = (report.skipped_images, report.skipped_boxes)
    assert skipped == ((1, 0) if unit == "image" else (0, 1))
    assert report.num_images == len(list(result.dataset))
    assert report.num_boxes == sum(len(e["bounding_boxes"]["boxes"]) for e in result.dataset)


def test_unknown_class(tmp_path):
    _write(tmp_path)
    match = (
        r"Annotations/000001\.xml \('000001\.jpg'\): object 2 \('person'\): class 'person' "
        r"is not in class_names \['dog', 'cat'\]"
    )
    with pytest.raises(ValueError, match=match):
        load_voc_xml(tmp_path, "xywh", class_names=["dog", "cat"])
    with pytest.warns(UserWarning, match="unknown class: 1"):
        result = load_voc_xml(tmp_path, "xywh", class_names=["dog", "cat"], on_error="skip")
    assert result.report.skipped == {"unknown class": 1}
    assert result.report.num_boxes == 2


def test_skip_mode_counts_objects_of_skipped_images(tmp_path):
    _write(tmp_path, sizes={"000001.jpg": (10, 10)})
    with pytest.warns(UserWarning, match="image size mismatch: 1, box of a skipped image: 2"):
        result = load_voc_xml(tmp_path, "xywh", on_error="skip")
    assert (result.report.skipped_images, result.report.skipped_boxes) == (1, 0)
    assert result.class_names == ["cat"]


def test_bad_directories_and_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="directory=.*nowhere.*not a directory"):
        load_voc_xml(tmp_path / "nowhere", "xywh")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"no \.xml files in .*empty"):
        load_voc_xml(tmp_path / "empty", "xywh")
    _write(tmp_path / "data")
    for bad in ("dog", ["dog", "dog"], [], [1, 2]):
        with pytest.raises(ValueError, match=r"load_voc_xml\(\) got class_names="):
            load_voc_xml(tmp_path / "data", "xywh", class_names=bad)
    with pytest.raises(ValueError, match=r"on_error='warn'"):
        load_voc_xml(tmp_path / "data", "xywh", on_error="warn")
    with pytest.raises(ValueError, match=r"bounding_box_format='xy'"):
        load_voc_xml(tmp_path / "data", "xy")
