"""Interactive widgets for detection in notebooks, drawn with ipycanvas.

* `DetectionGallery`: ground truth against predictions, page by page, with class,
  truth / prediction and confidence filters and the details of the box under the mouse.
* `NMSExplorer`: sliders for NMS's IoU threshold, confidence threshold and number of
  detections, re-decoding a model's cached raw outputs live; applies the choice to the
  model.
* `AugmentationPreview`: images beside augmented copies, re-rolled on a click, with a
  toggle for each layer of a `keras.Sequential`.
* `EvaluationDashboard`: why a model misses: per-class table, precision-recall curves,
  confusion matrix and TIDE errors, linked to a gallery of exactly the boxes clicked;
  two models side by side.

Each widget also shows as a PNG where widget JavaScript is missing (GitHub, exports), and
works with ipywidgets 7.7 (Colab, where third-party widgets are enabled automatically)
and 8::

    from nbdetect.widgets import DetectionGallery, NMSExplorer

    DetectionGallery.from_dataset(eval_ds, model, bounding_box_format="xywh",
                                  class_mapping=class_mapping)
    NMSExplorer(model, images, y_true, class_mapping=class_mapping)
"""

from nbdetect.utils.lazy import lazy_attributes

# ipywidgets and ipycanvas load with the first widget, not with `nbdetect.widgets`.
_MODULES = {
    "AugmentationPreview": "augmentation_preview",
    "DetectionGallery": "detection_gallery",
    "EvaluationDashboard": "evaluation_dashboard",
    "NMSExplorer": "nms_explorer",
    "enable_colab_widgets": "environment",
}

__all__ = sorted(_MODULES)


__getattr__, __dir__ = lazy_attributes(__name__, _MODULES, globals())
