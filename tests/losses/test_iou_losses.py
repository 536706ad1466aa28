"""GIoULoss and CIoULoss: hand-computed cases, a float64 reference, degenerate boxes.

Also KerasCV 0.9's constructor arguments: GIoULoss's `axis` and CIoULoss's `eps`.
"""

import math

import keras
import numpy as np
import pytest
from keras import ops
from loss_gradients import gradient

from nbdetect import bounding_box, losses

FORMATS = bounding_box.FORMATS
IMAGE_SHAPE = (50, 80)


def reference(y_true, y_pred, kind, eps=1e-7):
    """`1 - GIoU` or `1 - CIoU` of paired `xyxy` boxes in float64 (torchvision's formulas)."""
    t = np.asarray(y_true, "float64")
    p = np.asarray(y_pred, "float64")
    tw, th = np.maximum(t[..., 2] - t[..., 0], 0), np.maximum(t[..., 3] - t[..., 1], 0)
    pw, ph = np.maximum(p[..., 2] - p[..., 0], 0), np.maximum(p[..., 3] - p[..., 1], 0)
    iw = np.maximum(np.minimum(t[..., 2], p[..., 2]) - np.maximum(t[..., 0], p[..., 0]), 0)
    ih = np.maximum(np.minimum(t[..., 3], p[..., 3]) - np.maximum(t[..., 1], p[..., 1]), 0)
    intersection = iw * ih
    union = tw * th + pw * ph - intersection
    iou = intersection / (union + eps)
    ew = np.maximum(t[..., 2], p[..., 2]) - np.minimum(t[..., 0], p[..., 0])
    eh = np.maximum(t[..., 3], p[..., 3]) - np.minimum(t[..., 1], p[..., 1])
    if kind == "giou":
        return 1 - (iou - (ew * eh - union) / (ew * eh + eps))
    center = ((t[..., 0] + t[..., 2]) / 2 - (p[..., 0] + p[..., 2]) / 2) ** 2 + (
        (t[..., 1] + t[..., 3]) / 2 - (p[..., 1] + p[..., 3]) / 2
    ) ** 2
    v = 4 / math.pi**2 * (np.arctan2(tw, th) - np.arctan2(pw, ph)) ** 2
    alpha = v / (1 - iou + v + eps)
    return 1 - (iou - center / (ew**2 + eh**2 + eps) - alpha * v)


def random_pairs(seed=0, shape=(3, 8)):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 50, (*shape, 2))
    wh = rng.uniform(1, 30, (*shape, 2))
    true = np.concatenate([xy, xy + wh], -1)
    pred = true + rng.normal(0, 6, true.shape)
    pred[..., 2:] = np.maximum(pred[..., 2:], pred[..., :2] + 0.5)
    return true.astype("float32"), pred.astype("float32")


def loss_of(kind, fmt="xyxy", reduction="none"):
    cls = {"giou": losses.GIoULoss, "ciou": losses.CIoULoss}[kind]
    return cls(fmt, reduction=reduction)


def value(loss, y_true, y_pred):
    return ops.convert_to_numpy(loss(np.asarray(y_true, "float32"), np.asarray(y_pred, "float32")))


HAND_CASES = [
    # (true, pred, 1 - GIoU, 1 - CIoU)
    ([0, 0, 2, 2], [0, 0, 2, 2], 0.0, 0.0),
    ([0, 0, 2, 2], [1, 0, 3, 2], 2 / 3, 2 / 3 + 1 / 13),
    ([0, 0, 1, 1], [2, 2, 3, 3], 16 / 9, 1 + 8 / 18),
    (
        [0, 0, 4, 2],
        [0, 0, 2, 4],
        1 - 1 / 12,
        (lambda v: 1 - 1 / 3 + 1 / 16 + v * v / (2 / 3 + v))(
            4 / math.pi**2 * (math.atan(2) - math.atan(0.5)) ** 2
        ),
    ),
    # Empty and flat predictions.
    ([0, 0, 2, 2], [1, 1, 1, 1], 1.0, 1.0),
    ([1, 1, 1, 1], [1, 1, 1, 1], 1.0, 1.0),
    ([0, 0, 2, 2], [0, 0, 2, 0], 1.0, 1 + 1 / 8 + 0.2 * 0.25),
]


