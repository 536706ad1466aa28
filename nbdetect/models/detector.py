"""What a detector is to nbdetect: images in, boxes in the caller's pixels out.

nbdetect's widgets, callbacks and evaluation take any Keras detector through `as_detector`:

* nbdetect's `RetinaNet`;
* KerasHub `ObjectDetector`s (`RetinaNetObjectDetector`, `DFineObjectDetector`), whose
  preprocessor resizes (and normalises) images to the model's input size;
* KerasCV 0.9 `RetinaNet` and `YOLOV8Detector`;
* any other Keras model whose `predict` returns `{"boxes", "classes" or "labels",
  "confidence", "num_detections"}` and that has a `bounding_box_format`.

A `Detector` absorbs what differs between them: `"labels"` against `"classes"`, each
model's `bounding_box_format`, the frame boxes come back in (KerasHub predicts in its
resized input frame; a `Detector` maps boxes back onto the image it was given), and each
library's decoder API. For threshold sweeps (the NMS explorer) `Detector.sweep` keeps the
boxes and scores a model's non-max suppression receives — taken from the model's own
decoding code, so they are exactly what its `predict` would select among — and re-runs
only the selection, with nbdetect's NMS, at any settings.

Example (the preset is downloaded on first use, so this needs internet):
    >>> import numpy as np
    >>> import keras_hub  # doctest: +SKIP
    >>> from nbdetect.models import as_detector
    >>> photo = np.zeros((480, 640, 3))
    >>> model = keras_hub.models.ObjectDetector.from_preset("dfine_nano_coco")  # doctest: +SKIP
    >>> detector = as_detector(model, bounding_box_format="xywh")  # doctest: +SKIP
    >>> detections = detector.predict(photo[None])  # doctest: +SKIP
    >>> detections["boxes"].shape, detections["classes"].shape  # doctest: +SKIP
    ((1, 300, 4), (1, 300))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nbdetect.bounding_box.converters import convert_format
from nbdetect.bounding_box.formats import check_format
from nbdetect.utils import tensors

PREDICTION_KEYS = ("boxes", "classes", "confidence", "num_detections")

# The NMS layers nbdetect can re-run, by class name (nbdetect's, KerasHub's and KerasCV's
# share the names and the settings): whether each suppresses across classes.
_NMS_LAYERS = {"NonMaxSuppression": True, "MultiClassNonMaxSuppression": False}
_LIBRARY_IMPORT = {
    "nbdetect": "nbdetect.layers",
    "keras_hub": "keras_hub.layers",
    "keras_cv": "keras_cv.layers",
}


def as_detector(
    model: Any,
    bounding_box_format: str | None = None,
    class_mapping: Mapping[int, str] | None = None,
) -> Detector:
    """Wrap a Keras detector (or return a `Detector` as it is).

    Args:
        model: nbdetect's `RetinaNet`, a KerasHub `ObjectDetector`, a KerasCV `RetinaNet` or
            `YOLOV8Detector`, any Keras model with a `bounding_box_format` whose `predict`
            returns box dicts, or a `Detector`.
        bounding_box_format: the format the detections are returned in; default: the
            model's.
        class_mapping: `{class_id: name}` for the tools to label boxes with; default: the
            model's `class_mapping` (nbdetect's RetinaNet), else none.

    Returns:
        A `Detector`.

    Raises:
        ValueError: `model` is not a detector (e.g. a KerasHub classifier), or has no
            `bounding_box_format`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.demo import build_demo_model
        >>> from nbdetect.models import as_detector
        >>> model = build_demo_model(num_classes=3)  # a small RetinaNet, random weights
        >>> detector = as_detector(model, "xyxy")
        >>> images = np.zeros((2, 64, 64, 3))
        >>> detector.predict(images)["boxes"].shape  # [B, max_detections, 4] in xyxy
        (2, 100, 4)
    """
    if isinstance(model, Detector):
        same_format = bounding_box_format is None or (
            check_format(bounding_box_format) == model.bounding_box_format
        )
        if same_format and class_mapping is None:
            return model
        return Detector(
            model.model,
            bounding_box_format or model.bounding_box_format,
            class_mapping=model.class_mapping if class_mapping is None else class_mapping,
        )
    return Detector(model, bounding_box_format, class_mapping=class_mapping)


@dataclasses.dataclass(frozen=True)
class InputWindow:
    """Where a model's input frame lies in an image: how a preprocessor resized it.

    The model sees the image region `[top, top + height) x [left, left + width)`
    (negative `top`/`left` and sizes beyond the image where it was padded) stretched to
    `model_height x model_width` pixels.

    Attributes:
        top, left, height, width: the region, in image pixels.
        model_height, model_width: the model's input size.
    """

    top: float
    left: float
    height: float
    width: float
    model_height: int
    model_width: int

    @classmethod
    def identity(cls, height: int, width: int) -> InputWindow:
        """The window of a model that takes the image as it is."""
        return cls(0.0, 0.0, float(height), float(width), int(height), int(width))

    @classmethod
    def of_resizing(
        cls,
        image_shape: Sequence[int],
        size: Sequence[int],
        crop_to_aspect_ratio: bool = False,
        pad_to_aspect_ratio: bool = False,
    ) -> InputWindow:
        """The window of `keras.layers.Resizing(*size, ...)` on an image of `image_shape`.

        Follows the pixels (Keras' backend resize), including its integer rounding of the
        crop or pad size and offset.
        """
        height, width = int(image_shape[0]), int(image_shape[1])
        target_h, target_w = int(size[0]), int(size[1])
        if crop_to_aspect_ratio or pad_to_aspect_ratio:
            region_h = int(np.float32(width * target_h) / np.float32(target_w))
            region_w = int(np.float32(height * target_w) / np.float32(target_h))
            if crop_to_aspect_ratio:
                region_h = max(min(height, region_h), 1)
                region_w = max(min(width, region_w), 1)
                top = int(np.float32(height - region_h) / 2)
                left = int(np.float32(width - region_w) / 2)
            else:
                region_h, region_w = max(height, region_h), max(width, region_w)
                top = -int(np.float32(region_h - height) / 2)
                left = -int(np.float32(region_w - width) / 2)
            return cls(
                float(top), float(left), float(region_h), float(region_w), target_h, target_w
            )
        return cls(0.0, 0.0, float(height), float(width), target_h, target_w)

    @property
    def is_identity(self) -> bool:
        """Whether the model sees the image as it is (no resizing)."""
        return (self.top, self.left, self.height, self.width) == (
            0.0,
            0.0,
            float(self.model_height),
            float(self.model_width),
        )

    def to_image(self, boxes_xyxy: np.ndarray, image_shape: Sequence[int]) -> np.ndarray:
        """`[..., 4]` xyxy boxes from the model's frame to the image's, clipped to it.

        Boxes of a model that sees the image as it is are returned unchanged.
        """
        if self.is_identity:
            return np.asarray(boxes_xyxy, np.float32)
        scale_x = self.width / self.model_width
        scale_y = self.height / self.model_height
        boxes = np.asarray(boxes_xyxy, np.float32) * np.array(
            [scale_x, scale_y, scale_x, scale_y], np.float32
        ) + np.array([self.left, self.top, self.left, self.top], np.float32)
        height, width = image_shape[0], image_shape[1]
        return np.clip(boxes, 0.0, np.array([width, height, width, height], np.float32))


class Detector:
    """A Keras detector as nbdetect sees it; build one with `as_detector(model)`.

    Attributes:
        model: the wrapped Keras model.
        library: `"nbdetect"`, `"keras_hub"`, `"keras_cv"` or `"keras"` (any other model
            with box-dict predictions).
        model_format: the model's own `bounding_box_format`.
        bounding_box_format: the format `predict` and `sweep` return boxes in.
        class_mapping: `{class_id: name}` from the model (nbdetect's `class_mapping`), or
            `None`.
        input_size: `(height, width)` the model's preprocessor resizes images to, or `None`
            when the model takes any size.
    """

    def __init__(
        self,
        model: Any,
        bounding_box_format: str | None = None,
        class_mapping: Mapping[int, str] | None = None,
    ) -> None:
        self.model = model
        self.library = _library(model)
        # A model without a format of its own (any object with a box-dict `predict`) is
        # taken to predict in the format the caller names.
        model_format = getattr(model, "bounding_box_format", None) or bounding_box_format
        if model_format is None:
            raise ValueError(
                f"as_detector() got a {type(model).__name__} without a bounding_box_format, "
                "and no bounding_box_format= to say what format its predict() returns. "
                "Expected nbdetect's RetinaNet, a KerasHub ObjectDetector (e.g. "
                "keras_hub.models.ObjectDetector.from_preset('dfine_nano_coco')), a KerasCV "
                "RetinaNet or YOLOV8Detector, or a Keras model whose predict() returns "
                "{'boxes', 'classes', 'confidence', 'num_detections'}."
            )
        self.model_format = check_format(model_format, caller="as_detector")
        self.bounding_box_format = check_format(
            bounding_box_format or self.model_format, caller="as_detector"
        )
        mapping = getattr(model, "class_mapping", None) if class_mapping is None else class_mapping
        self.class_mapping = dict(mapping) if isinstance(mapping, Mapping) else None
        self.input_size = _input_size(model) if self.library == "keras_hub" else None

    def __repr__(self) -> str:
        return (
            f"Detector({type(self.model).__name__} from {self.library}, "
            f"bounding_box_format={self.bounding_box_format!r})"
        )

    # -- prediction ----------------------------------------------------------------------

    def predict(self, images: Any, batch_size: int = 16) -> dict[str, Any]:
        """Detections for images, in this detector's format and the images' own pixels.

        Args:
            images: a batch `[B, H, W, 3]` (values as the model takes them, usually
                0-255), a list of images of different sizes, or a ragged batch.
            batch_size: images per call of the model.

        Returns:
            Numpy `{"boxes": [B, D, 4], "classes": [B, D], "confidence": [B, D],
            "num_detections": [B]}` padded with -1 past `num_detections` (`"classes"`
            whatever the model calls them) — or, for a list of images of different sizes,
            the same keys holding one array per image.
        """
        image_list, same_size = _image_list(images)
        results: list[dict | None] = [None] * len(image_list)
        for indices in _groups_by_size(image_list):
            size = min(batch_size, len(indices))
            for start in range(0, len(indices), size):
                chunk = indices[start : start + size]
                batch = np.stack([image_list[i] for i in chunk])
                if len(chunk) < size:  # the same batch shape as the chunks before: no retrace
                    batch = np.concatenate(
                        [batch, np.zeros_like(batch[:1]).repeat(size - len(chunk), 0)]
                    )
                output = self._predict_batch(batch)
                for row, i in enumerate(chunk):
                    results[i] = {key: output[key][row] for key in PREDICTION_KEYS}
        if same_size:
            return {key: np.stack([r[key] for r in results]) for key in PREDICTION_KEYS}
        return {key: [r[key] for r in results] for key in PREDICTION_KEYS}

    def _predict_batch(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        image_shape = batch.shape[1:3]
        model_input, window = self._model_input(batch)
        if self.library == "nbdetect":
            output = self.model.predict_on_batch(model_input)
        else:
            self._retrace_for(model_input)
            # KerasHub's predict_on_batch hands its RetinaNet a 1-tuple it cannot unpack.
            output = self.model.predict(model_input, verbose=0)
            self._remember_trace(model_input)
        return self._to_caller(
            _standard_keys(output, type(self.model).__name__), window, image_shape
        )

    def _retrace_for(self, model_input: Any) -> None:
        """Drop the model's traced predict step unless it was traced for this batch shape.

        TensorFlow traces a second shape with unknown (None) sizes, which KerasCV's and
        KerasHub's anchor generators and NMS cannot take (KerasHub's predict fails on a
        second batch size). The shape the step was traced for is kept on the model, with
        the step, so that every `Detector` of the model knows it; `predict` pads its last
        chunk, so one call traces once.
        """
        shape = tuple(getattr(model_input, "shape", ()))
        traced = getattr(self.model, "_nbdetect_traced_for", None)
        function = getattr(self.model, "predict_function", None)
        if function is not None and traced != (shape, id(function)):
            self.model.predict_function = None

    def _remember_trace(self, model_input: Any) -> None:
        shape = tuple(getattr(model_input, "shape", ()))
        traced = (shape, id(getattr(self.model, "predict_function", None)))
        object.__setattr__(self.model, "_nbdetect_traced_for", traced)

    def _model_input(self, batch: np.ndarray) -> tuple[Any, InputWindow]:
        """What to call the model on, and the window it sees of the images."""
        image_shape = batch.shape[1:3]
        if self.library != "keras_hub" or self.input_size is None:
            return batch, InputWindow.identity(*image_shape)
        converter = _image_converter(self.model)
        if converter is None:
            # No preprocessor but a fixed input size (D-FINE's backbone): stretch to it.
            from keras import ops

            resized = ops.image.resize(batch, self.input_size, interpolation="bilinear")
            return ops.convert_to_numpy(resized), InputWindow.of_resizing(
                image_shape, self.input_size
            )
        window = InputWindow.of_resizing(
            image_shape,
            self.input_size,
            crop_to_aspect_ratio=bool(getattr(converter, "crop_to_aspect_ratio", False)),
            pad_to_aspect_ratio=bool(getattr(converter, "pad_to_aspect_ratio", False)),
        )
        return batch, window

    def _to_caller(self, output: dict, window: InputWindow, image_shape) -> dict[str, np.ndarray]:
        """Model-frame detections in the model's format → caller's frame and format."""
        output = {key: tensors.to_numpy(output[key]) for key in PREDICTION_KEYS}
        boxes = np.asarray(output["boxes"], np.float32)
        classes = np.asarray(output["classes"])
        counts = np.asarray(output["num_detections"]).astype(np.int64).reshape(-1)
        valid = np.arange(classes.shape[1])[None, :] < counts[:, None]
        valid &= classes != -1
        if not window.is_identity:
            shape = (window.model_height, window.model_width)
            xyxy = convert_format(boxes, source=self.model_format, target="xyxy", image_shape=shape)
            boxes = convert_format(
                window.to_image(xyxy, image_shape),
                source="xyxy",
                target=self.bounding_box_format,
                image_shape=tuple(image_shape),
            )
        elif self.model_format != self.bounding_box_format:
            boxes = convert_format(
                boxes,
                source=self.model_format,
                target=self.bounding_box_format,
                image_shape=tuple(image_shape),
            )
        return {
            "boxes": np.where(valid[..., None], boxes, -1.0).astype(np.float32),
            "classes": np.where(valid, classes, -1).astype(np.int64),
            "confidence": np.where(valid, output["confidence"], -1.0).astype(np.float32),
            "num_detections": valid.sum(axis=1).astype(np.int32),
        }

    # -- decoding: the explorer's path ------------------------------------------------------

    @property
    def decoder(self) -> Any:
        """The model's `prediction_decoder` layer, or `None`."""
        return getattr(self.model, "prediction_decoder", None)

    def nms_settings(self) -> dict[str, Any] | None:
        """The model's NMS settings, or `None` when its decoder is not NMS nbdetect can re-run.

        Returns:
            `{"iou_threshold", "confidence_threshold", "max_detections", "class_agnostic",
            "from_logits", "max_detections_per_class", "pre_nms_top_k"}`.
        """
        decoder = self.decoder
        name = type(decoder).__name__
        if name not in _NMS_LAYERS or self.library == "keras" or not hasattr(decoder, "get_config"):
            return None
        config = decoder.get_config()
        return {
            "iou_threshold": float(config["iou_threshold"]),
            "confidence_threshold": float(config["confidence_threshold"]),
            "max_detections": int(config["max_detections"]),
            "class_agnostic": _NMS_LAYERS[name],
            "from_logits": bool(config.get("from_logits", True)),
            "max_detections_per_class": config.get("max_detections_per_class"),
            "pre_nms_top_k": config.get("pre_nms_top_k"),
        }

    def sweep(self, images: Any) -> DetectionSweep:
        """Run the model once on a batch; then select detections at any settings.

        With an NMS decoder nbdetect can re-run, the sweep keeps the boxes and scores the
        decoder receives and `select()` runs nbdetect's NMS on them: at the model's own
        settings, the model's `predict` (up to score ties). Otherwise it keeps the model's
        detections and `select()` filters them by confidence and count only.

        Args:
            images: `[B, H, W, 3]` images of one size.

        Returns:
            A `DetectionSweep`.
        """
        batch = np.asarray(tensors.to_numpy(images))
        if batch.ndim != 4:
            raise ValueError(
                f"Detector.sweep() got images of shape {batch.shape}; expected a batch "
                "[batch, height, width, channels] of one size."
            )
        settings = self.nms_settings()
        if settings is None:
            return DetectionSweep(self, batch.shape[1:3], detections=self.predict(batch))
        boxes, scores, window = self._nms_inputs(batch)
        return DetectionSweep(
            self, batch.shape[1:3], boxes=boxes, scores=scores, window=window, settings=settings
        )

    def _nms_inputs(self, batch: np.ndarray) -> tuple[Any, Any, InputWindow]:
        """Boxes (model format, model frame) and scores the model's decoder would get."""
        if self.library == "nbdetect":
            raw = self.model.predict_raw(batch, verbose=0)
            shape = batch.shape[1:3]
            boxes = self.model.decode_boxes(raw, image_shape=shape)
            return boxes, raw["classification"], InputWindow.identity(*shape)
        model_input, window = self._model_input(batch)
        captured = _decoder_inputs(self.model, model_input)
        return captured["boxes"], captured["scores"], window

    def decoder_with(self, **settings: Any) -> Any:
        """A new decoder of the model's decoder class, with `settings` changed."""
        decoder = self.decoder
        config = decoder.get_config()
        config.update(settings)
        config.pop("name", None)
        return type(decoder).from_config(config)

    def apply(self, **settings: Any) -> None:
        """Set the model's `prediction_decoder` to its decoder with `settings` changed."""
        self.model.prediction_decoder = self.decoder_with(**settings)

    def decoder_code(self, **settings: Any) -> str:
        """The code that sets the model's decoder with `settings`: an import, then the line.

        It runs as printed, whatever the notebook imported before (e.g.
        `import nbdetect.layers` then `model.prediction_decoder = nbdetect.layers....`).
        """
        decoder = self.decoder
        config = {**decoder.get_config(), **settings}
        arguments = [f"bounding_box_format={config['bounding_box_format']!r}"]
        arguments.append(f"from_logits={config.get('from_logits', True)}")
        arguments.append(f"iou_threshold={float(config['iou_threshold']):g}")
        arguments.append(f"confidence_threshold={float(config['confidence_threshold']):g}")
        arguments.append(f"max_detections={int(config['max_detections'])}")
        for name in ("max_detections_per_class", "pre_nms_top_k"):
            if name in config:
                arguments.append(f"{name}={config[name]!r}")
        module = _LIBRARY_IMPORT.get(self.library, type(decoder).__module__)
        return (
            f"import {module}\n"
            f"model.prediction_decoder = {module}.{type(decoder).__name__}({', '.join(arguments)})"
        )


class DetectionSweep:
    """One model run on a batch, and detections at any decoder settings (`Detector.sweep`).

    Args:
        detector: the `Detector` whose format and frame `select` returns.
        image_shape: `(H, W)` of the images.
        boxes: `[B, A, 4]` boxes (model format and frame) the model's NMS receives, or
        detections: the model's own detections, for a model without NMS to re-run.
        scores: `[B, A, C]` class scores with `boxes`.
        window: where the model's frame lies in the images, with `boxes`.
        settings: the detector's `nms_settings()`, with `boxes`.

    Attributes:
        nms: whether `select` re-runs non-max suppression (`iou_threshold` applies), or
            only filters the model's own detections by confidence and count.
    """

    def __init__(
        self,
        detector: Detector,
        image_shape: Sequence[int],
        *,
        boxes: Any = None,
        scores: Any = None,
        window: InputWindow | None = None,
        detections: dict | None = None,
        settings: dict | None = None,
    ) -> None:
        self.detector = detector
        self.image_shape = tuple(int(s) for s in image_shape)
        self.nms = detections is None
        self._detections = detections
        self.window = window
        if self.nms:
            from nbdetect.layers.nms_candidates import NMSCandidates

            options = {}
            if settings["pre_nms_top_k"] is not None:
                options["pre_nms_top_k"] = settings["pre_nms_top_k"]
            self.candidates = NMSCandidates(
                boxes,
                scores,
                detector.model_format,
                from_logits=settings["from_logits"],
                class_agnostic=settings["class_agnostic"],
                max_detections_per_class=settings["max_detections_per_class"],
                **options,
            )

    def select(
        self,
        iou_threshold: float = 0.5,
        confidence_threshold: float = 0.5,
        max_detections: int = 100,
    ) -> dict[str, np.ndarray]:
        """The detections at these settings, in the detector's format and the images' pixels.

        Args:
            iou_threshold: NMS overlap threshold (ignored when `nms` is False).
            confidence_threshold: detections need a confidence above it.
            max_detections: detections per image at most.

        Returns:
            Numpy `{"boxes", "classes", "confidence", "num_detections"}`, -1 padded.
        """
        if not self.nms:
            return _filter(self._detections, confidence_threshold, max_detections)
        selected = self.candidates.select(
            iou_threshold=iou_threshold,
            confidence_threshold=confidence_threshold,
            max_detections=max_detections,
        )
        return self.detector._to_caller(selected, self.window, self.image_shape)

    def close(self) -> None:
        """Drop the cached boxes and scores."""
        self.candidates = self._detections = None


def _filter(detections: dict, confidence_threshold: float, max_detections: int) -> dict:
    """The detections above the threshold, best first, at most `max_detections` per image."""
    confidence = np.asarray(detections["confidence"], np.float32)
    keep = (confidence > confidence_threshold) & (np.asarray(detections["classes"]) != -1)
    # Kept detections first, best first; then the padding.
    order = np.argsort(np.where(keep, -confidence, np.inf), axis=1, kind="stable")
    order = order[:, :max_detections]
    kept = np.take_along_axis(keep, order, axis=1)
    out = {}
    for key in ("boxes", "classes", "confidence"):
        values = np.asarray(detections[key])
        if key == "boxes":
            values = np.take_along_axis(values, order[..., None], axis=1)
            out[key] = np.where(kept[..., None], values, -1).astype(values.dtype)
        else:
            values = np.take_along_axis(values, order, axis=1)
            out[key] = np.where(kept, values, -1).astype(values.dtype)
    out["num_detections"] = kept.sum(axis=1).astype(np.int32)
    return out


class _DecoderInputs:
    """Stands in for a model's decoder for one call and returns what it was given."""

    def __init__(self, decoder: Any) -> None:
        self.bounding_box_format = decoder.bounding_box_format

    def __call__(self, box_prediction, class_prediction, images=None, image_shape=None):
        return {"boxes": box_prediction, "scores": class_prediction}


def _decoder_inputs(model: Any, images: np.ndarray) -> dict:
    """The decoded boxes (model format) and class scores the model's decoder receives.

    Runs the model's own `predict` — its preprocessing, network and box decoding, in the
    same compiled step — with its decoder swapped for one that returns its inputs. The
    boxes and scores are then exactly those the model's NMS selects among (its anchors,
    box coding, clipping or none), whatever the library. The model's compiled predict
    step is put back afterwards.
    """
    decoder = model._prediction_decoder
    compiled = model.predict_function
    object.__setattr__(model, "_prediction_decoder", _DecoderInputs(decoder))
    model.predict_function = None
    try:
        return model.predict(images, batch_size=len(images), verbose=0)
    finally:
        object.__setattr__(model, "_prediction_decoder", decoder)
        model.predict_function = compiled


def _library(model: Any) -> str:
    from nbdetect.models.retinanet.retinanet import RetinaNet

    if isinstance(model, RetinaNet):
        return "nbdetect"
    modules = [cls.__module__ for cls in type(model).__mro__]
    if any(module.startswith("keras_hub") for module in modules):
        if not any(cls.__name__ == "ObjectDetector" for cls in type(model).__mro__):
            raise ValueError(
                f"as_detector() got the KerasHub model {type(model).__name__}, which is not an "
                "object detector. Expected a keras_hub.models.ObjectDetector, e.g. "
                "keras_hub.models.ObjectDetector.from_preset('retinanet_resnet50_fpn_coco') "
                "or a DFineObjectDetector."
            )
        return "keras_hub"
    if any(module.startswith("keras_cv") for module in modules):
        if not hasattr(model, "decode_predictions") or not hasattr(model, "prediction_decoder"):
            raise ValueError(
                f"as_detector() got the KerasCV model {type(model).__name__}, which is not an "
                "object detector. Expected keras_cv.models.RetinaNet or YOLOV8Detector."
            )
        return "keras_cv"
    if not callable(getattr(model, "predict", None)):
        raise ValueError(
            f"as_detector() got a {type(model).__name__}; expected a Keras detector model "
            "(nbdetect RetinaNet, KerasHub ObjectDetector, KerasCV RetinaNet or YOLOV8Detector)."
        )
    return "keras"


def _image_converter(model: Any) -> Any:
    preprocessor = getattr(model, "preprocessor", None)
    return getattr(preprocessor, "image_converter", None)


def _input_size(model: Any) -> tuple[int, int] | None:
    """The size a KerasHub detector's preprocessor resizes to (or its backbone needs)."""
    converter = _image_converter(model)
    size = getattr(converter, "image_size", None)
    if size is None:
        shape = getattr(getattr(model, "backbone", None), "image_shape", None)
        size = None if shape is None else tuple(shape[:2])
    if size is None or any(s is None for s in size):
        return None
    return int(size[0]), int(size[1])


def _standard_keys(output: Any, name: str) -> dict:
    """A model's prediction dict with `"classes"` (not `"labels"`) and every key present."""
    if not isinstance(output, Mapping):
        raise ValueError(
            f"{name}.predict() returned a {type(output).__name__}; a detector returns a dict "
            "{'boxes', 'classes' (or 'labels'), 'confidence', 'num_detections'}."
        )
    output = dict(output)
    if "classes" not in output and "labels" in output:
        output["classes"] = output.pop("labels")
    missing = [key for key in ("boxes", "classes", "confidence") if key not in output]
    if missing:
        raise ValueError(
            f"{name}.predict() returned {sorted(output)}, missing {missing}; a detector returns "
            "{'boxes', 'classes' (or 'labels'), 'confidence', 'num_detections'}."
        )
    if "num_detections" not in output:
        # Without a count, every slot not padded with class -1 is a detection.
        classes = tensors.to_numpy(output["classes"])
        output["num_detections"] = (classes != -1).sum(axis=-1)
    return output


def _image_list(images: Any) -> tuple[list[np.ndarray], bool]:
    """`[H, W, C]` numpy images, and whether the input was one dense batch."""
    if isinstance(images, (list, tuple)) or tensors.is_ragged(images):
        if tensors.is_ragged(images):
            images = [images[i] for i in range(int(images.nrows()))]
        image_list = [np.asarray(tensors.to_numpy(image)) for image in images]
        same = False
    else:
        array = np.asarray(tensors.to_numpy(images))
        if array.ndim == 3:
            array = array[None]
        image_list, same = list(array), True
    for image in image_list:
        if image.ndim != 3 or image.shape[0] == 0 or image.shape[1] == 0:
            raise ValueError(
                f"Detector.predict() got an image of shape {image.shape}; expected "
                "[height, width, channels] images (or a batch of them) with pixels."
            )
    if not image_list:
        raise ValueError("Detector.predict() got no images; pass at least one.")
    return [image.astype(np.float32, copy=False) for image in image_list], same


def _groups_by_size(image_list: list[np.ndarray]) -> list[list[int]]:
    groups: dict[tuple, list[int]] = {}
    for i, image in enumerate(image_list):
        groups.setdefault(image.shape, []).append(i)
    return list(groups.values())
