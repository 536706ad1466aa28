"""`as_detector`: other libraries' detectors predict in the caller's pixels and format."""

import detector_sources
import keras
import numpy as np
import pytest
from detector_cases import IMAGE_SHAPE, own_predictions, photos, rows, sparse_decoder

from nbdetect.bounding_box import convert_format
from nbdetect.models import Detector, as_detector
from nbdetect.models.detector import InputWindow


def test_predict_gives_the_models_detections_in_the_images_pixels(source):
    name, model = source
    images = photos()
    detections = as_detector(model, "xywh").predict(images)
    boxes, classes, confidence, count = own_predictions(model, images, "xywh")
    assert detections["boxes"].shape == boxes.shape
    np.testing.assert_array_equal(detections["num_detections"], count)
    assert count.min() > 0, "the fixture should leave detections to compare"
    for i in range(len(images)):
        n = count[i]
        np.testing.assert_allclose(detections["boxes"][i, :n], boxes[i, :n], atol=1e-3)
        np.testing.assert_array_equal(detections["classes"][i, :n], classes[i, :n])
        np.testing.assert_allclose(detections["confidence"][i, :n], confidence[i, :n], rtol=1e-6)
        # Padding past num_detections, as nbdetect's own predict pads.
        assert (detections["classes"][i, n:] == -1).all()
        assert (detections["boxes"][i, n:] == -1).all()
    if as_detector(model).input_size is None:
        return
    # Inside the image, whatever the model's input size.
    valid = detections["classes"] >= 0
    x, y, w, h = np.moveaxis(detections["boxes"][valid], -1, 0)
    assert (x >= 0).all() and (y >= 0).all()
    assert (x + w <= IMAGE_SHAPE[1] + 1e-3).all() and (y + h <= IMAGE_SHAPE[0] + 1e-3).all()


def test_keras_hub_retinanet_800_input_on_a_480_by_640_photo():
    """The issue's case: a 480 x 640 image into an 800 x 800 KerasHub RetinaNet."""
    model = detector_sources.keras_hub_retinanet(image_size=(800, 800))
    images = photos(1, (480, 640), seed=5)
    sparse_decoder(model, images)
    detections = as_detector(model, "xyxy").predict(images)
    boxes, classes, confidence, count = own_predictions(model, images, "xyxy")
    n = count[0]
    assert n > 0 and detections["num_detections"][0] == n
    np.testing.assert_allclose(detections["boxes"][0, :n], boxes[0, :n], atol=1e-3)
    np.testing.assert_array_equal(detections["classes"][0, :n], classes[0, :n])
    # Wide images stretch less horizontally: some box reaches past x = 480 (a y-only
    # mapping would stop at 480).
    assert detections["boxes"][0, :n, 2].max() <= 640 + 1e-3


def test_sweep_at_the_models_settings_is_its_predict(source):
    name, model = source
    images = photos()
    detector = as_detector(model, "xywh")
    settings = detector.nms_settings()
    assert settings is not None and settings["class_agnostic"]
    sweep = detector.sweep(images)
    assert sweep.nms
    selected = sweep.select(
        settings["iou_threshold"], settings["confidence_threshold"], settings["max_detections"]
    )
    expected = detector.predict(images)
    for i in range(len(images)):
        assert rows(selected, i) == rows(expected, i)


@pytest.mark.parametrize("name", ["keras_cv_retinanet", "keras_cv_yolov8"])
def test_sweep_at_other_settings_is_the_model_with_that_decoder(source_models, name):
    """KerasCV's NMS is greedy NMS, as nbdetect's: any setting gives the model's result."""
    model = source_models[name]
    decoder = model.prediction_decoder
    images = photos()
    detector = as_detector(model)
    sweep = detector.sweep(images)
    try:
        for iou, confidence in ((0.3, decoder.confidence_threshold), (0.7, 0.0)):
            detector.apply(iou_threshold=iou, confidence_threshold=confidence, max_detections=40)
            expected = detector.predict(images)
            selected = sweep.select(iou, confidence, 40)
            for i in range(len(images)):
                assert rows(selected, i) == rows(expected, i)
    finally:
        model.prediction_decoder = decoder


def test_images_of_different_sizes_are_predicted_each_in_its_own_pixels(source):
    name, model = source
    big, small = photos(1, (192, 320), seed=1)[0], photos(1, (160, 128), seed=2)[0]
    detector = as_detector(model, "xyxy")
    both = detector.predict([big, small])
    assert isinstance(both["boxes"], list) and len(both["boxes"]) == 2
    for image, boxes in zip((big, small), both["boxes"]):
        alone = detector.predict(image[None])
        np.testing.assert_allclose(boxes, alone["boxes"][0], atol=1e-3)
        if detector.input_size is not None:  # mapped back from the resized frame: clipped
            valid = boxes[:, 0] >= 0
            assert (boxes[valid][:, 2] <= image.shape[1] + 1e-3).all()


def test_labels_become_classes_and_the_format_is_the_callers(source_models):
    model = source_models["keras_hub_dfine"]
    images = photos()
    model.predict_function = None  # KerasHub's predict fails on a second batch size
    assert "labels" in model.predict(images, verbose=0)
    yxyx = as_detector(model).predict(images)
    xywh = as_detector(model, "xywh").predict(images)
    assert set(xywh) == {"boxes", "classes", "confidence", "num_detections"}
    n = xywh["num_detections"][0]
    converted = np.asarray(convert_format(yxyx["boxes"][0, :n], source="yxyx", target="xywh"))
    np.testing.assert_allclose(xywh["boxes"][0, :n], converted, atol=1e-4)


