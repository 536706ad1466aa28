"""The evaluation dashboard's panels as text, HTML and pictures (live and in its PNG)."""

from __future__ import annotations

import html
import io
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from nbdetect.analysis.class_rows import sort_rows
from nbdetect.visualization import labels
from nbdetect.visualization.tables import Table
from nbdetect.widgets.matrix_picture import MatrixPicture
from nbdetect.widgets.scene import render_png

# Lists whose rows are table rows need a fixed-width font to line up (ipywidgets 7.7 has
# no font trait on a Select; a class and a style rule work in 7 and 8).
STYLE = (
    "<style>.nbdetect-mono select, .nbdetect-mono option, .nbdetect-mono pre "
    "{font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 12px;}"
    ".nbdetect-mono pre {margin: 0;}</style>"
)

# Column key -> header, in the order shown. AP-like columns sort worst (lowest) first,
# counts most first, names alphabetically (`nbdetect.analysis.sort_rows`: n/a last).
TABLE_COLUMNS = {
    "name": "class",
    "ap": "AP",
    "ap50": "AP50",
    "ap75": "AP75",
    "ar": "AR",
    "num_truth": "#truth",
    "tp": "TP",
    "fp": "FP",
    "fn": "FN",
}
_ASCENDING = {"name", "ap", "ap50", "ap75", "ar"}
ALL_CLASSES = "all"
DISAGREEMENT = "disagreement"


def _score(value: Any) -> str:
    """An AP-like number, `n/a` where COCO has none (-1, NaN)."""
    value = float(value)
    return "n/a" if value < 0 or np.isnan(value) else f"{value:.3f}"


def _signed(value: Any) -> str:
    value = float(value)
    return "n/a" if np.isnan(value) else f"{value:+.3f}"


def _table(columns: dict[str, str], scores=(), signed=()) -> Table:
    """A `Table` over `columns` ({key: header}): names left, scores with 3 decimals."""
    formats = {header: _score for key, header in columns.items() if key in scores}
    formats.update({header: _signed for key, header in columns.items() if key in signed})
    return Table(list(columns.values()), left=[columns["name"]], formats=formats, min_width=5)


def _lines(table: Table, rows: list[dict]) -> tuple[str, list[str]]:
    """The header (names and rule) and one line per row of `table.text(rows)`."""
    lines = table.text(rows).splitlines()
    depth = len(lines) - len(rows)
    return "\n".join(lines[:depth]), lines[depth:]


def _pre(text: str) -> str:
    return f"<pre>{html.escape(text)}</pre>"


def _class_rows(dashboard) -> tuple[list, list[dict]]:
    rows = dashboard.evaluation.class_table(dashboard.iou_threshold, dashboard.confidence_threshold)
    key = dashboard.table_sort
    rows = sort_rows(rows, key, descending=key not in _ASCENDING)
    return rows, [{TABLE_COLUMNS[k]: getattr(row, k) for k in TABLE_COLUMNS} for row in rows]


_CLASS_TABLE = _table(TABLE_COLUMNS, scores=("ap", "ap50", "ap75", "ar"))


def class_table_options(dashboard) -> tuple[str, list[tuple[str, Any]], Any]:
    """The class table: header HTML, list rows `(text, class_id)`, the selected row."""
    rows, cells = _class_rows(dashboard)
    header, lines = _lines(_CLASS_TABLE, cells)
    options = [("(all classes: every image)", ALL_CLASSES)]
    options += [(line, int(row.class_id)) for line, row in zip(lines, rows)]
    selection = tuple(dashboard.selection)
    value = selection[1] if selection[0] == "class" else ALL_CLASSES
    return _pre(header), options, value


def class_table_text(dashboard) -> str:
    """The class table as fixed-width text (for the PNG)."""
    return _CLASS_TABLE.text(_class_rows(dashboard)[1])


def summary_html(dashboard) -> str:
    """One line per model: its COCO summary and what was evaluated."""
    lines = []
    for name, evaluation in dashboard.evaluations.items():
        result = evaluation.result
        numbers = " | ".join(
            f"{key} {_score(result[key])}"
            for key in ("MaP", "MaP@[IoU=50]", "MaP@[IoU=75]", "Recall@[max_detections=100]")
        )
        prefix = f"<b>{html.escape(name)}</b>: " if len(dashboard.evaluations) > 1 else ""
        lines.append(
            f"{prefix}{html.escape(numbers)} — {evaluation.num_images} images, "
            f"{len(evaluation.class_ids)} classes, {len(evaluation.ground_truth.classes)} "
            f"truths, {len(evaluation.detections.classes)} detections"
        )
    return "<br>".join(lines)


