"""The reference for the metric tests: pycocotools' COCOeval on per-image box lists.

Built independently of nbdetect's own pycocotools backend: COCO objects in memory
(`.dataset` + `createIndex()`), detections through `loadRes` with a list of dicts.
"""

import contextlib
import io

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval


def pycocotools_eval(images):
    """Evaluate with pycocotools.

    Args:
        images: list of per-image dicts with "gt_boxes" [G, 4] xywh, "gt_classes" [G],
            optional "iscrowd" [G] and "areas" [G]; "dt_boxes" [D, 4] xywh, "dt_classes"
            [D], "scores" [D].

    Returns:
        dict with "stats" [12], "precision", "recall", "class_ids" and "per_class_ap".
    """
    annotations, results, classes = [], [], set()
    for image_id, image in enumerate(images):
        gt_boxes = np.asarray(image["gt_boxes"], np.float64).reshape(-1, 4)
        areas = image.get("areas")
        crowd = image.get("iscrowd")
        for j, (box, cls) in enumerate(zip(gt_boxes, image["gt_classes"])):
            classes.add(int(cls))
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": int(cls),
                    "bbox": [float(v) for v in box],
                    "area": float(box[2] * box[3]) if areas is None else float(areas[j]),
                    "iscrowd": 0 if crowd is None else int(crowd[j]),
                }
            )
        dt_boxes = np.asarray(image["dt_boxes"], np.float64).reshape(-1, 4)
        for box, cls, score in zip(dt_boxes, image["dt_classes"], image["scores"]):
            classes.add(int(cls))
            results.append(
                {
                    "image_id": image_id,
                    "category_id": int(cls),
                    "bbox": [float(v) for v in box],
                    "score": float(score),
                }
            )
    class_ids = sorted(classes)
    dataset = {
        "images": [{"id": i} for i in range(len(images))],
        "categories": [{"id": c} for c in class_ids],
        "annotations": annotations,
    }
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = dataset
        coco_gt.createIndex()
        if results:
            coco_dt = coco_gt.loadRes(results)
        else:
            coco_dt = COCO()
            coco_dt.dataset = {**dataset, "annotations": []}
            coco_dt.createIndex()
        evaluation = COCOeval(coco_gt, coco_dt, iouType="bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    precision = evaluation.eval["precision"]
    per_class_ap = {}
    for k, class_id in enumerate(class_ids):
        values = precision[:, :, k, 0, -1]
        values = values[values > -1]
        per_class_ap[class_id] = float(np.mean(values)) if len(values) else -1.0
    return {
        "stats": np.asarray(evaluation.stats),
        "precision": precision,
        "recall": evaluation.eval["recall"],
        "class_ids": np.asarray(class_ids),
        "per_class_ap": per_class_ap,
    }
