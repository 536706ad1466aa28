"""Keras callbacks for detection training.

* `EvaluateCOCOMetricsCallback`: COCO box metrics on evaluation data at the end of epochs,
  computed outside the compiled step (works on TPU and with JAX)::

    from nbdetect.callbacks import EvaluateCOCOMetricsCallback

    model.fit(train_ds, callbacks=[EvaluateCOCOMetricsCallback(eval_ds, "xywh")])
"""

from nbdetect.callbacks.evaluate_coco_metrics import EvaluateCOCOMetricsCallback

__all__ = ["EvaluateCOCOMetricsCallback"]
