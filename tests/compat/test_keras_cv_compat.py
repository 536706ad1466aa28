"""KerasCV 0.9 compatibility: the same inputs through `keras_cv` and nbdetect, the same outputs.

nbdetect claims to replace KerasCV's `bounding_box` functions, its box-aware augmentation
layers, its non-max suppression layers, its detection losses and `BoxCOCOMetrics`
(README, "What exists"). This module walks that surface with tables: one row per
function or layer and input case, all inputs from the shared builders below (one painted
image batch; its boxes dense with -1 padding, ragged, or one example; numpy or
TensorFlow).

- A row that passes unmarked: nbdetect gives KerasCV's output (values, within float
  tolerance).
- `DOCUMENTED`: nbdetect differs on purpose; the test asserts the difference itself and
  names its section of docs/differences_from_kerascv.md.
- `EXTENSION`: KerasCV 0.9 (on Keras 3) raises where nbdetect works; the test asserts
  that KerasCV raises and that nbdetect gives what KerasCV gives for the equivalent input
  it does take.
- `undocumented(...)`: an `xfail(strict=True)` test asserting KerasCV's behaviour, which
  nbdetect does not have and the differences document does not list; its reason says what
  differs.

Random layers are compared where both are deterministic (rate 1, zero-width factor
ranges such as `(0.1, 0.1)`, resizing) and otherwise by the structure of their output.
KerasCV's layers modify the dicts they are given, so every call gets a fresh input, and
KerasCV always gets the TensorFlow version of it (Keras 3 refuses some numpy dicts there).

MixUp, Mosaic, segmentation masks and top-level "labels" are not covered here.
Comparisons that already exist elsewhere are not repeated: every `convert_format` pair on
numpy with `images=` (tests/bounding_box/test_convert_format.py), `compute_iou` on numpy
in every format with masking (test_compute_iou.py), the format constants,
`is_relative` / `as_relative`, `ensure_tensor` on numpy and `compute_ciou` in `xyxy`
(test_kerascv_names.py), `SmoothL1Loss` with a cutoff of 1 (tests/losses).
"""

import inspect
import math
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from nbdetect import bounding_box, layers, losses, metrics

keras_cv = pytest.importorskip("keras_cv")

DOCS = "docs/differences_from_kerascv.md"


def undocumented(reason):
    """An xfail for a difference that docs/differences_from_kerascv.md does not list."""
    return pytest.mark.xfail(strict=True, reason=f"difference not in {DOCS}: {reason}")


# ---------------------------------------------------------------------------------------
# Shared inputs: two 24 x 32 images, box k of class c painted in COLOURS[c] on noise.

HEIGHT, WIDTH = 24, 32
BOXES = (
    np.array([[6, 4, 20, 12]], "float32"),
    np.array([[10, 10, 20, 20], [2, 3, 8, 8]], "float32"),
)
CLASSES = (np.array([1], "float32"), np.array([2, 3], "float32"))
COLOURS = {1: (255, 0, 0), 2: (0, 255, 0), 3: (0, 0, 255)}
PADDED = 3  # dense boxes have 3 slots per image, so every image has padding rows


def scaled_boxes(height=HEIGHT, width=WIDTH):
    """`BOXES` (xyxy) scaled to an image of `height x width`, on whole pixels."""
    scale = np.array([width / WIDTH, height / HEIGHT] * 2, "float32")
    return [np.round(boxes * scale) for boxes in BOXES]


def painted_images(height=HEIGHT, width=WIDTH):
    """`[2, height, width, 3]` float32: noise in [0, 64), each box painted in its colour."""
    images = np.random.default_rng(0).uniform(0, 64, (2, height, width, 3)).astype("float32")
    for image, boxes, classes in zip(images, scaled_boxes(height, width), CLASSES):
        for (x1, y1, x2, y2), class_id in zip(boxes.astype(int), classes):
            image[y1:y2, x1:x2] = COLOURS[int(class_id)]
    return images


def example(fmt="xyxy", structure="dense", kind="tf", height=HEIGHT, width=WIDTH):
    """A fresh layer input `{"images", "bounding_boxes": {"boxes", "classes"}}`.

    Args:
        fmt: the box format.
        structure: `"dense"` (`[2, 3, 4]` boxes padded with -1), `"ragged"`
            (`tf.RaggedTensor` boxes) or `"single"` (the second image and its boxes).
        kind: `"tf"` or `"numpy"` arrays (ragged boxes are always TensorFlow's).
        height: image height; the boxes scale with it.
        width: image width.
    """
    images = painted_images(height, width)
    shape = (height, width, 3)
    per_image = [
        np.asarray(bounding_box.convert_format(b, "xyxy", fmt, image_shape=shape))
        for b in scaled_boxes(height, width)
    ]
    if structure == "single":
        images, boxes, classes = images[1], per_image[1], CLASSES[1]
    elif structure == "dense":
        boxes = np.full((2, PADDED, 4), -1, "float32")
        classes = np.full((2, PADDED), -1, "float32")
        for i, (b, c) in enumerate(zip(per_image, CLASSES)):
            boxes[i, : len(b)], classes[i, : len(c)] = b, c
    else:
        boxes = tf.RaggedTensor.from_row_lengths(
            np.concatenate(per_image), [len(b) for b in per_image]
        )
        classes = tf.RaggedTensor.from_row_lengths(
            np.concatenate(CLASSES), [len(c) for c in CLASSES]
        )
    if kind == "tf":
        images = tf.constant(images)
        boxes, classes = (
            x if isinstance(x, tf.RaggedTensor) else tf.constant(x) for x in (boxes, classes)
        )
    return {"images": images, "bounding_boxes": {"boxes": boxes, "classes": classes}}


def dense_boxes(kind="tf"):
    """The dense box dict of `example()`, numpy or TensorFlow."""
    return example(kind=kind)["bounding_boxes"]


def ragged_boxes():
    """The ragged box dict of `example()`."""
    return example(structure="ragged")["bounding_boxes"]


def to_numpy(x):
    """An array from a tensor, a list, or a ragged tensor whose rows have one length."""
    if isinstance(x, tf.RaggedTensor):
        return x.to_tensor().numpy()
    return np.asarray(x)


def examples_of(output):
    """`[(image, boxes, classes)]` per image, as numpy, padding rows (class -1) dropped.

    Takes a layer's output (a dict, or images alone) of one example or a batch, dense or
    ragged, so that KerasCV's and nbdetect's outputs compare whatever their structure.
    """
    if not isinstance(output, dict):
        output = {"images": output}
    images = output["images"]
    single = len(images.shape) == 3
    if single:
        images = [to_numpy(images)]
    elif isinstance(images, tf.RaggedTensor):
        images = [to_numpy(image) for image in images]
    else:
        images = list(to_numpy(images))
    if "bounding_boxes" not in output:
        return [(image, None, None) for image in images]
    boxes, classes = output["bounding_boxes"]["boxes"], output["bounding_boxes"]["classes"]
    if single:
        boxes, classes = [to_numpy(boxes)], [to_numpy(classes)]
    result = []
    for image, b, c in zip(images, boxes, classes):
        b, c = to_numpy(b).reshape(-1, 4), to_numpy(c).reshape(-1)
        real = c != -1
        result.append((image, b[real], c[real]))
    return result


def assert_same_examples(ours, theirs, image_atol=2e-3, box_atol=1e-3):
    """The same images, and the same boxes and classes per image (padding aside)."""
    ours, theirs = examples_of(ours), examples_of(theirs)
    assert len(ours) == len(theirs)
    for i, ((our_image, our_boxes, our_classes), (image, boxes, classes)) in enumerate(
        zip(ours, theirs)
    ):
        assert our_image.shape == image.shape, f"image {i}"
        np.testing.assert_allclose(our_image, image, atol=image_atol, err_msg=f"image {i}")
        if boxes is not None:
            np.testing.assert_allclose(our_boxes, boxes, atol=box_atol, err_msg=f"boxes {i}")
            np.testing.assert_array_equal(our_classes, classes, err_msg=f"classes {i}")


def assert_same_value(ours, theirs, atol=1e-5):
    """Equal arrays, or dicts of them (`RaggedTensor`s compared row by row)."""
    if isinstance(theirs, dict):
        assert sorted(ours) == sorted(theirs)
        for key in theirs:
            assert_same_value(ours[key], theirs[key], atol)
        return
    if isinstance(theirs, (str, bool)):
        assert ours == theirs
        return
    assert isinstance(ours, tf.RaggedTensor) == isinstance(theirs, tf.RaggedTensor)
    if isinstance(theirs, tf.RaggedTensor):
        assert ours.shape.rank == theirs.shape.rank and ours.nrows() == theirs.nrows()
        for our_row, row in zip(ours, theirs):
            np.testing.assert_allclose(to_numpy(our_row), to_numpy(row), atol=atol)
        return
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), atol=atol)


# ---------------------------------------------------------------------------------------
# The public surface: every KerasCV parameter has its nbdetect counterpart, in order.

SURFACE = [
    *(
        pytest.param(keras_cv.bounding_box, bounding_box, name, id=f"bounding_box.{name}")
        for name in (
            "convert_format",
            "clip_to_image",
            "compute_iou",
            "compute_ciou",
            "to_dense",
            "to_ragged",
            "validate_format",
            "mask_invalid_detections",
            "is_relative",
            "as_relative",
        )
    ),
    pytest.param(
        keras_cv.bounding_box,
        bounding_box,
        "ensure_tensor",
        id="bounding_box.ensure_tensor",
    ),
    *(
        pytest.param(keras_cv.layers, layers, name, id=f"layers.{name}")
        for name in (
            "RandomFlip",
            "Resizing",
            "JitteredResize",
            "RandomCrop",
            "RandomCropAndResize",
            "RandomTranslation",
            "RandomShear",
            "RandomZoom",
            "RandomBrightness",
            "RandomContrast",
            "RandomHue",
            "RandomColorJitter",
            "MultiClassNonMaxSuppression",
            "NonMaxSuppression",
        )
    ),
    pytest.param(
        keras_cv.layers,
        layers,
        "RandomSaturation",
        id="layers.RandomSaturation",
    ),
    *(
        pytest.param(keras_cv.losses, losses, name, id=f"losses.{name}")
        for name in ("FocalLoss", "SmoothL1Loss")
    ),
    pytest.param(
        keras_cv.losses,
        losses,
        "GIoULoss",
        id="losses.GIoULoss",
    ),
    pytest.param(
        keras_cv.losses,
        losses,
        "CIoULoss",
        id="losses.CIoULoss",
    ),
    pytest.param(keras_cv.metrics, metrics, "BoxCOCOMetrics", id="metrics.BoxCOCOMetrics"),
]


def parameters(function):
    target = function.__init__ if inspect.isclass(function) else function
    return [
        name
        for name, p in inspect.signature(target).parameters.items()
        if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]


@pytest.mark.parametrize("theirs, ours, name", SURFACE)
def test_kerascv_parameters_are_accepted_in_the_same_order(theirs, ours, name):
    # KerasCV's positional order must be a prefix of nbdetect's, so that positional and
    # keyword calls written for KerasCV mean the same here.
    expected = parameters(getattr(theirs, name))
    assert parameters(getattr(ours, name))[: len(expected)] == expected


