"""Generated datasets for the error-analysis tests, and the slow references they are checked by."""

import numpy as np

from nbdetect.metrics.coco_arrays import Detections, GroundTruth


def random_dataset(
    seed,
    num_images=40,
    num_classes=4,
    truths=(0, 6),
    extra=(0, 6),
    crowd=0.0,
    integer=False,
    scores=None,
):
    """Ground truth and detections near it (hits, misses, wrong classes, duplicates).

    Returns `(GroundTruth, Detections, num_images)`, boxes `xywh`. `integer` draws integer
    coordinates (exact in float32, many IoU ties); `scores` draws scores from a few values.
    """
    rng = np.random.default_rng(seed)
    truth_rows, detection_rows = [], []
    for image in range(num_images):
        count = rng.integers(*truths, endpoint=True)
        xy = rng.uniform(0, 200, (count, 2))
        wh = rng.uniform(4, 80, (count, 2))
        boxes = np.concatenate([xy, wh], 1)
        if integer:
            boxes = np.round(boxes)
        classes = rng.integers(0, num_classes, count)
        for box, cls in zip(boxes, classes):
            truth_rows.append((image, *box, cls, rng.random() < crowd))
        # Detections: jittered copies of truths (some with another class), and extras.
        for box, cls in zip(boxes, classes):
            for _ in range(rng.integers(0, 3, endpoint=True)):
                jitter = rng.normal(0, 0.12, 4) * np.r_[box[2:], box[2:]]
                new = box + jitter
                new[2:] = np.maximum(new[2:], 1.0)
                if integer:
                    new = np.round(new)
                new_class = cls if rng.random() < 0.8 else rng.integers(0, num_classes)
                detection_rows.append((image, *new, new_class))
        for _ in range(rng.integers(*extra, endpoint=True)):
            new = np.r_[rng.uniform(0, 200, 2), rng.uniform(4, 80, 2)]
            if integer:
                new = np.round(new)
            detection_rows.append((image, *new, rng.integers(0, num_classes)))
    truth = np.array(truth_rows, np.float64).reshape(-1, 7)
    found = np.array(detection_rows, np.float64).reshape(-1, 6)
    if scores is None:
        detection_scores = rng.random(len(found))
    else:
        detection_scores = rng.choice(np.asarray(scores, np.float64), len(found))
    ground_truth = GroundTruth(
        image_ids=truth[:, 0].astype(np.int64),
        boxes=truth[:, 1:5].copy(),
        classes=truth[:, 5].astype(np.int64),
        areas=truth[:, 3] * truth[:, 4],
        iscrowd=truth[:, 6].astype(bool),
    )
    detections = Detections(
        image_ids=found[:, 0].astype(np.int64),
        boxes=found[:, 1:5].copy(),
        classes=found[:, 5].astype(np.int64),
        scores=detection_scores,
    )
    return ground_truth, detections, num_images


def pycocotools_matching(ground_truth, detections, num_images):
    """pycocotools' own matching, by row: what `evaluateImg` decides at area "all", 100 dets.

    Returns a dict of `detection_match` / `detection_ignored` `[T, D]`, `truth_match`
    `[T, G]`, `truth_ignored` `[G]` (rows, -1 for none) and pycocotools' `precision`, with
    the same conventions as `Evaluation`: a crowd match is ignored, not a true positive.
    """
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    class_ids = sorted(set(ground_truth.classes.tolist()) | set(detections.classes.tolist()))
    annotations = [
        {
            "id": row + 1,
            "image_id": int(ground_truth.image_ids[row]),
            "category_id": int(ground_truth.classes[row]),
            "bbox": [float(v) for v in ground_truth.boxes[row]],
            "area": float(ground_truth.areas[row]),
            "iscrowd": int(ground_truth.iscrowd[row]),
        }
        for row in range(len(ground_truth.classes))
    ]
    results = [
        {
            "image_id": int(detections.image_ids[row]),
            "category_id": int(detections.classes[row]),
            "bbox": [float(v) for v in detections.boxes[row]],
            "score": float(detections.scores[row]),
        }
        for row in range(len(detections.scores))
    ]
    dataset = {
        "images": [{"id": i} for i in range(num_images)],
        "categories": [{"id": c} for c in class_ids],
        "annotations": annotations,
    }
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = dataset
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(results)  # detection ids 1, 2, ... in row order
        evaluation = COCOeval(coco_gt, coco_dt, iouType="bbox")
        evaluation.evaluate()
        evaluation.accumulate()
    num_t = len(evaluation.params.iouThrs)
    detection_match = np.full((num_t, len(results)), -1)
    detection_ignored = np.ones((num_t, len(results)), bool)
    truth_match = np.full((num_t, len(annotations)), -1)
    truth_ignored = np.ones(len(annotations), bool)
    for entry in evaluation.evalImgs:
        if entry is None or entry["aRng"] != evaluation.params.areaRng[0]:
            continue
        gt_rows = np.asarray(entry["gtIds"], np.int64) - 1
        dt_rows = np.asarray(entry["dtIds"], np.int64) - 1
        gt_ignore = np.asarray(entry["gtIgnore"], bool)
        truth_ignored[gt_rows] = gt_ignore
        for t in range(num_t):
            for j, row in enumerate(dt_rows):
                matched = int(entry["dtMatches"][t][j])
                ignored = bool(entry["dtIgnore"][t][j])
                detection_ignored[t, row] = ignored
                if matched and not ignored:
                    detection_match[t, row] = matched - 1
            for j, row in enumerate(gt_rows):
                matched = int(entry["gtMatches"][t][j])
                if matched and not gt_ignore[j]:
                    truth_match[t, row] = matched - 1
    return {
        "detection_match": detection_match,
        "detection_ignored": detection_ignored,
        "truth_match": truth_match,
        "truth_ignored": truth_ignored,
        "precision": evaluation.eval["precision"],
        "class_ids": np.asarray(class_ids),
    }


def supervision_inputs(ground_truth, detections, num_images, class_ids, iscrowd=False):
    """Per-image `(predictions [M, 6], targets [N, 5])` for supervision's `from_tensors`.

    Rows in input order, boxes `xyxy` as `x + w`, classes as positions in `class_ids`
    (supervision indexes its matrix by class id); boxes of other classes, and crowd regions
    unless `iscrowd`, are left out, as `Evaluation.confusion_matrix` leaves them out.
    """
    class_ids = np.asarray(class_ids)

    def xyxy(boxes):
        return np.column_stack(
            [boxes[:, 0], boxes[:, 1], boxes[:, 0] + boxes[:, 2], boxes[:, 1] + boxes[:, 3]]
        )

    predictions, targets = [], []
    for image in range(num_images):
        rows = np.flatnonzero(
            (ground_truth.image_ids == image)
            & np.isin(ground_truth.classes, class_ids)
            & (iscrowd | ~ground_truth.iscrowd)
        )
        position = np.searchsorted(class_ids, ground_truth.classes[rows])
        targets.append(np.column_stack([xyxy(ground_truth.boxes[rows]), position]))
        rows = np.flatnonzero(
            (detections.image_ids == image) & np.isin(detections.classes, class_ids)
        )
        position = np.searchsorted(class_ids, detections.classes[rows])
        predictions.append(
            np.column_stack(
                [xyxy(detections.boxes[rows]), position, detections.scores[rows]]
            ).reshape(-1, 6)
        )
        targets[-1] = targets[-1].reshape(-1, 5)
    return predictions, targets