def selection_html(dashboard) -> str:
    """The gallery's caption: what is selected, and how many images."""
    chosen = dashboard.current()
    text = f"Gallery: {chosen.title}"
    if dashboard.selection[0] != "all":  # "all 96 images" counts itself
        text += f" — {len(chosen.image_ids)} images"
    return f"<b>{html.escape(text)}</b>"


def _class_name(dashboard, class_id: int) -> str:
    return dashboard.evaluation.class_names.get(int(class_id), str(class_id))


def confusion_picture(dashboard) -> tuple[MatrixPicture, np.ndarray]:
    """The confusion matrix at the current thresholds, with the selected cell outlined."""
    evaluation = dashboard.evaluation
    matrix = evaluation.confusion_matrix(
        dashboard.iou_threshold, dashboard.confidence_threshold
    ).matrix
    names = [_class_name(dashboard, c) for c in evaluation.class_ids] + ["background"]
    picture = MatrixPicture.for_labels(names)
    selection = tuple(dashboard.selection)
    selected = tuple(selection[1:3]) if selection[0] == "confusion" else None
    return picture, picture.draw(np.asarray(matrix), names, selected)


def error_options(dashboard) -> tuple[list[tuple[str, str]], Any, str]:
    """The TIDE list rows `(text, kind)`, the selected kind, and the per-class table."""
    from nbdetect.analysis.tide import ERROR_KINDS

    tide = dashboard._selections.tide(dashboard.model)
    options = [(f"{kind:<16} dAP {tide.main_errors[kind]:6.2f}", kind) for kind in ERROR_KINDS]
    selection = tuple(dashboard.selection)
    value = selection[1] if selection[0] == "error" else None
    columns = {"name": "class", **{kind: kind[:6] for kind in ERROR_KINDS}}
    rows = [
        {
            "class": _class_name(dashboard, class_id),
            **{kind[:6]: tide.per_class[kind].get(int(class_id), 0.0) for kind in ERROR_KINDS},
        }
        for class_id in dashboard.evaluation.class_ids
    ]
    formats = {kind[:6]: "{:.2f}".format for kind in ERROR_KINDS}
    table = Table(list(columns.values()), left=["class"], formats=formats, min_width=5)
    intro = (
        f"TIDE at IoU 0.5 (background below 0.1): AP50 {tide.ap:.2f}. dAP: the AP50 (x100)\n"
        "gained if that kind of error were fixed. Click a kind to see its boxes.\n\n"
    )
    return options, value, _pre(intro + table.text(rows))


def compare_options(dashboard) -> tuple[str, list[tuple[str, Any]], Any]:
    """The comparison table: header, rows `(text, class_id)`, the selected row."""
    comparison = dashboard._selections.comparison(
        dashboard.iou_threshold, dashboard.confidence_threshold
    )
    a, b = dashboard.names
    columns = {"name": "class", "ap_a": f"AP {a}", "ap_b": f"AP {b}", "difference": f"{b} - {a}"}
    table = _table(columns, scores=("ap_a", "ap_b"), signed=("difference",))
    rows = sorted(
        comparison.rows,
        key=lambda r: -abs(float(r.difference)) if not np.isnan(r.difference) else 1.0,
    )
    cells = [{columns[k]: getattr(row, k) for k in columns} for row in rows]
    header, lines = _lines(table, cells)
    options = [("(images where the two models disagree most)", DISAGREEMENT)]
    options += [(line, int(row.class_id)) for line, row in zip(lines, rows)]
    selection = tuple(dashboard.selection)
    value = {"disagreement": DISAGREEMENT, "compare": selection[-1]}.get(selection[0])
    return _pre(header), options, value