def test_random_rotation_lacks_only_segmentation_classes():
    # DOCUMENTED (docs: "Segmentation masks and classification labels"): nbdetect takes no
    # segmentation masks, so RandomRotation has no `segmentation_classes`.
    expected = parameters(keras_cv.layers.RandomRotation)
    assert expected[-1] == "segmentation_classes"
    assert parameters(layers.RandomRotation)[: len(expected) - 1] == expected[:-1]


# ---------------------------------------------------------------------------------------
# bounding_box functions: one table, each row a call given the module (KerasCV's or ours).

IMAGES = painted_images()
FORMATS = ("yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh")


def convert_cases():
    for fmt in FORMATS:
        for source, target in (("xyxy", fmt), (fmt, "xyxy")):
            name = f"{source}->{target}"

            def from_xyxy(boxes, images=None, image_shape=None, source=source):
                if source == "xyxy":
                    return boxes
                return bounding_box.convert_format(
                    boxes, "xyxy", source, images=images, image_shape=image_shape
                )

            yield pytest.param(
                lambda bb, f=from_xyxy, s=source, t=target: bb.convert_format(
                    tf.constant(f(dense_boxes("numpy")["boxes"], images=IMAGES)),
                    s,
                    t,
                    images=tf.constant(IMAGES),
                ),
                id=f"convert_format-{name}-tf-dense-images",
            )
            yield pytest.param(
                lambda bb, f=from_xyxy, s=source, t=target: bb.convert_format(
                    f(BOXES[1], image_shape=(HEIGHT, WIDTH, 3)),
                    s,
                    t,
                    image_shape=(HEIGHT, WIDTH, 3),
                ),
                id=f"convert_format-{name}-one-image-image_shape",
            )
            yield pytest.param(
                lambda bb, f=from_xyxy, s=source, t=target: bb.convert_format(
                    f(ragged_boxes()["boxes"], images=IMAGES), s, t, images=tf.constant(IMAGES)
                ),
                id=f"convert_format-{name}-ragged-images",
            )
            if source == "xyxy" and fmt != "yxyx":
                # Padding rows differ: test_convert_format_leaves_padding_rows_as_padding.
                continue
            yield pytest.param(
                lambda bb, f=from_xyxy, s=source, t=target: bb.convert_format(
                    {
                        "boxes": tf.constant(f(dense_boxes("numpy")["boxes"], images=IMAGES)),
                        "classes": tf.constant(dense_boxes("numpy")["classes"]),
                    },
                    s,
                    t,
                    image_shape=tf.constant([HEIGHT, WIDTH, 3]),
                ),
                id=f"convert_format-{name}-dict-tensor-image_shape",
            )


def clip_cases():
    # Boxes partly and wholly outside the image: clipped, or made padding.
    outside = np.array(
        [
            [[-4, 2, 10, 30], [30, 20, 40, 30], [-1, -1, -1, -1]],
            [[40, 0, 50, 8], [0, 0, 8, 8], [5, -3, 9, 2]],
        ],
        "float32",
    )
    classes = np.array([[1, 2, -1], [3, 4, 5]], "float32")
    for fmt in ("xyxy", "yxyx", "xywh", "center_xywh", "rel_xyxy", "rel_xywh"):
        boxes = np.asarray(bounding_box.convert_format(outside, "xyxy", fmt, images=IMAGES))
        boxes[outside == -1] = -1
        yield pytest.param(
            lambda bb, b=boxes, f=fmt: bb.clip_to_image(
                {"boxes": tf.constant(b), "classes": tf.constant(classes)},
                f,
                images=tf.constant(IMAGES),
            ),
            id=f"clip_to_image-{fmt}-dense-images",
        )
        yield pytest.param(
            lambda bb, b=boxes, f=fmt: bb.clip_to_image(
                {"boxes": tf.constant(b[1]), "classes": tf.constant(classes[1])},
                f,
                image_shape=(HEIGHT, WIDTH, 3),
            ),
            id=f"clip_to_image-{fmt}-one-image-image_shape",
        )


def iou_cases():
    other = np.array(
        [[[5, 5, 15, 15], [0, 0, 32, 24]], [[12, 12, 22, 18], [3, 3, 9, 9]]], "float32"
    )
    for fmt in ("xyxy", *FORMATS):
        first = np.asarray(
            bounding_box.convert_format(scaled_boxes()[1], "xyxy", fmt, images=IMAGES[1])
        )
        second = np.asarray(bounding_box.convert_format(other, "xyxy", fmt, images=IMAGES))
        relative = fmt.startswith("rel_")
        shape = (HEIGHT, WIDTH, 3) if relative else None
        yield pytest.param(
            lambda bb, a=first, b=second[1], f=fmt, s=shape: bb.compute_iou(
                tf.constant(a), tf.constant(b), f, image_shape=s
            ),
            id=f"compute_iou-{fmt}-pairwise-tf",
        )
        yield pytest.param(
            lambda bb, b=second, f=fmt, s=shape: bb.compute_iou(
                tf.constant(b), tf.constant(b[::-1]), f, image_shape=s
            ),
            id=f"compute_iou-{fmt}-batched-tf",
        )
        yield pytest.param(
            lambda bb, a=first, b=second, f=fmt, s=shape: bb.compute_iou(
                tf.constant(a), tf.constant(b), f, image_shape=s
            ),
            id=f"compute_iou-{fmt}-one-against-a-batch",
        )


def ciou_cases():
    # Pairs with equal aspect ratios: CIoU's aspect term is 0 in both libraries (it is
    # where they differ, see test_compute_ciou_differs_by_kerascvs_squared_aspect_term).
    a = np.array([[[0, 0, 10, 10], [5, 5, 15, 25]], [[2, 4, 6, 12], [1, 1, 21, 11]]], "float32")
    b = np.array([[[2, 2, 12, 12], [6, 9, 14, 25]], [[3, 3, 6, 9], [5, 0, 15, 5]]], "float32")
    for fmt in ("yxyx", "xywh", "center_xywh", "rel_xyxy", "rel_yxyx"):
        pair = [
            np.asarray(bounding_box.convert_format(x, "xyxy", fmt, image_shape=(HEIGHT, WIDTH, 3)))
            for x in (a, b)
        ]
        yield pytest.param(
            lambda bb, p=pair, f=fmt: bb.compute_ciou(tf.constant(p[0]), tf.constant(p[1]), f),
            id=f"compute_ciou-{fmt}-batched-equal-aspect",
        )


def detections():
    """A decoder's dense output: 3 slots per image, 1 and 2 of them real."""
    boxes = np.array(
        [[[1, 2, 5, 6], [0, 0, 9, 9], [3, 3, 4, 4]], [[2, 2, 7, 7], [1, 1, 3, 3], [0, 0, 1, 1]]],
        "float32",
    )
    result = {
        "boxes": boxes,
        "classes": np.array([[4, 2, 1], [0, 3, 3]], "float32"),
        "confidence": np.array([[0.9, 0.8, 0.7], [0.95, 0.6, 0.5]], "float32"),
        "num_detections": np.array([1, 2], "int32"),
    }
    return {key: tf.constant(value) for key, value in result.items()}


BOUNDING_BOX_CASES = [
    *convert_cases(),
    *clip_cases(),
    *iou_cases(),
    pytest.param(
        lambda bb: bb.compute_iou(
            tf.constant([[[1, 1, 5, 5], [-1, -1, -1, -1]]] * 2, "float32"),
            tf.constant(
                [[[2, 2, 6, 6], [-1, -1, -1, -1]], [[0, 0, 3, 3], [1, 1, 4, 4]]], "float32"
            ),
            "xyxy",
            use_masking=True,
            mask_val=-7,
        ),
        id="compute_iou-use_masking-mask_val",
    ),
    *ciou_cases(),
    pytest.param(lambda bb: bb.to_dense(ragged_boxes()), id="to_dense-ragged"),
    pytest.param(lambda bb: bb.to_dense(ragged_boxes(), max_boxes=4), id="to_dense-max_boxes"),
    pytest.param(
        lambda bb: bb.to_dense(
            {**ragged_boxes(), "confidence": tf.ragged.constant([[0.5], [0.6, 0.7]])},
            max_boxes=3,
            default_value=-2,
        ),
        id="to_dense-confidence-default_value",
    ),
    pytest.param(lambda bb: bb.to_dense(dense_boxes()), id="to_dense-already-dense"),
    # to_dense(dense boxes, max_boxes=...): test_to_dense_gives_max_boxes_slots_to_dense_boxes.
    pytest.param(
        lambda bb: bb.to_dense(example(structure="single")["bounding_boxes"]),
        id="to_dense-one-image",
    ),
    pytest.param(lambda bb: bb.validate_format(dense_boxes()), id="validate_format-dense"),
    pytest.param(lambda bb: bb.validate_format(ragged_boxes()), id="validate_format-ragged"),
    pytest.param(
        lambda bb: bb.validate_format(example(structure="single")["bounding_boxes"]),
        id="validate_format-one-image",
    ),
    pytest.param(
        lambda bb: bb.validate_format(
            {"boxes": tf.zeros((2, 3, 4)), "classes": tf.zeros((2, 3, 5))}
        ),
        id="validate_format-one-hot-classes",
    ),
    pytest.param(
        lambda bb: bb.mask_invalid_detections(detections()), id="mask_invalid_detections-tf"
    ),
    pytest.param(
        lambda bb: bb.mask_invalid_detections(
            {k: v for k, v in detections().items() if k != "confidence"}
        ),
        id="mask_invalid_detections-without-confidence",
    ),
    # output_ragged=True: test_mask_invalid_detections_returns_ragged_tensors_when_asked.
    pytest.param(
        lambda bb: bb.ensure_tensor(
            {**ragged_boxes(), "confidence": [[0.5, 0.6, 0.7]], "extra": "kept"}, dtype="float32"
        ),
        id="ensure_tensor-ragged-a-list-and-a-string",
    ),
]


@pytest.mark.parametrize("call", BOUNDING_BOX_CASES)
def test_bounding_box_function_matches_kerascv(call):
    theirs = call(keras_cv.bounding_box)
    ours = call(bounding_box)
    if isinstance(theirs, dict) and "is_batched" in theirs:
        # validate_format: nbdetect's info adds "classes_key" ("classes" or "labels").
        assert ours.pop("classes_key") == "classes"
    assert_same_value(ours, theirs)


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "yxyx"])
def test_convert_format_leaves_padding_rows_as_padding(fmt):
    # DOCUMENTED (docs: "Dense boxes stay dense", "`convert_format` of padding rows"): in
    # a box dict, rows of class -1 stay [-1, -1, -1, -1] in nbdetect; KerasCV converts them
    # like boxes (in xywh to [-1, -1, 0, 0]). Real rows agree.
    def convert(bb):
        return bb.convert_format(
            {key: tf.constant(value) for key, value in dense_boxes("numpy").items()},
            "xyxy",
            fmt,
            image_shape=tf.constant([HEIGHT, WIDTH, 3]),
        )

    ours, theirs = convert(bounding_box), convert(keras_cv.bounding_box)
    padding = dense_boxes("numpy")["classes"] == -1
    our_boxes, their_boxes = np.asarray(ours["boxes"]), np.asarray(theirs["boxes"])
    np.testing.assert_allclose(our_boxes[~padding], their_boxes[~padding], atol=1e-5)
    np.testing.assert_array_equal(our_boxes[padding], -1)
    as_a_box = keras_cv.bounding_box.convert_format(
        tf.constant([[-1.0, -1, -1, -1]]), "xyxy", fmt, image_shape=(HEIGHT, WIDTH, 3)
    )
    np.testing.assert_allclose(their_boxes[padding], np.tile(as_a_box, (padding.sum(), 1)))
    assert not np.all(their_boxes[padding] == -1, axis=-1).any()  # no longer padding
    as_documented = {
        "xywh": [-1, -1, 0, 0],
        "center_xywh": [-1, -1, 0, 0],
        "rel_xyxy": [-1 / WIDTH, -1 / HEIGHT, -1 / WIDTH, -1 / HEIGHT],
    }
    if fmt in as_documented:
        np.testing.assert_allclose(their_boxes[padding][0], as_documented[fmt], rtol=1e-6)


