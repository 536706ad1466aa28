"""`AugmentationPreview`: images beside augmented copies, re-rolled on a click."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import traitlets

from nbdetect.bounding_box.formats import check_format
from nbdetect.utils import checks
from nbdetect.visualization.inputs import take_images
from nbdetect.widgets import scene
from nbdetect.widgets.base import DetectionWidget
from nbdetect.widgets.canvas_view import CanvasView
from nbdetect.widgets.examples import Example, batch_examples
from nbdetect.widgets.scene import BoxSet, Cell, Layout


class AugmentationPreview(DetectionWidget):
    """Original images (top row) beside augmented copies with their boxes (bottom row).

    "Re-roll" augments the originals again with new random draws. For a
    `keras.Sequential` augmenter there is a checkbox per layer: the preview then applies
    the checked layers in order, so the effect of each one can be seen alone.

    Args:
        data: a batch `{"images", "bounding_boxes"}` or `(images, y_true)`, or a dataset
            of such batches (or of single examples); the first `num_images` are used.
        augmenter: a box-aware layer or `keras.Sequential` of them, called on
            `{"images", "bounding_boxes"}` batches as in `tf.data`.
        bounding_box_format: the format of the boxes.
        class_mapping: class names.
        value_range: `(low, high)` of the pixel values before and after augmentation.
        num_images: how many images to preview.
        cell_size: pixels of each image's longer side.

    Attributes:
        enabled: one flag per layer of the augmenter, whether it is applied (a trait:
            setting it ticks the checkboxes and re-rolls).
        layer_names: the layers' names, as their checkboxes show them.

    Example:
        >>> import keras
        >>> from nbdetect import datasets, layers
        >>> from nbdetect.widgets import AugmentationPreview
        >>> train_ds, class_names = datasets.load_shapes(
        ...     "train", bounding_box_format="xywh", num_examples=4, image_size=(96, 128))
        >>> augmenter = keras.Sequential([
        ...     layers.RandomFlip(mode="horizontal", bounding_box_format="xywh"),
        ...     layers.JitteredResize((256, 256), (0.75, 1.3), bounding_box_format="xywh"),
        ... ])
        >>> preview = AugmentationPreview(train_ds, augmenter, bounding_box_format="xywh",
        ...                               class_mapping=class_names, num_images=4)
        >>> preview.layer_names
        ['RandomFlip', 'JitteredResize']
        >>> preview.enabled = (False, True)  # only the resize: unticks the flip, re-rolls
        >>> preview  # the widget, as a notebook cell's last line shows it
        <AugmentationPreview: roll 2 | layers: JitteredResize>
    """

    enabled = traitlets.Tuple()
    label_note = "Labels that would cover another label are left out."

    def __init__(
        self,
        data: Any,
        augmenter: Any,
        *,
        bounding_box_format: str,
        class_mapping: Mapping[int, str] | list[str] | None = None,
        value_range: tuple[float, float] = (0, 255),
        num_images: int = 4,
        cell_size: int = 224,
    ) -> None:
        super().__init__()
        caller = type(self).__name__
        self.bounding_box_format = check_format(bounding_box_format, caller=caller)
        if not callable(augmenter):
            checks.fail(
                caller,
                "augmenter",
                augmenter,
                "a layer or keras.Sequential called on {'images', 'bounding_boxes'} batches",
                "wrap a list of layers: keras.Sequential([layer, ...])",
            )
        checks.whole_number(num_images, "num_images", caller)
        self.augmenter = augmenter
        self.value_range = value_range
        self.class_mapping = class_mapping
        self.originals = _first_examples(data, num_images, value_range, caller)
        self.steps = list(getattr(augmenter, "layers", None) or [augmenter])
        self.rolls = 0
        self.layout = Layout(2, len(self.originals), cell_size)
        self.augmented: list[Example] = []
        with self.hold_trait_notifications():
            self.enabled = (True,) * len(self.steps)
        self.reroll(draw=False)
        self._build_widgets()
        self.redraw(images=True)

    def reroll(self, draw: bool = True) -> None:
        """Augment the originals again, with new random draws, through the enabled layers."""
        outputs = self._inputs()
        for step, enabled in zip(self.steps, self.enabled):
            if enabled:
                outputs = step(outputs, training=True) if _takes_training(step) else step(outputs)
        try:
            self.augmented = batch_examples(
                outputs["images"],
                outputs["bounding_boxes"],
                None,
                self.value_range,
                caller=type(self).__name__,
            )
        except (KeyError, TypeError, IndexError) as error:
            raise ValueError(
                f"{type(self).__name__}: the augmenter returned {type(outputs).__name__}; "
                "expected a dict with 'images' and 'bounding_boxes', as box-aware layers "
                "return."
            ) from error
        self.rolls += 1
        if draw and self.view is not None:
            self.redraw(images=True)
            self.controls["status"].value = html.escape(self.status())

    def set_layer_enabled(self, index: int, enabled: bool) -> None:
        """Turn layer `index` of the augmenter on or off, and re-roll."""
        flags = list(self.enabled)
        flags[index] = bool(enabled)
        self.enabled = tuple(flags)

    @property
    def layer_names(self) -> list[str]:
        """The augmenter's layers as the user named them (class names for Keras' names)."""
        return [_step_name(step) for step in self.steps]

    @traitlets.validate("enabled")
    def _valid_enabled(self, proposal: dict) -> tuple:
        flags = tuple(bool(flag) for flag in proposal["value"])
        if len(flags) != len(self.steps):
            raise ValueError(
                f"{type(self).__name__}.enabled got {len(flags)} flags; expected one per "
                f"layer of the augmenter: {len(self.steps)} ({', '.join(self.layer_names)})."
            )
        return flags

    @traitlets.observe("enabled")
    def _enabled_changed(self, change: dict) -> None:
        if self.view is None:
            return
        for index, flag in enumerate(change["new"]):
            checkbox = self.controls.get(f"layer:{index}")
            if checkbox is not None:
                checkbox.value = flag
        self.reroll()

    def cells(self) -> list[Cell]:
        """The originals, then their augmented copies."""
        fmt = self.bounding_box_format
        cells = []
        for title, examples, style in (
            ("original", self.originals, scene.TRUTH),
            ("augmented", self.augmented, scene.AUGMENTED),
        ):
            for example in examples:
                box_sets = []
                if example.truth is not None:
                    box_sets.append(
                        BoxSet.from_image_boxes(style, example.truth, fmt, example.image.shape)
                    )
                height, width = example.image.shape[:2]
                count = len(example.truth.boxes) if example.truth is not None else 0
                boxes = "1 box" if count == 1 else f"{count} boxes"
                caption = f"#{example.index} {title}: {boxes}, {width}x{height}"
                cells.append(Cell(example.image, caption, box_sets))
        return cells

    def status(self) -> str:
        """The layers applied and the number of rolls."""
        names = [name for name, enabled in zip(self.layer_names, self.enabled) if enabled]
        return f"roll {self.rolls} | layers: {', '.join(names) or 'none'}"

    def _inputs(self) -> dict:
        images = [example.image for example in self.originals]
        boxes = [example.truth for example in self.originals]
        size = max(len(b.boxes) for b in boxes)
        dense_boxes = np.full((len(boxes), max(size, 1), 4), -1, np.float32)
        classes = np.full((len(boxes), max(size, 1)), -1, np.float32)
        for i, b in enumerate(boxes):
            dense_boxes[i, : len(b.boxes)] = b.boxes
            classes[i, : len(b.boxes)] = b.classes
        low, high = self.value_range
        if len({image.shape for image in images}) == 1:
            batch = np.stack(images).astype(np.float32)
        else:
            import tensorflow as tf

            batch = tf.ragged.stack([tf.constant(image, tf.float32) for image in images])
            # Keras takes a ragged batch only with tensors beside it, not numpy.
            dense_boxes, classes = tf.constant(dense_boxes), tf.constant(classes)
        batch = batch * ((high - low) / 255.0) + low
        return {"images": batch, "bounding_boxes": {"boxes": dense_boxes, "classes": classes}}

    def _build_widgets(self) -> None:
        import ipywidgets as w

        self.view = CanvasView(self.layout, self.class_mapping)
        controls = {
            "reroll": w.Button(description="Re-roll", icon="refresh"),
            "status": w.HTML(value=html.escape(self.status())),
        }
        controls["reroll"].on_click(lambda _: self.reroll())
        toggles = []
        if len(self.steps) > 1 or hasattr(self.augmenter, "layers"):
            for index in range(len(self.steps)):
                checkbox = w.Checkbox(
                    value=self.enabled[index],
                    description=self.layer_names[index],
                    indent=False,
                    layout=w.Layout(width="auto"),
                )
                checkbox.observe(
                    lambda change, index=index: self.set_layer_enabled(index, change["new"]),
                    names="value",
                )
                controls[f"layer:{index}"] = checkbox
                toggles.append(checkbox)
        self.controls = controls
        self.widget = w.VBox(
            [
                w.HBox([controls["reroll"], controls["status"]]),
                w.HBox(toggles, layout=w.Layout(flex_flow="row wrap")),
                self.view.widget,
            ]
        )

    def _release(self) -> None:
        self.originals, self.augmented, self.controls = [], [], {}


def _step_name(step: Any) -> str:
    """A layer's name as its user gave it: the class name where Keras made the name up."""
    name = getattr(step, "name", None)
    if name is None:
        return getattr(step, "__name__", type(step).__name__)
    class_name = type(step).__name__
    # Keras names an unnamed layer after its class in snake case, with "_N" from the 2nd.
    snake = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", snake).lower()
    if re.fullmatch(rf"{re.escape(snake)}(_\d+)?", name):
        return class_name
    return name


def _takes_training(layer: Any) -> bool:
    import inspect

    try:
        return "training" in inspect.signature(layer.call).parameters
    except (AttributeError, TypeError, ValueError):
        return False


def _first_examples(data: Any, count: int, value_range, caller: str) -> list[Example]:
    """The first `count` examples of a batch or a dataset, with their ground truth."""
    images, y_true = take_images(data, count, caller)
    if y_true is None:
        raise ValueError(
            f"{caller} needs boxes to augment: got images without 'bounding_boxes'. "
            "Pass {'images': ..., 'bounding_boxes': {'boxes': ..., 'classes': ...}} "
            "batches or (images, y_true) tuples."
        )
    return batch_examples(images, y_true, None, value_range, caller)
