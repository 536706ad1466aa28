"""`%detect`: one-line detection in IPython and Jupyter (`%load_ext nbdetect`).

Usage (`%detect?` prints the full help)::

    %load_ext nbdetect
    %detect photo.jpg                          # a pretrained COCO detector, in a gallery
    %detect photos/ --model my_detector.keras --confidence 0.3 --out detections
    %detect explore images --model model       # the NMS explorer on a variable's images
    %detect show train_ds --format xywh        # a dataset's ground truth, page by page
    %detect augment train_ds --augmenter augmenter --format xywh
    %detect eval eval_ds --model model --format xywh   # COCO metrics, truth against predictions

Sources are image files, folders, globs, http(s) URLs, or variables of the notebook: an
image array or tensor (`[H, W, 3]` or `[B, H, W, 3]`, values 0-255), a list of arrays or
paths, a batch dict `{"images", ...}`, or a `tf.data.Dataset` in nbdetect's data contract.
Models are variables (any Keras detector, see `nbdetect.models.as_detector`), `.keras`
files, preset folders, or preset names: nbdetect's RetinaNet conversions and KerasHub's
detectors (`nbdetect.models.load_detector`). Without `--model`, the model last used in
this kernel, else KerasHub's `dfine_nano_coco`. Every mistake is one line (`UsageError`).
"""

from __future__ import annotations

import glob
import os
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

DEFAULT_MODEL = "dfine_nano_coco"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
COMMANDS = ("explore", "show", "augment", "eval")


def load_ipython_extension(ipython: Any) -> None:
    """Register `%detect` (what `%load_ext nbdetect` calls)."""
    ipython.register_magics(DetectMagics)


