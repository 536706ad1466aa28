"""RetinaNet (Lin et al., "Focal Loss for Dense Object Detection", 2017) on Keras 3."""

from __future__ import annotations

import collections
import contextlib
import copy
import inspect
import sys
from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from nbdetect.bounding_box.converters import convert_format
from nbdetect.bounding_box.formats import check_format
from nbdetect.bounding_box.to_dense import to_dense
from nbdetect.layers.non_max_suppression import MultiClassNonMaxSuppression
from nbdetect.models.retinanet import loss as retinanet_loss
from nbdetect.models.retinanet import presets as preset_io
from nbdetect.models.retinanet.anchor_generator import AnchorGenerator, default_anchor_generator
from nbdetect.models.retinanet.box_coder import decode_deltas_to_boxes
from nbdetect.models.retinanet.feature_pyramid import FeaturePyramid
from nbdetect.models.retinanet.label_encoder import RetinaNetLabelEncoder
from nbdetect.models.retinanet.prediction_head import PredictionHead, classification_bias
from nbdetect.models.retinanet.retinanet_backbone import RetinaNetBackbone, input_channels
from nbdetect.utils import checks, tensors

BOX_VARIANCE = (0.1, 0.1, 0.2, 0.2)

# The parts passed to __init__ as objects and serialized as nested configs.
_PARTS = (
    "backbone",
    "anchor_generator",
    "label_encoder",
    "prediction_decoder",
    "feature_pyramid",
    "classification_head",
    "box_head",
)


