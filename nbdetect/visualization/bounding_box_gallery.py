"""A gallery of images with ground-truth and predicted boxes."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import matplotlib
import numpy as np
from matplotlib import patches
from matplotlib.figure import Figure

from nbdetect.bounding_box.formats import check_format, is_relative
from nbdetect.utils import checks
from nbdetect.visualization import colors, labels
from nbdetect.visualization.draw import BoxLayer, check_drawing_options, draw_on_image
from nbdetect.visualization.image_gallery import (
    DEFAULT_DPI,
    check_grid_options,
    grid_shape,
    plot_image_gallery,
)
from nbdetect.visualization.inputs import (
    ImageBoxes,
    as_image_list,
    boxes_per_image,
    check_channels,
)

# Box outlines are `line_thickness` pixels on images up to this size and proportionally
# thicker on larger ones, which a gallery cell shrinks more.
_LINE_REFERENCE_PX = 320

ClassMapping = Mapping[int, str] | Sequence[str]


class _BoxSet(NamedTuple):
    """Ground truth or predictions, ready to draw."""

    name: str
    per_image: list[ImageBoxes]
    color: colors.RGB
    class_mapping: ClassMapping | None
    label_position: str


def plot_bounding_box_gallery(
    images: Any,
    value_range: tuple[float, float],
    bounding_box_format: str,
    y_true: dict | None = None,
    y_pred: dict | None = None,
    true_color: Any = (192, 57, 43),
    pred_color: Any = (245, 176, 66),
    line_thickness: int = 2,
    font_scale: float = 1.0,
    text_thickness: int | None = None,
    class_mapping: ClassMapping | None = None,
    ground_truth_mapping: ClassMapping | None = None,
    prediction_mapping: ClassMapping | None = None,
    legend: bool = False,
    legend_handles: list | None = None,
    rows: int | None = None,
    cols: int | None = None,
    scale: float = 2,
    path: str | os.PathLike | None = None,
    show: bool | None = None,
    **kwargs: Any,
) -> Figure | None:
    """Plot images with their ground-truth and predicted boxes.

    Ground truth is drawn in `true_color` with labels above the boxes; predictions go on
    top in `pred_color`, labelled `"name | score"`, their labels below the boxes when
    ground truth is drawn too, so the two sets of labels do not cover each other. Labels
    go on after all outlines, so no line crosses a label. Then the images go to
    `plot_image_gallery`.

    Args:
        images: a batch `[B, H, W, C]` (numpy, `tf.Tensor` or any Keras tensor), a list
            of images, or a `tf.RaggedTensor` of images of different sizes. `C` is 3, or
            1 for grayscale (shown as RGB).
        value_range: `(low, high)` pixel values of black and full intensity, e.g.
            `(0, 255)`.
        bounding_box_format: the format of `y_true` and `y_pred`, one of
            `nbdetect.bounding_box.FORMATS`.
        y_true: ground truth, `{"boxes": [B, N, 4], "classes": [B, N]}` (or `"labels"`),
            dense and padded with -1, ragged, or lists of per-image arrays.
        y_pred: predictions, the same plus `"confidence": [B, N]`: the dict
            `model.predict` returns (padded, with `"num_detections"`) or its
            `bounding_box.to_ragged` form.
        true_color: colour of ground-truth boxes, `(r, g, b)` in [0, 255] or a name.
        pred_color: colour of predicted boxes.
        line_thickness: box outline width, in pixels of an image up to 320 pixels; larger
            images get proportionally thicker lines so boxes stay visible when shrunk.
            Images smaller than their cell are enlarged by a whole factor before drawing:
            lines and labels keep their size relative to the image but come out sharp.
        font_scale: label size; at 1.0 text is 1/16 of the image's longer side.
        text_thickness: label text weight; `None` or 1 is the regular font.
        class_mapping: class names for both sets, `{id: name}` or a list indexed by id.
        ground_truth_mapping: class names for `y_true`, instead of `class_mapping`.
        prediction_mapping: class names for `y_pred`, instead of `class_mapping`.
        legend: add a legend naming the colours ("Ground Truth", "Prediction").
        legend_handles: your own legend artists, instead of `legend=True`.
        rows: rows of the grid (`None`: fit the images).
        cols: columns of the grid (`None`: fit the images). With both given, the first
            `rows * cols` images are drawn.
        scale: size of a cell's longer side, in inches.
        path: where to save the gallery.
        show: whether to show it; `None`: show unless `path` is given.
        **kwargs: further arguments of `plot_image_gallery` (`transparent`, `dpi`).

    Returns:
        The figure when it is not shown, else `None` (see `plot_image_gallery`).

    Raises:
        ValueError: an unknown box format, `y_true` / `y_pred` for a different number of
            images than `images`, images that are not images, a bad `value_range`, or
            both `legend` and `legend_handles`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.visualization import plot_bounding_box_gallery
        >>> images = np.full((4, 64, 64, 3), 200.0)
        >>> y_true = {"boxes": np.array([[[8.0, 8, 30, 20]]] * 4), "classes": np.zeros((4, 1))}
        >>> y_pred = {"boxes": np.array([[[10.0, 9, 30, 22]]] * 4), "classes": np.zeros((4, 1)),
        ...           "confidence": np.full((4, 1), 0.9)}  # e.g. model.predict(images)
        >>> figure = plot_bounding_box_gallery(
        ...     images, value_range=(0, 255), bounding_box_format="xywh",
        ...     y_true=y_true, y_pred=y_pred, class_mapping={0: "cat"},
        ...     rows=2, cols=2, scale=5, font_scale=0.7, legend=True, show=False)
        >>> len(figure.axes)
        4
    """
    caller = "plot_bounding_box_gallery"
    bounding_box_format = check_format(bounding_box_format, "bounding_box_format", caller)
    low, high = checks.value_range(value_range, caller)
    check_grid_options(rows, cols, scale, caller)
    text_thickness = 1 if text_thickness is None else text_thickness
    check_drawing_options(line_thickness, text_thickness, font_scale, caller)
    if legend and legend_handles:
        raise ValueError(
            f"{caller}() got both legend=True and legend_handles; pass legend=True for the "
            "default 'Ground Truth' / 'Prediction' legend, or only your legend_handles."
        )
    image_list, batched = as_image_list(images, caller)
    check_channels(image_list, (1, 3), caller)
    sets = []
    if y_true is not None:
        truth = boxes_per_image(y_true, len(image_list), batched, caller, "y_true")
        mapping = class_mapping if ground_truth_mapping is None else ground_truth_mapping
        color = colors.to_rgb255(true_color, "true_color")
        sets.append(_BoxSet("Ground Truth", truth, color, mapping, "top"))
    if y_pred is not None:
        predictions = boxes_per_image(y_pred, len(image_list), batched, caller, "y_pred")
        mapping = class_mapping if prediction_mapping is None else prediction_mapping
        color = colors.to_rgb255(pred_color, "pred_color")
        position = "top" if y_true is None else "bottom"
        sets.append(_BoxSet("Prediction", predictions, color, mapping, position))

    rows, cols = grid_shape(len(image_list), rows, cols)
    cell_px = scale * max(kwargs.get("dpi", DEFAULT_DPI), matplotlib.rcParams["figure.dpi"])
    drawn = []
    for index, image in enumerate(image_list[: rows * cols]):
        longest = max(image.shape[:2])
        # Images smaller than their cell are enlarged by whole pixels (nothing resampled)
        # so that labels are rendered at about screen resolution, not blurred by imshow.
        factor = max(1, int(cell_px // longest))
        # Lines and labels are sized for the image as given, then enlarged with it.
        font_px = labels.font_size(image.shape, font_scale) * factor
        thickness = line_thickness * max(1, round(longest / _LINE_REFERENCE_PX)) * factor
        image = to_uint8_rgb(image, low, high).repeat(factor, 0).repeat(factor, 1)
        layers = []
        for box_set in sets:
            image_boxes = box_set.per_image[index]
            if not is_relative(bounding_box_format):
                image_boxes = image_boxes._replace(boxes=image_boxes.boxes * factor)
            layers.append(
                BoxLayer(image_boxes, box_set.color, box_set.class_mapping, box_set.label_position)
            )
        image = draw_on_image(
            image,
            layers,
            bounding_box_format,
            line_thickness=thickness,
            text_thickness=1 + (text_thickness - 1) * factor,
            font_px=font_px,
        )
        drawn.append(image)

    if legend:
        legend_handles = [
            patches.Patch(color=np.array(box_set.color) / 255, label=box_set.name)
            for box_set in sets
        ]
    return plot_image_gallery(
        drawn,
        value_range=(0, 255),
        scale=scale,
        rows=rows,
        cols=cols,
        path=path,
        show=show,
        legend_handles=legend_handles,
        **kwargs,
    )


def to_uint8_rgb(image: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map `[low, high]` to [0, 255] so box colours, given in [0, 255], mean what they say."""
    scaled = (image.astype(np.float32) - low) * (255 / (high - low))
    scaled = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return np.repeat(scaled, 3, axis=-1) if scaled.shape[-1] == 1 else scaled
