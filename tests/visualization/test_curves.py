"""line_panels: the loss curves and precision-recall curves, read back and in pixels."""

import io
from collections.abc import Mapping

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from PIL import Image

from nbdetect.visualization.curves import Panel, Series, line_panels, line_panels_png
from nbdetect.visualization.figures import figure_to_png

RECALL = np.linspace(0, 1, 101)  # COCO's 101 recall thresholds


def pr_panels(curves: Mapping[str, Mapping[str, np.ndarray]], operating_points):
    """Precision-recall panels as the evaluation dashboard draws them: one per class.

    `curves`: `{panel: {IoU label: precision [101]}}`; `operating_points`: `{panel:
    (recall, precision)}` of the confidence threshold, marked on the panel's first curve.
    """
    return [
        Panel(
            name,
            [
                Series(RECALL, precision, label=label, color=f"C{i}",
                       point=operating_points[name] if i == 0 else None,
                       point_label="confidence 0.5" if i == 0 else None)
                for i, (label, precision) in enumerate(by_iou.items())
            ],
            xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.05),
        )
        for name, by_iou in curves.items()
    ]  # fmt: skip


def pr_curves_png(curves, operating_points, dpi=100):
    return line_panels_png(pr_panels(curves, operating_points), panel_size=(4, 3.5), dpi=dpi)


CURVES = {
    "all classes": {
        "IoU 0.5": np.clip(1.0 - 0.6 * RECALL**2, 0, 1),
        "IoU 0.75": np.clip(0.9 - 0.8 * RECALL**1.5, 0, 1),
        "IoU 0.5:0.95": np.clip(0.8 - 0.8 * RECALL, 0, 1),
    },
    "cat": {"IoU 0.5": np.where(RECALL <= 0.8, 0.95 - 0.3 * RECALL, 0.0)},
}
POINTS = {"all classes": (0.6, 1.0 - 0.6 * 0.36), "cat": (0.5, 0.8)}


def decode(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def test_pr_curves_read_back():
    figure = line_panels(pr_panels(CURVES, POINTS))
    overall, cat = figure.axes[:2]
    assert [axis.get_title() for axis in figure.axes[:2]] == ["all classes", "cat"]
    assert (overall.get_xlabel(), overall.get_ylabel()) == ("recall", "precision")
    assert overall.get_xlim() == (0, 1) and overall.get_ylim() == (0, 1.05)
    curves = [line for line in overall.lines if line.get_label() in CURVES["all classes"]]
    assert [line.get_label() for line in curves] == ["IoU 0.5", "IoU 0.75", "IoU 0.5:0.95"]
    np.testing.assert_allclose(curves[1].get_xydata()[:, 1], CURVES["all classes"]["IoU 0.75"])
    (point,) = [line for line in cat.lines if line.get_label() == "confidence 0.5"]
    np.testing.assert_allclose(point.get_xydata(), [POINTS["cat"]])
    assert point.get_color() == cat.lines[0].get_color()  # marked in its curve's colour
    legend = [text.get_text() for text in overall.get_legend().get_texts()]
    assert legend == ["IoU 0.5", "confidence 0.5", "IoU 0.75", "IoU 0.5:0.95"]


@pytest.mark.parametrize("panel", ["all classes", "cat"])
def test_the_operating_point_is_drawn_where_it_is(panel):
    def render(points):
        figure = line_panels(pr_panels(CURVES, points), panel_size=(4, 3.5))
        return figure, decode(figure_to_png(figure, dpi=100))

    figure, marked = render(POINTS)
    # The same figure, legend included, with the point outside the axes: only it differs.
    _, unmarked = render({**POINTS, panel: (5.0, 5.0)})
    changed = np.argwhere((marked != unmarked).any(-1))
    axis = figure.axes[list(POINTS).index(panel)]
    # Figure pixels at the figure's dpi (another test may have changed matplotlib's
    # default); the PNG is drawn at 100.
    x, y = axis.transData.transform(POINTS[panel]) * 100 / figure.dpi
    row, column = marked.shape[0] - y, x  # PNG rows count from the top
    assert np.abs(changed.mean(0) - [row, column]).max() < 1.5
    assert 8 < np.ptp(changed[:, 0]) < 16  # a dot about 11 pixels across (8 points at 100 dpi)
    colour = np.round(np.array(to_rgb(axis.lines[0].get_color())) * 255)
    np.testing.assert_array_equal(marked[round(row), round(column)], colour)


def test_loss_curves_leave_out_missing_points_and_count_epochs():
    epochs = np.array([1, 2, 3, 4])
    map_ = np.array([np.nan, 0.2, np.nan, 0.4])  # COCO evaluated every other epoch
    figure = line_panels(
        [
            Panel("loss", [Series(epochs, [1, 0.7, 0.6, 0.5], "training", dots=True)],
                  "epoch", integer_x=True),
            Panel("COCO box AP", [Series(epochs, map_, "val_MaP", "--", dots=True)],
                  "epoch", ylim=(0, None), integer_x=True),
        ]
    )  # fmt: skip
    loss, coco = figure.axes
    assert coco.lines[0].get_xydata().tolist() == [[2, 0.2], [4, 0.4]]
    assert coco.lines[0].get_linestyle() == "--" and loss.lines[0].get_marker() == "o"
    assert coco.get_ylim()[0] == 0
    figure_to_png(figure)  # draws the ticks
    assert all(float(tick).is_integer() for tick in loss.get_xticks())


def test_layout_and_empty_figure():
    panels = [Panel(str(i), [Series([0, 1], [0, 1])]) for i in range(5)]
    image = Image.open(io.BytesIO(line_panels_png(panels, (2, 1.5), dpi=50)))
    assert image.size == (4 * 100, 2 * 75)  # 4 panels a row, 2 rows
    figure = line_panels(panels)
    assert [axis.axison for axis in figure.axes] == [True] * 5 + [False] * 3
    assert figure.axes[0].get_legend() is None  # no labels, no legend
    empty = line_panels([], empty_text="No losses logged yet")
    assert [text.get_text() for text in empty.axes[0].texts] == ["No losses logged yet"]
