"""The NMS explorer in a real browser: JupyterLab + Chromium, driven by Playwright.

Headless tests check what the kernel sends; only a browser shows that ipycanvas draws
it, that a slider moved by a person redraws the boxes, and that hovering reports a box.
This script:

1. writes a notebook that trains nothing: an untrained demo RetinaNet whose decoder keeps
   the scores around its 0.01 prior, on 4 shapes images, shown by `NMSExplorer` — or,
   with `--detector keras_hub`, an untrained KerasHub RetinaNet (its preprocessor
   stretches the 192-pixel images to 256, the explorer draws on them as they are);
2. starts JupyterLab on a free port with a fixed token, opens the notebook in Chromium
   and runs the cell;
3. checks that the canvas is painted, moves the confidence slider with the arrow keys and
   checks that the boxes per image change, hovers over a ground-truth box and checks the
   details line, and that the page raised no JavaScript error.

Screenshots go to `--output`. Needs what CI does not install (offline here: Debian's
`chromium`, and `pip install jupyterlab playwright`; no browser download):

    python tools/browser_check.py --output /tmp/browser_check

Exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
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


def summary_line(page) -> str:
    """The explorer's settings and boxes-per-image line, as the page shows it."""
    lines = [line for line in page.inner_text("body").splitlines() if "boxes per image" in line]
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
    args = parser.parse_args()
    output = pathlib.Path(args.output).resolve()
    output.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        write_notebook(pathlib.Path(folder), args.detector)
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
            url = f"http://127.0.0.1:{port}/lab/tree/check.ipynb?token=check"
            failures = drive(url, output, args.chromium)
        finally:
            server.terminate()
            server.wait(timeout=30)
    for failure in failures:
        print(f"FAILED: {failure}")
    print("browser check passed" if not failures else "browser check failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