def test_a_detector_passes_through_and_rewraps_for_another_format(source_models):
    detector = as_detector(source_models["keras_cv_retinanet"])
    assert as_detector(detector) is detector
    assert isinstance(detector, Detector) and detector.library == "keras_cv"
    assert as_detector(detector, "xyxy").bounding_box_format == "xyxy"
    assert "keras_cv" in repr(detector)


def test_decoder_code_names_the_models_library(source_models):
    hub = as_detector(source_models["keras_hub_retinanet"])
    cv = as_detector(source_models["keras_cv_yolov8"])
    assert hub.decoder_code(iou_threshold=0.4).startswith(
        "import keras_hub.layers\nmodel.prediction_decoder = keras_hub.layers.NonMaxSuppression("
    )
    assert "iou_threshold=0.4" in hub.decoder_code(iou_threshold=0.4)
    assert cv.decoder_code().startswith(
        "import keras_cv.layers\nmodel.prediction_decoder = keras_cv.layers.NonMaxSuppression("
    )


def test_not_a_detector():
    import keras_cv
    import keras_hub

    encoder = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[7],
        stackwise_num_filters=[64],
        stackwise_num_blocks=[1],
        stackwise_num_strides=[1],
        block_type="basic_block",
        use_pre_activation=False,
    )
    classifier = keras_hub.models.ImageClassifier(backbone=encoder, num_classes=3)
    with pytest.raises(ValueError, match="ImageClassifier, which is not an object detector"):
        as_detector(classifier)
    backbone = keras_cv.models.ResNetBackbone(
        stackwise_filters=[8], stackwise_blocks=[1], stackwise_strides=[1], include_rescaling=True
    )
    with pytest.raises(ValueError, match="ResNetBackbone, which is not an object detector"):
        as_detector(backbone)
    inputs = keras.Input((8, 8, 3))
    plain = keras.Model(inputs, keras.layers.Conv2D(2, 1)(inputs))
    with pytest.raises(ValueError, match="without a bounding_box_format"):
        as_detector(plain)
    with pytest.raises(ValueError, match="not a detector|expected a Keras detector"):
        as_detector(object())


def test_bad_images(source_models):
    detector = as_detector(source_models["keras_cv_retinanet"])
    with pytest.raises(ValueError, match="shape"):
        detector.predict(np.zeros((2, 0, 10, 3)))
    with pytest.raises(ValueError, match="no images"):
        detector.predict([])
    with pytest.raises(ValueError, match="batch"):
        detector.sweep(np.zeros((10, 10, 3)))


def test_predictions_without_num_detections_count_the_unpadded_slots():
    class Fixed:
        bounding_box_format = "xyxy"

        def predict(self, images, verbose=0):
            count = len(images)
            return {
                "boxes": np.tile([[[1, 2, 5, 6], [-1, -1, -1, -1]]], (count, 1, 1)),
                "labels": np.tile([[2, -1]], (count, 1)),
                "confidence": np.tile([[0.8, -1]], (count, 1)),
            }

    detections = as_detector(Fixed()).predict(np.zeros((3, 8, 8, 3)))
    np.testing.assert_array_equal(detections["num_detections"], [1, 1, 1])
    np.testing.assert_array_equal(detections["classes"][:, 0], [2, 2, 2])
    with pytest.raises(ValueError, match="missing \\['confidence'\\]"):

        class NoConfidence(Fixed):
            def predict(self, images, verbose=0):
                output = super().predict(images)
                del output["confidence"]
                return output

        as_detector(NoConfidence()).predict(np.zeros((1, 8, 8, 3)))


def paint(shape, box):
    """An image with the xyxy `box` painted white."""
    image = np.zeros((*shape, 3), np.float32)
    x1, y1, x2, y2 = box
    image[y1:y2, x1:x2] = 255.0
    return image


def painted_box(image):
    """The xyxy extent of the pixels brighter than half."""
    ys, xs = np.nonzero(image[..., 0] > 127)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


@pytest.mark.parametrize(
    ("image_shape", "mode"),
    [
        ((480, 640), "stretch"),
        ((480, 640), "crop"),
        ((480, 640), "pad"),
        ((500, 333), "crop"),
        ((500, 333), "pad"),
    ],
)
def test_input_window_follows_keras_resizing_pixels(image_shape, mode):
    """Paint a box, resize as a KerasHub preprocessor does, map the painted box back."""
    size = (200, 200)
    box = (120, 90, 250, 200) if image_shape[1] > 400 else (100, 150, 220, 300)
    layer = keras.layers.Resizing(
        *size,
        interpolation="nearest",
        crop_to_aspect_ratio=mode == "crop",
        pad_to_aspect_ratio=mode == "pad",
    )
    resized = np.asarray(layer(paint(image_shape, box)))
    window = InputWindow.of_resizing(
        image_shape, size, crop_to_aspect_ratio=mode == "crop", pad_to_aspect_ratio=mode == "pad"
    )
    back = window.to_image(painted_box(resized), image_shape)
    # One model pixel is up to image/model pixels wide.
    tolerance = max(image_shape) / min(size) + 0.5
    np.testing.assert_allclose(back, box, atol=tolerance)
