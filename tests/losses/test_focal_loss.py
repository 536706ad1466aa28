"""FocalLoss against the formula in float64, at extreme logits, with weights and configs."""

import keras
import numpy as np
import pytest
from keras import ops
from loss_gradients import gradient

from nbdetect import losses


def focal_reference(y_true, y_pred, alpha, gamma, from_logits, label_smoothing):
    """The focal loss summed over classes, in float64, straight from the definition."""
    y = np.asarray(y_true, "float64") * (1 - label_smoothing) + 0.5 * label_smoothing
    x = np.asarray(y_pred, "float64")
    if from_logits:
        p = 1 / (1 + np.exp(-x))
        log_p, log_not_p = -np.logaddexp(0, -x), -np.logaddexp(0, x)
    else:
        p = np.clip(x, 1e-7, 1 - 1e-7)
        log_p, log_not_p = np.log(p), np.log1p(-p)
    cross_entropy = -(y * log_p + (1 - y) * log_not_p)
    p_t = y * p + (1 - y) * (1 - p)
    weight = y * alpha + (1 - y) * (1 - alpha)
    return (weight * (1 - p_t) ** gamma * cross_entropy).sum(-1)


def example(seed=0, shape=(2, 7, 5), spread=4.0):
    rng = np.random.default_rng(seed)
    y_true = np.eye(shape[-1], dtype="float32")[rng.integers(0, shape[-1], shape[:-1])]
    y_true[0, :2] = 0  # background anchors: no class at all
    logits = rng.normal(0, spread, shape).astype("float32")
    return y_true, logits


@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("alpha, gamma", [(0.25, 2.0), (0.5, 0.0), (1.0, 0.5), (0.1, 5.0)])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 0.3])
def test_matches_the_formula(from_logits, alpha, gamma, label_smoothing):
    y_true, logits = example()
    y_pred = logits if from_logits else 1 / (1 + np.exp(-logits))
    loss = losses.FocalLoss(alpha, gamma, from_logits, label_smoothing, reduction="none")
    expected = focal_reference(y_true, y_pred, alpha, gamma, from_logits, label_smoothing)
    np.testing.assert_allclose(ops.convert_to_numpy(loss(y_true, y_pred)), expected, rtol=2e-5)


def test_hand_computed_value():
    # One positive at p = 0.9, one negative at p = 0.2: 0.25 * 0.1^2 * -log(0.9) and
    # 0.75 * 0.2^2 * -log(0.8).
    loss = losses.FocalLoss(reduction="none")
    value = loss(np.array([[1.0, 0.0]]), np.array([[0.9, 0.2]]))
    expected = 0.25 * 0.01 * -np.log(0.9) + 0.75 * 0.04 * -np.log(0.8)
    np.testing.assert_allclose(ops.convert_to_numpy(value), [expected], rtol=1e-5)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_extreme_logits_are_exact_and_have_finite_gradients(gamma):
    y_true = np.array([[1, 0, 1, 0, 1, 0]], "float32")
    logits = np.array([[-100, 100, 100, -100, -1000, 1000]], "float32")
    loss = losses.FocalLoss(alpha=0.25, gamma=gamma, from_logits=True, reduction="sum")
    value = float(ops.convert_to_numpy(loss(y_true, logits)))
    # Confident mistakes cost alpha * |x| (positives) and (1 - alpha) * |x| (negatives).
    np.testing.assert_allclose(
        value, 0.25 * 100 + 0.75 * 100 + 0.25 * 1000 + 0.75 * 1000, rtol=1e-6
    )
    grad = gradient(lambda x: loss(y_true, x), logits)
    assert np.isfinite(grad).all()
    # d loss / dx -> -alpha for a missed positive, 1 - alpha for a false positive, 0 when right.
    np.testing.assert_allclose(grad, [[-0.25, 0.75, 0, 0, -0.25, 0.75]], atol=1e-6)


def test_gradient_matches_finite_differences():
    y_true, logits = example(seed=3, shape=(1, 4, 3), spread=2.0)
    loss = losses.FocalLoss(alpha=0.3, gamma=1.5, from_logits=True, label_smoothing=0.1)

    def reference(x):
        return focal_reference(y_true, x, 0.3, 1.5, True, 0.1).mean()

    step = 1e-4
    expected = np.zeros(logits.shape)
    for index in np.ndindex(logits.shape):
        bump = np.zeros(logits.shape)
        bump[index] = step
        expected[index] = (reference(logits + bump) - reference(logits - bump)) / (2 * step)
    np.testing.assert_allclose(gradient(lambda x: loss(y_true, x), logits), expected, atol=2e-5)


def test_probabilities_at_zero_and_one_are_finite():
    y_true = np.array([[1, 0, 1, 0]], "float32")
    y_pred = np.array([[0, 1, 1, 0]], "float32")
    loss = losses.FocalLoss(reduction="sum")
    assert np.isfinite(float(ops.convert_to_numpy(loss(y_true, y_pred))))
    assert np.isfinite(gradient(lambda p: loss(y_true, p), y_pred)).all()


def test_sample_weight_masks_anchors():
    y_true, logits = example(seed=1)
    weights = np.zeros((2, 7), "float32")
    weights[0, 3] = weights[1, 5] = 1.0
    per_anchor = losses.FocalLoss(from_logits=True, reduction="none")(y_true, logits)
    per_anchor = ops.convert_to_numpy(per_anchor)
    summed = losses.FocalLoss(from_logits=True, reduction="sum")(y_true, logits, weights)
    np.testing.assert_allclose(
        float(ops.convert_to_numpy(summed)), per_anchor[0, 3] + per_anchor[1, 5], rtol=1e-6
    )


@pytest.mark.parametrize("reduction", ["sum", "sum_over_batch_size", "mean_with_sample_weight"])
def test_a_batch_without_positive_anchors_is_finite(reduction):
    y_true, logits = np.zeros((2, 7, 5), "float32"), np.full((2, 7, 5), 50.0, "float32")
    weights = np.zeros((2, 7), "float32")  # every anchor ignored
    loss = losses.FocalLoss(from_logits=True, reduction=reduction)
    assert float(ops.convert_to_numpy(loss(y_true, logits, weights))) == 0.0
    grad = gradient(lambda x: loss(y_true, x, weights), logits)
    assert np.isfinite(grad).all() and not grad.any()


def test_sums_where_keras_binary_focal_crossentropy_averages():
    # Keras' BinaryFocalCrossentropy with class balancing is the same loss averaged over
    # the classes (and, on JAX, computed from clipped probabilities: see the module).
    y_true, logits = example(seed=2, spread=2.0)
    ours = losses.FocalLoss(alpha=0.25, gamma=2.0, from_logits=True, reduction="none")
    keras_loss = keras.losses.BinaryFocalCrossentropy(
        apply_class_balancing=True, alpha=0.25, gamma=2.0, from_logits=True, reduction="none"
    )
    np.testing.assert_allclose(
        ops.convert_to_numpy(ours(y_true, logits)),
        ops.convert_to_numpy(keras_loss(y_true, logits)) * 5,
        rtol=1e-5,
    )


def test_config_round_trip():
    loss = losses.FocalLoss(0.4, 1.5, True, 0.05, reduction="sum", name="cls")
    config = loss.get_config()
    assert losses.FocalLoss.from_config(config).get_config() == config
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(restored, losses.FocalLoss) and restored.get_config() == config


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"alpha": 1.5}, "alpha"),
        ({"gamma": -1}, "gamma"),
        ({"label_smoothing": 2}, "label_smoothing"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        losses.FocalLoss(**kwargs)