@pytest.mark.parametrize("max_boxes", [5, 2])
def test_to_dense_gives_max_boxes_slots_to_dense_boxes(max_boxes):
    # DOCUMENTED (docs: "Dense boxes stay dense", "`to_dense(..., max_boxes=)`"): KerasCV
    # returns dense boxes unchanged ([2, 3, 4]); nbdetect gives them max_boxes slots, as
    # both give ragged boxes (padded with -1, or the first max_boxes kept).
    theirs = keras_cv.bounding_box.to_dense(dense_boxes(), max_boxes=max_boxes)
    assert_same_value(theirs, dense_boxes())
    assert tuple(theirs["boxes"].shape) == (2, PADDED, 4)
    ours = bounding_box.to_dense(dense_boxes(), max_boxes=max_boxes)
    assert tuple(ours["boxes"].shape) == (2, max_boxes, 4)
    assert_same_value(ours, keras_cv.bounding_box.to_dense(ragged_boxes(), max_boxes=max_boxes))


def test_mask_invalid_detections_returns_ragged_tensors_when_asked():
    # DOCUMENTED (docs: "Other differences", "`mask_invalid_detections(output_ragged=True)`
    # returns ragged tensors"): KerasCV 0.9 on Keras 3 returns the dense -1-padded dict
    # (its supports_ragged() is False); nbdetect returns tf.RaggedTensors of 1 and 2
    # detections (equal to KerasCV's with ragged support:
    # test_ragged_results_equal_kerascvs_with_ragged_support).
    theirs = keras_cv.bounding_box.mask_invalid_detections(detections(), output_ragged=True)
    assert_same_value(theirs, keras_cv.bounding_box.mask_invalid_detections(detections()))
    assert tuple(theirs["boxes"].shape) == (2, 3, 4)
    ours = bounding_box.mask_invalid_detections(detections(), output_ragged=True)
    for key in ("boxes", "classes", "confidence"):
        assert isinstance(ours[key], tf.RaggedTensor), key
        assert ours[key].row_lengths().numpy().tolist() == [1, 2], key
    assert_same_value(bounding_box.to_dense(ours, max_boxes=3), theirs)


def test_compute_iou_with_masking_and_mixed_ranks_is_an_extension():
    # EXTENSION: KerasCV 0.9 fails on one image's boxes against a batch with
    # use_masking=True (a transpose error); nbdetect gives KerasCV's result for the boxes
    # repeated over the batch.
    one = tf.constant([[1, 1, 5, 5], [-1, -1, -1, -1]], "float32")
    batch = tf.constant([[[2, 2, 6, 6], [-1, -1, -1, -1]], [[0, 0, 3, 3], [1, 1, 4, 4]]], "float32")
    with pytest.raises(tf.errors.InvalidArgumentError):
        keras_cv.bounding_box.compute_iou(one, batch, "xyxy", use_masking=True)
    ours = bounding_box.compute_iou(one, batch, "xyxy", use_masking=True)
    theirs = keras_cv.bounding_box.compute_iou(
        tf.stack([one, one]), batch, "xyxy", use_masking=True
    )
    assert_same_value(ours, theirs)


def test_rel_center_xywh_is_an_extension():
    # EXTENSION: KerasCV 0.9 has no "rel_center_xywh"; nbdetect's is center_xywh / size.
    boxes = bounding_box.convert_format(BOXES[1], "xyxy", "center_xywh")
    with pytest.raises(ValueError):
        keras_cv.bounding_box.convert_format(BOXES[1], "xyxy", "rel_center_xywh", images=IMAGES[1])
    ours = bounding_box.convert_format(BOXES[1], "xyxy", "rel_center_xywh", images=IMAGES[1])
    np.testing.assert_allclose(ours, boxes / [WIDTH, HEIGHT, WIDTH, HEIGHT], rtol=1e-6)


def test_clip_to_image_of_ragged_boxes_is_an_extension():
    # EXTENSION: KerasCV 0.9's clip_to_image fails on ragged boxes (a reshape error);
    # nbdetect's gives KerasCV's dense result with the vanished boxes removed.
    def boxes(structure):
        result = example(structure=structure)["bounding_boxes"]
        shift = tf.constant([10.0, 0.0, 10.0, 0.0])  # in a 16-wide image, 2 boxes leave it
        return {**result, "boxes": result["boxes"] + shift}

    images = tf.constant(IMAGES[:, :, :16])
    with pytest.raises(tf.errors.InvalidArgumentError):
        keras_cv.bounding_box.clip_to_image(boxes("ragged"), "xyxy", images=images)
    theirs = keras_cv.bounding_box.clip_to_image(boxes("dense"), "xyxy", images=images)
    ours = bounding_box.clip_to_image(boxes("ragged"), "xyxy", images=images)
    assert isinstance(ours["boxes"], tf.RaggedTensor)
    for image in range(2):
        real = theirs["classes"][image].numpy() != -1
        np.testing.assert_allclose(
            ours["boxes"][image].numpy(), theirs["boxes"][image].numpy()[real]
        )
        np.testing.assert_array_equal(
            ours["classes"][image].numpy(), theirs["classes"][image].numpy()[real]
        )
    assert ours["classes"].to_list() == [[], [3.0]]


@pytest.fixture
def kerascv_with_ragged(monkeypatch):
    """KerasCV's bounding_box functions with their ragged code paths on (as on Keras 2)."""
    from keras_cv.src import backend

    monkeypatch.setattr(backend, "supports_ragged", lambda: True)
    return keras_cv.bounding_box


def test_ragged_results_equal_kerascvs_with_ragged_support(kerascv_with_ragged):
    # EXTENSION: on Keras 3, KerasCV 0.9's to_ragged raises and mask_invalid_detections
    # ignores output_ragged=True; nbdetect gives what their own code gives with ragged
    # support switched on.
    ours = bounding_box.to_ragged(dense_boxes())
    assert_same_value(ours, kerascv_with_ragged.to_ragged(dense_boxes()))
    ours = bounding_box.mask_invalid_detections(detections(), output_ragged=True)
    theirs = kerascv_with_ragged.mask_invalid_detections(detections(), output_ragged=True)
    assert_same_value(ours, theirs)


def test_kerascv_to_ragged_refuses_keras_3():
    with pytest.raises(NotImplementedError, match="does not support ragged"):
        keras_cv.bounding_box.to_ragged(dense_boxes())
    assert bounding_box.to_ragged(dense_boxes())["boxes"].row_lengths().numpy().tolist() == [1, 2]


@pytest.mark.parametrize(
    "bounding_boxes",
    [
        pytest.param(np.zeros((2, 4)), id="not-a-dict"),
        pytest.param({"boxes": np.zeros((2, 4))}, id="no-classes"),
        pytest.param(
            {"boxes": np.zeros((2, 4)), "classes": np.zeros(3)}, id="one-image-counts-differ"
        ),
        pytest.param(
            {"boxes": np.zeros((2, 3, 4)), "classes": np.zeros((2, 2))}, id="batch-counts-differ"
        ),
        pytest.param(
            {
                "boxes": tf.ragged.constant([[[0.0, 0, 1, 1]]], ragged_rank=1),
                "classes": tf.constant([[1.0]]),
            },
            id="ragged-boxes-dense-classes",
        ),
    ],
)
def test_validate_format_refuses_what_kerascv_refuses(bounding_boxes):
    with pytest.raises(ValueError):
        keras_cv.bounding_box.validate_format(bounding_boxes)
    with pytest.raises(ValueError):
        bounding_box.validate_format(bounding_boxes)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda bb: bb.convert_format(BOXES[0], "xyxy", "xywh"), id="convert_format"),
        pytest.param(lambda bb: bb.compute_iou(BOXES[1], BOXES[1], "xyxy"), id="compute_iou"),
        pytest.param(
            lambda bb: bb.clip_to_image(
                {"boxes": BOXES[1], "classes": CLASSES[1]}, "xyxy", image_shape=(HEIGHT, WIDTH, 3)
            )["boxes"],
            id="clip_to_image",
        ),
    ],
)
def test_numpy_input_gives_numpy_output(call):
    # DOCUMENTED (docs: "Other differences", "Numpy in, numpy out"): nbdetect returns
    # np.ndarray for numpy input (README), KerasCV a tf.Tensor, so `result.numpy()`
    # written for KerasCV raises; `np.asarray(result)` works with both.
    ours, theirs = call(bounding_box), call(keras_cv.bounding_box)
    assert isinstance(ours, np.ndarray)
    assert isinstance(theirs, tf.Tensor)
    with pytest.raises(AttributeError):
        ours.numpy()
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), atol=1e-6)


def ciou_reference(a, b, squared_aspect_term):
    """CIoU of xyxy pairs: the paper's, or with KerasCV 0.9's squared aspect term."""
    wa, ha = a[..., 2] - a[..., 0], a[..., 3] - a[..., 1]
    wb, hb = b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    iou = iw * ih / (wa * ha + wb * hb - iw * ih)
    cw = np.maximum(a[..., 2], b[..., 2]) - np.minimum(a[..., 0], b[..., 0])
    ch = np.maximum(a[..., 3], b[..., 3]) - np.minimum(a[..., 1], b[..., 1])
    centres = (a[..., :2] + a[..., 2:]) / 2 - (b[..., :2] + b[..., 2:]) / 2
    distance = (centres**2).sum(-1) / (cw**2 + ch**2)
    turn = np.arctan(wb / hb) - np.arctan(wa / ha)
    v = ((4 / math.pi**2) * turn) ** 2 if squared_aspect_term else (4 / math.pi**2) * turn**2
    return iou - distance - v / (1 - iou + v) * v


CIOU_PAIRS = (
    np.array([[0, 0, 40, 40], [4, 4, 24, 12], [0, 0, 10, 30]], "float64"),
    np.array([[0, 17.5, 40, 22.5], [6, 2, 20, 14], [2, 1, 14, 25]], "float64"),
)


def test_compute_ciou_differs_by_kerascvs_squared_aspect_term():
    # DOCUMENTED (docs: "`CIoULoss` and `compute_ciou`"), here for compute_ciou in xywh:
    # pairs of different aspect ratios.
    a, b = (bounding_box.convert_format(x, "xyxy", "xywh") for x in CIOU_PAIRS)
    ours = np.asarray(bounding_box.compute_ciou(a, b, "xywh"))
    theirs = np.asarray(keras_cv.bounding_box.compute_ciou(a, b, "xywh"))
    np.testing.assert_allclose(ours, ciou_reference(*CIOU_PAIRS, False), atol=1e-5)
    np.testing.assert_allclose(theirs, ciou_reference(*CIOU_PAIRS, True), atol=1e-4)
    assert np.all(ours <= theirs + 1e-6) and np.max(theirs - ours) > 0.02