@magics_class
class DetectMagics(Magics):
    """The `%detect` line magic; keeps the last model used in the kernel."""

    def __init__(self, shell: Any = None) -> None:
        super().__init__(shell)
        self.last_model: Any = None

    @magic_arguments()
    @argument(
        "words",
        nargs="+",
        metavar="[explore|show|augment|eval] SOURCE",
        help=(
            "What to detect in: an image file, folder, glob, http(s) URL or a variable. "
            "`explore` opens the NMS explorer, `show` a dataset's ground truth, `augment` "
            "an augmentation preview, `eval` COCO metrics with truth against predictions."
        ),
    )
    @argument("--model", "-m", help="a variable, a .keras file, a preset folder or name")
    @argument("--confidence", type=float, help="the lowest confidence shown (0-1)")
    @argument("--iou", type=float, help="the NMS IoU threshold (0-1)")
    @argument("--max-detections", type=int, help="detections per image at most")
    @argument(
        "--format",
        default="xywh",
        help="box format of datasets and of the detections returned (default xywh)",
    )
    @argument("--classes", help="class names, comma-separated, in class id order")
    @argument("--augmenter", help="for `augment`: the variable holding the augmenter")
    @argument("--out", help="a variable name to store the detections (or the result) in")
    @line_magic
    def detect(self, line: str) -> Any:
        """Detect objects and show them: see the module docstring, or `%detect?`."""
        args = parse_argstring(self.detect, line)
        # IPython splits the line keeping quotes (posix=False): "my dir/*.png" arrives quoted.
        args.words = [_unquote(word) for word in args.words]
        for name, value in vars(args).items():
            if isinstance(value, str):
                setattr(args, name, _unquote(value))
        command, *rest = args.words
        if command not in COMMANDS:
            command, rest = "predict", args.words
        if len(rest) != 1:
            raise UsageError(
                f"%detect {command} takes one SOURCE, got {len(rest)}: {' '.join(rest)!r}. "
                "Quote paths with spaces."
            )
        try:
            return getattr(self, f"_{command}")(rest[0], args)
        except UsageError:
            raise
        except (ValueError, TypeError, ImportError, RuntimeError, OSError) as error:
            raise UsageError(f"%detect {command}: {_one_line(error)}") from None

    # -- the commands --------------------------------------------------------------------

    def _predict(self, source: str, args: Any) -> Any:
        import numpy as np

        from nbdetect.widgets import DetectionGallery

        images = self._images(source)
        if len({image.shape for image in images}) == 1:
            images = np.stack(images)  # one size: batched detections, as predict returns
        detector = self._detector(args)
        detections = _detections(detector, images, args)
        self._store(args.out, detections)
        return DetectionGallery(
            images,
            None,
            detections,
            bounding_box_format=detector.bounding_box_format,
            class_mapping=self._class_mapping(args, detector),
            confidence_threshold=0.0,
        )

    def _explore(self, source: str, args: Any) -> Any:
        import numpy as np

        from nbdetect.widgets import NMSExplorer

        images = self._images(source)
        if len({image.shape for image in images}) > 1:
            raise UsageError(
                f"%detect explore needs images of one size; {source!r} has "
                f"{sorted({image.shape[:2] for image in images})}. Resize them (e.g. "
                "nbdetect.layers.Resizing) or explore one at a time."
            )
        detector = self._detector(args)
        explorer = NMSExplorer(
            detector, np.stack(images), class_mapping=self._class_mapping(args, detector)
        )
        settings = {
            key: value
            for key, value in (
                ("iou_threshold", args.iou),
                ("confidence_threshold", args.confidence),
                ("max_detections", args.max_detections),
            )
            if value is not None
        }
        if settings:
            explorer.update(**settings)
        self._store(args.out, explorer.detections)
        return explorer

    def _show(self, source: str, args: Any) -> Any:
        from nbdetect.widgets import DetectionGallery

        return DetectionGallery.from_dataset(
            self._dataset(source),
            bounding_box_format=args.format,
            class_mapping=self._class_mapping(args, None),
        )

    def _augment(self, source: str, args: Any) -> Any:
        from nbdetect.widgets import AugmentationPreview

        if not args.augmenter:
            raise UsageError(
                "%detect augment needs --augmenter NAME: the variable holding the "
                "augmentation layer or keras.Sequential."
            )
        augmenter = self._variable(args.augmenter, "--augmenter")
        return AugmentationPreview(
            self._dataset(source),
            augmenter,
            bounding_box_format=args.format,
            class_mapping=self._class_mapping(args, None),
        )

    def _eval(self, source: str, args: Any) -> Any:
        from nbdetect.callbacks import EvaluateCOCOMetricsCallback
        from nbdetect.widgets import DetectionGallery

        dataset = self._dataset(source)
        detector = self._detector(args)
        callback = EvaluateCOCOMetricsCallback(dataset, args.format)
        callback.set_model(detector.model)
        result = callback.evaluate()
        names = self._class_mapping(args, detector)
        if names and not result.class_names:
            result.class_names = dict(names)
        print(result)
        self._store(args.out, result)
        return DetectionGallery.from_dataset(
            dataset,
            detector,
            bounding_box_format=args.format,
            class_mapping=self._class_mapping(args, detector),
        )

    # -- sources ---------------------------------------------------------------------------

    def _variable(self, name: str, what: str) -> Any:
        namespace = self.shell.user_ns if self.shell is not None else {}
        if name not in namespace:
            raise UsageError(f"%detect: {what} {name!r} is not a variable of this notebook.")
        return namespace[name]

    def _images(self, source: str) -> list:
        """`[H, W, 3]` float32 images (0-255) from a path, folder, glob, URL or variable."""
        namespace = self.shell.user_ns if self.shell is not None else {}
        if source.startswith(("http://", "https://")):
            from nbdetect.utils.fetch import fetch_image

            return [fetch_image(source).astype("float32")]
        if source.isidentifier() and source in namespace:
            return _images_of(namespace[source], source)
        if os.path.isdir(source):
            paths = sorted(
                os.path.join(source, name)
                for name in os.listdir(source)
                if name.lower().endswith(IMAGE_EXTENSIONS)
            )
            if not paths:
                raise UsageError(
                    f"%detect: the folder {source!r} holds no images "
                    f"({', '.join(IMAGE_EXTENSIONS)})."
                )
            return [_read_image(path) for path in paths]
        if os.path.isfile(source):
            return [_read_image(source)]
        if any(char in source for char in "*?["):
            paths = sorted(path for path in glob.glob(source) if os.path.isfile(path))
            if not paths:
                raise UsageError(f"%detect: the pattern {source!r} matches no files.")
            return [_read_image(path) for path in paths]
        if source.isidentifier():
            raise UsageError(f"%detect: {source!r} is not a variable, file or folder.")
        raise UsageError(
            f"%detect: there is no file or folder {source!r} (from {os.getcwd()!r}); "
            "SOURCE is a file, folder, glob, http(s) URL or variable name."
        )

    def _dataset(self, source: str) -> Any:
        """A dataset variable, or the images of `source` as one batch without boxes."""
        namespace = self.shell.user_ns if self.shell is not None else {}
        if source.isidentifier() and source in namespace:
            return _as_batches(namespace[source])
        return [(image[None],) for image in self._images(source)]

    # -- models ----------------------------------------------------------------------------

    def _detector(self, args: Any) -> Any:
        from nbdetect.models import as_detector

        if args.model is not None:
            model = self._model(args.model)
        elif self.last_model is not None:
            model = self.last_model
        else:
            model = _default_model()
        self.last_model = model
        try:
            return as_detector(model, args.format)
        except ValueError as error:
            raise UsageError(f"%detect: --model {args.model!r}: {_one_line(error)}") from None

    def _model(self, name: str) -> Any:
        namespace = self.shell.user_ns if self.shell is not None else {}
        if name.isidentifier() and name in namespace:
            return namespace[name]
        if os.path.isfile(name) and name.endswith(".keras"):
            import keras

            import nbdetect.models  # noqa: F401  (registers nbdetect's layers for loading)

            return keras.saving.load_model(name)
        return _preset(name)

    def _class_mapping(self, args: Any, detector: Any) -> Any:
        if args.classes:
            return {i: name.strip() for i, name in enumerate(args.classes.split(","))}
        return None if detector is None else detector.class_mapping

    def _store(self, name: str | None, value: Any) -> None:
        if name is None:
            return
        if not name.isidentifier():
            raise UsageError(f"%detect: --out {name!r} is not a valid variable name.")
        self.shell.user_ns[name] = value


