"""SmoothL1Loss against the formula for several cutoffs, and its gradients."""

import keras
import numpy as np
import pytest
from keras import ops
from loss_gradients import gradient

from nbdetect import losses


def smooth_l1_reference(y_true, y_pred, cutoff):
    x = np.abs(np.asarray(y_true, "float64") - np.asarray(y_pred, "float64"))
    if cutoff == 0:
        return x.sum(-1)
    return np.where(x < cutoff, 0.5 * x**2 / cutoff, x - 0.5 * cutoff).sum(-1)


def example(seed=0):
    rng = np.random.default_rng(seed)
    y_true = rng.normal(0, 1, (3, 6, 4)).astype("float32")
    y_pred = (y_true + rng.normal(0, 1.5, (3, 6, 4))).astype("float32")
    return y_true, y_pred


@pytest.mark.parametrize("cutoff", [0.0, 0.5, 1.0, 2.0])
def test_matches_the_formula(cutoff):
    y_true, y_pred = example()
    loss = losses.SmoothL1Loss(l1_cutoff=cutoff, reduction="none")
    expected = smooth_l1_reference(y_true, y_pred, cutoff)
    np.testing.assert_allclose(ops.convert_to_numpy(loss(y_true, y_pred)), expected, rtol=1e-5)


def test_hand_computed_value():
    # Cutoff 2: 0.5 * 1^2 / 2 + (3 - 1) + 0 + 0.5 * 1.5^2 / 2
    loss = losses.SmoothL1Loss(l1_cutoff=2.0, reduction="none")
    value = loss(np.zeros((1, 4)), np.array([[1.0, -3.0, 0.0, 1.5]]))
    np.testing.assert_allclose(ops.convert_to_numpy(value), [0.25 + 2.0 + 0.5625])


@pytest.mark.parametrize("cutoff", [0.5, 1.0, 2.0])
def test_continuous_at_the_cutoff(cutoff):
    # KerasCV's jumps there for any cutoff but 1 (from 1.805 to 1.5 for a cutoff of 2).
    loss = losses.SmoothL1Loss(l1_cutoff=cutoff, reduction="none")
    below = loss(np.zeros((1, 4)), np.array([[cutoff - 1e-4, 0, 0, 0]], "float32"))
    above = loss(np.zeros((1, 4)), np.array([[cutoff + 1e-4, 0, 0, 0]], "float32"))
    np.testing.assert_allclose(ops.convert_to_numpy(below), [0.5 * cutoff], atol=2e-4)
    np.testing.assert_allclose(ops.convert_to_numpy(above), [0.5 * cutoff], atol=2e-4)


@pytest.mark.parametrize("cutoff", [0.0, 0.5, 2.0])
def test_gradient_is_the_clipped_difference(cutoff):
    y_true, y_pred = example(seed=1)
    y_pred[0, 0] = y_true[0, 0]  # zero differences: gradient 0
    loss = losses.SmoothL1Loss(l1_cutoff=cutoff, reduction="sum")
    difference = y_pred.astype("float64") - y_true
    expected = np.sign(difference) if cutoff == 0 else np.clip(difference / cutoff, -1, 1)
    grad = gradient(lambda p: loss(y_true, p), y_pred)
    if cutoff == 0:
        # |x| has no derivative at 0: TensorFlow takes 0, JAX 1; both are subgradients.
        assert (np.abs(grad[difference == 0]) <= 1).all()
        grad[difference == 0] = expected[difference == 0]
    np.testing.assert_allclose(grad, expected, atol=1e-5)


def test_sample_weight_and_an_empty_batch():
    y_true, y_pred = example(seed=2)
    weights = np.zeros((3, 6), "float32")
    weights[1, 2] = 1.0
    per_box = ops.convert_to_numpy(losses.SmoothL1Loss(reduction="none")(y_true, y_pred))
    summed = losses.SmoothL1Loss(reduction="sum")(y_true, y_pred, weights)
    np.testing.assert_allclose(float(ops.convert_to_numpy(summed)), per_box[1, 2], rtol=1e-6)
    nothing = losses.SmoothL1Loss(reduction="sum")(y_true, y_pred, np.zeros((3, 6)))
    assert float(ops.convert_to_numpy(nothing)) == 0.0


def test_agrees_with_keras_cv_for_a_cutoff_of_one():
    keras_cv = pytest.importorskip("keras_cv")
    y_true, y_pred = example(seed=3)
    ours = losses.SmoothL1Loss(l1_cutoff=1.0, reduction="none")(y_true, y_pred)
    theirs = keras_cv.losses.SmoothL1Loss(l1_cutoff=1.0, reduction="none")(y_true, y_pred)
    # KerasCV averages the 4 coordinates; this sums them.
    np.testing.assert_allclose(
        ops.convert_to_numpy(ours), 4 * ops.convert_to_numpy(theirs), rtol=1e-5
    )


def test_config_round_trip():
    loss = losses.SmoothL1Loss(l1_cutoff=0.25, reduction="sum", name="box")
    config = loss.get_config()
    assert losses.SmoothL1Loss.from_config(config).get_config() == config
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(restored, losses.SmoothL1Loss) and restored.get_config() == config


def test_negative_cutoff():
    with pytest.raises(ValueError, match="l1_cutoff=-1"):
        losses.SmoothL1Loss(l1_cutoff=-1)
