"""The widgets in a real browser: JupyterLab + Chromium, driven by Playwright.

Headless tests check what the kernel sends; only a browser shows that ipycanvas draws
it, that a slider moved by a person redraws the boxes, and that hovering reports a box.
Two modes:

- `--notebooks NB ...` opens each notebook in JupyterLab, runs all its cells (Run All)
  and checks from the page: every widget canvas shows boxes (box-colour pixels) and a
  legend, is drawn at its own size (no CSS stretch), and draws nothing beside its images
  (no label crosses into a neighbouring cell); an NMS explorer's sliders show the
  settings the notebook set from Python, and its confidence slider moved with the arrow
  keys changes the boxes per image; a gallery's Next button changes the images and is
  disabled on the last page ("page N of N"); hovering over a box shows its details; a
  `TrainingMonitor`'s table grows while `fit` runs; and the page raised no JavaScript
  error. `--copy DIR` copies a folder next to the notebooks first (CI copies the model
  an earlier run of the notebooks saved in `nbdetect_demo/`, so nothing trains twice).
- without `--notebooks`: a notebook of one cell, an untrained demo RetinaNet whose
  decoder keeps the scores around its 0.01 prior, on 4 shapes images, shown by
  `NMSExplorer` — or, with `--detector keras_hub`, an untrained KerasHub RetinaNet (its
  preprocessor stretches the 192-pixel images to 256, the explorer draws on them as they
  are). It checks the painted canvas, the slider, hovering over a known ground-truth box
  and JavaScript errors.

Screenshots go to `--output`. Needs Debian's `chromium` and `pip install jupyterlab
playwright` (no browser download); `.ci/run` installs them:

    python tools/browser_check.py --output /tmp/browser_check \
        --notebooks notebooks/02_widgets.ipynb notebooks/05_detect_magic.ipynb

Exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CELL_START = """\
import keras
from nbdetect import layers
from nbdetect.demo import build_demo_model, demo_datasets
from nbdetect.widgets import NMSExplorer

keras.utils.set_random_seed(0)
_, test, names = demo_datasets(4, 16, 4, image_size=192)
images, y_true = next(iter(test))
"""
# Untrained: every score sits near the 0.01 prior, so 0.02 keeps none and 0.0 keeps 100.
NBDETECT_MODEL = """\
model = build_demo_model(len(names))
model.prediction_decoder = layers.MultiClassNonMaxSuppression(
    "xywh", from_logits=True, confidence_threshold=0.02, iou_threshold=0.5
)
explorer = NMSExplorer(model, images, y_true, class_mapping=names, cols=4, cell_size=192)"""
KERAS_HUB_MODEL = """\
import keras_hub

encoder = keras_hub.models.ResNetBackbone(
    input_conv_filters=[64], input_conv_kernel_sizes=[7], stackwise_num_filters=[64, 32, 32, 32],
    stackwise_num_blocks=[1, 1, 1, 1], stackwise_num_strides=[1, 2, 2, 2],
    block_type="basic_block", use_pre_activation=False,
)
converter = keras_hub.layers.RetinaNetImageConverter(
    image_size=(256, 256), scale=1 / 255.0, crop_to_aspect_ratio=False
)
model = keras_hub.models.RetinaNetObjectDetector(
    backbone=keras_hub.models.RetinaNetBackbone(
        image_encoder=encoder, min_level=3, max_level=7, use_p5=False
    ),
    num_classes=len(names),
    preprocessor=keras_hub.models.RetinaNetObjectDetectorPreprocessor(image_converter=converter),
    pre_logits_num_conv_layers=1,
)
# Scores at the focal-loss prior (0.01), as the nbdetect check's, and boxes near anchors.
cls, box = model.classification_head.prediction_layer, model.box_head.prediction_layer
cls.kernel.assign(cls.kernel.numpy() * 0.01)
cls.bias.assign(cls.bias.numpy() * 0 - 4.6)
box.kernel.assign(box.kernel.numpy() * 0.1)
box.bias.assign(box.bias.numpy() * 0)
model.prediction_decoder = keras_hub.layers.NonMaxSuppression(
    "yxyx", from_logits=True, confidence_threshold=0.02, iou_threshold=0.5
)
explorer = NMSExplorer(
    model, images, y_true, bounding_box_format="xywh", class_mapping=names, cols=4,
    cell_size=192,
)"""
CELL_END = """
box = y_true["boxes"][0, 0].numpy()
factor = explorer.layout.scale(images.shape[1:])
left, top = explorer.layout.origin(0)
print("TARGET", left + (box[0] + box[2] / 2) * factor, top + (box[1] + box[3] / 2) * factor)
explorer
"""
MODELS = {"nbdetect": NBDETECT_MODEL, "keras_hub": KERAS_HUB_MODEL}


def free_port() -> int:
    """A TCP port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_notebook(folder: pathlib.Path, detector: str = "nbdetect") -> None:
    """`check.ipynb` with the explorer cell on the `detector`'s model, without outputs."""
    cell = CELL_START + MODELS[detector] + CELL_END
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": cell.splitlines(True),
                "id": "explorer",
            }
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (folder / "check.ipynb").write_text(json.dumps(notebook))


