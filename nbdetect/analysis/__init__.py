"""Error analysis of a detector's evaluation: why the mAP is what it is, and where.

`Evaluation` keeps one model's COCO evaluation whole (numbers and matching); its views
answer the next questions after the mAP, from the same matching, on the host in numpy:

* `class_table()`: per class AP, AP50, AP75, AR and TP / FP / FN at a chosen IoU and
  confidence (`sort_rows` sorts it by any column);
* `pr_curve()` and `operating_point()`: COCO's precision-recall curves and where the
  confidence threshold sits on them;
* `confusion_matrix()`: which class is taken for which, with background;
* `image_stats()`: per-image counts and AP;
* `select_all()`, `select_class()`, `select_cell()`, `select_boxes()`: what a linked
  gallery shows after a click, worst images first;
* `compare(a, b)`: two models on the same dataset;
* `tide_breakdown()`: the AP each kind of error costs (TIDE: classification, localisation,
  both, duplicate, background, missed), equal to the `tidecv` package's numbers, with
  each box's error kind.

Example::

    from nbdetect.analysis import Evaluation, sort_rows
    from nbdetect.metrics import COCOEvaluator

    evaluator = COCOEvaluator(bounding_box_format="xywh")
    for images, y_true in eval_ds:
        evaluator.update(y_true, model.predict(images, verbose=0))
    evaluation = Evaluation.from_evaluator(evaluator, class_mapping)
    worst = sort_rows(evaluation.class_table(iou_threshold=0.5), "ap")
    gallery = evaluation.select_class(worst[0].class_id, sort="missed")
"""

from nbdetect.analysis.box_status import BoxStatus
from nbdetect.analysis.class_rows import ClassRow, sort_rows
from nbdetect.analysis.comparison import Comparison, ComparisonRow, compare
from nbdetect.analysis.confusion import ConfusionMatrix
from nbdetect.analysis.evaluation import Evaluation
from nbdetect.analysis.per_image import ImageStats
from nbdetect.analysis.pr_curves import PRCurve
from nbdetect.analysis.selection import RowsByImage, Selection
from nbdetect.analysis.tide import ERROR_KINDS, TideResult, tide_breakdown

__all__ = [
    "ERROR_KINDS",
    "BoxStatus",
    "ClassRow",
    "Comparison",
    "ComparisonRow",
    "ConfusionMatrix",
    "Evaluation",
    "ImageStats",
    "PRCurve",
    "RowsByImage",
    "Selection",
    "TideResult",
    "compare",
    "sort_rows",
    "tide_breakdown",
]