@keras.saving.register_keras_serializable(package="nbdetect")
class RetinaNet(keras.Model):
    """RetinaNet: backbone, feature pyramid P3-P7, and class and box subnets on every level.

    A drop-in for `keras_cv.models.RetinaNet` (same constructor, `from_preset`, `compile`,
    `fit`, `predict` and `prediction_decoder`), written in `keras.ops`: it runs on the
    TensorFlow and JAX backends (TPUs included) and its steps compile with XLA.

    - Calling the model, `model(images)`, returns the raw head outputs
      `{"box": [B, A, 4], "classification": [B, A, num_classes]}`: box offsets from the
      `A` anchors (see `box_coder`) and class logits.
    - `predict()` decodes them with `prediction_decoder` into
      `{"boxes", "classes", "confidence", "num_detections"}` (padded with -1);
      `predict_raw()` returns the raw outputs, and `decode_predictions()` decodes raw
      outputs again, without running the network, e.g. with other NMS thresholds.
    - `fit()` takes `(images, {"boxes", "classes"})` with the boxes in
      `bounding_box_format` (dense padded with -1, or ragged on TensorFlow), or
      `{"images", "bounding_boxes"}` dicts; the targets are encoded inside the model.
      Images with no boxes train (as background) with a finite loss.
    - Images: RGB, values in `[0, 255]`, any height and width. Anchors follow the feature
      maps' `ceil(size / stride)` shapes, so sizes need not be multiples of 32 or 128.

    Args:
        backbone: a Keras model from images `[B, H, W, 3]` to the feature maps at strides 8,
            16 and 32 (`{"P3", "P4", "P5"}` or a list), each `ceil(H / stride) x
            ceil(W / stride)`: e.g. `nbdetect.models.retinanet.Backbone("resnet50")`, as
            KerasCV takes it. Or, as KerasHub splits a detector, a `RetinaNetBackbone`
            (image encoder and feature pyramid together; then no `feature_pyramid`):
            the model keeps its encoder as `backbone` and its pyramid as
            `feature_pyramid`, and `model.feature_extractor` is the same pair again.
        num_classes: the number of object classes (no background class); class ids are
            `0 .. num_classes - 1`.
        bounding_box_format: the format of the boxes given to `fit()` and returned by
            `predict()`, e.g. `"xywh"`.
        anchor_generator: an `AnchorGenerator`; default: 9 anchors per location
            (3 scales x 3 aspect ratios), sizes 32 to 512 on P3-P7.
        label_encoder: a `RetinaNetLabelEncoder` (it owns the `box_variance` the box
            offsets are scaled by); default: IoU >= 0.5 positive, < 0.4 background,
            in between ignored, variance `[0.1, 0.1, 0.2, 0.2]`, on `anchor_generator`.
        prediction_decoder: the layer that turns decoded boxes and class logits into
            detections; default `MultiClassNonMaxSuppression(bounding_box_format,
            from_logits=True, iou_threshold=0.5, confidence_threshold=0.5)`. Can be
            replaced later: `model.prediction_decoder = ...`.
        feature_pyramid: a `FeaturePyramid`; default 256 channels.
        classification_head: a `PredictionHead` with `anchors_per_location *
            num_classes` outputs; default 4 hidden convolutions of 256 channels, output
            bias at the focal-loss prior `-log((1 - 0.01) / 0.01)`.
        box_head: a `PredictionHead` with `anchors_per_location * 4` outputs; default as
            the classification head, with a zero bias.
        class_mapping: the class names, `{class_id: name}` (e.g.
            `dict(enumerate(nbdetect.datasets.VOC_CLASSES))`), or None. Stored and saved
            with the model (`model.class_mapping`), for drawing and reports; converted
            pretrained detectors come with theirs.
        clip_boxes: clip decoded boxes to the image before NMS (torchvision's order, and
            the default). KerasCV's and KerasHub's RetinaNets do not clip: their
            converted presets set False, so that their detections equal the source's.
        **kwargs: passed to `keras.Model` (`name`, `trainable`).

    Example:
        >>> import keras
        >>> import numpy as np
        >>> from nbdetect.demo import demo_datasets
        >>> from nbdetect.models import RetinaNet
        >>> train_ds, _, class_names = demo_datasets(  # shapes, 64-pixel images
        ...     batch_size=2, train_examples=4, test_examples=2, image_size=64)
        >>> model = RetinaNet.from_preset(  # random weights; "resnet50_imagenet" downloads
        ...     "mobilenet_v3_small", num_classes=len(class_names), bounding_box_format="xywh",
        ...     num_filters=64, num_head_conv_layers=2)
        >>> model.compile(
        ...     classification_loss="focal",
        ...     box_loss="smoothl1",
        ...     optimizer=keras.optimizers.SGD(0.005, momentum=0.9, global_clipnorm=10.0),
        ...     run_eagerly=True,  # no graph to build for 2 steps; drop it to train
        ... )
        >>> history = model.fit(train_ds, steps_per_epoch=2, epochs=1, verbose=0)
        >>> detections = model.predict(np.zeros((1, 64, 64, 3)), verbose=0)
        >>> sorted(detections)
        ['boxes', 'classes', 'confidence', 'num_detections']

        With ImageNet weights for the backbone (downloaded by Keras: needs internet):

        >>> model = RetinaNet.from_preset(  # doctest: +SKIP
        ...     "resnet50_imagenet", num_classes=20, bounding_box_format="xywh"
        ... )
    """

    presets = preset_io.PRESETS

    def __init__(
        self,
        backbone: keras.Model,
        num_classes: int,
        bounding_box_format: str,
        anchor_generator: AnchorGenerator | None = None,
        label_encoder: RetinaNetLabelEncoder | None = None,
        prediction_decoder: keras.layers.Layer | None = None,
        feature_pyramid: keras.layers.Layer | None = None,
        classification_head: keras.layers.Layer | None = None,
        box_head: keras.layers.Layer | None = None,
        class_mapping: dict[int, str] | None = None,
        clip_boxes: bool = True,
        **kwargs: Any,
    ) -> None:
        bounding_box_format = check_format(bounding_box_format, caller="RetinaNet")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(
                f"RetinaNet got num_classes={num_classes!r}; expected a positive integer, the "
                "number of object classes (without a background class)."
            )

        class_mapping = _class_mapping(class_mapping, num_classes)
        if isinstance(backbone, RetinaNetBackbone):
            if feature_pyramid is not None:
                raise ValueError(
                    "RetinaNet got a RetinaNetBackbone, which holds its own feature pyramid, "
                    f"and feature_pyramid={feature_pyramid!r}. Pass the pyramid in one place: "
                    "RetinaNet(RetinaNetBackbone(encoder, pyramid), ...) or "
                    "RetinaNet(encoder, ..., feature_pyramid=pyramid)."
                )
            backbone, feature_pyramid = backbone.image_encoder, backbone.feature_pyramid

        # === Layers ===
        if anchor_generator is None:
            anchor_generator = (
                label_encoder.anchor_generator
                if label_encoder is not None
                else default_anchor_generator(bounding_box_format)
            )
        label_encoder = label_encoder or RetinaNetLabelEncoder(
            bounding_box_format, anchor_generator, box_variance=BOX_VARIANCE
        )
        if label_encoder.anchor_generator.get_config() != anchor_generator.get_config():
            raise ValueError(
                "RetinaNet got an anchor_generator that differs from its label_encoder's "
                "anchor_generator; the model would predict for other anchors than it is "
                "trained on. Pass the same AnchorGenerator to both, or only the "
                "label_encoder."
            )
        prediction_decoder = prediction_decoder or MultiClassNonMaxSuppression(
            bounding_box_format=bounding_box_format,
            from_logits=True,
            iou_threshold=0.5,
            confidence_threshold=0.5,
        )
        feature_pyramid = feature_pyramid or FeaturePyramid()
        anchors_per_location = anchor_generator.anchors_per_location
        classification_head = classification_head or PredictionHead(
            anchors_per_location * num_classes,
            bias_initializer=classification_bias(),
            name="classification_head",
        )
        box_head = box_head or PredictionHead(
            anchors_per_location * 4, bias_initializer="zeros", name="box_head"
        )

        # === Model ===
        images = keras.Input((None, None, input_channels(backbone)), name="images")
        pyramid = feature_pyramid(backbone(images))
        box_levels, class_levels = [], []
        for level in pyramid:
            box_out, class_out = box_head(level), classification_head(level)
            _check_head_width("box_head", box_out, anchors_per_location * 4, "4")
            _check_head_width(
                "classification_head",
                class_out,
                anchors_per_location * num_classes,
                f"num_classes ({num_classes})",
            )
            box_levels.append(keras.layers.Reshape((-1, 4))(box_out))
            class_levels.append(keras.layers.Reshape((-1, num_classes))(class_out))
        # float32 outputs whatever the dtype policy: losses and NMS need the precision.
        outputs = {
            "box": keras.layers.Concatenate(axis=1, name="box", dtype="float32")(box_levels),
            "classification": keras.layers.Concatenate(
                axis=1, name="classification", dtype="float32"
            )(class_levels),
        }
        super().__init__(inputs=images, outputs=outputs, **kwargs)

        # === Config ===
        self.backbone = backbone
        self.num_classes = num_classes
        self.bounding_box_format = bounding_box_format
        self.anchor_generator = anchor_generator
        self.label_encoder = label_encoder
        self._prediction_decoder = prediction_decoder
        self.feature_pyramid = feature_pyramid
        self.classification_head = classification_head
        self.box_head = box_head
        self.class_mapping = class_mapping
        self.clip_boxes = bool(clip_boxes)

        # === Training state (set by compile) ===
        self.box_loss = None
        self.classification_loss = None
        _set_untracked(self, "_detection_metrics", ())
        # predict_raw's model: the same layers, no decoding (built when first needed).
        _set_untracked(self, "_raw_outputs", None)
        _set_untracked(self, "_feature_extractor", None)
        _PredictFunctions.attach(self)

    @property
    def feature_extractor(self) -> RetinaNetBackbone:
        """The backbone and feature pyramid as one model: images to `{"P3", ..., "P7"}`.

        Built from the model's own layers when first asked for (the same weights, trained
        with the detector), to look at the features or reuse them apart from the
        detection task. The detector's graph calls the two parts directly, so its saved
        weights keep their paths whether or not this was built.
        """
        if self._feature_extractor is None:
            extractor = RetinaNetBackbone(
                self.backbone, self.feature_pyramid, name=f"{self.name}_feature_extractor"
            )
            _set_untracked(self, "_feature_extractor", extractor)
        return self._feature_extractor

    # --- decoding -----------------------------------------------------------------------

    @property
    def prediction_decoder(self) -> keras.layers.Layer:
        """The layer `predict()` and `decode_predictions()` decode detections with.

        Assigning a new one (e.g. `MultiClassNonMaxSuppression` with other thresholds)
        takes effect at the next `predict()`.
        """
        return self._prediction_decoder

    @prediction_decoder.setter
    def prediction_decoder(self, prediction_decoder: keras.layers.Layer) -> None:
        self._prediction_decoder = prediction_decoder
        # Keras keeps the traced predict step, decoder included: a new one decodes anew.
        self._predict_functions.clear()
        self.make_predict_function(force=True)
        if self._detection_metrics:
            self.make_train_function(force=True)
            self.make_test_function(force=True)

    def decode_predictions(
        self, predictions: dict, images: Any = None, image_shape: Sequence[int] | None = None
    ) -> dict:
        """Detections from raw head outputs, with the current `prediction_decoder`.

        Runs no part of the network: the widgets and threshold sweeps call it on cached
        `predict_raw()` outputs.

        Args:
            predictions: `{"box": [B, A, 4], "classification": [B, A, num_classes]}` as
                `model(images)` or `predict_raw()` return them.
            images: the `[B, H, W, C]` images they were predicted on (only their size is
                read), or
            image_shape: their `(H, W)`.

        Returns:
            The decoder's output: `{"boxes": [B, D, 4] in bounding_box_format, "classes":
            [B, D], "confidence": [B, D], "num_detections": [B]}`, -1 past
            `num_detections`. Boxes are clipped to the image (unless `clip_boxes` is
            False).

        Example:
            >>> import numpy as np
            >>> from nbdetect.demo import build_demo_model
            >>> from nbdetect.layers import MultiClassNonMaxSuppression
            >>> model = build_demo_model(num_classes=3)  # a small RetinaNet
            >>> images = np.zeros((2, 64, 64, 3))
            >>> raw = model.predict_raw(images, verbose=0)
            >>> model.prediction_decoder = MultiClassNonMaxSuppression(
            ...     "xywh", from_logits=True, confidence_threshold=0.3)
            >>> detections = model.decode_predictions(raw, images)
            >>> detections["boxes"].shape
            TensorShape([2, 100, 4])
        """
        height, width = _image_size(images, image_shape, "decode_predictions")
        decoder = self.prediction_decoder
        decoder_format = getattr(decoder, "bounding_box_format", self.bounding_box_format)
        boxes = self.decode_boxes(
            predictions, image_shape=(height, width), bounding_box_format=decoder_format
        )
        scores = ops.convert_to_tensor(predictions["classification"], "float32")
        detections = decoder(boxes, scores, image_shape=_shape_argument(height, width))
        if check_format(decoder_format) != self.bounding_box_format:
            # The dict form keeps padding rows (class -1) at -1.
            detections = convert_format(
                detections,
                source=decoder_format,
                target=self.bounding_box_format,
                image_shape=(height, width),
            )
        return detections

    def decode_boxes(
        self,
        predictions: dict,
        images: Any = None,
        image_shape: Sequence[int] | None = None,
        bounding_box_format: str | None = None,
    ) -> Any:
        """The box of every anchor from raw head outputs (clipped to the image): no NMS.

        `decode_predictions` runs NMS on these boxes; threshold sweeps (the NMS explorer,
        `nbdetect.layers.NMSCandidates`) keep them and run only the selection.

        Args:
            predictions: `{"box": [B, A, 4], ...}` as `predict_raw()` returns them.
            images: the `[B, H, W, C]` images (only their size is read), or
            image_shape: their `(H, W)`.
            bounding_box_format: the format of the result; default: the model's.

        Returns:
            `[B, A, 4]` boxes, a tensor of the backend.

        Example:
            >>> import numpy as np
            >>> from nbdetect.demo import build_demo_model
            >>> model = build_demo_model(num_classes=3)  # a small RetinaNet
            >>> images = np.zeros((2, 64, 64, 3))
            >>> raw = model.predict_raw(images, verbose=0)
            >>> model.decode_boxes(raw, images).shape  # one box per anchor
            TensorShape([2, 774, 4])
        """
        height, width = _image_size(images, image_shape, "decode_boxes")
        anchors = self._anchors_yxyx(height, width)
        _check_anchor_count(anchors.shape[0], predictions["box"].shape[1], (height, width))
        boxes = decode_deltas_to_boxes(anchors, predictions["box"], self.label_encoder.box_variance)
        if self.clip_boxes:
            boxes = _clip_yxyx(boxes, height, width)
        return convert_format(
            boxes,
            source="yxyx",
            target=bounding_box_format or self.bounding_box_format,
            image_shape=(height, width),
        )

    def predict_step(self, *args: Any) -> Any:
        """Keras' predict step, then `decode_predictions`."""
        *state, data = args
        images = _unpack_images(data)
        outputs = super().predict_step(*state, images)
        if isinstance(outputs, tuple):  # JAX: (outputs, non-trainable variables)
            return self.decode_predictions(outputs[0], images), outputs[1]
        return self.decode_predictions(outputs, images)

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: Any = "auto",
        steps: int | None = None,
        callbacks: list | None = None,
    ) -> dict:
        """Detections for images: `{"boxes", "classes", "confidence", "num_detections"}`.

        As `keras.Model.predict`; the raw outputs are decoded with `prediction_decoder`.

        Args:
            x: images `[N, H, W, 3]` (values in `[0, 255]`), a dataset of image batches,
                of `(images, targets)` or of `{"images", ...}` dicts.
            batch_size: as for `keras.Model.predict`.
            verbose: as for `keras.Model.predict`.
            steps: as for `keras.Model.predict`.
            callbacks: as for `keras.Model.predict`.

        Returns:
            Numpy arrays `{"boxes": [N, D, 4] in bounding_box_format, "classes": [N, D],
            "confidence": [N, D], "num_detections": [N]}`, -1 past `num_detections`.
        """
        self._predict_functions.select(x)
        return super().predict(
            x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks
        )

    def predict_on_batch(self, x: Any) -> dict:
        """`predict` for one batch, as `keras.Model.predict_on_batch`; any image size."""
        self._predict_functions.select(x)
        return super().predict_on_batch(x)

    def predict_raw(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: Any = "auto",
        steps: int | None = None,
        callbacks: list | None = None,
    ) -> dict:
        """`predict()` without decoding: the raw head outputs, as numpy arrays.

        A thin alternative to `predict()`: a Keras model over the same layers (no copy of
        the weights) whose predict step returns `model(images)`; it follows this model's
        `jit_compile` and `run_eagerly`.

        Args:
            x: images `[N, H, W, 3]` or a dataset, as for `predict()`.
            batch_size: as for `predict()`.
            verbose: as for `predict()`.
            steps: as for `predict()`.
            callbacks: as for `predict()`.

        Returns:
            `{"box": [N, A, 4] offsets from the anchors, "classification":
            [N, A, num_classes] logits}`; decode them with `decode_predictions`.

        Example:
            >>> import numpy as np
            >>> from nbdetect.demo import build_demo_model
            >>> model = build_demo_model(num_classes=3)  # a small RetinaNet
            >>> raw = model.predict_raw(np.zeros((2, 64, 64, 3)), verbose=0)
            >>> raw["classification"].shape  # [N, anchors, num_classes]
            (2, 774, 3)
        """
        if self._raw_outputs is None:
            _set_untracked(self, "_raw_outputs", _RawOutputs(self))
        return self._raw_outputs.predict(
            x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks
        )

    # --- training -----------------------------------------------------------------------

    def compile(
        self,
        box_loss: Any = None,
        classification_loss: Any = None,
        loss: Any = None,
        metrics: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Configure training: the two losses, the optimizer and detection metrics.

        Args:
            box_loss: `"smoothl1"` (default), `"huber"`, `"giou"`, `"ciou"`, a Keras
                loss, or a function `(y_true, y_pred) -> loss per anchor`. A loss with a
                `bounding_box_format` attribute (the IoU losses) is given decoded boxes
                in that format; others get the box offsets `[B, A, 4]`.
            classification_loss: `"focal"` (default) or a Keras loss of one-hot targets
                `[B, A, num_classes]` and logits (`from_logits=True`).

            Keras applies both losses (they are `compile(loss={"box": ...,
            "classification": ...})` underneath) with per-anchor `sample_weight` `1 / N`,
            `N` the positive anchors of the (global) batch: the named losses use
            `reduction="sum"`, the RetinaNet loss; a loss object keeps its own
            reduction, so Keras' default `"sum_over_batch_size"` also divides by the
            number of loss elements. See `nbdetect.models.retinanet.loss`.
            loss: not accepted; RetinaNet has two losses (the error says which).
            metrics: detection metrics, e.g. `[nbdetect.metrics.BoxCOCOMetrics(...)]`:
                each gets `update_state(y_true, decoded_predictions)` in every train and
                test step. With metrics, `jit_compile` defaults to False (COCO metrics
                run on the host, as KerasCV's RetinaNet did); for training on TPU / JAX
                use `nbdetect.callbacks.EvaluateCOCOMetricsCallback` instead.
            **kwargs: passed to `keras.Model.compile` (`optimizer`, `jit_compile`, ...).

        Example:
            >>> import keras
            >>> from nbdetect.demo import build_demo_model
            >>> model = build_demo_model(num_classes=3)  # a small RetinaNet
            >>> model.compile(
            ...     classification_loss="focal",
            ...     box_loss="smoothl1",
            ...     optimizer=keras.optimizers.SGD(0.005, momentum=0.9, global_clipnorm=10.0),
            ... )
            >>> type(model.box_loss).__name__, type(model.classification_loss).__name__
            ('SmoothL1Loss', 'FocalLoss')
        """
        if loss is not None:
            raise ValueError(
                "RetinaNet.compile() got loss=...; RetinaNet trains with two losses: pass "
                "box_loss= (e.g. 'smoothl1') and classification_loss= (e.g. 'focal') "
                "instead."
            )
        self.box_loss = retinanet_loss.box_loss(box_loss)
        self.classification_loss = retinanet_loss.classification_loss(classification_loss)
        metrics = list(metrics or [])
        if metrics:
            _refuse_host_metrics_on_tpu()
        if metrics and kwargs.get("jit_compile", "auto") == "auto":
            kwargs["jit_compile"] = False
        # Keras reduces, tracks ("box_loss", "classification_loss") and scales the losses.
        super().compile(
            loss={"box": self.box_loss, "classification": self.classification_loss}, **kwargs
        )
        for metric in metrics:
            # Ids the model cannot predict would be evaluated as classes of their own.
            if getattr(metric, "num_classes", 0) is None:
                metric.num_classes = self.num_classes
        _set_untracked(self, "_detection_metrics", tuple(metrics))
        self._predict_functions.clear()
        self._build_training_state()

    def _build_training_state(self) -> None:
        """Create the optimizer's, losses' and metrics' variables now, symbolically.

        Keras creates them at the first `fit`. Its TensorFlow trainer without a strategy
        does it inside the first trace of the train step, and TensorFlow then traces the
        step a second time (seconds to a minute for a RetinaNet); with a strategy it first
        pulls a batch and reduces it over the replicas, which fails for ragged targets and
        under `MultiWorkerMirroredStrategy` (Keras 3.15). A RetinaNet knows its batch
        structure, so Keras' own symbolic build runs here on a batch of unknown sizes.
        Other backends' trainers build from the first batch, outside the step: as is.
        """
        if keras.backend.backend() != "tensorflow" or not hasattr(self, "_symbolic_build"):
            return
        channels = self.input_shape[-1]
        batch = (
            keras.KerasTensor((None, None, None, channels)),
            {
                "boxes": keras.KerasTensor((None, None, 4)),
                "classes": keras.KerasTensor((None, None)),
            },
        )
        strategy = getattr(self, "_distribute_strategy", None)
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            self._symbolic_build(data_batch=batch)

    def _training_state_built(self) -> bool:
        loss = getattr(self, "_compile_loss", None)
        return (loss is None or loss.built) and (self.optimizer is None or self.optimizer.built)

    def _maybe_symbolic_build(self, iterator: Any = None, data_batch: Any = None) -> None:
        # Keras' TensorFlow trainer calls this at each fit/evaluate under a strategy: it
        # reduces a batch over the replicas only to build what compile() has built.
        if self._training_state_built():
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def get_compile_config(self) -> dict | None:
        """Keras' compile config plus the two losses and the detection metrics."""
        config = super().get_compile_config()
        if config is None:
            return None
        config.pop("loss", None)  # the two losses below
        config.update(
            box_loss=keras.saving.serialize_keras_object(self.box_loss),
            classification_loss=keras.saving.serialize_keras_object(self.classification_loss),
            metrics=[keras.saving.serialize_keras_object(m) for m in self._detection_metrics]
            or None,
        )
        return config

    def compile_from_config(self, config: dict) -> None:
        """Compile again from `get_compile_config()` (what `keras.saving.load_model` does)."""
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.optimizer is not None and self.built:
            # Variables now, so that the saved optimizer state can be loaded into them.
            self.optimizer.build(self.trainable_variables)

    @property
    def metrics(self) -> list:
        """Keras' metrics (loss, box_loss, classification_loss) and the detection metrics."""
        return [*super().metrics, *self._detection_metrics]

    def train_step(self, *args: Any) -> Any:
        """Keras' train step; also takes `{"images", "bounding_boxes"}` batches."""
        *state, data = args
        logs = super().train_step(*state, _unpack_training_data(data))
        return _logs_for_multi_worker(self, logs)

    def test_step(self, *args: Any) -> Any:
        """Keras' test step; also takes `{"images", "bounding_boxes"}` batches."""
        *state, data = args
        logs = super().test_step(*state, _unpack_training_data(data))
        return _logs_for_multi_worker(self, logs)

    def compute_loss(
        self,
        x: Any = None,
        y: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
        training: bool = True,
    ) -> Any:
        """Focal + box loss of a batch, each normalised by `max(1, positive anchors)`.

        The targets are encoded here, with `label_encoder`, and handed to
        `keras.Model.compute_loss` with per-anchor weights (see
        `nbdetect.models.retinanet.loss`): Keras reduces the two compiled losses,
        tracks them as `box_loss` and `classification_loss`, and adds the layers'
        regularization losses. `sample_weight` is not supported (detection losses weigh
        anchors, not images).

        Args:
            x: the images `[B, H, W, C]`.
            y: `{"boxes": [B, N, 4], "classes": [B, N]}` in `bounding_box_format`, dense
                (-1 padded) or ragged.
            y_pred: the raw outputs `{"box", "classification"}`.
            sample_weight: must be None.
            training: passed on to Keras.

        Returns:
            The scalar total loss.
        """
        if self.box_loss is None:
            raise ValueError(
                "RetinaNet.compute_loss() needs the losses: call model.compile("
                "classification_loss='focal', box_loss='smoothl1', optimizer=...) first."
            )
        if sample_weight is not None:
            raise ValueError(
                "RetinaNet does not support sample_weight: its losses are normalised by "
                "the number of positive anchors, not averaged over images."
            )
        targets = _dense_targets(y)
        # Ids >= num_classes, fractional or negative (other than -1 padding) would train
        # as background or as a wrong class without a word.
        targets["classes"] = checks.class_ids(
            targets["classes"], self.num_classes, "RetinaNet (fit or evaluate)", "y['classes']"
        )
        height, width = _image_size(x, None, "compute_loss")
        boxes = targets["boxes"]
        if self.label_encoder.bounding_box_format != self.bounding_box_format:
            boxes = convert_format(
                boxes,
                source=self.bounding_box_format,
                target=self.label_encoder.bounding_box_format,
                image_shape=(height, width),
            )
        box_targets, class_targets = self.label_encoder(
            x, {"boxes": boxes, "classes": targets["classes"]}
        )
        _check_anchor_count(box_targets.shape[1], y_pred["box"].shape[1], (height, width))
        y_true, y_pred, weights = retinanet_loss.loss_arguments(
            self, x, box_targets, class_targets, y_pred
        )
        return super().compute_loss(
            x=x, y=y_true, y_pred=y_pred, sample_weight=weights, training=training
        )

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> dict:
        """Update the detection metrics with decoded predictions; return all metrics."""
        if self._detection_metrics:
            detections = self.decode_predictions(y_pred, x)
            targets = _dense_targets(y)
            for metric in self._detection_metrics:
                if "images" in inspect.signature(metric.update_state).parameters:
                    metric.update_state(targets, detections, images=x)
                else:
                    metric.update_state(targets, detections)
        return super().compute_metrics(x, y, y_pred, sample_weight)

    # --- presets and serialization ------------------------------------------------------

    @classmethod
    def from_preset(
        cls,
        preset: str,
        num_classes: int | None = None,
        bounding_box_format: str | None = None,
        **kwargs: Any,
    ) -> RetinaNet:
        """A RetinaNet from a preset name, a saved directory, or another library's detector.

        - nbdetect's names (`RetinaNet.presets`): `"resnet50"`, `"resnet101"`,
          `"mobilenet_v3_small"`, `"mobilenet_v3_large"`, `"efficientnetv2_b0"` build
          offline with random weights; the same names with `"_imagenet"` download the
          backbone's ImageNet weights through Keras (cached in `~/.keras/models`). The
          detection layers start untrained either way.
        - A directory `save_to_preset()` wrote: the model as saved.
        - Pretrained detectors, converted into an nbdetect RetinaNet (nbdetect's layers
          only; same raw outputs and detections as the source): KerasHub's
          `"retinanet_resnet50_fpn_coco"` and `"retinanet_resnet50_fpn_v2_coco"` (COCO,
          91 torchvision category ids, `"yxyx"`), KerasCV's
          `"retinanet_resnet50_pascalvoc"` (20 VOC classes, `"xywh"`). Names are
          downloaded once with `kagglehub` (`pip install kagglehub`); offline, download
          the folder elsewhere (`kagglehub.model_download(handle)`, the error message
          gives the handle) and pass its path. Also accepted: a folder KerasHub's
          `RetinaNetObjectDetector.save_to_preset()` or KerasCV's `save_to_preset()`
          wrote, or a bare KerasCV RetinaNet `.weights.h5` file (then
          `retinanet_resnet50_pascalvoc`'s architecture, `num_classes` default 20). The
          model gets the source's normalisation (in its backbone), anchors, box coding,
          NMS settings and class names (`class_mapping`); see
          `nbdetect.models.retinanet.convert`.

        Args:
            preset: a preset name, or the path of a preset directory or weights file.
            num_classes: the number of classes; required for nbdetect's names. For a
                directory or a converted detector, `None` or the number it has.
            bounding_box_format: the box format of `fit()` and `predict()`; required for
                nbdetect's names, optional otherwise (default: the saved / source's).
            **kwargs: for nbdetect's names: `backbone_weights` (path of a local weights
                file for the backbone, instead of downloading), `trainable_backbone_stages`
                (0-5, default 3 with ImageNet weights, else 5), `freeze_backbone_batchnorm`
                (default True with ImageNet weights), `num_filters` (pyramid and head
                channels, default 256), `num_head_conv_layers` (default 4), and any
                `RetinaNet` argument (e.g. `prediction_decoder`). For a directory: any
                `RetinaNet` argument that replaces the saved one. For a converted
                detector: `trainable_backbone_stages` (default 3),
                `freeze_backbone_batchnorm` (default True), `prediction_decoder`,
                `class_mapping`, `clip_boxes` (default False, as the sources), `name`.

        Returns:
            The model; from a directory or a converted detector, with its trained weights.

        Raises:
            ValueError: an unknown name, missing arguments, a `num_classes` that differs
                from the saved or converted model's, or a weights file that does not
                hold the expected variables (the message names the file, the variable
                and the shape expected).
            RuntimeError: weights that cannot be downloaded (the message says how to
                work offline).
            ImportError: a KerasHub / KerasCV name without `kagglehub` installed.

        Example:
            >>> import os, tempfile
            >>> from nbdetect.models import RetinaNet
            >>> model = RetinaNet.from_preset(
            ...     "mobilenet_v3_small", num_classes=7, bounding_box_format="xywh",
            ...     num_filters=64, num_head_conv_layers=2)
            >>> folder = os.path.join(tempfile.mkdtemp(), "my_detector")
            >>> model.save_to_preset(folder)
            >>> same = RetinaNet.from_preset(folder)
            >>> same.num_classes, same.bounding_box_format
            (7, 'xywh')

            A converted pretrained detector is downloaded with kagglehub (needs internet):

            >>> coco = RetinaNet.from_preset("retinanet_resnet50_fpn_coco")  # doctest: +SKIP
            >>> coco.class_mapping[1]  # doctest: +SKIP
            'person'
        """
        return preset_io.from_preset(cls, preset, num_classes, bounding_box_format, **kwargs)

    def save_to_preset(self, preset_dir: str) -> None:
        """Save the model as a preset directory that `RetinaNet.from_preset(dir)` loads.

        Writes `config.json` (the architecture), `model.weights.h5` (the weights) and
        `metadata.json` (versions, classes, format).

        Args:
            preset_dir: the directory; created if missing, files in it overwritten.
        """
        preset_io.save_to_preset(self, preset_dir)

    def get_config(self) -> dict:
        """Every constructor argument, the parts as nested configs."""
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "num_classes": self.num_classes,
            "bounding_box_format": self.bounding_box_format,
            # JSON keys are strings: from_config turns them back into class ids.
            "class_mapping": None
            if self.class_mapping is None
            else {str(k): v for k, v in self.class_mapping.items()},
            "clip_boxes": self.clip_boxes,
        }
        for part in _PARTS:
            config[part] = keras.saving.serialize_keras_object(getattr(self, part))
        return config

    @classmethod
    def from_config(cls, config: dict) -> RetinaNet:
        """Rebuild from `get_config()`."""
        # Deserializing a functional backbone consumes its config: work on a copy.
        config = copy.deepcopy(config)
        for part in _PARTS:
            if isinstance(config.get(part), dict):
                config[part] = keras.saving.deserialize_keras_object(config[part])
        return cls(**config)

    # --- helpers ------------------------------------------------------------------------

    def _anchors_yxyx(self, height: Any, width: Any) -> Any:
        return convert_format(
            self.anchor_generator.anchors(image_shape=(height, width)),
            source=self.anchor_generator.bounding_box_format,
            target="yxyx",
            image_shape=(height, width),
        )


def _set_untracked(model: keras.Model, name: str, value: Any) -> None:
    # Keras would track metrics and models stored on a model (and keep every list ever
    # assigned); these are bookkeeping, not parts whose weights belong to the model.
    object.__setattr__(model, name, value)


def _logs_for_multi_worker(model: keras.Model, logs: Any) -> Any:
    """The step's logs, each with a leading axis of one when training on several workers.

    Keras 3 reduces the logs of a step over `MultiWorkerMirroredStrategy` workers with
    `strategy.reduce("MEAN", value, axis=0)`, which refuses the scalar logs of any model
    ("Invalid reduction dimension 0 for input with 0 dimensions", tensorflow#72388). Over
    an axis of one per replica that mean is the scalar again (the workers' loss trackers
    are in sync, so every replica holds the same value).
    """
    tf = sys.modules.get("tensorflow") if keras.backend.backend() == "tensorflow" else None
    if tf is None or not isinstance(logs, dict):
        return logs
    strategy = model.distribute_strategy
    multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    if not (multi_worker and strategy.extended._in_multi_worker_mode()):
        return logs
    return {
        name: ops.expand_dims(value, 0) if ops.ndim(value) == 0 else value
        for name, value in logs.items()
    }


def _refuse_host_metrics_on_tpu() -> None:
    tf = sys.modules.get("tensorflow") if keras.backend.backend() == "tensorflow" else None
    strategy = None if tf is None else tf.distribute.get_strategy()
    if strategy is not None and type(strategy).__name__.startswith("TPUStrategy"):
        raise ValueError(
            f"RetinaNet.compile() got detection metrics under {type(strategy).__name__}; "
            "COCO metrics copy every batch to the host inside the train step, which a TPU "
            "step cannot do. Compile without metrics and evaluate with "
            "nbdetect.callbacks.EvaluateCOCOMetricsCallback(eval_data, bounding_box_format), "
            "which predicts on the TPU and evaluates on the host after each epoch."
        )


def _class_mapping(class_mapping: Any, num_classes: int) -> dict[int, str] | None:
    if class_mapping is None:
        return None
    if not isinstance(class_mapping, dict):
        raise ValueError(
            f"RetinaNet got class_mapping of type {type(class_mapping).__name__}; expected "
            "None or a dict {class_id: name}, e.g. dict(enumerate(class_names))."
        )
    mapping = {}
    for key, name in class_mapping.items():
        try:
            class_id = int(key)
        except (TypeError, ValueError):
            class_id = None
        if class_id is None or str(class_id) != str(key).strip() or not 0 <= class_id < num_classes:
            raise ValueError(
                f"RetinaNet got class_mapping key {key!r}; expected class ids 0 to "
                f"{num_classes - 1} (num_classes={num_classes}) mapped to names."
            )
        mapping[class_id] = str(name)
    return dict(sorted(mapping.items()))


def _check_head_width(name: str, output: Any, expected: int, what: str) -> None:
    if output.shape[-1] != expected:
        raise ValueError(
            f"RetinaNet's {name} outputs {output.shape[-1]} channels; expected {expected} "
            f"(anchors per location x {what}). Build it with output_filters={expected}."
        )


def _check_anchor_count(expected: int | None, actual: int | None, image_shape: tuple) -> None:
    if expected is not None and actual is not None and expected != actual:
        raise ValueError(
            f"RetinaNet predicts for {actual} anchors but its anchor generator makes "
            f"{expected} for {image_shape[0]}x{image_shape[1]} images. The backbone's "
            "feature maps must be ceil(size / stride) at strides 8, 16 and 32 "
            "(e.g. 'same' padding for stride-2 convolutions)."
        )


def _image_size(images: Any, image_shape: Any, caller: str) -> tuple[Any, Any]:
    if image_shape is not None:
        return image_shape[0], image_shape[1]
    if images is None:
        raise ValueError(
            f"RetinaNet.{caller}() needs the images (or image_shape=(height, width)) the "
            "predictions were made on: anchors depend on the image size."
        )
    shape = ops.shape(images)
    if len(shape) != 4:
        raise ValueError(
            f"RetinaNet.{caller}() got images of shape {tuple(shape)}; expected a batch "
            "[batch, height, width, channels]."
        )
    return shape[1], shape[2]


def _shape_argument(height: Any, width: Any) -> Any:
    """`(H, W)` for a decoder's `image_shape`: a tuple of ints, or one int32 tensor.

    Keras layers refuse arguments that mix Python numbers and tensors.
    """
    if isinstance(height, int) and isinstance(width, int):
        return (height, width)
    return ops.stack([ops.cast(height, "int32"), ops.cast(width, "int32")])


def _image_batch_shape(x: Any) -> tuple | None:
    """The `(H, W, C)` of the images `predict` gets, when known before it runs."""
    if isinstance(x, dict):
        x = x.get("images")
    elif isinstance(x, (tuple, list)) and x:
        x = x[0]
    spec = getattr(x, "element_spec", None)
    if spec is not None:  # a tf.data.Dataset
        return _image_batch_shape(spec)
    shape = getattr(x, "shape", None)
    if shape is None or len(shape) != 4:
        return None
    return tuple(shape[1:])


def _clip_yxyx(boxes: Any, height: Any, width: Any) -> Any:
    height = ops.cast(height, "float32")
    width = ops.cast(width, "float32")
    y1, x1, y2, x2 = ops.unstack(boxes, 4, axis=-1)
    return ops.stack(
        [
            ops.clip(y1, 0.0, height),
            ops.clip(x1, 0.0, width),
            ops.clip(y2, 0.0, height),
            ops.clip(x2, 0.0, width),
        ],
        axis=-1,
    )


def _dense_targets(y: Any) -> dict:
    if not isinstance(y, dict) or "boxes" not in y or not ({"classes", "labels"} & set(y)):
        got = sorted(y) if isinstance(y, dict) else type(y).__name__
        raise ValueError(
            f"RetinaNet got targets {got}; expected {{'boxes': [batch, N, 4], 'classes': "
            "[batch, N]}} in the model's bounding_box_format (dense padded with -1, or "
            "ragged), e.g. fit(images, bounding_box.to_dense(bounding_boxes))."
        )
    targets = {"boxes": y["boxes"], "classes": y["classes"] if "classes" in y else y["labels"]}
    if any(tensors.is_ragged(value) for value in targets.values()):
        targets = to_dense(targets)
    return targets


def _unpack_images(data: Any) -> Any:
    if isinstance(data, dict) and "images" in data:
        return data["images"]
    x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    if isinstance(x, dict) and "images" in x:
        return x["images"]
    return x


def _unpack_training_data(data: Any) -> Any:
    """`{"images", "bounding_boxes"}` batches (KerasCV's layout) as `(images, boxes)`."""
    if isinstance(data, dict) and "images" in data:
        return data["images"], data["bounding_boxes"]
    return data


class _PredictFunctions:
    """A model's traced predict functions, one per image size (TensorFlow).

    Keras traces TensorFlow predict steps with `reduce_retracing`: the second image size
    seen would be traced as unknown (None), and decoding needs a static anchor count. One
    function per size keeps every trace static, and a size seen before is not traced
    again. (`jax.jit` already specializes on shapes.) The most recent sizes are kept.
    """

    LIMIT = 8

    def __init__(self, model: keras.Model) -> None:
        self._model = model
        self._functions: collections.OrderedDict = collections.OrderedDict()
        self._shape = None

    @classmethod
    def attach(cls, model: keras.Model) -> None:
        # Untracked: Keras would otherwise look for layers and variables inside.
        object.__setattr__(model, "_predict_functions", cls(model))

    def select(self, x: Any) -> None:
        """Make `model.predict_function` the one for the images of `x` (None: new)."""
        if keras.backend.backend() != "tensorflow":
            return
        shape = _image_batch_shape(x)
        if shape == self._shape:
            return
        model = self._model
        if model.predict_function is not None:
            self._functions[self._shape] = model.predict_function
            self._functions.move_to_end(self._shape)
            while len(self._functions) > self.LIMIT:
                self._functions.popitem(last=False)
        model.predict_function = self._functions.pop(shape, None)
        self._shape = shape

    def clear(self) -> None:
        """Forget the functions of other sizes (the model's current one stays current)."""
        self._functions.clear()


class _RawOutputs(keras.Model):
    """`predict_raw()`'s model: the detector's raw outputs, with its layers and weights."""

    def __init__(self, detector: RetinaNet) -> None:
        super().__init__(name=f"{detector.name}_raw_outputs")
        self.detector = detector
        self.built = True
        _set_untracked(self, "_settings", None)
        _PredictFunctions.attach(self)

    def call(self, images: Any, training: bool = False) -> dict:
        return self.detector(images, training=training)

    def predict_step(self, *args: Any) -> Any:
        *state, data = args
        return super().predict_step(*state, _unpack_images(data))

    def predict(self, x: Any, **kwargs: Any) -> dict:
        settings = (self.detector.jit_compile, self.detector.run_eagerly)
        if settings != self._settings:
            self.jit_compile, self.run_eagerly = settings
            self._predict_functions.clear()
            self.predict_function = None
            _set_untracked(self, "_settings", settings)
        self._predict_functions.select(x)
        return super().predict(x, **kwargs)
