"""EvaluationDashboard at 5,000 images: the evaluation, and each click to a redrawn gallery.

Used by `benchmarks/widgets.py`. A dataset of `--dashboard-images` 192x192 images with 20
classes, about 10 truths and 50 detections an image (most found, some confused, misplaced,
duplicated, missed, and background detections), made batch by batch so that only the
dashboard's thumbnails stay in memory. The detections are given (no network).

Timed, in the kernel (no browser):
- building: reading the images into thumbnails and feeding a `COCOEvaluator`
  (`evaluation_seconds`), `Evaluation.from_evaluator` against the same evaluator's
  `compute()` alone (the peer: "evaluation no slower than COCOEvaluator"), and the
  one-off analysis (the confusion matrix's box pairs, TIDE) done up front;
- clicks: a class row, a confusion cell, an error kind, the gallery order, Next page, the
  IoU and the confidence controls — each from setting the control to the handler's
  return, by which time every canvas and widget message has been sent. Each click is a
  new selection (the dashboard's cache of resolved selections is emptied first), so the
  figures are cold clicks; `gallery ms` is the part spent drawing the gallery's page.
  Target: every click under 100 ms.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

NUM_CLASSES = 20
SIZE = 192
BATCH = 50


def batches(num_images: int, seed: int = 0):
    """`(images, y_true)` batches, and the detections of every image (one array each)."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(0, 255, (NUM_CLASSES, 3))
    predictions = {"boxes": [], "classes": [], "confidence": []}
    data = []
    for start in range(0, num_images, BATCH):
        count = min(BATCH, num_images - start)
        images = np.full((count, SIZE, SIZE, 3), 230, np.uint8)
        boxes = np.full((count, 12, 4), -1, np.float32)
        classes = np.full((count, 12), -1, np.float32)
        for i in range(count):
            n = int(rng.integers(6, 13))
            wh = rng.uniform(0.08, 0.3, (n, 2)) * SIZE
            xy = rng.uniform(0, 1, (n, 2)) * (SIZE - wh)
            c = rng.integers(0, NUM_CLASSES, n)
            for (x, y), (w, h), k in zip(xy, wh, c):
                images[i, int(y) : int(y + h), int(x) : int(x + w)] = colours[k]
            boxes[i, :n] = np.concatenate([xy, wh], axis=1)
            classes[i, :n] = c
            found = rng.uniform(size=n) < 0.85
            shift = np.where(rng.uniform(size=(n, 1)) < 0.15, 0.5, 0.03) * wh
            p_xy = xy[found] + rng.normal(0, 1, (found.sum(), 2)) * shift[found]
            p_c = np.where(rng.uniform(size=found.sum()) < 0.1, (c[found] + 1) % 20, c[found])
            extra = 50 - int(found.sum())
            e_wh = rng.uniform(0.05, 0.3, (extra, 2)) * SIZE
            e_xy = rng.uniform(0, 1, (extra, 2)) * (SIZE - e_wh)
            predictions["boxes"].append(
                np.concatenate(
                    [np.concatenate([p_xy, wh[found]], 1), np.concatenate([e_xy, e_wh], 1)]
                ).astype(np.float32)
            )
            predictions["classes"].append(
                np.concatenate([p_c, rng.integers(0, NUM_CLASSES, extra)]).astype(np.float32)
            )
            predictions["confidence"].append(
                np.concatenate(
                    [rng.uniform(0.4, 1.0, found.sum()), rng.uniform(0.0, 0.6, extra)]
                ).astype(np.float32)
            )
        data.append((images, {"boxes": boxes, "classes": classes}))
    return data, predictions


def _timed(action) -> float:
    start = time.perf_counter()
    action()
    return 1000 * (time.perf_counter() - start)