def _preset(name: str) -> Any:
    """A model from a preset folder or name: nbdetect's, or KerasHub's detectors."""
    from nbdetect.models import RetinaNet, load_detector
    from nbdetect.models.retinanet import convert

    folder = os.path.isdir(name)
    if folder and os.path.isfile(os.path.join(name, "task.json")):
        return load_detector(name)  # a KerasHub detector folder
    if folder or convert.is_foreign_preset(name):
        return RetinaNet.from_preset(name)
    if os.sep in name or name.endswith((".keras", ".h5")):
        raise UsageError(f"%detect: --model {name!r}: no such file or folder.")
    try:
        return load_detector(name)
    except ImportError:
        raise
    except ValueError:
        raise UsageError(
            f"%detect: --model {name!r} is not a variable, .keras file, preset folder or "
            "known preset name (e.g. 'dfine_nano_coco', 'retinanet_resnet50_fpn_coco')."
        ) from None


def _default_model() -> Any:
    from nbdetect.models import load_detector

    try:
        return load_detector(DEFAULT_MODEL)
    except (ImportError, RuntimeError) as error:
        raise UsageError(
            f"%detect has no model: the default {DEFAULT_MODEL!r} could not be loaded "
            f"({_one_line(error)[:160]}). Pass --model with a variable, a .keras file or a "
            "preset folder."
        ) from None