# ---------------------------------------------------------------------------------------
# Augmentation layers in deterministic configurations: the same images, boxes and classes.
# Each row builds the layer from a module (keras_cv.layers or nbdetect.layers) and a box
# format; `size` is the input image size.

# (structure, nbdetect's input kind, box format): KerasCV always gets kind "tf".
INPUTS = [
    pytest.param("dense", "tf", "xyxy", id="dense-tf-xyxy"),
    pytest.param("dense", "numpy", "rel_yxyx", id="dense-numpy-rel_yxyx"),
    pytest.param("ragged", "tf", "xywh", id="ragged-xywh"),
    pytest.param("single", "tf", "center_xywh", id="one-example-center_xywh"),
]


def flip(mode, rate=1.0):
    return lambda lib, fmt: lib.RandomFlip(mode, rate=rate, bounding_box_format=fmt)


LAYER_CASES = [
    pytest.param(flip("horizontal"), (HEIGHT, WIDTH), id="RandomFlip-horizontal-rate1"),
    pytest.param(flip("vertical"), (HEIGHT, WIDTH), id="RandomFlip-vertical-rate1"),
    pytest.param(flip("horizontal_and_vertical"), (HEIGHT, WIDTH), id="RandomFlip-both-rate1"),
    pytest.param(flip("horizontal_and_vertical", 0.0), (HEIGHT, WIDTH), id="RandomFlip-rate0"),
    pytest.param(
        lambda lib, fmt: lib.Resizing(12, 16, pad_to_aspect_ratio=True, bounding_box_format=fmt),
        (HEIGHT, WIDTH),
        id="Resizing-pad-down-to-a-whole-size",
    ),
    pytest.param(
        lambda lib, fmt: lib.Resizing(48, 48, pad_to_aspect_ratio=True, bounding_box_format=fmt),
        (HEIGHT, WIDTH),
        id="Resizing-pad-up-to-a-whole-size",
    ),
    pytest.param(
        lambda lib, fmt: lib.Resizing(
            36, 36, pad_to_aspect_ratio=True, interpolation="nearest", bounding_box_format=fmt
        ),
        (HEIGHT, WIDTH),
        id="Resizing-pad-nearest",
    ),
    # Resizing(32, 48, pad_to_aspect_ratio=True), a fractional scaled size: rounded here,
    # truncated by KerasCV (test_resizing_rounds_the_scaled_size).
    pytest.param(
        lambda lib, fmt: lib.JitteredResize((HEIGHT, WIDTH), (0.5, 0.5), bounding_box_format=fmt),
        (HEIGHT, WIDTH),
        id="JitteredResize-scale-0.5-image-of-target-size",
    ),
    pytest.param(
        lambda lib, fmt: lib.JitteredResize((HEIGHT, WIDTH), (1.0, 1.0), bounding_box_format=fmt),
        (HEIGHT, WIDTH),
        id="JitteredResize-scale-1",
    ),
    pytest.param(
        lambda lib, fmt: lib.RandomCrop(HEIGHT, WIDTH, bounding_box_format=fmt),
        (HEIGHT, WIDTH),
        id="RandomCrop-image-of-crop-size",
    ),
    pytest.param(
        lambda lib, fmt: lib.RandomCrop(2 * HEIGHT, 2 * WIDTH, bounding_box_format=fmt),
        (HEIGHT, WIDTH),
        id="RandomCrop-smaller-image-of-crop-aspect",
    ),
    pytest.param(
        lambda lib, fmt: lib.RandomCropAndResize(
            (HEIGHT, WIDTH), (1.0, 1.0), (1.0, 1.0), bounding_box_format=fmt
        ),
        (HEIGHT, WIDTH),
        id="RandomCropAndResize-whole-image-same-size",
    ),
    # RandomCropAndResize((12, 16), ...) resizes differently and KerasCV leaves absolute
    # boxes unscaled (test_random_crop_and_resize_resamples_like_resizing).
    pytest.param(
        lambda lib, fmt: lib.RandomTranslation(
            (0.25, 0.25), (-0.125, -0.125), fill_mode="constant", bounding_box_format=fmt
        ),
        (HEIGHT, WIDTH),
        id="RandomTranslation-whole-pixels-constant",
    ),
    pytest.param(
        lambda lib, fmt: lib.RandomTranslation(
            (0.1, 0.1), (0.1, 0.1), fill_mode="constant", bounding_box_format=fmt
        ),
        (HEIGHT, WIDTH),
        id="RandomTranslation-fractional-pixels-constant",
    ),
    pytest.param(
        lambda lib, fmt: lib.RandomTranslation(
            (0.6, 0.6), (0.0, 0.0), fill_mode="constant", bounding_box_format=fmt
        ),
        (HEIGHT, WIDTH),
        id="RandomTranslation-boxes-leave-the-image",
    ),
    pytest.param(
        lambda lib, fmt: lib.RandomRotation(
            (0.1, 0.1), fill_mode="constant", bounding_box_format=fmt
        ),
        (HEIGHT, WIDTH),
        id="RandomRotation-0.1-turn-constant",
    ),
    pytest.param(
        lambda lib, fmt: lib.RandomRotation(
            (-0.05, -0.05), fill_mode="constant", interpolation="nearest", bounding_box_format=fmt
        ),
        (HEIGHT, WIDTH),
        id="RandomRotation-clockwise-nearest",
    ),
    pytest.param(
        lambda lib, fmt: lib.RandomRotation(
            (0.25, 0.25), fill_mode="constant", bounding_box_format=fmt
        ),
        (HEIGHT, WIDTH),
        id="RandomRotation-quarter-turn-non-square",
    ),
    # RandomShear: about the centre here, the top-left corner in KerasCV
    # (test_random_shear_shears_about_the_centre).
]


@pytest.mark.parametrize("structure, kind, fmt", INPUTS)
@pytest.mark.parametrize("make_layer, size", LAYER_CASES)
def test_layer_matches_kerascv(make_layer, size, structure, kind, fmt):
    theirs = make_layer(keras_cv.layers, fmt)(example(fmt, structure, "tf", *size))
    ours = make_layer(layers, fmt)(example(fmt, structure, kind, *size))
    assert_same_examples(ours, theirs)


# Layers KerasCV applies to images only (it refuses boxes there): images compared.
IMAGE_LAYER_CASES = [
    pytest.param(lambda lib: lib.Resizing(12, 20), id="Resizing-stretch"),
    pytest.param(
        lambda lib: lib.Resizing(30, 40, interpolation="nearest"), id="Resizing-stretch-nearest"
    ),
    pytest.param(lambda lib: lib.Resizing(16, 16, crop_to_aspect_ratio=True), id="Resizing-crop"),
    # Resizing(12, 30, crop_to_aspect_ratio=True), a fractional window: rounded here,
    # truncated by KerasCV (test_resizing_rounds_the_crop_window).
    pytest.param(lambda lib: lib.RandomZoom((0.5, 0.5), fill_mode="constant"), id="RandomZoom-out"),
    pytest.param(
        lambda lib: lib.RandomZoom((-0.5, -0.5), fill_mode="constant"), id="RandomZoom-in"
    ),
    pytest.param(
        lambda lib: lib.RandomZoom((-0.25, -0.25), (0.25, 0.25), fill_mode="constant"),
        id="RandomZoom-height-and-width",
    ),
]


@pytest.mark.parametrize("single", [False, True], ids=["batch", "one-image"])
@pytest.mark.parametrize("make_layer", IMAGE_LAYER_CASES)
def test_image_layer_matches_kerascv(make_layer, single):
    images = IMAGES[1] if single else IMAGES
    assert_same_examples(
        make_layer(layers)(images), make_layer(keras_cv.layers)(tf.constant(images))
    )


def with_format(fmt):
    """`bounding_box_format=fmt` as a keyword argument, none for images alone."""
    return {} if fmt is None else {"bounding_box_format": fmt}


@pytest.mark.parametrize(
    "make_layer, reference",
    [
        pytest.param(
            lambda lib, fmt: lib.Resizing(16, 16, **with_format(fmt)),
            lambda boxes: boxes * [0.5, 2 / 3, 0.5, 2 / 3],
            id="Resizing-stretch",
        ),
        pytest.param(
            lambda lib, fmt: lib.RandomZoom((0.5, 0.5), fill_mode="constant", **with_format(fmt)),
            lambda boxes: (boxes - [16, 12, 16, 12]) / 1.5 + [16, 12, 16, 12],
            id="RandomZoom-out",
        ),
    ],
)
def test_boxes_where_kerascv_refuses_them_are_an_extension(make_layer, reference):
    # EXTENSION: KerasCV's Resizing takes boxes only with pad_to_aspect_ratio=True, and its
    # RandomZoom none at all; nbdetect's images are KerasCV's, and its boxes follow them.
    with pytest.raises((ValueError, NotImplementedError)):
        make_layer(keras_cv.layers, None)(example())
    ours = make_layer(layers, "xyxy")(example())
    theirs = make_layer(keras_cv.layers, None)(example()["images"])
    assert_same_examples(ours["images"], theirs)
    for (_, boxes, classes), expected in zip(examples_of(ours), scaled_boxes()):
        np.testing.assert_allclose(boxes, reference(expected), atol=1e-3)
        assert len(classes) == len(expected)


def ragged_images_example():
    """Two images of different sizes (24 x 32 and 16 x 20) as a ragged batch, with boxes."""
    images = tf.ragged.stack(
        [tf.RaggedTensor.from_tensor(IMAGES[0]), tf.RaggedTensor.from_tensor(IMAGES[1, :16, :20])]
    )
    boxes = tf.ragged.constant(
        [[[6, 4, 20, 12]], [[10, 10, 20, 16], [2, 3, 8, 8]]], "float32", ragged_rank=1
    )
    classes = tf.ragged.constant([[1], [2, 3]], "float32")
    return {"images": images, "bounding_boxes": {"boxes": boxes, "classes": classes}}


@pytest.mark.parametrize(
    "make_layer",
    [
        pytest.param(flip("horizontal"), id="RandomFlip"),
        pytest.param(
            lambda lib, fmt: lib.RandomTranslation(
                (0.25, 0.25), (0.125, 0.125), fill_mode="constant", bounding_box_format=fmt
            ),
            id="RandomTranslation",
        ),
        pytest.param(
            lambda lib, fmt: lib.Resizing(
                12, 16, pad_to_aspect_ratio=True, bounding_box_format=fmt
            ),
            id="Resizing-pad",
        ),
    ],
)
def test_ragged_batch_of_different_size_images_matches_kerascv(make_layer):
    theirs = make_layer(keras_cv.layers, "xyxy")(ragged_images_example())
    ours = make_layer(layers, "xyxy")(ragged_images_example())
    assert_same_examples(ours, theirs)