def curves_png(dashboard, dpi: int = 80) -> bytes:
    """Precision-recall curves of all classes and of the selected class, as a PNG.

    At IoU 0.5, 0.75 and the COCO average (and the current IoU threshold). The confidence
    threshold's operating point is marked on the current threshold's curve: at the recall
    the threshold gives (for all classes, the mean over classes), at the curve's height
    there (the table gives the precision of the detections above it).
    """
    from nbdetect.visualization.curves import Panel, Series, line_panels_png

    evaluation = dashboard.evaluation
    selection = tuple(dashboard.selection)
    chosen = [None]
    if selection[0] in ("class", "compare"):
        chosen.append(int(selection[-1]))
    iou = round(dashboard.iou_threshold, 2)
    curves = [(0.5, "IoU 0.50"), (0.75, "IoU 0.75"), ("coco", "IoU 0.50:0.95")]
    if iou not in (0.5, 0.75):
        curves.insert(2, (iou, f"IoU {iou:.2f}"))
    panels = []
    for class_id in chosen:
        recall = _recall_at(evaluation, class_id, iou, dashboard.confidence_threshold)
        series = []
        for key, label in curves:
            curve = evaluation.pr_curve(class_id, key)
            marked = key == iou and np.isfinite(recall)
            # Where the threshold puts the model on this curve: its recall there, and the
            # curve's (interpolated) precision at that recall.
            point = None
            if marked:
                shown = np.isfinite(curve.precision)
                height = np.interp(recall, curve.recall[shown], curve.precision[shown])
                point = (recall, float(height)) if shown.any() else None
            series.append(
                Series(
                    curve.recall,
                    curve.precision,
                    label,
                    style="-" if key != "coco" else "--",
                    point=point,
                    point_label=(
                        f"confidence >= {dashboard.confidence_threshold:.2f}" if marked else None
                    ),
                )
            )
        title = "all classes" if class_id is None else _class_name(dashboard, class_id)
        panels.append(Panel(title, series, "recall", "precision", (0, 1), (0, 1.02)))
    return line_panels_png(panels, panel_size=(4.2, 3.4), dpi=dpi)


def _recall_at(evaluation, class_id, iou: float, confidence: float) -> float:
    """The recall at `confidence` of one class, or of all classes.

    For all classes, the mean over the classes with truth: the all-classes curve is a
    mean over classes at each recall.
    """
    if class_id is not None:
        return float(evaluation.operating_point(class_id, iou, confidence)[0])
    recalls = [
        evaluation.operating_point(int(row.class_id), iou, confidence)[0]
        for row in evaluation.class_table(iou, confidence)
        if row.num_truth > 0
    ]
    return float(np.mean(recalls)) if recalls else float("nan")


def tide_text(dashboard) -> str:
    """TIDE's main and special errors of the model shown, as lines of text."""
    from nbdetect.analysis.tide import ERROR_KINDS

    tide = dashboard._selections.tide(dashboard.model)
    lines = [f"TIDE (IoU 0.5): AP50 {tide.ap:.2f}; AP50 gained if fixed (dAP):"]
    lines += [f"  {kind:<16}{tide.main_errors[kind]:6.2f}" for kind in ERROR_KINDS]
    lines += [f"  {kind:<16}{value:6.2f}" for kind, value in tide.special_errors.items()]
    return "\n".join(lines)


def dashboard_png(dashboard) -> bytes:
    """Every view of the dashboard in one picture: for frontends without widgets."""
    cells = dashboard.cells()
    gallery = Image.open(
        io.BytesIO(
            render_png(
                cells,
                dashboard.layout,
                dashboard.class_mapping,
                dashboard.legend(cells),
                dashboard.status(),
            )
        )
    ).convert("RGB")
    _, matrix = confusion_picture(dashboard)
    curves = Image.open(io.BytesIO(curves_png(dashboard))).convert("RGB")
    table = _text_picture(
        "\n\n".join(
            [_plain(summary_html(dashboard)), class_table_text(dashboard), tide_text(dashboard)]
        )
    )
    top = _side_by_side([table, Image.fromarray(matrix), curves])
    width = max(top.width, gallery.width)
    page = Image.new("RGB", (width, top.height + gallery.height + 8), "white")
    page.paste(top, (0, 0))
    page.paste(gallery, (0, top.height + 8))
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")
    return buffer.getvalue()


def _plain(markup: str) -> str:
    import re

    return html.unescape(re.sub(r"<br>", "\n", re.sub(r"<(?!br)[^>]+>", "", markup)))


def _text_picture(text: str, font_px: int = 11) -> Image.Image:
    font = labels.load_font(font_px, monospace=True)
    lines = text.splitlines() or [""]
    width = int(max(font.getlength(line) for line in lines)) + 12
    picture = Image.new("RGB", (width, (font_px + 4) * len(lines) + 12), "white")
    draw = ImageDraw.Draw(picture)
    for index, line in enumerate(lines):
        draw.text((6, 6 + index * (font_px + 4)), line, fill="black", font=font)
    return picture


def _side_by_side(pictures: list[Image.Image]) -> Image.Image:
    width = sum(p.width for p in pictures) + 8 * (len(pictures) - 1)
    height = max(p.height for p in pictures)
    row = Image.new("RGB", (width, height), "white")
    x = 0
    for picture in pictures:
        row.paste(picture, (x, 0))
        x += picture.width + 8
    return row