@pytest.mark.parametrize("true, pred, giou_loss, ciou_loss", HAND_CASES)
def test_hand_computed_cases(true, pred, giou_loss, ciou_loss):
    np.testing.assert_allclose(value(loss_of("giou"), [true], [pred]), [giou_loss], atol=1e-6)
    np.testing.assert_allclose(value(loss_of("ciou"), [true], [pred]), [ciou_loss], atol=1e-6)


@pytest.mark.parametrize("kind", ["giou", "ciou"])
def test_matches_the_reference(kind):
    true, pred = random_pairs()
    np.testing.assert_allclose(
        value(loss_of(kind), true, pred), reference(true, pred, kind), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["giou", "ciou"])
def test_every_format(fmt, kind):
    true, pred = random_pairs(seed=1)
    convert = lambda boxes: bounding_box.convert_format(  # noqa: E731
        boxes, "xyxy", fmt, image_shape=IMAGE_SHAPE
    )
    if bounding_box.is_relative(fmt) and kind == "ciou":
        # CIoU's distance and aspect terms are measured in relative units.
        scale = np.array([IMAGE_SHAPE[1], IMAGE_SHAPE[0]] * 2, "float32")
        expected = reference(true / scale, pred / scale, kind)
    else:
        expected = reference(true, pred, kind)
    got = value(loss_of(kind, fmt), convert(true), convert(pred))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_ciou_agrees_with_keras_compute_ciou():
    true, pred = random_pairs(seed=2)
    keras_ciou = keras.utils.bounding_boxes.compute_ciou(true, pred, "xyxy")
    np.testing.assert_allclose(
        value(loss_of("ciou"), true, pred), 1 - ops.convert_to_numpy(keras_ciou), atol=1e-5
    )


DEGENERATE = np.array(
    [
        [[0, 0, 2, 2], [1, 1, 1, 1]],  # empty prediction
        [[1, 1, 1, 1], [1, 1, 1, 1]],  # both empty, same place
        [[0, 0, 2, 2], [0, 0, 2, 0]],  # flat prediction
        [[0, 0, 2, 2], [0, 0, 0, 2]],  # thin prediction
        [[-1, -1, -1, -1], [3, 3, 5, 5]],  # padding target
        [[0, 0, 2, 2], [2, 2, 0, 0]],  # inverted prediction
        [[0, 0, 2, 2], [2, 0, 4, 2]],  # touching
    ],
    "float32",
)


@pytest.mark.parametrize("kind", ["giou", "ciou"])
def test_degenerate_boxes_have_finite_values_and_gradients(kind):
    true, pred = DEGENERATE[:, 0], DEGENERATE[:, 1]
    loss = loss_of(kind)
    assert np.isfinite(value(loss, true, pred)).all()
    grad = gradient(lambda p: ops.sum(loss(true, p)), pred)
    assert np.isfinite(grad).all()
    # Boxes that only touch still get a gradient toward overlapping (x1 to the left).
    assert grad[6, 0] > 0


