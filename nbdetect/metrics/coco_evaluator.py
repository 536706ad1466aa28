"""COCO box evaluation on the host: accumulate batches, then compute pycocotools' numbers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from nbdetect.bounding_box.formats import check_format
from nbdetect.metrics import coco_numpy, pycocotools_backend
from nbdetect.metrics.coco_arrays import Detections, GroundTruth
from nbdetect.metrics.coco_inputs import (
    detections_from_rows,
    ground_truth_from_rows,
    parse_detections,
    parse_ground_truth,
)
from nbdetect.metrics.coco_result import COCOResult
from nbdetect.utils import checks

BACKENDS = ("numpy", "pycocotools")


class COCOEvaluator:
    """COCO box metrics with exactly the semantics of pycocotools' `COCOeval(iouType="bbox")`.

    Feed it batches of ground truth and predictions with `update()`, then `compute()`.
    Everything runs on the host in float64 numpy, vectorized (tens of times faster than
    pycocotools, see `benchmarks/coco_eval.py`), and gives pycocotools' numbers, not
    approximations of them:

    * every image counts, with or without predictions; class 0 is a class like any other;
    * classes without ground truth (in an area range) are left out of the means, as
      pycocotools' -1 entries are; a summary number with nothing to average is -1;
    * 10 IoU thresholds 0.50:0.95, 101 recall points, at most 1 / 10 / 100 detections per
      image and class (the highest scoring, ties in input order), small / medium / large
      ranges from box area in pixels (or from `y_true["areas"]`), crowd regions from
      `y_true["iscrowd"]`.

    Args:
        bounding_box_format: the format of all boxes passed to `update()`, e.g. `"xywh"`;
            relative (`rel_`) formats need `images` or `image_shape`.
        class_ids: the classes to evaluate; boxes of other classes are ignored. By default
            every class that occurs in the ground truth or the predictions.
        image_shape: `(height, width)` of all images, for relative formats when `update()`
            gets no `images`.
        backend: `"numpy"` (default) or `"pycocotools"`, which runs pycocotools itself on
            the same data (slow; for users who want the reference implementation).
        class_mapping: optional `{class_id: name}`, used when printing the result.
        num_classes: when given, `update()` refuses class ids outside `0 .. num_classes - 1`
            (and -1 padding) in truth and predictions instead of evaluating them as
            classes of their own.

    Example:
        >>> import numpy as np
        >>> from nbdetect.demo import build_demo_model, demo_datasets
        >>> from nbdetect.metrics import COCOEvaluator
        >>> _, eval_ds, class_names = demo_datasets(  # shapes, 64-pixel images
        ...     batch_size=2, train_examples=2, test_examples=4, image_size=64)
        >>> model = build_demo_model(num_classes=len(class_names))  # untrained: mAP 0
        >>> evaluator = COCOEvaluator(bounding_box_format="xywh")
        >>> for images, y_true in eval_ds:
        ...     evaluator.update(y_true, model.predict(images, verbose=0))
        >>> result = evaluator.compute()
        >>> result["MaP"]
        0.0
        >>> print(result)  # the 12 numbers and per-class AP as a table
        COCO box metrics: 4 images, ... classes
        ...
    """

    def __init__(
        self,
        bounding_box_format: str,
        class_ids: Iterable[int] | None = None,
        image_shape: Any = None,
        backend: str = "numpy",
        class_mapping: Mapping[int, str] | None = None,
        num_classes: int | None = None,
    ) -> None:
        self.num_classes = checks.whole_number(
            num_classes, "num_classes", "COCOEvaluator", none_ok=True
        )
        self.bounding_box_format = check_format(
            bounding_box_format, "bounding_box_format", "COCOEvaluator"
        )
        self.class_ids = None if class_ids is None else np.unique(np.asarray(class_ids, np.int64))
        self.image_shape = image_shape
        self.backend = _check_backend(backend)
        self.class_mapping = dict(class_mapping or {})
        self.reset()

    def reset(self) -> None:
        """Forget every batch seen so far."""
        # Batches are parsed and checked on arrival but converted to xywh in bulk, so an
        # update costs a copy, not a Keras call; converted data is kept for later computes.
        self._pending_truth: list[dict] = []
        self._pending_predictions: list[dict] = []
        self._ground_truth = GroundTruth.concatenate([])
        self._detections = Detections.concatenate([])
        self._num_images = 0

    @property
    def num_images(self) -> int:
        """How many images `update()` has received since the last `reset()`."""
        return self._num_images

    def update(
        self, y_true: dict, y_pred: dict, images: Any = None, image_shape: Any = None
    ) -> None:
        """Add one batch (or one image) of ground truth and predictions.

        Args:
            y_true: `{"boxes": [B, N, 4], "classes": [B, N]}` (`"labels"` also works),
                dense and padded with class -1, or ragged (`tf.RaggedTensor`s or lists of
                per-image arrays); `[N, 4]` / `[N]` for one image. Optional per-box
                `"areas"` (replace box areas for the small / medium / large ranges) and
                `"iscrowd"` (crowd regions: matching them is neither a hit nor a miss).
            y_pred: `{"boxes", "classes", "confidence"}` in the same layouts (`[B, M, ...]`),
                optionally `"num_detections"` `[B]`: entries past it, or with class -1, are
                padding. What a detector's `predict()` returns.
            images: the batch's images `[B, H, W, C]`, only read for their size (relative
                formats).
            image_shape: `(height, width)` instead of `images`; defaults to the evaluator's.

        Raises:
            ValueError: malformed input: different batch sizes in `y_true` and `y_pred`,
                missing keys or `"confidence"`, NaN coordinates or scores, boxes with
                negative width or height, relative boxes without an image size, class ids
                that are not whole numbers, negative (other than -1 padding) or, with
                `num_classes`, too large.
        """
        if images is None and image_shape is None:
            image_shape = self.image_shape
        fmt = self.bounding_box_format
        first, count = self._num_images, self.num_classes
        truth, num_true = parse_ground_truth(y_true, fmt, first, images, image_shape, count)
        detections, num_pred = parse_detections(y_pred, fmt, first, images, image_shape, count)
        if num_true != num_pred:
            raise ValueError(
                f"COCOEvaluator.update() got y_true for {num_true} images but y_pred for "
                f"{num_pred} images. Pass the predictions for exactly the images of "
                "y_true, in the same order (one batch of each)."
            )
        self._pending_truth.append(truth)
        self._pending_predictions.append(detections)
        self._num_images += num_true

    def compute(self, backend: str | None = None) -> COCOResult:
        """Evaluate everything seen since the last `reset()`.

        Args:
            backend: `"numpy"` or `"pycocotools"`; defaults to the evaluator's.

        Returns:
            A `COCOResult`: a mapping of the 12 summary numbers (`"MaP"`, ...,
            `"Recall@[area=large]"`) with per-class AP and the full `precision` /
            `recall` arrays.
        """
        backend = self.backend if backend is None else _check_backend(backend)
        fmt = self.bounding_box_format
        truth = GroundTruth.concatenate(
            [self._ground_truth, ground_truth_from_rows(self._pending_truth, fmt)]
        )
        detections = Detections.concatenate(
            [self._detections, detections_from_rows(self._pending_predictions, fmt)]
        )
        self._ground_truth, self._detections = truth, detections
        self._pending_truth, self._pending_predictions = [], []
        class_ids = self.class_ids
        if class_ids is None:
            class_ids = np.union1d(truth.classes, detections.classes)
        run = coco_numpy.evaluate if backend == "numpy" else pycocotools_backend.evaluate
        precision, recall = run(truth, detections, class_ids, self._num_images)
        return COCOResult(precision, recall, class_ids, self._num_images, self.class_mapping)


def _check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(
            f"Got backend={backend!r}; expected one of {BACKENDS}: 'numpy' (fast, same "
            "numbers) or 'pycocotools' (the reference implementation itself)."
        )
    return backend
