"""Shared by the adapter tests: images, sparse decoders, and the models' own predictions."""

import numpy as np

from nbdetect.bounding_box import convert_format
from nbdetect.models import as_detector

# Images of another size than the KerasHub models' 256 x 256 input, and another aspect ratio.
IMAGE_SHAPE = (192, 320)


def photos(count=2, shape=IMAGE_SHAPE, seed=0):
    """Random 0-255 images with a few bright rectangles, so detectors have something to see."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 120, (count, *shape, 3)).astype("float32")
    for image in images:
        for _ in range(3):
            y, x = rng.integers(0, shape[0] - 40), rng.integers(0, shape[1] - 40)
            image[y : y + rng.integers(20, 40), x : x + rng.integers(20, 40)] = rng.uniform(
                150, 255, 3
            )
    return images


def sparse_decoder(model, images, count=15):
    """Set the model's decoder threshold so that about `count` boxes per image pass.

    Random heads score many overlapping boxes almost alike; a trained detector's
    detections are few and distinct, which is the case the adapter must reproduce.
    """
    detector = as_detector(model)
    model.prediction_decoder = detector.decoder_with(confidence_threshold=0.0)
    confidence = detector.predict(images[:1])["confidence"][0]
    confidence = np.sort(confidence[confidence >= 0])[::-1]
    threshold = float(confidence[min(count, len(confidence) - 1)])
    model.prediction_decoder = detector.decoder_with(confidence_threshold=threshold)
    return model


def own_predictions(model, images, bounding_box_format):
    """The model's own `predict`, mapped by hand from its input frame to the images'.

    An independent reference: KerasHub's preprocessors here stretch images to the model's
    input size, so x scales by W / W_model and y by H / H_model, and boxes are clipped to
    the image. Models that take the image as it is keep their boxes as they are.
    """
    model.predict_function = None  # KerasHub's predict fails on a second batch size
    output = model.predict(images, verbose=0)
    classes = np.asarray(output["classes"] if "classes" in output else output["labels"])
    boxes = np.asarray(output["boxes"], np.float32)
    height, width = images.shape[1:3]
    converter = getattr(getattr(model, "preprocessor", None), "image_converter", None)
    model_h, model_w = converter.image_size if converter is not None else (height, width)
    xyxy = np.asarray(
        convert_format(
            boxes, source=model.bounding_box_format, target="xyxy", image_shape=(model_h, model_w)
        )
    )
    if converter is not None:
        xyxy = xyxy * np.array([width / model_w, height / model_h] * 2, np.float32)
        xyxy = np.clip(xyxy, 0, [width, height, width, height])
    boxes = np.asarray(
        convert_format(xyxy, source="xyxy", target=bounding_box_format, image_shape=(height, width))
    )
    count = np.asarray(output["num_detections"])
    return boxes, classes, np.asarray(output["confidence"]), count


def rows(detections, i, digits=2):
    """One image's detections as a sorted list of rounded (confidence, class, box) rows."""
    n = int(detections["num_detections"][i])
    return sorted(
        tuple(
            np.round(
                np.r_[
                    detections["confidence"][i][j],
                    detections["classes"][i][j],
                    detections["boxes"][i][j],
                ].astype(np.float64),
                digits,
            )
        )
        for j in range(n)
    )
