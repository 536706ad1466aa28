"""The NMS explorer's latency: from a slider change to the canvas commands being sent.

Eight 512x512 images with the raw outputs of a 20-class RetinaNet head (49,104 anchors, the
synthetic detector of `benchmarks/nms.py`: 5 objects per image, about 150 (box, class)
pairs above 0.5 each). The explorer is built once (the network's outputs are given, as
`predict_raw` would return them), then each slider is moved back and forth; a move is
timed from setting the slider's value to the last message ipycanvas sends (captured in
the kernel, no browser), with its parts: NMS selection, the COCO mAP of what is shown,
and drawing. Target: median under 50 ms.

Peers, measured in the same run on the same outputs:
- KerasCV 0.9's way to see other thresholds: a new `MultiClassNonMaxSuppression` and
  `predict` again; only its decoding is timed here (the network would add seconds);
- redrawing the guide's static gallery (`plot_bounding_box_gallery`, matplotlib) of the
  new detections, which a notebook without widgets re-runs for every setting.

Then the evaluation dashboard at `--dashboard-images` images (`dashboard_clicks.py`): its
evaluation against `COCOEvaluator.compute()` on the same data, and each kind of click to
a redrawn gallery (target: under 100 ms).

Run (about 4 minutes on 2 cores):
    python benchmarks/widgets.py [--repeats 15] [--dashboard-images 5000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import dashboard_clicks  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
from nms import CLASSES, IMAGE_SIZE, detector_outputs  # noqa: E402

from nbdetect.layers import MultiClassNonMaxSuppression  # noqa: E402
from nbdetect.models.detector import Detector, InputWindow  # noqa: E402

NUM_IMAGES = 8


class CachedHead:
    """The synthetic detector as a model: raw outputs given, decoded by nbdetect's NMS."""

    def __init__(self, boxes: np.ndarray, logits: np.ndarray) -> None:
        self.boxes, self.logits = boxes, logits
        self.bounding_box_format = "xywh"
        self.prediction_decoder = MultiClassNonMaxSuppression("xywh", from_logits=True)

    def predict(self, images, verbose=0):
        return self.prediction_decoder(self.boxes, self.logits)


class CachedDetector(Detector):
    """`CachedHead` as `NMSExplorer` sees it: its sweep gets the given boxes and logits.

    As `Detector` gives the sweep `predict_raw` and `decode_boxes` of nbdetect's RetinaNet,
    without the network.
    """

    def __init__(self, head: CachedHead) -> None:
        super().__init__(head)
        self.library = "nbdetect"  # its decoder is nbdetect's NMS: the sweep re-runs it

    def _nms_inputs(self, batch: np.ndarray):
        shape = batch.shape[1:3]
        return self.model.boxes, self.model.logits, InputWindow.identity(*shape)


class SentMessages:
    """Records the time of every message ipycanvas sends to the browser."""

    def __init__(self) -> None:
        from ipycanvas import canvas

        self.manager = canvas._CANVAS_MANAGER
        self.original = self.manager._send_custom
        self.times: list[float] = []
        self.manager._send_custom = self.record

    def record(self, command, buffers=()):
        self.times.append(time.perf_counter())
        return self.original(command, list(buffers))


def images() -> np.ndarray:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (NUM_IMAGES, 1, 1, 3))
    noise = rng.integers(-30, 30, (NUM_IMAGES, IMAGE_SIZE, IMAGE_SIZE, 3))
    return np.clip(base + noise, 0, 255).astype("float32")


def slider_latency(explorer, sent: SentMessages, name: str, values: list, repeats: int):
    """Median ms from setting the slider to its last canvas message, and the parts."""
    total, select, metrics = [], [], []
    sweep = explorer.sweep
    original_select, original_metrics = sweep.select, explorer._metrics

    def timed(function, into):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            result = function(*args, **kwargs)
            into.append(time.perf_counter() - start)
            return result

        return wrapper

    sweep.select = timed(original_select, select)
    explorer._metrics = timed(original_metrics, metrics)
    try:
        for index in range(repeats):
            value = values[index % len(values)]
            sent.times.clear()
            start = time.perf_counter()
            explorer.controls[name].value = value
            assert sent.times, "the slider move sent nothing to the canvas"
            total.append(sent.times[-1] - start)
    finally:
        sweep.select, explorer._metrics = original_select, original_metrics
    median = statistics.median
    return {
        "total": 1000 * median(total),
        "nms": 1000 * median(select),
        "mAP": 1000 * median(metrics),
        "boxes": int(explorer.detections["num_detections"].sum()),
    }


