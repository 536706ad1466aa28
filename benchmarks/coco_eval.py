"""COCO box evaluation: nbdetect vs pycocotools vs faster-coco-eval on the same detections.

Generates a seeded, realistic evaluation set (default 5000 images x 20 classes: a few ground
truth boxes per image of varied sizes; detections = jittered true positives, duplicates,
wrong-class hits and false positives, up to 100 per image, float32 scores), evaluates it
with the three libraries and prints the time of each (median of repeats), the ratios
between them and the largest absolute difference between their 12 summary numbers.

Each time covers loading the data into the library (nbdetect: `update()` on batches of 16
dense, -1-padded arrays as `model.predict` returns them; the others: building their `COCO`
objects and `loadRes`) and evaluating (`compute()` / `evaluate(); accumulate();
summarize()`). Building the peers' lists of annotation dicts is not counted.

Run:
    python benchmarks/coco_eval.py [--images 5000] [--classes 20] [--repeats 5]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import logging
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# Run from a checkout without installing nbdetect.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

IMAGE_SIZE = 640
BATCH = 16
MAX_DETECTIONS = 100


def generate(num_images: int, num_classes: int, seed: int = 0) -> list[tuple]:
    """Per image: (gt boxes xywh, gt classes, det boxes xywh, det classes, det scores)."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(num_images):
        n_gt = int(rng.integers(1, 9))
        side = np.exp(rng.uniform(np.log(6), np.log(400), n_gt))
        aspect = np.exp(rng.normal(0, 0.4, n_gt))
        w, h = np.minimum(side * aspect, IMAGE_SIZE - 1), np.minimum(side / aspect, IMAGE_SIZE - 1)
        gt = np.stack([rng.uniform(0, IMAGE_SIZE - w), rng.uniform(0, IMAGE_SIZE - h), w, h], 1)
        gt_classes = rng.integers(0, num_classes, n_gt)
        boxes, classes, scores = [], [], []
        for box, cls in zip(gt, gt_classes):
            # 0 to 3 detections per object: the first a jittered hit, later ones duplicates.
            for copy_index in range(rng.choice(4, p=[0.15, 0.55, 0.2, 0.1])):
                noise = rng.normal(0, 0.06 + 0.08 * copy_index, 4) * np.r_[box[2:], box[2:]]
                jittered = box + noise
                jittered[2:] = np.maximum(jittered[2:], 1)
                boxes.append(jittered)
                wrong = rng.random() < 0.1
                classes.append(rng.integers(0, num_classes) if wrong else cls)
                scores.append(rng.beta(5, 2) * 0.9**copy_index)
        n_fp = int(rng.integers(5, MAX_DETECTIONS - len(boxes)))
        side = np.exp(rng.uniform(np.log(6), np.log(300), n_fp))
        fp = np.stack(
            [
                rng.uniform(0, IMAGE_SIZE - side),
                rng.uniform(0, IMAGE_SIZE - side),
                side * np.exp(rng.normal(0, 0.3, n_fp)),
                side,
            ],
            1,
        )
        boxes = np.concatenate([np.reshape(boxes, (-1, 4)), fp]).astype(np.float32)
        fp_classes = rng.integers(0, num_classes, n_fp)
        classes = np.concatenate([np.asarray(classes, np.int64), fp_classes])
        scores = np.concatenate([scores, rng.beta(1.2, 6, n_fp)]).astype(np.float32)
        order = rng.permutation(len(boxes))
        gt = gt.astype(np.float32)
        images.append((gt, gt_classes, boxes[order], classes[order], scores[order]))
    return images


def to_batches(images: list[tuple]) -> list[tuple[dict, dict]]:
    """Dense -1-padded batches, as a dataset's y_true and model.predict's output."""
    batches = []
    max_gt = max(len(image[0]) for image in images)
    for start in range(0, len(images), BATCH):
        chunk = images[start : start + BATCH]
        y_true = {
            "boxes": np.full((len(chunk), max_gt, 4), -1, np.float32),
            "classes": np.full((len(chunk), max_gt), -1, np.float32),
        }
        y_pred = {
            "boxes": np.full((len(chunk), MAX_DETECTIONS, 4), -1, np.float32),
            "classes": np.full((len(chunk), MAX_DETECTIONS), -1, np.int32),
            "confidence": np.full((len(chunk), MAX_DETECTIONS), -1, np.float32),
            "num_detections": np.zeros(len(chunk), np.int32),
        }
        for i, (gt, gt_classes, boxes, classes, scores) in enumerate(chunk):
            y_true["boxes"][i, : len(gt)] = gt
            y_true["classes"][i, : len(gt)] = gt_classes
            y_pred["boxes"][i, : len(boxes)] = boxes
            y_pred["classes"][i, : len(boxes)] = classes
            y_pred["confidence"][i, : len(boxes)] = scores
            y_pred["num_detections"][i] = len(boxes)
        batches.append((y_true, y_pred))
    return batches


