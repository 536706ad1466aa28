"""COCO JSON loading on small files written here: contents, every bad input, skip mode."""

import copy
import json
import re

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from nbdetect import bounding_box
from nbdetect.datasets import AnnotationError, LoadReport, LoadResult, load_coco_json

IMAGES = [
    {"id": 1, "file_name": "a.png", "width": 64, "height": 48},
    {"id": 3, "file_name": "000003.jpg", "width": 80, "height": 60},
    {"id": 5, "file_name": "empty.png"},  # no width / height: read from the file
]
SIZES = {"a.png": (64, 48), "000003.jpg": (80, 60), "empty.png": (40, 30)}
CATEGORIES = [{"id": 7, "name": "dog"}, {"id": 3, "name": "cat"}, {"id": 12, "name": "bird"}]
ANNOTATIONS = [
    {"id": 10, "image_id": 1, "category_id": 7, "bbox": [4, 6, 20, 10], "iscrowd": 0},
    # Overshoots the right and bottom edges by half a pixel: clipped, not rejected.
    {"id": 11, "image_id": 1, "category_id": 12, "bbox": [30.5, 0, 34, 48.5]},
    {"id": 17, "image_id": 3, "category_id": 3, "bbox": [10, 20, 15, 8], "iscrowd": 1},
]


def _write_images(image_dir):
    pixels = {}
    for seed, (name, (width, height)) in enumerate(SIZES.items()):
        array = np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)
        Image.fromarray(array).save(image_dir / name)
        pixels[name] = array
    return pixels


def _write(tmp_path, data=None, text=None):
    image_dir = tmp_path / "images"
    image_dir.mkdir(exist_ok=True)
    pixels = _write_images(image_dir)
    path = tmp_path / "annotations.json"
    if text is None:
        base = {"images": IMAGES, "annotations": ANNOTATIONS, "categories": CATEGORIES}
        text = json.dumps(base if data is None else data)
    path.write_text(text)
    return path, image_dir, pixels


def _data():
    return {
        "images": copy.deepcopy(IMAGES),
        "annotations": copy.deepcopy(ANNOTATIONS),
        "categories": copy.deepcopy(CATEGORIES),
    }


def _elements(ds):
    return [
        {
            "images": e["images"].numpy(),
            **{k: v.numpy() for k, v in e["bounding_boxes"].items()},
        }
        for e in ds
    ]


def test_loads_boxes_classes_and_iscrowd(tmp_path):
    path, image_dir, pixels = _write(tmp_path)
    result = load_coco_json(path, image_dir, "xywh")
    ds, class_names = result
    assert isinstance(result, LoadResult) and result.dataset is ds
    # Categories sorted by id: 3 cat, 7 dog, 12 bird.
    assert class_names == ["cat", "dog", "bird"] == result.class_names
    a, b, empty = _elements(ds)
    np.testing.assert_array_equal(a["images"], pixels["a.png"].astype(np.float32))
    np.testing.assert_allclose(a["boxes"], [[4, 6, 20, 10], [30.5, 0, 33.5, 48]])
    np.testing.assert_array_equal(a["classes"], [1, 2])
    np.testing.assert_array_equal(a["iscrowd"], [0, 0])
    assert b["images"].shape == (60, 80, 3) and b["images"].dtype == np.float32
    np.testing.assert_allclose(b["boxes"], [[10, 20, 15, 8]])
    np.testing.assert_array_equal(b["classes"], [0])
    np.testing.assert_array_equal(b["iscrowd"], [1])
    assert empty["images"].shape == (30, 40, 3)
    assert empty["boxes"].shape == (0, 4) and empty["classes"].shape == (0,)
    assert all(e[k].dtype == np.float32 for e in (a, b, empty) for k in e)
    report = result.report
    assert isinstance(report, LoadReport)
    assert (report.num_images, report.num_boxes, report.skipped) == (3, 3, {})


@pytest.mark.parametrize("target", ["xyxy", "rel_xyxy", "center_yxhw", "rel_yxyx"])
def test_formats(tmp_path, target):
    path, image_dir, _ = _write(tmp_path)
    reference = _elements(load_coco_json(path, image_dir, "xywh")[0])
    converted = _elements(load_coco_json(path, image_dir, target)[0])
    for ref, got in zip(reference, converted):
        expected = bounding_box.convert_format(
            ref["boxes"], source="xywh", target=target, images=ref["images"]
        )
        np.testing.assert_allclose(got["boxes"], expected, atol=1e-5)


