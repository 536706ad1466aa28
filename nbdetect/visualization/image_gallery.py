"""A grid of images in a matplotlib figure."""

from __future__ import annotations

import math
import os
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from nbdetect.utils import checks, tensors
from nbdetect.visualization.inputs import as_image_list, check_channels, is_dataset

# KerasCV's default resolution for saved galleries.
DEFAULT_DPI = 60
# Built-in backends that only write files: `plt.show()` on them only warns.
_NON_INTERACTIVE_BACKENDS = frozenset({"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"})
# Images a gallery takes from an unbatched dataset when neither rows nor cols say how many.
_DEFAULT_DATASET_IMAGES = 9
# Space between cells, as a fraction of the cell size.
_GAP = 0.02
# Legend text size in points per inch of `scale`, and its smallest size: the legend
# grows with the cells so that it stays readable at the low default `dpi`.
_LEGEND_POINTS_PER_INCH = 2.8
_MIN_LEGEND_POINTS = 10


def plot_image_gallery(
    images: Any,
    value_range: tuple[float, float],
    scale: float = 2,
    rows: int | None = None,
    cols: int | None = None,
    path: str | os.PathLike | None = None,
    show: bool | None = None,
    transparent: bool = True,
    dpi: float = DEFAULT_DPI,
    legend_handles: list | None = None,
) -> Figure | None:
    """Show images in a grid, save the grid to a file, or both.

    Args:
        images: a batch `[B, H, W, C]` or one image `[H, W, C]` (numpy, `tf.Tensor` or
            any Keras tensor), a list of images, a `tf.RaggedTensor` of images of different
            sizes, or a `tf.data.Dataset` of images, batched or not (elements may also be
            dicts with `"images"` / `"image"`, or `(images, targets)` tuples). `C` is 1
            (grayscale), 3 (RGB) or 4 (RGBA).
        value_range: `(low, high)`: the pixel values shown as black and full intensity,
            e.g. `(0, 255)` or `(0, 1)`. Values outside are clipped.
        scale: size of a cell's longer side, in inches. Cells take the first image's aspect
            ratio.
        rows: rows of the grid. `None`: as needed for the images (a near-square grid when
            `cols` is `None` too).
        cols: columns of the grid. `None`: as needed for the images.
            When both are given the gallery shows the first `rows * cols` images and leaves
            cells without an image blank; from a dataset it takes only that many.
        path: where to save the gallery as an image (PNG unless the name says otherwise).
        show: whether to show the gallery (`plt.show()` on an interactive or notebook
            backend). `None`: show unless `path` is given.
        transparent: save with a transparent background.
        dpi: resolution of the saved file, in dots per inch.
        legend_handles: matplotlib artists (e.g. `matplotlib.patches.Patch`) for a legend
            below the grid.

    Returns:
        The `matplotlib.figure.Figure` when it is not shown, for further work; `None` when
        it is shown (the figure is then closed, so notebooks do not display it twice).

    Raises:
        ValueError: images that are not images, a bad `value_range`, `rows`, `cols` or
            `scale`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.visualization import plot_image_gallery
        >>> images = np.random.default_rng(0).uniform(0, 255, (6, 32, 32, 3))
        >>> fig = plot_image_gallery(images, value_range=(0, 255), rows=2, show=False)
        >>> len(fig.axes)
        6

        >>> from nbdetect.visualization.image_gallery import grid_shape
        >>> grid_shape(8, None, None), grid_shape(8, 1, None), grid_shape(8, 2, 2)
        ((3, 3), (1, 8), (2, 2))
    """
    caller = "plot_image_gallery"
    low, high = checks.value_range(value_range, caller)
    check_grid_options(rows, cols, scale, caller)
    if is_dataset(images):
        image_list = _images_from_dataset(images, rows * cols if rows and cols else None)
    else:
        image_list, _ = as_image_list(images, caller)
    check_channels(image_list, (1, 3, 4), caller)
    rows, cols = grid_shape(len(image_list), rows, cols)
    image_list = image_list[: rows * cols]

    show = path is None if show is None else show
    legend_points = (
        max(_MIN_LEGEND_POINTS, _LEGEND_POINTS_PER_INCH * scale) if legend_handles else 0
    )
    fig = _new_figure(image_list[0].shape, rows, cols, scale, legend_points, managed=show)
    axes = fig.subplots(rows, cols, squeeze=False).reshape(-1)
    for axis in axes:
        axis.set_axis_off()
    for axis, image in zip(axes, image_list):
        shown = np.clip((image.astype(np.float32) - low) / (high - low), 0, 1)
        if shown.shape[-1] == 1:
            axis.imshow(shown[..., 0], cmap="gray", vmin=0, vmax=1)
        else:
            axis.imshow(shown)
    if legend_handles:
        fig.legend(
            handles=legend_handles,
            loc="lower center",
            ncol=len(legend_handles),
            frameon=False,
            fontsize=legend_points,
        )

    if path is not None:
        fig.savefig(path, dpi=dpi, transparent=transparent)
    if not show:
        return fig
    _show_and_close(fig)
    return None