def clicks(dashboard, repeats: int) -> dict[str, tuple[float, float]]:
    """`{click: (median ms to the handler's return, median ms drawing the gallery)}`."""
    controls = dashboard.controls
    picture_geometry = None
    rng = np.random.default_rng(1)
    classes = [int(c) for c in dashboard.evaluation.class_ids]
    kinds = ("classification", "localisation", "both", "duplicate", "background", "missed")
    ious = [0.55, 0.6, 0.65, 0.7, 0.5]

    def cold(action):
        dashboard._selections._filters.clear()
        total = _timed(action)
        return total, dashboard.last_redraw_ms

    def class_row(i):
        dashboard.tabs.selected_index = 0
        return cold(lambda: setattr(controls["table"], "value", classes[i % len(classes)]))

    def confusion_cell(i):
        nonlocal picture_geometry
        dashboard.tabs.selected_index = 2
        picture_geometry = dashboard._matrix[0]
        row, col = rng.integers(0, len(classes) + 1, 2)
        return cold(lambda: dashboard._matrix_clicked(*picture_geometry.center(row, col)))

    def error_kind(i):
        dashboard.tabs.selected_index = 3
        return cold(lambda: setattr(controls["errors"], "value", kinds[i % len(kinds)]))

    def order(i):
        dashboard.selection = ("all",)
        sorts = ["false_positives", "ap", "missed"]
        return cold(lambda: setattr(controls["sort"], "value", sorts[i % 3]))

    def next_page(i):
        if dashboard.page + 1 >= dashboard.num_pages:
            dashboard.page = 0
        return cold(lambda: controls["next"].click())

    def iou(i):
        dashboard.tabs.selected_index = 0
        return cold(lambda: setattr(controls["iou"], "value", ious[i % len(ious)]))

    def confidence(i):
        dashboard.tabs.selected_index = 0
        return cold(lambda: setattr(controls["confidence"], "value", 0.3 + 0.05 * (i % 6)))

    rows = {}
    for name, click in (
        ("class row", class_row),
        ("confusion cell", confusion_cell),
        ("error kind (TIDE)", error_kind),
        ("gallery order", order),
        ("next page", next_page),
        ("IoU threshold", iou),
        ("confidence threshold", confidence),
    ):
        click(repeats)  # a first, untimed click of each kind
        times = [click(i) for i in range(repeats)]
        rows[name] = tuple(statistics.median(t[j] for t in times) for j in (0, 1))
    return rows


def report(num_images: int, repeats: int) -> None:
    """Build a dashboard over `num_images` images, time its clicks, print the table."""
    from nbdetect.analysis import Evaluation
    from nbdetect.widgets import EvaluationDashboard

    data, predictions = batches(num_images)
    start = time.perf_counter()
    dashboard = EvaluationDashboard(
        predictions, data, bounding_box_format="xywh", rows=2, cols=4, cell_size=192
    )
    build = time.perf_counter() - start
    evaluation = dashboard.evaluation
    # The peer: the same evaluator's compute(), and the dashboard's evaluation of it.
    from nbdetect.metrics import COCOEvaluator

    evaluator = COCOEvaluator(bounding_box_format="xywh")
    first = 0
    for images, y_true in data:
        part = slice(first, first + len(images))
        evaluator.update(y_true, {key: value[part] for key, value in predictions.items()})
        first += len(images)
    compute = min(_timed(evaluator.compute) for _ in range(3))
    analysed = min(_timed(lambda: Evaluation.from_evaluator(evaluator)) for _ in range(3))
    rows = clicks(dashboard, repeats)
    truths, found = len(evaluation.ground_truth.classes), len(evaluation.detections.scores)
    print(
        f"\nEvaluationDashboard, {num_images} images {SIZE}x{SIZE}, {NUM_CLASSES} classes, "
        f"{truths} truths, {found} detections; built in {build:.1f} s (thumbnails "
        f"{dashboard.thumbnails.nbytes() / 2**20:.0f} MB; reading and evaluating "
        f"{dashboard.evaluation_seconds:.1f} s, confusion pairs and TIDE "
        f"{dashboard.analysis_seconds:.1f} s)"
    )
    print(
        f"evaluation: Evaluation.from_evaluator {analysed:.0f} ms vs the same "
        f"COCOEvaluator.compute() {compute:.0f} ms ({analysed / compute:.2f}x; the extra "
        "is keeping the matching)"
    )
    header = f"{'click (cold)':24} {'to return ms':>12} {'gallery ms':>11}"
    print(header)
    print("-" * len(header))
    for name, (total, gallery) in rows.items():
        print(f"{name:24} {total:12.1f} {gallery:11.1f}")
    worst = max(total for total, _ in rows.values())
    print(f"median of {repeats} clicks each; slowest kind {worst:.0f} ms. Target: under 100 ms.")
    dashboard.close()