def test_ragged_batch_and_to_dense_pad_iscrowd_too(tmp_path):
    path, image_dir, _ = _write(tmp_path)
    ds, _ = load_coco_json(path, image_dir, "xywh")
    batch = next(iter(ds.ragged_batch(3)))
    dense = bounding_box.to_dense(batch["bounding_boxes"], max_boxes=32)
    assert dense["boxes"].shape == (3, 32, 4) and dense["iscrowd"].shape == (3, 32)
    np.testing.assert_array_equal(dense["iscrowd"][1, :2].numpy(), [1, -1])
    np.testing.assert_array_equal(dense["classes"][2].numpy(), np.full(32, -1))


def _set(section, index, **fields):
    def mutate(data):
        data[section][index].update(fields)

    return mutate


def _file(name, content):
    def damage(image_dir):
        path = image_dir / name
        if content == "truncate":
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 2])
        elif content == "tiff":
            Image.open(path).save(path, format="TIFF")
        else:
            path.write_bytes(content)

    return damage


# (case, change to the annotations, change to the image files, message pattern).
# Every message names the file and the entry.
BAD_ENTRIES = [
    (
        "missing image",
        _set("images", 1, file_name="missing.jpg"),
        None,
        r"annotations\.json: image id 3 \('missing\.jpg'\): image file not found: "
        r".*images/missing\.jpg",
    ),
    (
        "corrupt image",
        None,
        _file("000003.jpg", b"this is not a jpeg"),
        r"annotations\.json: image id 3 \('000003\.jpg'\): cannot read image "
        r".*000003\.jpg: UnidentifiedImageError",
    ),
    (
        "truncated jpeg",
        None,
        _file("000003.jpg", "truncate"),
        r"image id 3 \('000003\.jpg'\): cannot read image .*000003\.jpg: OSError: .*truncated",
    ),
    (
        "truncated png",
        None,
        _file("a.png", "truncate"),
        r"image id 1 \('a\.png'\): cannot read image .*a\.png",
    ),
    (
        "format tensorflow cannot decode",
        None,
        _file("a.png", "tiff"),
        r"image id 1 \('a\.png'\): image .*a\.png is in TIFF format, which "
        r"tf\.io\.decode_image cannot decode",
    ),
    (
        "size differs from the file",
        _set("images", 0, width=65),
        None,
        r"image id 1 \('a\.png'\): the file .*a\.png is 64x48 \(width x height\) but the "
        r"annotation file says 65x48",
    ),
    (
        "non-numeric size",
        _set("images", 0, height="48"),
        None,
        r"image id 1 \('a\.png'\): width and height must be positive numbers",
    ),
    (
        "image entry without id",
        _set("images", 0, id="one"),
        None,
        r"annotations\.json: images\[0\] must be an object with an integer 'id'",
    ),
    (
        "image entry without file name",
        _set("images", 0, file_name=None),
        None,
        r"annotations\.json: image id 1 \(images\[0\]\) has no string 'file_name'",
    ),
    (
        "duplicate image id",
        _set("images", 1, id=1),
        None,
        r"image id 1 \('000003\.jpg'\): image id 1 is used again in images\[1\] \(first by "
        r"'a\.png'\)",
    ),
    (
        "unknown category",
        _set("annotations", 0, category_id=99),
        None,
        r"annotations\.json: annotation id 10 \(image id 1, 'a\.png'\): category_id 99 is "
        r"not one of the categories' ids \(3, 7, 12\)",
    ),
    (
        "unknown image",
        _set("annotations", 0, image_id=42),
        None,
        r"annotations\.json: annotation id 10: image_id 42 is not the id of any entry in "
        r"'images'",
    ),
    (
        "non-positive width",
        _set("annotations", 2, bbox=[10, 20, -5, 8]),
        None,
        re.escape(
            "annotations.json: annotation id 17 (image id 3, '000003.jpg'): "
            "bbox [10, 20, -5, 8] has non-positive width"
        ),
    ),
    (
        "zero height",
        _set("annotations", 2, bbox=[10, 20, 5, 0]),
        None,
        r"annotation id 17 \(image id 3, '000003\.jpg'\): bbox \[10, 20, 5, 0\] has "
        r"non-positive height",
    ),
    (
        "box outside the image",
        _set("annotations", 2, bbox=[70, 20, 30, 8]),
        None,
        r"annotation id 17 \(image id 3, '000003\.jpg'\): bbox \[70, 20, 30, 8\] extends "
        r"outside the image \(width 80, height 60; corners x 70\.\.100, y 20\.\.28\)",
    ),
    (
        "box left of the image",
        _set("annotations", 0, bbox=[-3, 6, 20, 10]),
        None,
        r"annotation id 10 \(image id 1, 'a\.png'\): bbox \[-3, 6, 20, 10\] extends outside",
    ),
    (
        "NaN coordinate",
        _set("annotations", 0, bbox=[float("nan"), 6, 20, 10]),
        None,
        r"annotation id 10 \(image id 1, 'a\.png'\): bbox \[nan, 6, 20, 10\] has a "
        r"coordinate that is not a finite number",
    ),
    (
        "three numbers",
        _set("annotations", 0, bbox=[4, 6, 20]),
        None,
        r"annotation id 10 \(image id 1, 'a\.png'\): bbox must be a list of 4 numbers "
        r"\[x, y, width, height\], got \[4, 6, 20\]",
    ),
    (
        "strings",
        _set("annotations", 0, bbox="4 6 20 10"),
        None,
        r"annotation id 10 \(image id 1, 'a\.png'\): bbox must be a list of 4 numbers",
    ),
    (
        "bad iscrowd",
        _set("annotations", 0, iscrowd=2),
        None,
        r"annotation id 10 \(image id 1, 'a\.png'\): iscrowd must be 0 or 1, got 2",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "damage", "match"),
    [case[1:] for case in BAD_ENTRIES],
    ids=[case[0] for case in BAD_ENTRIES],
)
def test_bad_entries_raise_naming_file_and_entry(tmp_path, mutate, damage, match):
    data = _data()
    if mutate:
        mutate(data)
    path, image_dir, _ = _write(tmp_path, data)
    if damage:
        damage(image_dir)
    with pytest.raises(ValueError, match=match) as info:
        load_coco_json(path, image_dir, "xywh")
    assert isinstance(info.value, AnnotationError)


