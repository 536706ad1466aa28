"""The result of a COCO evaluation: summary numbers, per-class AP and the full curves."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from nbdetect.metrics.coco_params import (
    AREA_LABELS,
    IOU_THRESHOLDS,
    MAX_DETECTIONS,
    METRIC_NAMES,
    SUMMARY,
)


def summarize(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """The 12 numbers of pycocotools' `COCOeval.summarize()`.

    Each is the mean of the entries that are not -1 in a slice of `precision` or `recall`
    (-1 when there are none), indexed exactly as pycocotools indexes them so that even the
    floating-point summation order is the same.

    Args:
        precision: `[T, R, K, A, M]` from `accumulate`.
        recall: `[T, K, A, M]`.

    Returns:
        `[12]` float64, in the order of `METRIC_NAMES`.
    """
    stats = np.zeros(len(SUMMARY))
    for i, (_, is_precision, iou, area, max_det) in enumerate(SUMMARY):
        area_index = [AREA_LABELS.index(area)]
        det_index = [MAX_DETECTIONS.index(max_det)]
        values = precision if is_precision else recall
        if iou is not None:
            values = values[np.where(iou == IOU_THRESHOLDS)[0]]
        if is_precision:
            values = values[:, :, :, area_index, det_index]
        else:
            values = values[:, :, area_index, det_index]
        valid = values[values > -1]
        stats[i] = -1 if len(valid) == 0 else np.mean(valid)
    return stats


class COCOResult(Mapping):
    """COCO box metrics: a read-only mapping of the 12 summary numbers, plus the details.

    Values are Python floats, -1 where pycocotools reports -1 (no ground truth in that
    range). `dict(result)`, `result.items()` and `result["MaP"]` work like on a dict.

    Attributes:
        precision: `[T=10, R=101, K, A=4, M=3]` interpolated precision per IoU threshold,
            recall point, class, area range (all, small, medium, large) and detection limit
            (1, 10, 100); pycocotools' `eval["precision"]`.
        recall: `[T, K, A, M]` final recall; pycocotools' `eval["recall"]`.
        class_ids: `[K]` the evaluated class ids, in the order of the `K` axis.
        num_images: how many images were evaluated.
        stats: `[12]` the summary numbers as float64, in the order of `METRIC_NAMES`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.metrics import COCOEvaluator
        >>> evaluator = COCOEvaluator(bounding_box_format="xywh")
        >>> y_true = {"boxes": np.array([[[10.0, 10, 20, 20], [50, 50, 10, 10]]]),
        ...           "classes": np.array([[3.0, 1.0]])}
        >>> y_pred = {"boxes": np.array([[[10.0, 10, 20, 20], [0, 0, 5, 5]]]),
        ...           "classes": np.array([[3.0, 1.0]]), "confidence": np.array([[0.9, 0.8]])}
        >>> evaluator.update(y_true, y_pred)
        >>> result = evaluator.compute()
        >>> round(result["MaP"], 3), round(result.per_class_ap[3], 3)
        (0.5, 1.0)
        >>> print(result)  # a table
        COCO box metrics: 1 images, 2 classes
        ------------------------------------
        MaP                         : 0.5000
        MaP@[IoU=50]                : 0.5000
        ...
        <BLANKLINE>
        class   AP       AP50     recall
        1       0.0000   0.0000   0.0000
        3       1.0000   1.0000   1.0000
        <BLANKLINE>
        n/a: no ground truth in that range (pycocotools reports -1)
    """

    def __init__(
        self,
        precision: np.ndarray,
        recall: np.ndarray,
        class_ids: np.ndarray,
        num_images: int,
        class_names: Mapping[int, str] | None = None,
    ) -> None:
        self.precision = precision
        self.recall = recall
        self.class_ids = np.asarray(class_ids)
        self.num_images = num_images
        self.class_names = dict(class_names or {})
        self.stats = summarize(precision, recall)
        self._metrics = {name: float(v) for name, v in zip(METRIC_NAMES, self.stats)}

    def __getitem__(self, key: str) -> float:
        return self._metrics[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._metrics)

    def __len__(self) -> int:
        return len(self._metrics)

    @property
    def per_class_ap(self) -> dict[int, float]:
        """AP (IoU 0.50:0.95, all areas, 100 detections) per class id; -1 without ground truth."""
        return self._per_class(self.precision[:, :, :, 0, -1], class_axis=2)

    @property
    def per_class_ap50(self) -> dict[int, float]:
        """AP at IoU 0.50 per class id; -1 without ground truth."""
        return self._per_class(self.precision[:1, :, :, 0, -1], class_axis=2)

    @property
    def per_class_ap75(self) -> dict[int, float]:
        """AP at IoU 0.75 per class id; -1 without ground truth."""
        index = int(np.flatnonzero(IOU_THRESHOLDS == 0.75)[0])
        return self._per_class(self.precision[index : index + 1, :, :, 0, -1], class_axis=2)

    @property
    def per_class_recall(self) -> dict[int, float]:
        """Recall (IoU 0.50:0.95, all areas, 100 detections) per class id."""
        return self._per_class(self.recall[:, :, 0, -1], class_axis=1)

    def _per_class(self, values: np.ndarray, class_axis: int) -> dict[int, float]:
        result = {}
        for k, class_id in enumerate(self.class_ids):
            column = np.take(values, k, axis=class_axis)
            valid = column[column > -1]
            result[int(class_id)] = -1.0 if len(valid) == 0 else float(np.mean(valid))
        return result

    def to_dict(self, per_class: bool = False) -> dict[str, float]:
        """The summary numbers as a plain dict, optionally with `"AP@[class=<id>]"` entries."""
        result = dict(self._metrics)
        if per_class:
            result.update({f"AP@[class={c}]": ap for c, ap in self.per_class_ap.items()})
        return result

    def __str__(self) -> str:
        width = max(len(name) for name in METRIC_NAMES)
        lines = [
            f"COCO box metrics: {self.num_images} images, {len(self.class_ids)} classes",
            "-" * (width + 9),
        ]
        lines += [f"{name:<{width}} : {_format(v)}" for name, v in self._metrics.items()]
        if len(self.class_ids):
            names = [self.class_names.get(int(c), str(int(c))) for c in self.class_ids]
            name_width = max(5, *(len(n) for n in names))
            lines += ["", f"{'class':<{name_width}}   AP       AP50     recall"]
            ap, ap50, rec = self.per_class_ap, self.per_class_ap50, self.per_class_recall
            for class_id, name in zip(self.class_ids, names):
                c = int(class_id)
                lines.append(
                    f"{name:<{name_width}}   {_format(ap[c])}   {_format(ap50[c])}   "
                    f"{_format(rec[c])}"
                )
        if -1 in self.stats or (len(self.class_ids) and -1 in self.per_class_ap.values()):
            lines += ["", "n/a: no ground truth in that range (pycocotools reports -1)"]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"COCOResult({self._metrics!r})"


def _format(value: float) -> str:
    return "   n/a" if value == -1 else f"{value:.4f}"
