"""COCO box metrics that equal pycocotools', computed on the host.

* `COCOEvaluator`: accumulate batches of ground truth and predictions, then `compute()` a
  `COCOResult` (the 12 COCO numbers, per-class AP, precision / recall curves).
* `BoxCOCOMetrics`: the same as a `keras.metrics.Metric` for `compile(metrics=[...])`,
  with KerasCV's arguments and result names.

For evaluation during training on any accelerator (TPU and JAX included), prefer
`nbdetect.callbacks.EvaluateCOCOMetricsCallback`::

    from nbdetect.metrics import COCOEvaluator

    evaluator = COCOEvaluator(bounding_box_format="xywh")
    for images, y_true in eval_ds:
        evaluator.update(y_true, model.predict(images, verbose=0))
    print(evaluator.compute())
"""

from nbdetect.metrics.box_coco_metrics import BoxCOCOMetrics
from nbdetect.metrics.coco_evaluator import COCOEvaluator
from nbdetect.metrics.coco_params import METRIC_NAMES
from nbdetect.metrics.coco_result import COCOResult

__all__ = ["METRIC_NAMES", "BoxCOCOMetrics", "COCOEvaluator", "COCOResult"]
