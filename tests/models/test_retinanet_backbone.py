"""The feature extractor apart from the detection task: `RetinaNetBackbone` and `feature_extractor`.

The extractor is the detector's own encoder and pyramid: the levels it gives, run through
the detector's heads, are the detector's raw outputs; a detector built from a
`RetinaNetBackbone` is the detector built from its parts; saved weights keep their paths
whether or not the extractor was built, and both round-trip.
"""

import os

import keras
import numpy as np
import pytest
from retinanet_cases import tiny_backbone, tiny_retinanet

from nbdetect.models.retinanet import FeaturePyramid, RetinaNet, RetinaNetBackbone

IMAGES = np.random.default_rng(0).uniform(0, 255, (2, 96, 80, 3)).astype("float32")


def _heads_on(model, levels):
    box = [keras.ops.reshape(model.box_head(levels[name]), (2, -1, 4)) for name in sorted(levels)]
    classes = [
        keras.ops.reshape(model.classification_head(levels[name]), (2, -1, model.num_classes))
        for name in sorted(levels)
    ]
    return {
        "box": keras.ops.concatenate(box, axis=1),
        "classification": keras.ops.concatenate(classes, axis=1),
    }


def test_feature_extractor_levels_are_what_the_heads_see():
    model = tiny_retinanet()
    levels = model.feature_extractor(IMAGES)
    assert sorted(levels) == ["P3", "P4", "P5", "P6", "P7"]
    assert [tuple(levels[f"P{k}"].shape[1:3]) for k in range(3, 8)] == [
        (12, 10),
        (6, 5),
        (3, 3),
        (2, 2),
        (1, 1),
    ]
    raw = model.predict_raw(IMAGES, verbose=0)
    rebuilt = _heads_on(model, levels)
    for key in ("box", "classification"):
        np.testing.assert_allclose(rebuilt[key], raw[key], atol=1e-5, rtol=1e-5)


def test_feature_extractor_shares_the_detector_weights():
    model = tiny_retinanet()
    extractor = model.feature_extractor
    assert extractor is model.feature_extractor  # built once
    assert extractor.image_encoder is model.backbone
    assert extractor.feature_pyramid is model.feature_pyramid
    before = np.asarray(extractor(IMAGES)["P3"])
    kernel = model.feature_pyramid.output_convs[0].kernel
    kernel.assign(kernel * 2.0)
    after = np.asarray(extractor(IMAGES)["P3"])
    assert not np.allclose(before, after)


def test_retinanet_from_a_retinanet_backbone_is_the_retinanet_of_its_parts():
    encoder, pyramid = tiny_backbone(), FeaturePyramid(16)
    split = RetinaNet(RetinaNetBackbone(encoder, pyramid), 3, "xywh")
    assert split.backbone is encoder and split.feature_pyramid is pyramid
    joined = RetinaNet(encoder, 3, "xywh", feature_pyramid=pyramid)
    joined.set_weights(split.get_weights())
    for key in ("box", "classification"):
        np.testing.assert_allclose(
            split.predict_raw(IMAGES, verbose=0)[key],
            joined.predict_raw(IMAGES, verbose=0)[key],
            atol=1e-6,
        )


def test_a_pyramid_in_two_places_is_refused():
    with pytest.raises(ValueError, match="Pass the pyramid in one place"):
        RetinaNet(
            RetinaNetBackbone(tiny_backbone(), FeaturePyramid(8)),
            3,
            "xywh",
            feature_pyramid=FeaturePyramid(8),
        )


def test_an_encoder_that_is_not_a_model_is_refused():
    with pytest.raises(ValueError, match="expected a Keras model from images"):
        RetinaNetBackbone("resnet50")


@pytest.mark.parametrize("built_before_save", (False, True))
@pytest.mark.parametrize("built_before_load", (False, True))
def test_weights_load_whether_or_not_the_extractor_was_built(
    tmp_path, built_before_save, built_before_load
):
    source = tiny_retinanet()
    if built_before_save:
        source.feature_extractor(IMAGES)
    path = os.path.join(tmp_path, "model.weights.h5")
    source.save_weights(path)
    target = tiny_retinanet()
    if built_before_load:
        target.feature_extractor(IMAGES)
    target.load_weights(path)
    expected = source.predict_raw(IMAGES, verbose=0)
    got = target.predict_raw(IMAGES, verbose=0)
    for key in ("box", "classification"):
        np.testing.assert_array_equal(got[key], expected[key])
    np.testing.assert_array_equal(
        target.feature_extractor(IMAGES)["P5"], source.feature_extractor(IMAGES)["P5"]
    )


def test_retinanet_backbone_saves_and_loads_alone(tmp_path):
    features = RetinaNetBackbone(tiny_backbone(), FeaturePyramid(8), name="features")
    expected = features(IMAGES)
    path = os.path.join(tmp_path, "features.keras")
    features.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, RetinaNetBackbone) and loaded.name == "features"
    assert loaded.feature_pyramid.num_filters == 8
    got = loaded(IMAGES)
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name])