@pytest.mark.parametrize(
    ("mutate", "damage", "match"),
    [case[1:] for case in BAD_ENTRIES],
    ids=[case[0] for case in BAD_ENTRIES],
)
def test_skip_mode_counts_every_bad_entry(tmp_path, mutate, damage, match):
    data = _data()
    if mutate:
        mutate(data)
    path, image_dir, _ = _write(tmp_path, data)
    if damage:
        damage(image_dir)
    with pytest.warns(UserWarning, match=r"load_coco_json\(\) skipped") as warned:
        result = load_coco_json(path, image_dir, "xywh", on_error="skip")
    report = result.report
    # The bad entry is reported first; a broken image id also orphans its annotations.
    assert re.search(match, report.messages[0])
    assert report.skipped_images + report.skipped_boxes == len(report.messages)
    assert sum(report.skipped.values()) >= len(report.messages)
    assert len(warned) == 1
    assert report.num_images == len(list(result.dataset))
    assert report.num_boxes == sum(len(e["bounding_boxes"]["boxes"]) for e in result.dataset)


def test_skip_mode_report_and_warning_with_several_problems(tmp_path):
    data = _data()
    data["images"][1]["file_name"] = "missing.jpg"  # takes annotation 17 with it
    data["annotations"] += [
        {"id": 20, "image_id": 1, "category_id": 99, "bbox": [1, 1, 5, 5]},
        {"id": 21, "image_id": 1, "category_id": 3, "bbox": [1, 1, 0, 5]},
        {"id": 22, "image_id": 8, "category_id": 3, "bbox": [1, 1, 5, 5]},
        {"id": 23, "image_id": 5, "category_id": 3, "bbox": [1, 2, 5, 5]},
    ]
    path, image_dir, _ = _write(tmp_path, data)
    expected = {
        "missing image": 1,
        "box of a skipped image": 1,
        "unknown category": 1,
        "invalid box": 1,
        "unknown image": 1,
    }
    with pytest.warns(UserWarning) as warned:
        result = load_coco_json(path, image_dir, "xywh", on_error="skip")
    assert len(warned) == 1
    text = str(warned[0].message)
    assert "skipped 1 image and 3 boxes of" in text and "annotations.json" in text
    assert all(f"{reason}: {count}" in text for reason, count in expected.items())
    assert "loaded 2 images with 3 boxes" in text
    report = result.report
    assert report.skipped == expected
    assert (report.skipped_images, report.skipped_boxes) == (1, 3)
    assert (report.num_images, report.num_boxes) == (2, 3)
    assert len(report.messages) == 4
    assert "annotation id 20" in str(report) and "skipped 1 image and 3 boxes" in str(report)
    elements = _elements(result.dataset)
    np.testing.assert_array_equal(elements[0]["classes"], [1, 2])
    np.testing.assert_allclose(elements[1]["boxes"], [[1, 2, 5, 5]])