def _detections(detector: Any, images: Any, args: Any) -> dict:
    """The detector's detections, at the settings the flags give (others: the model's).

    `images` is one `[B, H, W, 3]` batch (batched detections, as `predict` returns them)
    or a list of images of different sizes (one array per image). With flags, the model
    runs once per image size (`Detector.sweep`) and only the selection uses them.
    """
    import numpy as np

    flags = {
        "iou_threshold": args.iou,
        "confidence_threshold": args.confidence,
        "max_detections": args.max_detections,
    }
    _check_flags(flags)
    if all(value is None for value in flags.values()):
        return detector.predict(images)
    settings = detector.nms_settings() or {
        "iou_threshold": 1.0,
        "confidence_threshold": 0.0,
        "max_detections": 100,
    }
    chosen = {key: settings[key] if value is None else value for key, value in flags.items()}
    if isinstance(images, np.ndarray):
        return detector.sweep(images).select(**chosen)
    keys = ("boxes", "classes", "confidence", "num_detections")
    per_image: list = [None] * len(images)
    for shape in {image.shape for image in images}:
        indices = [i for i, image in enumerate(images) if image.shape == shape]
        selected = detector.sweep(np.stack([images[i] for i in indices])).select(**chosen)
        for row, i in enumerate(indices):
            per_image[i] = {key: selected[key][row] for key in keys}
    return {key: [d[key] for d in per_image] for key in keys}


def _unquote(text: str) -> str:
    """`text` without one pair of surrounding quotes, as a shell would read it."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _check_flags(flags: dict) -> None:
    for name in ("iou_threshold", "confidence_threshold"):
        value = flags[name]
        if value is not None and not 0.0 <= value <= 1.0:
            flag = "--iou" if name == "iou_threshold" else "--confidence"
            raise UsageError(f"%detect: {flag} {value:g} is not between 0 and 1.")
    if flags["max_detections"] is not None and flags["max_detections"] < 1:
        raise UsageError(f"%detect: --max-detections {flags['max_detections']} must be 1 or more.")


def _read_image(path: str) -> Any:
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"), np.float32)
    except (UnidentifiedImageError, OSError) as error:
        raise UsageError(f"%detect: {path!r} is not an image Pillow can read ({error}).") from None


def _images_of(value: Any, name: str) -> list:
    """The images a notebook variable holds, as `[H, W, 3]` float32 arrays."""
    from nbdetect.visualization.inputs import as_image_list, is_dataset

    if is_dataset(value):
        value = next(iter(value), None)
        if value is None:
            raise UsageError(f"%detect: the dataset {name!r} is empty.")
    if isinstance(value, dict):
        if "images" not in value:
            raise UsageError(
                f"%detect: {name!r} is a dict without 'images' (keys {sorted(value)}); "
                "expected a batch {'images': ..., 'bounding_boxes': ...}."
            )
        value = value["images"]
    elif isinstance(value, tuple) and value:
        value = value[0]
    if isinstance(value, (list, tuple)) and any(isinstance(item, str) for item in value):
        return [
            _read_image(item) if isinstance(item, str) else _one_image(item, name) for item in value
        ]
    try:
        image_list, _ = as_image_list(value, "%detect")
    except ValueError:
        raise UsageError(
            f"%detect: {name!r} holds a {type(value).__name__}"
            f"{' of shape ' + str(tuple(value.shape)) if hasattr(value, 'shape') else ''}, "
            "not images ([H, W, 3] or [B, H, W, 3])."
        ) from None
    return [_one_image(image, name) for image in image_list]


def _one_image(value: Any, name: str) -> Any:
    import numpy as np

    from nbdetect.utils import tensors

    try:
        image = np.asarray(tensors.to_numpy(value), np.float32)
    except (TypeError, ValueError):
        raise UsageError(f"%detect: {name!r} holds a {type(value).__name__}, not images.") from None
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    if image.ndim != 3 or image.shape[-1] not in (3, 4) or 0 in image.shape:
        raise UsageError(
            f"%detect: {name!r} holds an array of shape {image.shape}, not an image [H, W, 3]."
        )
    return image[..., :3]


def _as_batches(value: Any) -> Any:
    """A notebook variable as the batches the gallery and the evaluation read."""
    from nbdetect.visualization.inputs import is_dataset

    if is_dataset(value):
        spec = value.element_spec
        images = spec["images"] if isinstance(spec, dict) else spec[0]
        if len(getattr(images, "shape", ())) == 3:  # unbatched: one example at a time
            return value.batch(1)
        return value
    if isinstance(value, dict) and "images" in value:
        return [value]
    if isinstance(value, tuple) and len(value) == 2:
        return [value]
    return value


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
