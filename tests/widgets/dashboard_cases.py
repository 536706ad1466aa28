"""Labelled images with made-up detections whose every error kind is known, for dashboards."""

from __future__ import annotations

import numpy as np

CLASS_NAMES = ["circle", "square", "triangle", "star"]
COLOURS = np.array([[230, 60, 60], [60, 180, 60], [60, 90, 230], [220, 200, 40]], np.uint8)


def synthetic(num_images: int = 24, size: int = 64, seed: int = 0, batch_size: int = 8):
    """`(batches, predictions, class_mapping)`: `(images, y_true)` batches in `xywh` with
    up to 4 boxes an image, and detections of a model that finds most boxes, confuses
    some classes, misplaces some boxes, misses some and sees things that are not there.

    Returns:
        `batches`: list of `(images [B, size, size, 3] float32, {"boxes", "classes"})`,
        dense, padded with class -1; `predictions`: `{"boxes", "classes", "confidence"}`,
        one array per image, in the batches' order; `class_mapping`: `{id: name}`.
    """
    rng = np.random.default_rng(seed)
    images, truth_boxes, truth_classes = [], [], []
    pred_boxes, pred_classes, pred_scores = [], [], []
    for _ in range(num_images):
        image = np.full((size, size, 3), 235, np.uint8)
        count = int(rng.integers(1, 5))
        boxes, classes = [], []
        for _ in range(count):
            w, h = rng.uniform(0.15, 0.4, 2) * size
            x, y = rng.uniform(0, size - w), rng.uniform(0, size - h)
            c = int(rng.integers(0, len(CLASS_NAMES)))
            image[int(y) : int(y + h), int(x) : int(x + w)] = COLOURS[c]
            boxes.append([x, y, w, h])
            classes.append(c)
        p_boxes, p_classes, p_scores = [], [], []
        for box, c in zip(boxes, classes):
            fate = rng.uniform()
            x, y, w, h = box
            if fate < 0.6:  # found
                jitter = rng.normal(0, 0.03, 4) * [w, h, w, h]
                p_boxes.append(np.add(box, jitter)), p_classes.append(c)
            elif fate < 0.72:  # the right place, the wrong class
                p_boxes.append(box), p_classes.append((c + 1) % len(CLASS_NAMES))
            elif fate < 0.84:  # the right class, a box half off
                p_boxes.append([x + 0.55 * w, y, w, h]), p_classes.append(c)
            else:  # missed
                continue
            p_scores.append(rng.uniform(0.3, 1.0))
            if rng.uniform() < 0.1:  # a duplicate of it, scored lower
                p_boxes.append(p_boxes[-1]), p_classes.append(p_classes[-1])
                p_scores.append(p_scores[-1] * 0.8)
        for _ in range(rng.poisson(0.6)):  # nothing there
            w, h = rng.uniform(0.1, 0.3, 2) * size
            p_boxes.append([rng.uniform(0, size - w), rng.uniform(0, size - h), w, h])
            p_classes.append(int(rng.integers(0, len(CLASS_NAMES))))
            p_scores.append(rng.uniform(0.1, 0.9))
        images.append(image)
        truth_boxes.append(np.array(boxes, np.float32))
        truth_classes.append(np.array(classes, np.float32))
        pred_boxes.append(np.array(p_boxes, np.float32).reshape(-1, 4))
        pred_classes.append(np.array(p_classes, np.float32))
        pred_scores.append(np.array(p_scores, np.float32))
    batches = []
    for start in range(0, num_images, batch_size):
        chunk = range(start, min(start + batch_size, num_images))
        boxes = np.full((len(chunk), 4, 4), -1, np.float32)
        classes = np.full((len(chunk), 4), -1, np.float32)
        for row, i in enumerate(chunk):
            boxes[row, : len(truth_boxes[i])] = truth_boxes[i]
            classes[row, : len(truth_classes[i])] = truth_classes[i]
        pixels = np.stack([images[i] for i in chunk]).astype(np.float32)
        batches.append((pixels, {"boxes": boxes, "classes": classes}))
    predictions = {"boxes": pred_boxes, "classes": pred_classes, "confidence": pred_scores}
    return batches, predictions, dict(enumerate(CLASS_NAMES))