def test_rotation_of_different_size_images_is_an_extension():
    # EXTENSION: KerasCV's RandomRotation fails on a ragged batch of images ("Index 1 is
    # not uniform"); nbdetect's rotates each image as KerasCV rotates it alone.
    def rotation(lib):
        return lib.RandomRotation((0.1, 0.1), fill_mode="constant", bounding_box_format="xyxy")

    with pytest.raises(ValueError, match="not uniform"):
        rotation(keras_cv.layers)(ragged_images_example())
    ours = examples_of(rotation(layers)(ragged_images_example()))
    source = ragged_images_example()
    for i, (image, boxes, classes) in enumerate(ours):
        alone = {
            "images": source["images"][i].to_tensor(),
            "bounding_boxes": {k: v[i] for k, v in source["bounding_boxes"].items()},
        }
        assert_same_examples(
            {"images": image, "bounding_boxes": {"boxes": boxes, "classes": classes}},
            rotation(keras_cv.layers)(alone),
        )


# ---------------------------------------------------------------------------------------
# Documented layer differences: asserted as they are.


def test_random_translation_fills_with_a_constant_by_default():
    # DOCUMENTED (docs: "Constant fill by default"): KerasCV reflects.
    def translation(lib, **kwargs):
        return lib.RandomTranslation((0.25, 0.25), (0.0, 0.0), bounding_box_format="xyxy", **kwargs)

    ours = translation(layers)(example())
    constant = translation(keras_cv.layers, fill_mode="constant")(example())
    reflected = translation(keras_cv.layers)(example())
    assert_same_examples(ours, constant)
    assert np.all(np.asarray(ours["images"])[:, :6] == 0)
    np.testing.assert_allclose(np.asarray(reflected["images"])[:, :6], IMAGES[:, 5::-1])


def test_jittered_resize_scales_the_crop_size():
    # DOCUMENTED (docs: "`JitteredResize` scales the crop size, not the image"): KerasCV
    # scales the input image by the factor f, nbdetect fits it in f * crop_size. A 24 x 32
    # image, a 48 x 48 target, f = 0.5: KerasCV 12 x 16 (x 0.5), nbdetect fits 24 x 24:
    # 18 x 24 (x 0.75).
    def jitter(lib):
        return lib.JitteredResize((48, 48), (0.5, 0.5), bounding_box_format="xyxy")

    theirs, ours = jitter(keras_cv.layers)(example()), jitter(layers)(example())
    for output, scale in ((theirs, 0.5), (ours, 0.75)):
        images = np.asarray(output["images"])
        assert images.shape == (2, 48, 48, 3)
        content = np.nonzero(images.max(axis=(0, 3)))
        assert (content[0].max() + 1, content[1].max() + 1) == (HEIGHT * scale, WIDTH * scale)
        for (_, boxes, _), expected in zip(examples_of(output), scaled_boxes()):
            np.testing.assert_allclose(boxes, expected * scale, atol=1e-3)


def test_random_crop_of_a_smaller_image_keeps_its_aspect_ratio():
    # DOCUMENTED (docs: "`RandomCrop` of an image smaller than the crop"): a 24 x 32 image
    # and a 32 x 32 crop. KerasCV stretches the image to 32 x 32; nbdetect resizes a
    # 24 x 24 window of it (at a random x) to 32 x 32, scaling both axes by 4 / 3.
    theirs = keras_cv.layers.RandomCrop(32, 32, bounding_box_format="xyxy")(example())
    ours = layers.RandomCrop(32, 32, seed=1, bounding_box_format="xyxy")(example())
    for (_, boxes, _), expected in zip(examples_of(theirs), scaled_boxes()):
        np.testing.assert_allclose(boxes, expected * [1, 4 / 3, 1, 4 / 3], atol=1e-3)
    for (_, boxes, classes), (expected, expected_classes) in zip(
        examples_of(ours), zip(scaled_boxes(), CLASSES)
    ):
        kept = np.isin(expected_classes, classes)
        heights = boxes[:, 3] - boxes[:, 1]
        np.testing.assert_allclose(
            heights, (expected[kept, 3] - expected[kept, 1]) * 4 / 3, atol=1e-3
        )
        assert np.all(
            boxes[:, 2] - boxes[:, 0] <= (expected[kept, 2] - expected[kept, 0]) * 4 / 3 + 1e-3
        )
        assert np.all(boxes >= 0) and np.all(boxes <= 32)


def colour_extent(image, class_id):
    """`[x1, y1, x2, y2]` of the pixels of COLOURS[class_id] (at least half intensity)."""
    colour = np.array(COLOURS[class_id], "float32")
    amount = image @ colour / (colour @ colour)
    mask = (amount >= 0.5) & (np.abs(image - amount[..., None] * colour).max(-1) < 80)
    ys, xs = np.nonzero(mask)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], "float32")


def test_random_shear_boxes_follow_the_pixels_kerascvs_do_not():
    # DOCUMENTED (docs: "Boxes that follow the pixels", "`RandomShear`"): after a shear,
    # nbdetect's box of each painted rectangle encloses its pixels to a pixel; KerasCV's
    # misses its own pixels by more than a pixel.
    def shear(lib):
        return lib.RandomShear(
            x_factor=(0.2, 0.2),
            fill_mode="constant",
            interpolation="nearest",
            seed=1,
            bounding_box_format="xyxy",
        )

    errors = {}
    for name, lib in (("ours", layers), ("theirs", keras_cv.layers)):
        errors[name] = max(
            np.abs(colour_extent(image, int(c)) - box).max()
            for image, boxes, classes in examples_of(shear(lib)(example()))
            for box, c in zip(boxes, classes)
        )
    assert errors["ours"] <= 1.0
    assert errors["theirs"] > 1.0


# ---------------------------------------------------------------------------------------
# Resizing, resampling, shearing: documented differences the tables above found.


def content_size(images):
    """`(rows, columns)` of the non-zero part of an image or a batch (padding is 0)."""
    images = np.asarray(images)
    rows, columns = np.nonzero(images.reshape(-1, *images.shape[-3:]).max(axis=(0, 3)))
    return int(rows.max()) + 1, int(columns.max()) + 1


def expected_boxes(structure):
    """`scaled_boxes()` of the images an `example(structure=...)` holds."""
    return scaled_boxes()[1:] if structure == "single" else scaled_boxes()


@pytest.mark.parametrize("structure, kind, fmt", INPUTS)
def test_resizing_rounds_the_scaled_size(structure, kind, fmt):
    # DOCUMENTED (docs: "`Resizing` rounds to the nearest pixel"): a 24 x 32 image fitted
    # in 32 x 48 is 42.67 px wide: KerasCV truncates that to 42 (aspect 1.3125, 1.6% off
    # the image's 4 / 3), nbdetect rounds it to 43 (1.344, 0.8% off); in both the boxes
    # scale with the pixels, so they differ by that pixel's share.
    def resizing(lib):
        return lib.Resizing(32, 48, pad_to_aspect_ratio=True, bounding_box_format=fmt)

    theirs = resizing(keras_cv.layers)(example(fmt, structure, "tf"))
    ours = resizing(layers)(example(fmt, structure, kind))
    for output, width, aspect_error in ((theirs, 42, -0.016), (ours, 43, 0.008)):
        assert content_size(output["images"]) == (32, width)
        assert (width / 32) / (WIDTH / HEIGHT) - 1 == pytest.approx(aspect_error, abs=5e-4)
        scale = np.array([width / WIDTH, 32 / HEIGHT] * 2)
        for (image, boxes, _), expected in zip(examples_of(output), expected_boxes(structure)):
            xyxy = bounding_box.convert_format(boxes, fmt, "xyxy", image_shape=image.shape)
            np.testing.assert_allclose(xyxy, expected * scale, atol=1e-3)
    if fmt == "xyxy":
        np.testing.assert_allclose(examples_of(theirs)[0][1], [[7.875, 16 / 3, 26.25, 16]])
        np.testing.assert_allclose(examples_of(ours)[0][1], [[8.0625, 16 / 3, 26.875, 16]])


@pytest.mark.parametrize("single", [False, True], ids=["batch", "one-image"])
def test_resizing_rounds_the_crop_window(single):
    # DOCUMENTED (docs: "`Resizing` rounds to the nearest pixel"): the centred window of
    # aspect 30 / 12 = 2.5 in a 24 x 32 image is 12.8 rows high. KerasCV takes 12 (rows
    # [6:18], aspect 2.667, 6.7% off), nbdetect 13 ([6:19], 2.462, 1.5% off).
    images = IMAGES[1] if single else IMAGES
    theirs = keras_cv.layers.Resizing(12, 30, crop_to_aspect_ratio=True)(tf.constant(images))
    ours = layers.Resizing(12, 30, crop_to_aspect_ratio=True)(images)
    for output, rows, aspect_error in ((theirs, 12, 0.0667), (ours, 13, -0.0154)):
        expected = tf.image.resize(images[..., 6 : 6 + rows, :, :], (12, 30))
        np.testing.assert_allclose(np.asarray(output), expected, atol=1e-3)
        assert (WIDTH / rows) / 2.5 - 1 == pytest.approx(aspect_error, abs=1e-4)
    if not single:
        difference = np.abs(np.asarray(ours) - np.asarray(theirs)).max()
        assert round(float(difference)) == 114


@pytest.mark.parametrize("structure, kind, fmt", INPUTS)
def test_random_crop_and_resize_resamples_like_resizing(structure, kind, fmt):
    # DOCUMENTED (docs: "`RandomCropAndResize` resamples like `Resizing`"; "Boxes that
    # follow the pixels", "`RandomCropAndResize` in absolute formats"): the whole 24 x 32
    # image to 12 x 16. nbdetect's pixels are Resizing's (tf.image.resize), KerasCV's
    # tf.image.crop_and_resize's, up to 107 of 255 apart. KerasCV converts absolute boxes
    # back with the input's size, so they stay unscaled ([6, 4, 20, 12], past the 16 px
    # wide output); nbdetect's are halved ([3, 2, 10, 6]) and cover their pixels. Relative
    # boxes agree.
    def crop(lib):
        return lib.RandomCropAndResize((12, 16), (1.0, 1.0), (1.0, 1.0), bounding_box_format=fmt)

    theirs = crop(keras_cv.layers)(example(fmt, structure, "tf"))
    ours = crop(layers)(example(fmt, structure, kind))
    inputs = examples_of(example(fmt, structure))
    resized = keras_cv.layers.Resizing(12, 16)(example(fmt, structure)["images"])
    np.testing.assert_allclose(np.asarray(ours["images"]), np.asarray(resized), atol=1e-3)
    for (image, _, _), (source, _, _) in zip(examples_of(theirs), inputs):
        sampled = tf.image.crop_and_resize(source[None], [[0.0, 0, 1, 1]], [0], (12, 16))
        np.testing.assert_allclose(image, sampled[0], atol=1e-3)
    if structure != "single":
        difference = np.abs(np.asarray(ours["images"]) - np.asarray(theirs["images"])).max()
        assert round(float(difference)) == 107

    unscaled = not bounding_box.is_relative(fmt)
    for output, scale in ((theirs, 1.0 if unscaled else 0.5), (ours, 0.5)):
        for (image, boxes, classes), expected in zip(
            examples_of(output), expected_boxes(structure)
        ):
            xyxy = np.asarray(
                bounding_box.convert_format(boxes, fmt, "xyxy", image_shape=image.shape)
            )
            np.testing.assert_allclose(xyxy, expected * scale, atol=1e-3)
            if output is ours:
                for box, class_id in zip(xyxy, classes):
                    np.testing.assert_allclose(colour_extent(image, int(class_id)), box, atol=1)
    if unscaled:
        their_first = bounding_box.convert_format(
            examples_of(theirs)[0][1], fmt, "xyxy", image_shape=(12, 16, 3)
        )
        assert np.asarray(their_first)[:, 2].max() > 16  # past the output's right edge


