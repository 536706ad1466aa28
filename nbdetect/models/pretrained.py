"""Pretrained detectors from KerasHub, ready for nbdetect's tools: `load_detector`."""

from __future__ import annotations

import os
from collections.abc import Mapping

from nbdetect.models.detector import Detector

# KerasHub's pretrained object detectors trained on COCO's 80 classes (D-FINE) or on
# torchvision's 91 COCO category ids (the RetinaNet presets, ported from torchvision).
COCO_DETECTORS = (
    "dfine_nano_coco",
    "dfine_small_coco",
    "dfine_medium_coco",
    "dfine_large_coco",
    "dfine_xlarge_coco",
    "dfine_small_obj2coco",
    "dfine_medium_obj2coco",
    "dfine_large_obj2coco_e25",
    "dfine_xlarge_obj2coco",
    "retinanet_resnet50_fpn_coco",
    "retinanet_resnet50_fpn_v2_coco",
)

_INSTALL = 'pip install "nbdetect[hub]"  (or: pip install keras-hub kagglehub)'


def load_detector(
    preset: str,
    bounding_box_format: str | None = None,
    class_mapping: Mapping[int, str] | None = None,
) -> Detector:
    """A KerasHub pretrained object detector, as a `Detector` for nbdetect's tools.

    Loads `keras_hub.models.ObjectDetector.from_preset(preset)` (a name is downloaded
    from Kaggle through `kagglehub` on first use and cached; a folder is read as it is)
    and wraps it with `as_detector`, with class names: COCO's for the COCO presets.

    Args:
        preset: a KerasHub detector preset name (e.g. `"dfine_nano_coco"`,
            `"retinanet_resnet50_fpn_coco"`; see `COCO_DETECTORS`) or the folder of a
            KerasHub detector preset (`model.save_to_preset(folder)`).
        bounding_box_format: the format detections are returned in; default: the model's.
        class_mapping: `{class_id: name}`; default: COCO's names for the COCO presets
            (80 classes for D-FINE, torchvision's 91 category ids for RetinaNet).

    Returns:
        A `Detector` whose `model` is the KerasHub model.

    Raises:
        ImportError: `keras-hub` is not installed (the message has the `pip` line).
        RuntimeError: the preset could not be downloaded (e.g. offline); the message says
            how to download it elsewhere and load the folder.

    Example:
        The preset is downloaded on first use, so this needs internet:

        >>> import numpy as np
        >>> from nbdetect.models import load_detector
        >>> from nbdetect.widgets import NMSExplorer
        >>> photos = np.zeros((2, 480, 640, 3))  # [B, H, W, 3], 0-255, any size
        >>> detector = load_detector(  # doctest: +SKIP
        ...     "dfine_nano_coco", bounding_box_format="xywh")
        >>> NMSExplorer(detector, photos)  # doctest: +SKIP
    """
    try:
        import keras_hub
    except ImportError as error:
        raise ImportError(
            f"load_detector({preset!r}) needs KerasHub's models, which are not installed: "
            f"{_INSTALL}."
        ) from error
    is_folder = os.path.isdir(preset)
    try:
        model = keras_hub.models.ObjectDetector.from_preset(preset)
    except Exception as error:
        if is_folder or not _is_download_error(error):
            raise
        raise RuntimeError(
            f"load_detector({preset!r}) could not download the preset from Kaggle "
            f"({type(error).__name__}: {str(error)[:200]}). Pretrained weights are downloaded "
            "once, on a machine with internet: there, run `import keras_hub; "
            f"keras_hub.models.ObjectDetector.from_preset({preset!r})"
            ".save_to_preset('my_detector')`, copy the folder here and call "
            "load_detector('/path/to/my_detector')."
        ) from error
    if class_mapping is None:
        class_mapping = _coco_names(preset, getattr(model, "num_classes", None))
    return Detector(model, bounding_box_format, class_mapping=class_mapping)


def _coco_names(preset: str, num_classes: int | None) -> dict[int, str] | None:
    """COCO's class names for a COCO preset, by its number of classes."""
    from nbdetect.datasets import class_names

    if os.path.basename(os.path.normpath(preset)) not in COCO_DETECTORS:
        return None
    if num_classes == len(class_names.COCO_CLASSES):
        return dict(enumerate(class_names.COCO_CLASSES))
    names = class_names.torchvision_coco_classes()
    if num_classes == len(names):
        return dict(enumerate(names))
    return None


def _is_download_error(error: Exception) -> bool:
    """Whether `error` comes from the network or `kagglehub` (not, say, a bad name)."""
    module = type(error).__module__
    return isinstance(error, OSError) or module.startswith(("kagglehub", "requests", "urllib3"))