def summary_line(node) -> str:
    """The explorer's settings and boxes-per-image line, as the page or element shows it."""
    text = node.inner_text("body") if hasattr(node, "goto") else node.inner_text()
    lines = [line for line in text.splitlines() if "boxes per image" in line]
    return lines[0] if lines else ""


def drive(url: str, output: pathlib.Path, chromium: str) -> list[str]:
    """Run the notebook in Chromium; return the failed checks."""
    from playwright.sync_api import sync_playwright

    failures, errors = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1200})
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url)
        page.wait_for_selector(".jp-InputArea-editor", timeout=120_000)
        time.sleep(3)
        if page.query_selector(".jp-Dialog .jp-mod-accept"):
            page.click(".jp-Dialog .jp-mod-accept")
        page.click(".jp-InputArea-editor")
        page.keyboard.press("Shift+Enter")
        page.wait_for_selector(".jp-OutputArea-output canvas", timeout=300_000)
        time.sleep(6)
        page.screenshot(path=str(output / "explorer_before.png"), full_page=True)
        painted = page.evaluate(
            """() => { const c = document.querySelector('.jp-OutputArea-output canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
        )
        print(f"painted canvas pixels: {painted}")
        if painted < 1000:
            failures.append("the canvas is blank")

        before = summary_line(page)
        handles = page.query_selector_all(
            ".jp-OutputArea-output .noUi-handle, .jp-OutputArea-output .ui-slider-handle"
        )
        handles[1].click()  # confidence_threshold: 0.02 -> 0.00 with arrow keys
        for _ in range(4):
            page.keyboard.press("ArrowLeft")
            time.sleep(0.1)
        time.sleep(4)
        after = summary_line(page)
        page.screenshot(path=str(output / "explorer_after.png"), full_page=True)
        print(f"before: {before}\nafter:  {after}")

        def counts(line):
            return line.split("boxes per image")[-1].split("|")[0]

        if not before or counts(before) == counts(after):
            failures.append("moving the confidence slider did not change the detections")

        canvas = page.query_selector(".jp-OutputArea-output canvas").bounding_box()
        target = next(
            line for line in page.inner_text("body").splitlines() if line.startswith("TARGET")
        )
        x, y = (float(value) for value in target.split()[1:])
        factor = canvas["width"] / float(
            page.evaluate("document.querySelector('.jp-OutputArea-output canvas').width")
        )
        page.mouse.move(canvas["x"] + x * factor - 2, canvas["y"] + y * factor - 2)
        page.mouse.move(canvas["x"] + x * factor, canvas["y"] + y * factor)
        time.sleep(2)
        details = [line for line in page.inner_text("body").splitlines() if "xyxy [" in line]
        print(f"hover: {details[:1]}")
        if not details:
            failures.append("hovering over a box showed no details")
        if errors:
            failures.append(f"JavaScript errors: {errors}")
        browser.close()
    return failures


# Box colours of nbdetect's widgets (scene.py's styles), as JavaScript [r, g, b] lists.
def box_colours() -> list[list[int]]:
    """The RGB colours nbdetect's widgets draw boxes in."""
    sys.path.insert(0, str(ROOT))
    from nbdetect.widgets import scene

    styles = [value for value in vars(scene).values() if isinstance(value, scene.BoxStyle)]
    return sorted({tuple(style.color) for style in styles})


# Per widget output (an output area holding canvases): how many pixels have a box colour.
COUNT_BOX_PIXELS = """(colours) => {
  const near = (d, i) => colours.some(c =>
    Math.abs(d[i] - c[0]) + Math.abs(d[i + 1] - c[1]) + Math.abs(d[i + 2] - c[2]) < 12);
  return [...document.querySelectorAll('.jp-OutputArea-output')]
    .filter(o => o.querySelector('canvas'))
    .map(o => {
      let n = 0;
      for (const c of o.querySelectorAll('canvas')) {
        if (!c.width || !c.height) continue;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && near(d, i)) n++;
      }
      return n;
    });
}"""
# A short fingerprint of the pixels of the canvases in one output area.
CANVAS_HASH = """(output) => {
  let h = 0;
  for (const c of output.querySelectorAll('canvas')) {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 97) h = (h * 31 + d[i]) | 0;
  }
  return h;
}"""
# Rows of the TrainingMonitor's table (the HTML table whose header has "epoch").
MONITOR_ROWS = """() => Math.max(0, ...[...document.querySelectorAll('.jp-OutputArea-output table')]
  .filter(t => /epoch/.test(t.querySelector('tr')?.innerText || ''))
  .map(t => t.querySelectorAll('tr').length - 1))"""
# Widget outputs whose static picture (the next output) is still shown beside the widget.
DOUBLED = """() => [...document.querySelectorAll('.jp-OutputArea-output')]
  .filter(o => o.querySelector('canvas'))
  .filter(o => o.closest('.jp-OutputArea-child')?.nextElementSibling?.querySelector('img'))
  .length"""
# Per widget output: whether it shows a legend (the HTML under its canvas) naming a style.
LEGEND = """(output) => (output.querySelector('.nbdetect-legend')?.innerText || '').trim()"""
# Per widget output: canvases whose CSS box differs from their pixel size (a stretched,
# blurred canvas), as "width x height shown as W x H".
STRETCHED = """() => [...document.querySelectorAll('.jp-OutputArea-output canvas')]
  .filter(c => c.width && c.getBoundingClientRect().width)
  .filter(c => Math.abs(c.getBoundingClientRect().width - c.width) > 1
            || Math.abs(c.getBoundingClientRect().height - c.height) > 1)
  .map(c => `${c.width} x ${c.height} shown as ${c.getBoundingClientRect().width} x `
            + `${c.getBoundingClientRect().height}`)"""
# Per widget output: pixels drawn in the gaps between the grid's cells, where a label
# crossing into a neighbouring image would be. The canvas names its cell size in a class
# (nbdetect-cells-N); cells are N pixels wide with 4-pixel gaps between them.
BETWEEN_CELLS = """() => [...document.querySelectorAll('.jp-OutputArea-output')]
  .map(o => o.querySelector('[class*="nbdetect-cells-"]'))
  .filter(e => e)
  .map(e => {
    const size = +[...e.classList].find(c => c.startsWith('nbdetect-cells-')).slice(15);
    const c = e.tagName === 'CANVAS' ? e : e.querySelector('canvas');
    const w = c.width, h = c.height, gap = 4;
    const d = c.getContext('2d').getImageData(0, 0, w, h).data;
    let n = 0;
    for (let x0 = size; x0 < w; x0 += size + gap)
      for (let x = x0; x < Math.min(x0 + gap, w); x++)
        for (let y = 0; y < h; y++) if (d[(y * w + x) * 4 + 3] > 128) n++;
    return n;
  })"""
# The readouts of a widget output's sliders, in order ("0.40").
READOUTS = """(output) => [...output.querySelectorAll('.widget-readout')]
  .map(r => (r.innerText || r.value || '').trim())"""
RUNNING = """() => [...document.querySelectorAll('.jp-InputArea-prompt')]
  .some(p => p.innerText.includes('*'))"""


def run_all(page, timeout: float = 900.0) -> list[int]:
    """Run all cells of the open notebook; the monitor table's row counts seen meanwhile."""
    page.click(".jp-Notebook")
    page.click("text=Run", timeout=30_000)
    page.click("text=Run All Cells", timeout=30_000)
    rows_seen, start = [], time.time()
    time.sleep(2)
    while time.time() - start < timeout:
        rows = page.evaluate(MONITOR_ROWS)
        if rows > 0 and (not rows_seen or rows != rows_seen[-1]):
            rows_seen.append(rows)
        if not page.evaluate(RUNNING):
            break
        time.sleep(0.5)
    time.sleep(5)  # widgets draw after the kernel goes idle
    return rows_seen


def output_with(page, text: str, button: str | None = None):
    """The first widget output (it holds a canvas) showing `text` and an enabled `button`.

    JupyterLab skips rendering cells off the screen (their text reads empty), so each
    output is scrolled into view before it is read.
    """
    for output in page.query_selector_all(".jp-OutputArea-output"):
        if not output.query_selector("canvas"):
            continue
        output.scroll_into_view_if_needed()
        time.sleep(0.2)
        if text not in output.inner_text():
            continue
        if button is None or output.query_selector(f"button:has-text('{button}'):not([disabled])"):
            return output
    return None


def hover_details(page, output) -> str:
    """Move the mouse over `output`'s canvas until a box's details show; the line.

    Each mouse move is a round trip through the kernel (ipycanvas sends the event, the
    widget's Python answers with the details), so a sweep that finds nothing is repeated
    once with the mouse resting longer at each point, as a person's would: a kernel slowed
    by other work on a shared CI machine is not a broken hover, a second silent sweep is.
    """
    # The grid's canvas (a dashboard also has its confusion matrix's, maybe hidden).
    grid = output.query_selector(
        "canvas[class*='nbdetect-cells-'], [class*='nbdetect-cells-'] canvas"
    )
    canvas = (grid or output.query_selector("canvas")).bounding_box()
    for rest in (0.05, 0.4):
        for fy in [i / 12 for i in range(1, 12)]:
            for fx in [i / 16 for i in range(1, 16)]:
                x = canvas["x"] + fx * canvas["width"]
                page.mouse.move(x, canvas["y"] + fy * canvas["height"])
                time.sleep(rest)
                lines = [line for line in output.inner_text().splitlines() if "xyxy [" in line]
                if lines:
                    return lines[0]
        print(f"  no hover details after a sweep resting {rest} s at each point", flush=True)
    return ""


def check_notebook(page, name: str, output: pathlib.Path, colours, base: str) -> list[str]:
    """Run one notebook in the open JupyterLab and check its widgets; the failures."""
    failures = []
    page.goto(f"{base}/lab/tree/{name}?reset&token=check")  # reset: only this notebook open
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    time.sleep(3)
    if page.query_selector(".jp-Dialog .jp-mod-accept"):
        page.click(".jp-Dialog .jp-mod-accept")
    rows_seen = run_all(page)
    stem = pathlib.Path(name).stem
    news = page.query_selector(".Toastify button:has-text('No')")
    if news is not None:  # JupyterLab's "get notified about news?" toast covers widgets
        news.click()
    # The notebook scrolls inside the page: one picture per widget output.
    widgets = [
        o for o in page.query_selector_all(".jp-OutputArea-output") if o.query_selector("canvas")
    ]
    for number, widget in enumerate(widgets, 1):
        widget.scroll_into_view_if_needed()
        time.sleep(0.3)
        widget.screenshot(path=str(output / f"{stem}_widget_{number}.png"))
    tracebacks = [
        stderr.inner_text()[-500:]
        for stderr in page.query_selector_all(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
        )
        if "Traceback" in stderr.inner_text()
        or re.search(r"^\w+Error: ", stderr.inner_text(), re.M)
    ]
    if tracebacks:
        failures.append(f"{name}: a cell raised: {tracebacks[0]}")

    counts = page.evaluate(COUNT_BOX_PIXELS, colours)
    print(f"{name}: {len(counts)} widget outputs; box-colour pixels per widget: {counts}")
    if not counts:
        failures.append(f"{name}: no widget canvas on the page")
    doubled = page.evaluate(DOUBLED)
    if doubled:
        failures.append(f"{name}: {doubled} widgets still show their static picture too")
    for number, count in enumerate(counts, 1):
        if count < 50:
            failures.append(f"{name}: widget {number}'s canvas shows no boxes ({count} pixels)")
    legends = []
    for widget in widgets:  # JupyterLab leaves the text of cells off the screen empty
        widget.scroll_into_view_if_needed()
        time.sleep(0.2)
        legends.append(page.evaluate(LEGEND, widget))
    print(f"{name}: legends: {[legend[:50] for legend in legends]}")
    for number, legend in enumerate(legends, 1):
        if "ground truth" not in legend and "prediction" not in legend:
            failures.append(f"{name}: widget {number} shows no legend")
    stretched = page.evaluate(STRETCHED)
    if stretched:
        failures.append(f"{name}: canvases stretched by CSS: {stretched}")
    between = page.evaluate(BETWEEN_CELLS)
    print(f"{name}: pixels drawn between the cells, per widget: {between}")
    if len(between) != len(widgets):
        failures.append(f"{name}: {len(widgets)} widget canvases but {len(between)} grids found")
    for number, count in enumerate(between, 1):
        if count:
            failures.append(f"{name}: widget {number} draws {count} pixels between its cells")
    if rows_seen:
        print(f"{name}: monitor table rows while fit ran: {rows_seen}")
        if len(rows_seen) < 2:
            failures.append(f"{name}: the monitor's table did not grow while fit ran")

    explorer = output_with(page, "boxes per image")
    if explorer is not None:
        explorer.scroll_into_view_if_needed()
        before = summary_line(explorer)
        # The notebook sets the explorer's settings from Python: the sliders must show them.
        readouts = page.evaluate(READOUTS, explorer)
        settings = dict(re.findall(r"(iou_threshold|confidence_threshold) ([0-9.]+)", before))
        print(f"{name}: explorer slider readouts {readouts}; summary settings {settings}")
        for key in settings:
            if settings[key] not in readouts:
                failures.append(
                    f"{name}: the explorer's {key} is {settings[key]} but no slider shows it "
                    f"(readouts {readouts})"
                )
        handle = explorer.query_selector_all(".noUi-handle, .ui-slider-handle")[1]
        handle.scroll_into_view_if_needed()
        handle.click()
        for _ in range(25):  # confidence_threshold: down 0.25 in 0.01 steps
            page.keyboard.press("ArrowLeft")
            time.sleep(0.05)
        time.sleep(4)
        after = summary_line(explorer)
        print(f"{name}: explorer before: {before}\n{name}: explorer after:  {after}")
        if counts_of(before) == counts_of(after):
            failures.append(f"{name}: moving the confidence slider did not change the boxes")
        details = hover_details(page, explorer)
        print(f"{name}: explorer hover: {details}")
        if not details:
            failures.append(f"{name}: hovering over the explorer's boxes showed no details")

    failures += check_dashboard(page, name, output)

    gallery = output_with(page, "ground truth", button="Next")
    if gallery is not None:
        gallery.scroll_into_view_if_needed()
        before = page.evaluate(CANVAS_HASH, gallery)
        gallery.query_selector("button:has-text('Next'):not([disabled])").click()
        time.sleep(4)
        after = page.evaluate(CANVAS_HASH, gallery)
        print(f"{name}: gallery canvas before/after Next: {before} / {after}")
        if before == after:
            failures.append(f"{name}: the gallery's Next button did not change the images")
        details = hover_details(page, gallery)
        print(f"{name}: gallery hover: {details}")
        if not details:
            failures.append(f"{name}: hovering over the gallery's boxes showed no details")
        # Paging knows its end: Next is disabled on the last page, which says "N of N".
        for _ in range(20):
            button = gallery.query_selector("button:has-text('Next'):not([disabled])")
            if button is None:
                break
            button.click()
            time.sleep(2)
        status = re.search(r"page (\d+) of (\S+)", gallery.inner_text())
        print(f"{name}: gallery after paging to the end: {status and status.group(0)}")
        if status is None or status.group(1) != status.group(2):
            failures.append(f"{name}: the gallery's last page does not say so: {status}")
    page.screenshot(path=str(output / f"{stem}_after_checks.png"), full_page=True)
    return failures


# The grid canvas of an output (the gallery's, not the confusion matrix's).
GRID_HASH = """(output) => {
  const e = output.querySelector('[class*="nbdetect-cells-"]');
  const c = e.tagName === 'CANVAS' ? e : e.querySelector('canvas');
  let h = 0;
  for (const layer of e.tagName === 'CANVAS' ? [e] : e.querySelectorAll('canvas')) {
    const d = layer.getContext('2d').getImageData(0, 0, layer.width, layer.height).data;
    for (let i = 0; i < d.length; i += 97) h = (h * 31 + d[i]) | 0;
  }
  return h;
}"""


def check_dashboard(page, name: str, output: pathlib.Path) -> list[str]:
    """An evaluation dashboard's Confusion tab and a click on one of its cells.

    The tab must draw the matrix, and a click on a cell must filter the gallery: the
    caption names the cell and the gallery's pixels change.
    """
    dashboard = output_with(page, "Errors (TIDE)")
    if dashboard is None:
        return []
    failures = []
    dashboard.scroll_into_view_if_needed()
    tab = dashboard.query_selector(
        ".lm-TabBar-tab:has-text('Confusion'), .p-TabBar-tab:has-text('Confusion')"
    )
    if tab is None:
        return [f"{name}: the dashboard has no Confusion tab"]
    tab.click()
    time.sleep(3)
    matrix = dashboard.query_selector("canvas.nbdetect-confusion, .nbdetect-confusion canvas")
    if matrix is None:
        return [f"{name}: the dashboard's Confusion tab shows no matrix canvas"]
    classes = page.evaluate("(e) => (e.closest('.nbdetect-confusion') || e).className", matrix)
    found = re.search(r"nbdetect-matrix-(\d+)-(\d+)-(\d+)", classes)
    if found is None:
        return [f"{name}: the matrix canvas does not name its geometry ({classes})"]
    left, top, cell = (int(v) for v in found.groups())
    box = matrix.bounding_box()
    before = page.evaluate(GRID_HASH, dashboard)
    # The first class's diagonal cell: its truths found as themselves.
    page.mouse.click(box["x"] + left + cell / 2, box["y"] + top + cell / 2)
    time.sleep(4)
    after = page.evaluate(GRID_HASH, dashboard)
    caption = [line for line in dashboard.inner_text().splitlines() if "Gallery:" in line]
    print(f"{name}: dashboard after a click on a confusion cell: {caption}")
    print(f"{name}: dashboard gallery canvas before/after: {before} / {after}")
    dashboard.screenshot(path=str(output / f"{pathlib.Path(name).stem}_dashboard_confusion.png"))
    if not caption or "truth" not in caption[0] or "predicted" not in caption[0]:
        failures.append(f"{name}: a click on a confusion cell did not select it: {caption}")
    if before == after:
        failures.append(f"{name}: a click on a confusion cell did not change the gallery")
    return failures


def counts_of(line: str) -> str:
    """The boxes-per-image part of the explorer's summary line."""
    return line.split("boxes per image")[-1].split("|")[0]


def drive_notebooks(base: str, names: list[str], output: pathlib.Path, chromium: str) -> list[str]:
    """Run and check each notebook in one browser; the failures."""
    from playwright.sync_api import sync_playwright

    failures, errors = [], []
    colours = [list(colour) for colour in box_colours()]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1200})
        page.on("pageerror", lambda error: errors.append(str(error)))
        for name in names:
            try:
                failures += check_notebook(page, name, output, colours, base)
            except Exception as error:  # a timeout: keep going, with a picture of the page
                page.screenshot(path=str(output / f"{pathlib.Path(name).stem}_failed.png"))
                failures.append(f"{name}: {type(error).__name__}: {str(error).splitlines()[0]}")
        if errors:
            failures.append(f"JavaScript errors: {errors}")
        browser.close()
    return failures