def test_random_shear_shears_about_the_centre():
    # DOCUMENTED (docs: "`RandomShear` shears about the centre"): x_factor 0.2, nearest
    # sampling, a 24-row image. KerasCV moves row y by 0.2 * y px, so rows 0-2 stay in
    # place; nbdetect by 0.2 * (y - 12), so the middle rows 10-13 do (9 or 14 at a tie).
    def shear(lib):
        return lib.RandomShear(
            x_factor=(0.2, 0.2), fill_mode="constant", interpolation="nearest", seed=3
        )

    for lib, still in ((keras_cv.layers, {0, 1, 2}), (layers, {10, 11, 12, 13})):
        output = np.asarray(shear(lib)(tf.constant(IMAGES)))
        for image, source in zip(output, IMAGES):
            unchanged = {y for y in range(HEIGHT) if np.array_equal(image[y], source[y])}
            assert still <= unchanged <= still | {min(still) - 1, max(still) + 1}, lib


# ---------------------------------------------------------------------------------------
# Dense boxes and training=False: documented differences.


@pytest.mark.parametrize(
    "make_layer",
    [
        pytest.param(flip("horizontal"), id="RandomFlip"),
        pytest.param(
            lambda lib, fmt: lib.Resizing(
                12, 16, pad_to_aspect_ratio=True, bounding_box_format=fmt
            ),
            id="Resizing",
        ),
        pytest.param(
            lambda lib, fmt: lib.RandomRotation(
                (0.1, 0.1), fill_mode="constant", bounding_box_format=fmt
            ),
            id="RandomRotation",
        ),
        pytest.param(lambda lib, fmt: lib.RandomBrightness((0.2, 0.2)), id="RandomBrightness"),
    ],
)
def test_dense_boxes_stay_dense(make_layer):
    # DOCUMENTED (docs: "Dense boxes stay dense", "Layers"): given boxes [2, 3, 4] padded
    # with -1, KerasCV 0.9's layers return a tf.RaggedTensor [2, None, 4] (rows of 1 and 2
    # boxes), so `.to_tensor()` is what code written for it calls; nbdetect's return a
    # tensor [2, 3, 4] with the same padding, on which `.to_tensor()` raises. Either
    # library's `to_dense` takes either output (KerasCV's becomes [2, 2, 4]).
    theirs = make_layer(keras_cv.layers, "xyxy")(example())
    ours = make_layer(layers, "xyxy")(example())
    assert_same_examples(ours, theirs)
    their_boxes, our_boxes = theirs["bounding_boxes"], ours["bounding_boxes"]
    assert isinstance(their_boxes["boxes"], tf.RaggedTensor)
    assert their_boxes["boxes"].shape.as_list() == [2, None, 4]
    assert their_boxes["boxes"].row_lengths().numpy().tolist() == [1, 2]
    assert isinstance(our_boxes["boxes"], tf.Tensor)
    assert tuple(our_boxes["boxes"].shape) == (2, PADDED, 4)
    np.testing.assert_array_equal(our_boxes["classes"], dense_boxes("numpy")["classes"])
    with pytest.raises(AttributeError):
        our_boxes["boxes"].to_tensor()
    for bb in (keras_cv.bounding_box, bounding_box):
        assert tuple(bb.to_dense(their_boxes)["boxes"].shape) == (2, 2, 4)
        assert tuple(bb.to_dense(our_boxes)["boxes"].shape) == (2, PADDED, 4)


RANDOM_LAYERS = [
    pytest.param(
        lambda lib: lib.RandomFlip("horizontal", rate=1.0, bounding_box_format="xyxy"),
        id="RandomFlip",
    ),
    pytest.param(
        lambda lib: lib.RandomTranslation(
            (0.25, 0.25), (0, 0), fill_mode="constant", bounding_box_format="xyxy"
        ),
        id="RandomTranslation",
    ),
    pytest.param(
        lambda lib: lib.RandomRotation(
            (0.25, 0.25), fill_mode="constant", bounding_box_format="xyxy"
        ),
        id="RandomRotation",
    ),
    pytest.param(lambda lib: lib.RandomBrightness((0.2, 0.2)), id="RandomBrightness"),
]


@pytest.mark.parametrize("make_layer", RANDOM_LAYERS)
def test_training_false_means_inference(make_layer):
    # DOCUMENTED (docs: "`training=False` means inference"): KerasCV 0.9's layers take no
    # `training` and augment anyway (here as with training=True: these factors are fixed);
    # nbdetect's return their input.
    theirs = make_layer(keras_cv.layers)(example(), training=False)
    assert_same_examples(theirs, make_layer(keras_cv.layers)(example(), training=True))
    assert not np.allclose(np.asarray(theirs["images"]), IMAGES, atol=1.0)
    ours = make_layer(layers)(example(), training=False)
    assert_same_examples(ours, example(), image_atol=0, box_atol=0)


@pytest.mark.parametrize("make_layer", RANDOM_LAYERS)
def test_training_true_matches_kerascv(make_layer):
    theirs = make_layer(keras_cv.layers)(example(), training=True)
    ours = make_layer(layers)(example(), training=True)
    assert_same_examples(ours, theirs)


def test_resizing_with_training_false_matches_kerascv():
    def resizing(lib):
        return lib.Resizing(12, 16, pad_to_aspect_ratio=True, bounding_box_format="xyxy")

    assert_same_examples(
        resizing(layers)(example(), training=False),
        resizing(keras_cv.layers)(example(), training=False),
    )


def test_jittered_resize_with_training_false_resizes_like_resizing():
    # DOCUMENTED (docs: "`training=False` means inference"): a 24 x 32 image, target
    # 24 x 32, scale 0.25. KerasCV jitters anyway: 6 x 8 of content, boxes quartered;
    # nbdetect gives what Resizing(24, 32, pad_to_aspect_ratio=True) gives: the image.
    def jitter(lib):
        return lib.JitteredResize((HEIGHT, WIDTH), (0.25, 0.25), bounding_box_format="xyxy")

    theirs = jitter(keras_cv.layers)(example(), training=False)
    assert content_size(theirs["images"]) == (HEIGHT // 4, WIDTH // 4)
    for (_, boxes, _), expected in zip(examples_of(theirs), scaled_boxes()):
        np.testing.assert_allclose(boxes, expected / 4, atol=1e-3)
    resizing = layers.Resizing(HEIGHT, WIDTH, pad_to_aspect_ratio=True, bounding_box_format="xyxy")
    ours = jitter(layers)(example(), training=False)
    assert_same_examples(ours, resizing(example()))
    assert_same_examples(ours, example())


def test_random_crop_and_resize_boxes_in_relative_formats_match_kerascv():
    # KerasCV's box bug in RandomCropAndResize (above) is in the absolute formats only:
    # relative boxes, which need no image size, agree.
    def crop(lib):
        return lib.RandomCropAndResize(
            (12, 16), (1.0, 1.0), (1.0, 1.0), bounding_box_format="rel_xyxy"
        )

    for (_, ours, our_classes), (_, theirs, classes) in zip(
        examples_of(crop(layers)(example("rel_xyxy"))),
        examples_of(crop(keras_cv.layers)(example("rel_xyxy"))),
    ):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
        np.testing.assert_array_equal(our_classes, classes)


# ---------------------------------------------------------------------------------------
# Random layers in random configurations: the structure of the output.

STRUCTURE_CASES = [
    pytest.param(
        lambda lib, fmt: lib.RandomFlip("horizontal_and_vertical", seed=1, bounding_box_format=fmt),
        "xywh",
        id="RandomFlip",
    ),
    pytest.param(
        lambda lib, fmt: lib.JitteredResize((32, 32), (0.5, 1.5), seed=1, bounding_box_format=fmt),
        "xywh",
        id="JitteredResize",
    ),
    pytest.param(
        lambda lib, fmt: lib.RandomCrop(16, 20, seed=1, bounding_box_format=fmt),
        "xywh",
        id="RandomCrop",
    ),
    # A relative format: KerasCV's absolute boxes are wrong here
    # (test_random_crop_and_resize_resamples_like_resizing).
    pytest.param(
        lambda lib, fmt: lib.RandomCropAndResize(
            (20, 20), (0.3, 1.0), (0.75, 1.33), seed=1, bounding_box_format=fmt
        ),
        "rel_xywh",
        id="RandomCropAndResize",
    ),
    pytest.param(
        lambda lib, fmt: lib.RandomTranslation(
            0.2, 0.2, fill_mode="constant", seed=1, bounding_box_format=fmt
        ),
        "xywh",
        id="RandomTranslation",
    ),
    pytest.param(
        lambda lib, fmt: lib.RandomRotation(
            0.1, fill_mode="constant", seed=1, bounding_box_format=fmt
        ),
        "xywh",
        id="RandomRotation",
    ),
    pytest.param(
        lambda lib, fmt: lib.RandomShear(
            0.2, 0.2, fill_mode="constant", seed=1, bounding_box_format=fmt
        ),
        "xywh",
        id="RandomShear",
    ),
    pytest.param(lambda lib, fmt: lib.RandomBrightness(0.2, seed=1), "xywh", id="RandomBrightness"),
    pytest.param(
        lambda lib, fmt: lib.RandomContrast((0, 255), 0.3, seed=1), "xywh", id="RandomContrast"
    ),
    pytest.param(lambda lib, fmt: lib.RandomHue(0.3, (0, 255), seed=1), "xywh", id="RandomHue"),
    pytest.param(
        lambda lib, fmt: lib.RandomSaturation((0.2, 0.5), seed=1), "xywh", id="RandomSaturation"
    ),
    pytest.param(
        lambda lib, fmt: lib.RandomColorJitter((0, 255), 0.1, 0.2, (0.3, 0.5), 0.1, seed=1),
        "xywh",
        id="RandomColorJitter",
    ),
]


def structure_of(output, fmt):
    """What a caller relies on: keys, image shapes and dtype; boxes inside their image."""
    result = {
        "keys": sorted(output),
        "box keys": sorted(output["bounding_boxes"]),
        "images dtype": output["images"].dtype,
    }
    per_image = examples_of(output)
    result["image shapes"] = [image.shape for image, _, _ in per_image]
    for image, boxes, classes in per_image:
        height, width = image.shape[:2]
        xyxy = np.asarray(bounding_box.convert_format(boxes, fmt, "xyxy", image_shape=image.shape))
        assert np.all(xyxy >= -1e-3) and np.all(xyxy[:, 2:] <= [width + 1e-3, height + 1e-3])
        assert np.all(xyxy[:, 2:] > xyxy[:, :2])
        assert np.all(np.isfinite(image)) and image.min() >= 0 and image.max() <= 255
        assert len(boxes) == len(classes)
    result["classes within the input's"] = all(
        set(classes.tolist()) <= set(expected.tolist())
        for (_, _, classes), expected in zip(per_image, CLASSES)
    )
    return result


@pytest.mark.parametrize("structure", ["ragged", "dense"])
@pytest.mark.parametrize("make_layer, fmt", STRUCTURE_CASES)
def test_random_layer_output_has_kerascvs_structure(make_layer, fmt, structure):
    theirs = make_layer(keras_cv.layers, fmt)(example(fmt, structure))
    ours = make_layer(layers, fmt)(example(fmt, structure))
    assert structure_of(ours, fmt) == structure_of(theirs, fmt)
    assert structure_of(ours, fmt)["classes within the input's"]
    # Ragged boxes stay ragged in both. Dense ones become ragged in KerasCV and stay dense
    # here (DOCUMENTED, docs: "Dense boxes stay dense", "Layers").
    assert isinstance(theirs["bounding_boxes"]["boxes"], tf.RaggedTensor)
    if structure == "ragged":
        assert isinstance(ours["bounding_boxes"]["boxes"], tf.RaggedTensor)
    else:
        assert isinstance(ours["bounding_boxes"]["boxes"], tf.Tensor)
        assert tuple(ours["bounding_boxes"]["boxes"].shape) == (2, PADDED, 4)


# ---------------------------------------------------------------------------------------
# Colour layers: deterministic factors give KerasCV's pixels; boxes pass through.

COLOUR_CASES = [
    pytest.param(lambda lib: lib.RandomBrightness((0.2, 0.2)), id="RandomBrightness-up"),
    pytest.param(lambda lib: lib.RandomBrightness((-0.3, -0.3)), id="RandomBrightness-down"),
    pytest.param(
        lambda lib: lib.RandomBrightness((0.2, 0.2), value_range=(0, 1)),
        id="RandomBrightness-value_range-0-1",
    ),
    pytest.param(lambda lib: lib.RandomContrast((0, 255), (0.0, 0.0)), id="RandomContrast-0"),
    pytest.param(lambda lib: lib.RandomSaturation((0.0, 0.0)), id="RandomSaturation-grey"),
    pytest.param(lambda lib: lib.RandomSaturation((0.25, 0.25)), id="RandomSaturation-0.25"),
    pytest.param(lambda lib: lib.RandomSaturation((0.5, 0.5)), id="RandomSaturation-unchanged"),
    pytest.param(
        lambda lib: lib.RandomSaturation((0.75, 0.75)),
        id="RandomSaturation-0.75",
    ),
    pytest.param(
        lambda lib: lib.RandomSaturation((1.0, 1.0)),
        id="RandomSaturation-1",
    ),
    pytest.param(lambda lib: lib.RandomHue((0.0, 0.0), (0, 255)), id="RandomHue-0"),
    pytest.param(lambda lib: lib.RandomHue((1.0, 1.0), (0, 255)), id="RandomHue-half-turn"),
    pytest.param(
        lambda lib: lib.RandomColorJitter((0, 255), (0.2, 0.2), (0.0, 0.0), (0.5, 0.5), (1.0, 1.0)),
        id="RandomColorJitter",
    ),
]


@pytest.mark.parametrize("structure", ["dense", "ragged", "single"])
@pytest.mark.parametrize("make_layer", COLOUR_CASES)
def test_colour_layer_matches_kerascv(make_layer, structure):
    theirs = make_layer(keras_cv.layers)(example(structure=structure))
    ours = make_layer(layers)(example(structure=structure))
    assert_same_examples(ours, theirs, image_atol=5e-3)


def test_random_saturation_in_unit_range_matches_kerascv():
    # With pixels and value_range in [0, 1] Keras core's clip is the right one.
    images = IMAGES / 255.0
    ours = layers.RandomSaturation((0.75, 0.75), value_range=(0, 1))(images)
    theirs = keras_cv.layers.RandomSaturation((0.75, 0.75))(tf.constant(images))
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), atol=1e-5)