# Problems with the file as a whole: no entry to skip, so they raise in both modes.
BAD_FILES = [
    ("not json", '{"images": [', r"annotations\.json: not valid JSON: Expecting value"),
    ("a list", "[1, 2]", r"annotations\.json: expected a JSON object .* got a list"),
    (
        "no images",
        json.dumps({"annotations": [], "categories": CATEGORIES}),
        r"annotations\.json: expected a list under 'images', got nothing",
    ),
    (
        "annotations not a list",
        json.dumps({"images": IMAGES, "annotations": {}, "categories": CATEGORIES}),
        r"annotations\.json: expected a list under 'annotations', got dict",
    ),
    (
        "duplicate category",
        json.dumps(
            {"images": IMAGES, "categories": [{"id": 7, "name": "dog"}, {"id": 7, "name": "x"}]}
        ),
        r"annotations\.json: categories\[1\] repeats category id 7 \('dog' and 'x'\)",
    ),
    (
        "category without name",
        json.dumps({"images": IMAGES, "categories": [{"id": 7}]}),
        r"annotations\.json: categories\[0\] must be an object with an integer 'id' and a "
        r"string 'name'",
    ),
    (
        "no categories",
        json.dumps({"images": IMAGES, "categories": []}),
        r"annotations\.json: 'categories' is empty",
    ),
]


@pytest.mark.parametrize("on_error", ["raise", "skip"])
@pytest.mark.parametrize(
    ("text", "match"), [case[1:] for case in BAD_FILES], ids=[case[0] for case in BAD_FILES]
)
def test_bad_files_raise_in_both_modes(tmp_path, text, match, on_error):
    path, image_dir, _ = _write(tmp_path, text=text)
    with pytest.raises(ValueError, match=match):
        load_coco_json(path, image_dir, "xywh", on_error=on_error)


def test_file_without_annotations_loads_empty_images(tmp_path):
    path, image_dir, _ = _write(tmp_path, {"images": IMAGES, "categories": CATEGORIES})
    ds, class_names = load_coco_json(path, image_dir, "xywh")
    assert [len(e["bounding_boxes"]["boxes"]) for e in ds] == [0, 0, 0]


def test_missing_paths_and_bad_arguments(tmp_path):
    path, image_dir, _ = _write(tmp_path)
    with pytest.raises(FileNotFoundError, match="nope.json"):
        load_coco_json(tmp_path / "nope.json", image_dir, "xywh")
    with pytest.raises(FileNotFoundError, match="image_dir=.*not-there.*not a directory"):
        load_coco_json(path, tmp_path / "not-there", "xywh")
    with pytest.raises(ValueError, match=r"on_error='ignore'.*'raise'.*'skip'"):
        load_coco_json(path, image_dir, "xywh", on_error="ignore")
    with pytest.raises(ValueError, match=r"load_coco_json\(\) got bounding_box_format='XYWHZ'"):
        load_coco_json(path, image_dir, "XYWHZ")


def test_jpeg_with_data_after_its_end_marker_loads(tmp_path):
    # Phones append videos or metadata after the image: no end marker near the file's end,
    # so the check decodes the file instead of calling it truncated.
    path, image_dir, _ = _write(tmp_path)
    with open(image_dir / "000003.jpg", "ab") as file:
        file.write(bytes(range(256)) * 16)
    ds, _ = load_coco_json(path, image_dir, "xywh")
    assert [e["images"].shape for e in ds][1] == (60, 80, 3)


def test_skipping_every_image_gives_an_empty_dataset(tmp_path):
    data = _data()
    for index, image in enumerate(data["images"]):
        image["file_name"] = f"gone{index}.png"
    path, image_dir, _ = _write(tmp_path, data)
    with pytest.warns(UserWarning, match="missing image: 3"):
        result = load_coco_json(path, image_dir, "xywh", on_error="skip")
    assert list(result.dataset) == []
    assert result.report.skipped == {"missing image": 3, "box of a skipped image": 3}
    assert (result.report.num_images, result.report.num_boxes) == (0, 0)


def test_a_decoder_disagreeing_with_the_header_stops_the_pipeline(tmp_path):
    from nbdetect.datasets.common import ImageRecords

    Image.fromarray(np.zeros((10, 20, 3), np.uint8)).save(tmp_path / "a.png")
    records = ImageRecords()
    records.add(str(tmp_path / "a.png"), (21, 10), [[1, 1, 5, 5]], [0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="different \\[height, width\\]"):
        list(records.to_dataset("xywh"))