def main() -> int:
    """Run the check; the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="browser_check", help="folder for screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument(
        "--detector",
        choices=sorted(MODELS),
        default="nbdetect",
        help="the explorer's model: nbdetect's RetinaNet, or KerasHub's (needs keras-hub)",
    )
    parser.add_argument("--notebooks", nargs="+", help="notebooks to run and check, in order")
    parser.add_argument("--copy", nargs="*", default=[], help="folders to put beside them")
    args = parser.parse_args()
    output = pathlib.Path(args.output).resolve()
    output.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        root = pathlib.Path(folder)
        if args.notebooks:
            for notebook in args.notebooks:
                shutil.copy(notebook, root)
            for extra in args.copy:
                shutil.copytree(extra, root / pathlib.Path(extra).name)
        else:
            write_notebook(root, args.detector)
        environment = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TF_CPP_MIN_LOG_LEVEL": "3",
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                f"--port={port}",
                "--ServerApp.token=check",
                f"--ServerApp.root_dir={folder}",
                "--allow-root",
            ],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(10)
            base = f"http://127.0.0.1:{port}"
            if args.notebooks:
                names = [pathlib.Path(notebook).name for notebook in args.notebooks]
                failures = drive_notebooks(base, names, output, args.chromium)
            else:
                url = f"{base}/lab/tree/check.ipynb?token=check"
                failures = drive(url, output, args.chromium)
        finally:
            server.terminate()
            server.wait(timeout=30)
    for failure in failures:
        print(f"FAILED: {failure}")
    print(f"screenshots in {output}")
    print("browser check passed" if not failures else "browser check failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