def test_random_hue_turns_either_way_as_kerascv():
    # factor (0.4, 0.4): each image's hue turns by +0.2 or -0.2 (a random sign in both).
    layer = keras_cv.layers.RandomHue((0.4, 0.4), (0, 255), seed=2)
    images = tf.constant(np.tile(IMAGES, (4, 1, 1, 1)))
    candidates = [
        np.asarray(layer.augment_images(images, tf.fill([8], turn))) for turn in (0.2, -0.2)
    ]
    for output in (layers.RandomHue((0.4, 0.4), (0, 255), seed=2)(images), layer(images)):
        output = np.asarray(output)
        errors = np.stack([np.abs(output - c).max(axis=(1, 2, 3)) for c in candidates])
        assert np.all(errors.min(axis=0) < 1e-2)
        assert set(errors.argmin(axis=0).tolist()) == {0, 1}  # both signs drawn


@pytest.mark.parametrize(
    "factor",
    [
        pytest.param((0.5, 0.5), id="pair"),
        pytest.param(
            0.5,
            id="number",
        ),
        pytest.param(
            (0.5, 0.2),
            id="pair-high-first",
        ),
    ],
)
def test_random_contrast_draws_kerascvs_factors(factor):
    # Each image's contrast is scaled by a factor in [1 - low, 1 + high] (KerasCV) about
    # its per-channel means, which stay. Pixels in [64, 192] are never clipped here.
    low, high = (factor, factor) if isinstance(factor, float) else factor
    lowest, highest = 1 - low, 1 + high
    images = np.random.default_rng(1).uniform(64, 192, (64, 4, 4, 3)).astype("float32")
    means = images.mean(axis=(1, 2), keepdims=True)
    for lib in (keras_cv.layers, layers):
        output = np.asarray(lib.RandomContrast((0, 255), factor, seed=2)(tf.constant(images)))
        np.testing.assert_allclose(output.mean(axis=(1, 2), keepdims=True), means, atol=1e-2)
        before, after = (x.reshape(64, -1) for x in (images - means, output - means))
        factors = (before * after).sum(1) / (before * before).sum(1)  # one per image
        np.testing.assert_allclose(after, factors[:, None] * before, atol=1e-2)
        assert lowest - 1e-4 <= factors.min() and factors.max() <= highest + 1e-4, lib
        reach = 0.25 * (highest - lowest)
        assert factors.min() < lowest + reach and factors.max() > highest - reach, lib


# ---------------------------------------------------------------------------------------
# Non-max suppression: the same detections as KerasCV's layers.


def nms_inputs(seed, fmt):
    rng = np.random.default_rng(seed)
    corners = rng.uniform(0, 48, (2, 40, 2))
    xyxy = np.concatenate([corners, corners + rng.uniform(4, 16, (2, 40, 2))], -1)
    boxes = np.asarray(bounding_box.convert_format(xyxy, "xyxy", fmt, image_shape=(64, 64, 3)))
    return tf.constant(boxes, tf.float32), tf.constant(rng.normal(0, 2, (2, 40, 3)), tf.float32)


NMS_CASES = [
    pytest.param(
        "MultiClassNonMaxSuppression", {"from_logits": True}, "xyxy", id="multiclass-logits"
    ),
    pytest.param(
        "MultiClassNonMaxSuppression",
        {
            "from_logits": True,
            "iou_threshold": 0.3,
            "confidence_threshold": 0.6,
            "max_detections": 7,
            "max_detections_per_class": 3,
        },
        "yxyx",
        id="multiclass-thresholds-and-limits",
    ),
    pytest.param(
        "MultiClassNonMaxSuppression",
        {"from_logits": False, "confidence_threshold": 0.2},
        "center_xywh",
        id="multiclass-probabilities",
    ),
    pytest.param(
        "MultiClassNonMaxSuppression", {"from_logits": True}, "rel_xywh", id="multiclass-relative"
    ),
    pytest.param("NonMaxSuppression", {"from_logits": True}, "xywh", id="class-agnostic"),
    pytest.param(
        "NonMaxSuppression",
        {"from_logits": True, "iou_threshold": 0.2, "max_detections": 5},
        "rel_yxyx",
        id="class-agnostic-limits",
    ),
]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name, kwargs, fmt", NMS_CASES)
def test_non_max_suppression_matches_kerascv(name, kwargs, fmt, seed):
    boxes, scores = nms_inputs(seed, fmt)
    if not kwargs["from_logits"]:
        scores = tf.sigmoid(scores)
    image_shape = (64, 64, 3) if fmt.startswith("rel_") else None
    theirs = getattr(keras_cv.layers, name)(fmt, **kwargs)(boxes, scores, image_shape=image_shape)
    ours = getattr(layers, name)(fmt, **kwargs)(boxes, scores, image_shape=image_shape)
    assert np.asarray(theirs["num_detections"]).min() > 0
    assert_same_value(
        {k: np.asarray(v) for k, v in ours.items()}, {k: np.asarray(v) for k, v in theirs.items()}
    )


# ---------------------------------------------------------------------------------------
# Losses.


def focal_inputs(soft=False):
    rng = np.random.default_rng(4)
    y_true = np.eye(4, dtype="float32")[rng.integers(0, 4, (2, 6))]
    y_true[:, :2] = 0  # background anchors
    if soft:
        y_true = y_true * rng.uniform(0.3, 0.9, y_true.shape).astype("float32")
    return y_true, rng.normal(0, 2, (2, 6, 4)).astype("float32")


@pytest.mark.parametrize("reduction", ["none", "sum", "sum_over_batch_size"])
@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"from_logits": True}, id="defaults-logits"),
        pytest.param({"from_logits": False}, id="probabilities"),
        pytest.param({"alpha": 0.5, "gamma": 0.0, "from_logits": True}, id="alpha-0.5-gamma-0"),
        pytest.param({"alpha": 0.9, "gamma": 1.5, "from_logits": True}, id="alpha-0.9-gamma-1.5"),
    ],
)
def test_focal_loss_matches_kerascv(kwargs, reduction):
    y_true, logits = focal_inputs()
    y_pred = logits if kwargs["from_logits"] else 1 / (1 + np.exp(-logits))
    theirs = keras_cv.losses.FocalLoss(reduction=reduction, **kwargs)(y_true, y_pred)
    ours = losses.FocalLoss(reduction=reduction, **kwargs)(y_true, y_pred)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "soft, label_smoothing",
    [pytest.param(True, 0.0, id="soft-targets"), pytest.param(False, 0.1, id="label-smoothing")],
)
def test_focal_loss_weighs_soft_targets_continuously(soft, label_smoothing):
    # DOCUMENTED (docs: "`FocalLoss` with `label_smoothing`"): KerasCV gives a target alpha
    # only where it equals 1 (so a smoothed or soft positive is weighed 1 - alpha),
    # nbdetect y * alpha + (1 - y) * (1 - alpha).
    y_true, logits = focal_inputs(soft)
    y = y_true * (1 - label_smoothing) + 0.5 * label_smoothing
    p = 1 / (1 + np.exp(-logits.astype("float64")))
    cross_entropy = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    modulated = (1 - (y * p + (1 - y) * (1 - p))) ** 2 * cross_entropy
    kerascv_weight = np.where(y == 1, 0.25, 0.75)
    paper_weight = y * 0.25 + (1 - y) * 0.75
    kwargs = {"from_logits": True, "label_smoothing": label_smoothing, "reduction": "none"}
    theirs = np.asarray(keras_cv.losses.FocalLoss(**kwargs)(y_true, logits))
    ours = np.asarray(losses.FocalLoss(**kwargs)(y_true, logits))
    np.testing.assert_allclose(theirs, (kerascv_weight * modulated).sum(-1), rtol=1e-4)
    np.testing.assert_allclose(ours, (paper_weight * modulated).sum(-1), rtol=1e-4)
    assert np.abs(ours - theirs).max() > 1e-2


