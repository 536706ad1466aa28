"""Keras callbacks for detection training.

* `EvaluateCOCOMetricsCallback`: COCO box metrics on evaluation data at the end of epochs,
  computed outside the compiled step (works on TPU and with JAX)::

    from nbdetect.callbacks import EvaluateCOCOMetricsCallback

    model.fit(train_ds, callbacks=[EvaluateCOCOMetricsCallback(eval_ds, "xywh")])

* `TrainingMonitor`: a live metrics table, loss curves and detection plots in the
  notebook while `fit` runs (text rows in a terminal)::

    monitor = TrainingMonitor(eval_ds, eval_ds, bounding_box_format="xywh")
    model.fit(train_ds, validation_data=eval_ds, epochs=10, callbacks=[monitor])

* `VisualizeDetections`: ground truth and predictions on fixed images after each epoch,
  as in KerasCV's guide.

The monitor is composed of pieces that work on their own: `epoch_history.EpochHistory`
(Keras' `History`, lined up by epoch), `history_csv.HistoryCSV` (Keras' `CSVLogger`),
`detections_plot.DetectionsPlot`, and `nbdetect.visualization.tables.Table` and
`nbdetect.visualization.curves.line_panels` for its table and curves.
"""

from nbdetect.callbacks.evaluate_coco_metrics import EvaluateCOCOMetricsCallback
from nbdetect.callbacks.training_monitor import TrainingMonitor
from nbdetect.callbacks.visualize_detections import VisualizeDetections

__all__ = ["EvaluateCOCOMetricsCallback", "TrainingMonitor", "VisualizeDetections"]