@pytest.mark.parametrize("kind", ["giou", "ciou"])
def test_sample_weight_and_an_empty_batch(kind):
    true, pred = random_pairs(seed=3, shape=(2, 5))
    weights = np.zeros((2, 5), "float32")
    weights[1, 4] = 2.0
    per_box = value(loss_of(kind), true, pred)
    summed = loss_of(kind, reduction="sum")
    np.testing.assert_allclose(
        float(ops.convert_to_numpy(summed(true, pred, weights))), 2 * per_box[1, 4], rtol=1e-6
    )
    assert float(ops.convert_to_numpy(summed(true, pred, np.zeros((2, 5))))) == 0.0


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (losses.GIoULoss, {}),
        (losses.GIoULoss, {"axis": "no_reduction"}),
        (losses.CIoULoss, {}),
        (losses.CIoULoss, {"eps": 1e-3}),
    ],
)
def test_config_round_trip(cls, kwargs):
    loss = cls("rel_xywh", reduction="sum", name="iou", **kwargs)
    config = loss.get_config()
    defaults = {losses.GIoULoss: {"axis": -1}, losses.CIoULoss: {"eps": 1e-7}}[cls]
    for key, default in defaults.items():
        assert config[key] == kwargs.get(key, default)
    assert cls.from_config(config).get_config() == config
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(restored, cls) and restored.get_config() == config


# KerasCV 0.9's arguments: GIoULoss(bounding_box_format, axis=-1),
# CIoULoss(bounding_box_format, eps=1e-7), positional as there.


@pytest.mark.parametrize("axis", [-1, np.int64(-1), "no_reduction"])
def test_giou_loss_takes_kerascvs_axis(axis):
    # Both of KerasCV's working axes give the loss per pair, for `reduction` to reduce:
    # the default reduction's mean over an [N, 4] input is KerasCV's axis=-1 number.
    true, pred = random_pairs(seed=4, shape=(6,))
    per_pair = value(losses.GIoULoss("xyxy", axis, reduction="none"), true, pred)
    np.testing.assert_allclose(per_pair, reference(true, pred, "giou"), rtol=1e-5, atol=1e-6)
    mean = value(losses.GIoULoss("xyxy", axis), true, pred)
    np.testing.assert_allclose(mean, per_pair.mean(), rtol=1e-6)
    assert losses.GIoULoss("xyxy", axis).get_config()["axis"] == axis


@pytest.mark.parametrize("axis", [0, 1, -2, None, -1.0, True, "-1"])
def test_giou_loss_refuses_other_axes(axis):
    with pytest.raises(ValueError, match=rf"got axis={axis!r}; expected -1 .* or 'no_reduction'"):
        losses.GIoULoss("xyxy", axis=axis)


@pytest.mark.parametrize("eps", [0.5, 2.0])
def test_ciou_loss_adds_its_eps(eps):
    true, pred = random_pairs(seed=5)
    got = value(losses.CIoULoss("xyxy", eps, reduction="none"), true, pred)
    np.testing.assert_allclose(got, reference(true, pred, "ciou", eps=eps), rtol=1e-5, atol=1e-6)
    # A large eps damps the ratios: the loss moves away from the default's.
    assert not np.allclose(got, value(loss_of("ciou"), true, pred), atol=1e-4)


def test_ciou_loss_with_a_large_eps_stays_finite_on_degenerate_boxes():
    true, pred = DEGENERATE[:, 0], DEGENERATE[:, 1]
    loss = losses.CIoULoss("xyxy", eps=1.0, reduction="none")
    assert np.isfinite(value(loss, true, pred)).all()
    assert np.isfinite(gradient(lambda p: ops.sum(loss(true, p)), pred)).all()


@pytest.mark.parametrize("eps", [0, -1e-7, float("nan"), float("inf"), "1e-7", None])
def test_ciou_loss_refuses_eps_that_is_not_positive(eps):
    with pytest.raises(ValueError, match=r"CIoULoss\(\) got eps=.*; expected a number > 0"):
        losses.CIoULoss("xyxy", eps=eps)


def test_bad_format_and_shapes():
    with pytest.raises(ValueError, match="Did you mean"):
        losses.GIoULoss("xywz")
    with pytest.raises(ValueError, match=r"\[\.\.\., 4\]"):
        losses.CIoULoss("xyxy")(np.zeros((2, 5)), np.zeros((2, 5)))