def keras_cv_decode_ms(boxes, logits, repeats: int) -> float | None:
    try:
        import keras_cv  # a benchmark-only peer
    except ImportError:
        return None
    times = []
    for index in range(repeats):
        decoder = keras_cv.layers.MultiClassNonMaxSuppression(
            "xywh", from_logits=True, confidence_threshold=0.3 + 0.02 * (index % 5)
        )
        start = time.perf_counter()
        result = decoder(boxes, logits)
        np.asarray(result["boxes"])
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def static_gallery_ms(pictures, detections, repeats: int) -> float:
    import matplotlib.pyplot as plt

    from nbdetect.visualization import plot_bounding_box_gallery

    times = []
    for _ in range(max(3, repeats // 5)):
        start = time.perf_counter()
        plot_bounding_box_gallery(
            pictures,
            value_range=(0, 255),
            bounding_box_format="xywh",
            y_pred=detections,
            rows=2,
            cols=4,
            scale=4,
            show=False,
        )
        plt.close("all")
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--dashboard-images", type=int, default=5000)
    args = parser.parse_args()

    from nbdetect.widgets import NMSExplorer

    boxes, logits, truth = detector_outputs(batch=NUM_IMAGES, with_truth=True)
    pictures = images()
    sent = SentMessages()
    start = time.perf_counter()
    explorer = NMSExplorer(
        CachedDetector(CachedHead(boxes, logits)), pictures, truth, rows=2, cols=4, cell_size=256
    )
    build = time.perf_counter() - start
    # The first move of each slider compiles nothing new, but warms caches: not timed.
    for name, value in (("confidence_threshold", 0.45), ("iou_threshold", 0.45)):
        explorer.controls[name].value = value
    rows = {
        "confidence_threshold": slider_latency(
            explorer, sent, "confidence_threshold", [0.3, 0.4, 0.5, 0.6, 0.7], args.repeats
        ),
        "iou_threshold": slider_latency(
            explorer, sent, "iou_threshold", [0.3, 0.4, 0.5, 0.6, 0.7], args.repeats
        ),
        "max_detections": slider_latency(
            explorer, sent, "max_detections", [20, 50, 100, 200, 10], args.repeats
        ),
    }
    peer_decode = keras_cv_decode_ms(boxes, logits, max(3, args.repeats // 3))
    peer_gallery = static_gallery_ms(pictures, explorer.detections, args.repeats)

    print(
        f"\nNMSExplorer, {NUM_IMAGES} images {IMAGE_SIZE}x{IMAGE_SIZE}, {CLASSES} classes, "
        f"49104 anchors; Keras {keras.__version__} ({keras.backend.backend()}), "
        f"{os.cpu_count()} cores; median of {args.repeats} moves; built in {build:.1f} s"
    )
    header = (
        f"{'slider':22} {'move->canvas ms':>15} {'NMS ms':>7} {'mAP ms':>7} {'draw ms':>8} "
        f"{'boxes':>6} {'vs KerasCV decode':>18} {'vs static gallery':>18}"
    )
    print(header)
    print("-" * len(header))
    for name, row in rows.items():
        draw = row["total"] - row["nms"] - row["mAP"]
        decode = f"{peer_decode / row['total']:17.1f}x" if peer_decode else f"{'n/a':>18}"
        print(
            f"{name:22} {row['total']:15.1f} {row['nms']:7.1f} {row['mAP']:7.1f} {draw:8.1f} "
            f"{row['boxes']:6d} {decode} {peer_gallery / row['total']:17.1f}x"
        )
    print(
        f"\npeers: KerasCV 0.9 MultiClassNonMaxSuppression decode alone "
        f"{peer_decode or float('nan'):.1f} ms (plus the network's forward pass, seconds, "
        f"for predict); static matplotlib gallery of the detections {peer_gallery:.0f} ms. "
        "'vs': how many times faster the explorer's whole move is (higher is better). "
        "Target: move->canvas median under 50 ms."
    )
    explorer.close()

    dashboard_clicks.report(args.dashboard_images, max(3, args.repeats // 2))


if __name__ == "__main__":
    main()