def to_coco_dicts(images: list[tuple], num_classes: int) -> tuple[dict, list[dict]]:
    """The same data as a COCO ground-truth dataset and a list of results."""
    annotations, results = [], []
    for image_id, (gt, gt_classes, boxes, classes, scores) in enumerate(images):
        for box, cls in zip(gt.astype(np.float64), gt_classes):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": int(cls),
                    "bbox": box.tolist(),
                    "area": float(box[2] * box[3]),
                    "iscrowd": 0,
                }
            )
        for box, cls, score in zip(boxes.astype(np.float64), classes, scores):
            results.append(
                {
                    "image_id": image_id,
                    "category_id": int(cls),
                    "bbox": box.tolist(),
                    "score": float(score),
                }
            )
    dataset = {
        "images": [{"id": i} for i in range(len(images))],
        "categories": [{"id": c} for c in range(num_classes)],
        "annotations": annotations,
    }
    return dataset, results


def run_nbdetect(batches) -> tuple[float, float, np.ndarray]:
    from nbdetect.metrics import COCOEvaluator

    start = time.perf_counter()
    evaluator = COCOEvaluator(bounding_box_format="xywh")
    for y_true, y_pred in batches:
        evaluator.update(y_true, y_pred)
    loaded = time.perf_counter()
    stats = evaluator.compute().stats
    return loaded - start, time.perf_counter() - loaded, stats


def run_pycocotools(dataset, results) -> tuple[float, float, np.ndarray]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        coco_gt = COCO()
        coco_gt.dataset = dataset
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(results)
        loaded = time.perf_counter()
        evaluation = COCOeval(coco_gt, coco_dt, iouType="bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return loaded - start, time.perf_counter() - loaded, np.asarray(evaluation.stats)


def run_faster_coco_eval(dataset, results) -> tuple[float, float, np.ndarray]:
    from faster_coco_eval import COCO, COCOeval_faster

    logging.getLogger("faster_coco_eval").setLevel(logging.WARNING)
    with contextlib.redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        coco_gt = COCO(dataset)
        coco_dt = coco_gt.loadRes(results)
        loaded = time.perf_counter()
        evaluation = COCOeval_faster(coco_gt, coco_dt, iouType="bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return loaded - start, time.perf_counter() - loaded, np.asarray(evaluation.stats)


def timed(fn, repeats: int, fresh_args) -> dict:
    """Median load / evaluate / total seconds of `repeats` runs (arguments built untimed)."""
    runs = []
    for _ in range(repeats):
        load, evaluate, stats = fn(*fresh_args())
        runs.append((load, evaluate, load + evaluate))
    load, evaluate, total = (statistics.median(column) for column in zip(*runs))
    return {"repeats": repeats, "load": load, "evaluate": evaluate, "total": total, "stats": stats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5, help="for nbdetect")
    parser.add_argument("--faster-repeats", type=int, default=3)
    parser.add_argument("--pycocotools-repeats", type=int, default=1)
    args = parser.parse_args()

    images = generate(args.images, args.classes)
    batches = to_batches(images)
    dataset, results = to_coco_dicts(images, args.classes)
    num_gt = sum(len(image[0]) for image in images)
    num_dt = sum(len(image[2]) for image in images)
    print(
        f"{args.images} images x {args.classes} classes: {num_gt} ground-truth boxes, "
        f"{num_dt} detections ({num_dt / args.images:.0f} per image)"
    )

    # Imported before timing: it loads Keras and TensorFlow.
    from nbdetect.metrics import METRIC_NAMES

    # The peers modify the dicts they are given, so each run gets a fresh copy.
    def peer_args():
        return copy.deepcopy(dataset), copy.deepcopy(results)

    rows = {
        "nbdetect": timed(run_nbdetect, args.repeats, lambda: (batches,)),
        "faster-coco-eval": timed(run_faster_coco_eval, args.faster_repeats, peer_args),
        "pycocotools": timed(run_pycocotools, args.pycocotools_repeats, peer_args),
    }
    ours = rows["nbdetect"]
    print()
    print("seconds (median of repeats); load = getting the data in, evaluate = the metrics")
    print(
        f"{'library':<18}{'repeats':>8}{'load':>8}{'evaluate':>10}{'total':>8}"
        f"{'total / nbdetect':>18}{'evaluate / nbdetect':>21}"
    )
    for name, row in rows.items():
        print(
            f"{name:<18}{row['repeats']:>8}{row['load']:>8.3f}{row['evaluate']:>10.3f}"
            f"{row['total']:>8.3f}{row['total'] / ours['total']:>17.1f}x"
            f"{row['evaluate'] / ours['evaluate']:>20.1f}x"
        )
    print()
    print("largest absolute difference over the 12 summary numbers:")
    names = list(rows)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            difference = np.abs(rows[first]["stats"] - rows[second]["stats"]).max()
            print(f"  {first} vs {second}: {difference:.1e}")
    print()
    print(f"{'metric':<28}" + "".join(f"{name:>18}" for name in names))
    for i, metric in enumerate(METRIC_NAMES):
        print(f"{metric:<28}" + "".join(f"{rows[n]['stats'][i]:>18.12f}" for n in names))


if __name__ == "__main__":
    main()
