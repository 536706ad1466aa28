"""The fixed parameters of COCO box evaluation, exactly as pycocotools defines them.

pycocotools builds its thresholds with `np.linspace` (not `np.arange`, whose points drift), and
the summary looks thresholds up by float equality, so the same construction is reused here.
"""

from __future__ import annotations

import numpy as np

# [T] = 10 IoU thresholds 0.50, 0.55, ..., 0.95.
IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
# [R] = 101 recall points 0.00, 0.01, ..., 1.00.
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
# [M] = 3 limits on detections per image and class.
MAX_DETECTIONS = (1, 10, 100)
# [A] = 4 object area ranges in pixels², inclusive at both ends.
AREA_RANGES = np.array(
    [[0**2, 1e5**2], [0**2, 32**2], [32**2, 96**2], [96**2, 1e5**2]], dtype=np.float64
)
AREA_LABELS = ("all", "small", "medium", "large")

# The 12 summary numbers, in pycocotools' `stats` order, under KerasCV's names:
# (name, average precision?, IoU threshold or None for all, area label, max detections).
SUMMARY = (
    ("MaP", True, None, "all", 100),
    ("MaP@[IoU=50]", True, 0.5, "all", 100),
    ("MaP@[IoU=75]", True, 0.75, "all", 100),
    ("MaP@[area=small]", True, None, "small", 100),
    ("MaP@[area=medium]", True, None, "medium", 100),
    ("MaP@[area=large]", True, None, "large", 100),
    ("Recall@[max_detections=1]", False, None, "all", 1),
    ("Recall@[max_detections=10]", False, None, "all", 10),
    ("Recall@[max_detections=100]", False, None, "all", 100),
    ("Recall@[area=small]", False, None, "small", 100),
    ("Recall@[area=medium]", False, None, "medium", 100),
    ("Recall@[area=large]", False, None, "large", 100),
)
METRIC_NAMES = tuple(entry[0] for entry in SUMMARY)
