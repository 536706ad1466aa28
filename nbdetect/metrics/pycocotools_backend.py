"""Running an evaluation through pycocotools itself, the reference implementation."""

from __future__ import annotations

import contextlib
import io

import numpy as np

from nbdetect.metrics.coco_arrays import Detections, GroundTruth


def evaluate(
    ground_truth: GroundTruth, detections: Detections, class_ids: np.ndarray, num_images: int
) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall arrays from pycocotools' `COCOeval(iouType="bbox")`.

    Same arguments and results as `nbdetect.metrics.coco_numpy.evaluate`. pycocotools' own
    progress messages are swallowed.

    Raises:
        ImportError: pycocotools is not installed, with the command that installs it.
    """
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError as error:
        raise ImportError(
            "backend='pycocotools' needs the pycocotools package: pip install pycocotools"
        ) from error

    images = [{"id": i} for i in range(num_images)]
    categories = [{"id": int(c)} for c in class_ids]
    annotations = [
        {
            # pycocotools records matches by annotation id, with 0 meaning "unmatched".
            "id": row + 1,
            "image_id": int(image),
            "category_id": int(cls),
            "bbox": box.tolist(),
            "area": float(area),
            "iscrowd": int(crowd),
        }
        for row, (image, cls, box, area, crowd) in enumerate(
            zip(
                ground_truth.image_ids,
                ground_truth.classes,
                ground_truth.boxes,
                ground_truth.areas,
                ground_truth.iscrowd,
            )
        )
    ]
    results = [
        {"image_id": int(image), "category_id": int(cls), "bbox": box.tolist(), "score": float(s)}
        for image, cls, box, s in zip(
            detections.image_ids, detections.classes, detections.boxes, detections.scores
        )
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {"images": images, "categories": categories, "annotations": annotations}
        coco_gt.createIndex()
        if results:
            coco_dt = coco_gt.loadRes(results)
        else:
            # loadRes cannot take an empty list.
            coco_dt = COCO()
            coco_dt.dataset = {"images": images, "categories": categories, "annotations": []}
            coco_dt.createIndex()
        evaluation = COCOeval(coco_gt, coco_dt, iouType="bbox")
        evaluation.evaluate()
        evaluation.accumulate()
    return evaluation.eval["precision"], evaluation.eval["recall"]