def smooth_l1_reference(y_true, y_pred, l1_cutoff, reduce):
    """Per box: KerasCV 0.9's `0.5 x^2` / `|x| - 0.5`, or Fast R-CNN's with beta = cutoff."""
    x = np.abs(y_true - y_pred)
    if reduce is np.mean:  # KerasCV's
        terms = np.where(x < l1_cutoff, 0.5 * x**2, x - 0.5)
    else:
        terms = np.where(x < l1_cutoff, 0.5 * x**2 / l1_cutoff, x - 0.5 * l1_cutoff)
    return reduce(terms, axis=-1)


@pytest.mark.parametrize(
    "l1_cutoff, reduction",
    [pytest.param(1.0, "sum", id="cutoff-1"), pytest.param(2.0, "none", id="cutoff-2")],
)
def test_smooth_l1_loss_sums_coordinates_and_scales_by_the_cutoff(l1_cutoff, reduction):
    # DOCUMENTED (docs: "`SmoothL1Loss`"): nbdetect sums a box's 4 coordinates, KerasCV
    # averages them: 4 times KerasCV's loss at a cutoff of 1 (82.39 and 20.60 here). At
    # another cutoff the formulas differ too (nbdetect 0.5 x^2 / 2 and |x| - 1, KerasCV
    # 0.5 x^2 and |x| - 0.5), so 4 times KerasCV's is not nbdetect's.
    rng = np.random.default_rng(5)
    y_true, y_pred = rng.normal(0, 2, (2, 6, 4)), rng.normal(0, 2, (2, 6, 4))
    theirs = np.asarray(
        keras_cv.losses.SmoothL1Loss(l1_cutoff, reduction=reduction)(y_true, y_pred)
    )
    ours = np.asarray(losses.SmoothL1Loss(l1_cutoff, reduction=reduction)(y_true, y_pred))
    reduce = np.sum if reduction == "sum" else (lambda per_box: per_box)
    expected = {
        library: reduce(smooth_l1_reference(y_true, y_pred, l1_cutoff, coordinates))
        for library, coordinates in (("theirs", np.mean), ("ours", np.sum))
    }
    np.testing.assert_allclose(theirs, expected["theirs"], rtol=1e-5)
    np.testing.assert_allclose(ours, expected["ours"], rtol=1e-5)
    if l1_cutoff == 1.0:
        np.testing.assert_allclose(ours, 4 * theirs, rtol=1e-5)
        assert (round(float(ours), 2), round(float(theirs), 2)) == (82.39, 20.6)
    else:
        assert np.all(ours < 4 * theirs)
        np.testing.assert_allclose(4 * theirs[0, :3], [6.91, 2.34, 9.68], atol=5e-3)
        np.testing.assert_allclose(ours[0, :3], [5.08, 1.63, 7.69], atol=5e-3)


GIOU_TRUE = np.array([[0, 0, 10, 10], [5, 5, 15, 25], [0, 0, 4, 4], [20, 20, 30, 24]], "float32")
GIOU_PRED = GIOU_TRUE + np.array(
    [[1, -1, 2, 0], [0, 3, 0, 3], [5, 5, 5, 5], [-2, 0, 4, 2]], "float32"
)


@pytest.mark.parametrize("fmt", ["xyxy", "xywh", "center_yxhw", "rel_yxyx"])
def test_giou_loss_matches_kerascv_for_one_image_of_pairs(fmt):
    # One [N, 4] set of pairs, Keras' default reduction: the mean of 1 - GIoU in both.
    true, pred = (
        np.asarray(bounding_box.convert_format(x, "xyxy", fmt, image_shape=(32, 32, 3)))
        for x in (GIOU_TRUE, GIOU_PRED)
    )
    theirs = keras_cv.losses.GIoULoss(fmt)(true, pred)
    ours = losses.GIoULoss(fmt)(true, pred)
    np.testing.assert_allclose(float(ours), float(theirs), rtol=1e-5)


@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_giou_loss_gives_one_value_per_box_pair(reduction):
    # DOCUMENTED (docs: "`GIoULoss`"): KerasCV averages the N pairs of an [N, 4] input
    # into one value before `reduction`.
    theirs = np.asarray(keras_cv.losses.GIoULoss("xyxy", reduction=reduction)(GIOU_TRUE, GIOU_PRED))
    per_pair = np.asarray(losses.GIoULoss("xyxy", reduction="none")(GIOU_TRUE, GIOU_PRED))
    ours = np.asarray(losses.GIoULoss("xyxy", reduction=reduction)(GIOU_TRUE, GIOU_PRED))
    assert per_pair.shape == (4,) and theirs.shape == ()
    np.testing.assert_allclose(theirs, per_pair.mean(), rtol=1e-5)
    np.testing.assert_allclose(ours, per_pair if reduction == "none" else per_pair.sum(), rtol=1e-5)


def test_giou_loss_of_a_batch_keeps_images_apart():
    # DOCUMENTED (docs: "`GIoULoss`"): for a batch [B, N, 4] KerasCV 0.9 takes the diagonal
    # of its [B, N, N] matrix over the batch and box axes: value j averages, over images
    # k < min(B, N), image k's target k against its prediction j (1.2333 here, the default
    # reduction). nbdetect averages every target with the prediction at its position
    # (0.7726, the mean of the two images' losses, which both libraries agree on).
    true = np.stack([GIOU_TRUE[:3], GIOU_TRUE[1:]])
    pred = np.stack([GIOU_PRED[:3], GIOU_PRED[1:]])
    theirs = float(keras_cv.losses.GIoULoss("xyxy")(true, pred))
    ours = float(losses.GIoULoss("xyxy")(true, pred))
    assert (round(ours, 4), round(theirs, 4)) == (0.7726, 1.2333)
    per_image = [float(keras_cv.losses.GIoULoss("xyxy")(t, p)) for t, p in zip(true, pred)]
    assert ours == pytest.approx(np.mean(per_image), rel=1e-5)

    def loss(target, prediction):
        return float(losses.GIoULoss("xyxy", reduction="none")(target[None], prediction[None])[0])

    kerascv = [np.mean([loss(true[k, k], pred[k, j]) for k in range(2)]) for j in range(3)]
    np.testing.assert_allclose(
        keras_cv.losses.GIoULoss("xyxy", reduction="none")(true, pred), kerascv, rtol=1e-5
    )
    assert theirs == pytest.approx(np.mean(kerascv), rel=1e-5)


@pytest.mark.parametrize("fmt", ["xyxy", "yxyx", "xywh", "rel_xyxy"])
def test_ciou_loss_matches_kerascv_where_aspect_ratios_agree(fmt):
    a = np.array([[[0, 0, 10, 10], [5, 5, 15, 25]], [[2, 4, 6, 12], [1, 1, 21, 11]]], "float32")
    b = np.array([[[2, 2, 12, 12], [6, 9, 14, 25]], [[3, 3, 6, 9], [5, 0, 15, 5]]], "float32")
    true, pred = (
        np.asarray(bounding_box.convert_format(x, "xyxy", fmt, image_shape=(32, 32, 3)))
        for x in (a, b)
    )
    theirs = keras_cv.losses.CIoULoss(fmt, reduction="none")(true, pred)
    ours = losses.CIoULoss(fmt, reduction="none")(true, pred)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), atol=1e-5)


def test_ciou_loss_follows_the_paper():
    # DOCUMENTED (docs: "`CIoULoss` and `compute_ciou`").
    theirs = np.asarray(keras_cv.losses.CIoULoss("xyxy", reduction="none")(*CIOU_PAIRS))
    ours = np.asarray(losses.CIoULoss("xyxy", reduction="none")(*CIOU_PAIRS))
    np.testing.assert_allclose(ours, 1 - ciou_reference(*CIOU_PAIRS, False), atol=1e-5)
    np.testing.assert_allclose(theirs, 1 - ciou_reference(*CIOU_PAIRS, True), atol=1e-4)


# ---------------------------------------------------------------------------------------
# BoxCOCOMetrics: the same 12 numbers as KerasCV's.


def coco_batch(seed, sizes):
    """Ground truth and noisy predictions: 4 images, boxes of the given side ranges."""
    rng = np.random.default_rng(seed)
    count = len(sizes)
    corners = rng.uniform(0, 100, (4, count, 2))
    sides = np.stack([rng.uniform(low, high, (4, 2)) for low, high in sizes], axis=1)
    boxes = np.concatenate([corners, corners + sides], -1).astype("float32")
    classes = rng.integers(0, 3, (4, count)).astype("float32")
    boxes[0, -1], classes[0, -1] = -1, -1  # padding
    noise = rng.normal(0, 3, boxes.shape).astype("float32")
    pred = np.where(boxes == -1, [[200, 200, 260, 260]], boxes + noise).astype("float32")
    y_true = {"boxes": boxes, "classes": classes}
    y_pred = {
        "boxes": pred,
        "classes": np.where(classes == -1, 1, classes),
        "confidence": rng.uniform(0.1, 1.0, (4, count)).astype("float32"),
        "num_detections": np.full((4,), count, "int32"),
    }
    return y_true, y_pred


def coco_results(batches):
    results = []
    for lib in (metrics, keras_cv.metrics):
        metric = lib.BoxCOCOMetrics("xyxy", evaluate_freq=1e9)
        for y_true, y_pred in batches:
            metric.update_state(
                {k: tf.constant(v) for k, v in y_true.items()},
                {k: tf.constant(v) for k, v in y_pred.items()},
            )
        results.append({k: float(v) for k, v in metric.result(force=True).items()})
    return results


def test_box_coco_metrics_match_kerascv():
    # Small (< 32 px), medium and large (> 96 px) objects, so every area range has some.
    sizes = [(5, 20), (10, 25), (40, 80), (50, 90), (110, 150), (5, 150)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = coco_results([coco_batch(0, sizes), coco_batch(1, sizes)])
    assert sorted(ours) == sorted(theirs) and len(theirs) == 12
    assert min(theirs.values()) > 0
    for key in theirs:
        assert ours[key] == pytest.approx(theirs[key], abs=1e-6), key


def test_box_coco_metrics_of_an_empty_area_range_are_minus_one():
    # DOCUMENTED (docs: "Other differences", "`BoxCOCOMetrics` of a size with no objects"):
    # with no ground truth in an area range (here no large objects) nbdetect reports -1 for
    # MaP@[area=large] and Recall@[area=large], the value pycocotools gives KerasCV, which
    # reports max(-1, 0.0) = 0.0. The other 10 numbers agree.
    from keras_cv.src.metrics.object_detection import box_coco_metrics

    y_true, y_pred = coco_batch(0, [(5, 20), (10, 25), (40, 80)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = coco_results([(y_true, y_pred)])
        pycocotools = box_coco_metrics.compute_pycocotools_metric(
            {k: tf.constant(v) for k, v in y_true.items()},
            {k: tf.constant(v) for k, v in y_pred.items()},
            "xyxy",
        )
    empty = {"MaP@[area=large]": "APl", "Recall@[area=large]": "ARl"}
    for key, pycocotools_key in empty.items():
        assert (ours[key], theirs[key], float(pycocotools[pycocotools_key])) == (-1, 0, -1)
    assert {k: v for k, v in ours.items() if k not in empty} == pytest.approx(
        {k: v for k, v in theirs.items() if k not in empty}, abs=1e-6
    )
    assert min(v for k, v in theirs.items() if k not in empty) > 0


def test_kerascv_is_the_version_compared():
    assert keras_cv.__version__ == "0.9.0"
    assert keras.__version__.startswith("3.")