def check_grid_options(rows: Any, cols: Any, scale: Any, caller: str) -> None:
    """Raise unless `rows`/`cols` are whole numbers >= 1 (or None) and `scale` is > 0."""
    checks.whole_number(rows, "rows", caller, none_ok=True, fix="None fits the images")
    checks.whole_number(cols, "cols", caller, none_ok=True, fix="None fits the images")
    checks.number(scale, "scale", caller, 0, low_inclusive=False, fix="inches per image, e.g. 4")


def grid_shape(num_images: int, rows: int | None, cols: int | None) -> tuple[int, int]:
    """Rows and columns of a gallery of `num_images` images.

    Given both, they are kept. Given one, the other grows to fit every image. Given
    neither, the grid is near-square, with no more rows than columns.

    Example:
        >>> from nbdetect.visualization.image_gallery import grid_shape
        >>> grid_shape(8, None, None), grid_shape(8, 1, None), grid_shape(8, 2, 2)
        ((3, 3), (1, 8), (2, 2))
    """
    if rows and cols:
        return rows, cols
    if rows:
        return rows, math.ceil(num_images / rows)
    if cols:
        return math.ceil(num_images / cols), cols
    cols = math.ceil(math.sqrt(num_images))
    return math.ceil(num_images / cols), cols


def _images_from_dataset(dataset: Any, limit: int | None) -> list[np.ndarray]:
    """The first `limit` images of a dataset; without a limit, its first batch (or 9)."""
    images: list[np.ndarray] = []
    for element in dataset:
        value = _element_images(element)
        if tensors.is_ragged(value):
            batch, batched = as_image_list(value, "plot_image_gallery")[0], True
        else:
            array = tensors.to_numpy(value)
            if array.ndim not in (3, 4):
                raise ValueError(
                    "plot_image_gallery() got a dataset whose images have shape "
                    f"{array.shape}; expected [height, width, channels] or "
                    "[batch, height, width, channels]."
                )
            batched = array.ndim == 4
            batch = list(array) if batched else [array]
        images.extend(batch)
        limit = limit or (len(images) if batched else _DEFAULT_DATASET_IMAGES)
        if len(images) >= limit:
            return images[:limit]
    if not images:
        raise ValueError("plot_image_gallery() got an empty dataset; it has no images to show.")
    return images


def _element_images(element: Any) -> Any:
    if isinstance(element, dict):
        for key in ("images", "image"):
            if key in element:
                return element[key]
        raise ValueError(
            "plot_image_gallery() got a dataset of dicts with keys "
            f"{sorted(element)}; expected the images under 'images' or 'image'. Map the "
            "dataset to its images first: dataset.map(lambda x: x['your_key'])."
        )
    if isinstance(element, (tuple, list)):
        return _element_images(element[0])
    return element


def _new_figure(image_shape, rows, cols, scale, legend_points, managed):
    """A figure whose cells match the first image's aspect ratio.

    Only a figure that will be shown goes through pyplot: figures returned to the caller
    stay outside pyplot's registry, so they are never leaked or shown by a later
    `plt.show()`.
    """
    height, width = image_shape[:2]
    cell_width = scale * width / max(height, width)
    cell_height = scale * height / max(height, width)
    gap = _GAP * scale
    # A one-line legend takes about twice its font size, in points (1/72 inch).
    legend = 2.2 * legend_points / 72
    figsize = (
        cols * cell_width + (cols - 1) * gap,
        rows * cell_height + (rows - 1) * gap + legend,
    )
    if managed:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=figsize)
    else:
        fig = Figure(figsize=figsize)
    fig.subplots_adjust(
        left=0,
        right=1,
        top=1,
        bottom=legend / figsize[1],
        wspace=gap / cell_width,
        hspace=gap / cell_height,
    )
    return fig


def _show_and_close(fig: Figure) -> None:
    import matplotlib.pyplot as plt

    if matplotlib.get_backend().lower() not in _NON_INTERACTIVE_BACKENDS:
        plt.show()
    plt.close(fig)
