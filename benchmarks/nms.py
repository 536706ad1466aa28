"""Decoding a RetinaNet head: nbdetect's NMS layers vs KerasCV 0.9's (TensorFlow's kernels).

The head is that of a 512x512 RetinaNet on P3-P7 with 9 anchors per location: 49104
anchors, 20 classes, a batch of 4. Boxes are the anchors, jittered; logits are those of
a trained detector: low everywhere (N(-6, 1.5)), high (N(2, 1.5)) for one class on the
anchors that overlap one of 5 objects per image. About 150 (box, class) pairs per image
score above 0.5.

Each decoder runs eagerly, inside `tf.function`, and compiled with XLA
(`tf.function(jit_compile=True)`); KerasCV's layer calls
`tf.image.combined_non_max_suppression` (`tf.image.non_max_suppression_padded` for the
class-agnostic one), which has no XLA kernel. Figures are medians of repeated calls, taken
alternately so the ratios compare the decoders under the same load. For scale: the
forward pass of this RetinaNet takes about 3.3 s on a 2-core CPU.

Under `KERAS_BACKEND=jax` the nbdetect rows are eager and `jax.jit`, and TensorFlow's op
(called directly, when TensorFlow is installed) is the reference.

Run:
    python benchmarks/nms.py                 # every scenario
    python benchmarks/nms.py --repeats 15 --scenario default
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Run from a checkout without installing nbdetect.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from nbdetect.layers.non_max_suppression import (  # noqa: E402
    MultiClassNonMaxSuppression,
    NonMaxSuppression,
)

BATCH, CLASSES, IMAGE_SIZE = 4, 20, 512

# name: (iou_threshold, confidence_threshold, class-agnostic?)
SCENARIOS = {
    "default": (0.5, 0.5, False),  # KerasCV RetinaNet's default decoder
    "guide-tuned": (0.2, 0.7, False),  # the guide's re-configured decoder
    "nms-disabled": (1.0, 0.0, False),  # the guide's "disable NMS" decoder
    "class-agnostic": (0.5, 0.5, True),
}


def anchors() -> np.ndarray:
    """`[49104, 4]` yxyx anchors of a 512x512 RetinaNet, levels P3-P7."""
    levels = []
    for level in range(3, 8):
        stride = 2**level
        centers = (np.arange(IMAGE_SIZE // stride) + 0.5) * stride
        cy, cx = np.meshgrid(centers, centers, indexing="ij")
        for scale in (1, 2 ** (1 / 3), 2 ** (2 / 3)):
            for ratio in (0.5, 1.0, 2.0):
                h = 4 * stride * scale * np.sqrt(ratio)
                w = 4 * stride * scale / np.sqrt(ratio)
                box = np.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], -1)
                levels.append(box.reshape(-1, 4))
    return np.concatenate(levels).astype("float32")


def detector_outputs(
    seed: int = 0, batch: int = BATCH, with_truth: bool = False
) -> tuple[np.ndarray, ...]:
    """`xywh` boxes `[batch, 49104, 4]` and logits `[batch, 49104, 20]` like a RetinaNet's.

    With `with_truth`, also the objects as dense `xywh` ground truth.
    """
    rng = np.random.default_rng(seed)
    base = anchors()
    yxyx = base[None] + rng.normal(0, 4, (batch, len(base), 4)).astype("float32")
    logits = rng.normal(-6, 1.5, (batch, len(base), CLASSES)).astype("float32")
    area = (base[:, 2] - base[:, 0]) * (base[:, 3] - base[:, 1])
    truth_boxes = np.zeros((batch, 5, 4), "float32")
    truth_classes = np.zeros((batch, 5), "float32")
    for b in range(batch):
        for i in range(5):
            y, x = rng.uniform(0, 400, 2)
            h, w = rng.uniform(30, 200, 2)
            ih = np.maximum(0, np.minimum(base[:, 2], y + h) - np.maximum(base[:, 0], y))
            iw = np.maximum(0, np.minimum(base[:, 3], x + w) - np.maximum(base[:, 1], x))
            overlap = ih * iw / (area + h * w - ih * iw)
            near = overlap > 0.5
            # The draws in the order of the original `logits[...] = ...` statement.
            scores = rng.normal(2, 1.5, near.sum())
            label = rng.integers(CLASSES)
            logits[b, near, label] = scores
            truth_boxes[b, i] = (x, y, w, h)
            truth_classes[b, i] = label
    xywh = np.concatenate([yxyx[..., 1::-1], yxyx[..., 3:1:-1] - yxyx[..., 1::-1]], -1)
    if with_truth:
        return xywh.astype("float32"), logits, {"boxes": truth_boxes, "classes": truth_classes}
    return xywh.astype("float32"), logits


def median_ms(functions: dict, args: tuple, repeats: int) -> dict:
    """Median wall time of each function, called alternately, results fetched to the host.

    A decoder whose warm-up call takes over 2 s is timed 3 times, not `repeats` times.
    """

    def call(fn):
        start = time.perf_counter()
        for value in fn(*args).values():
            ops.convert_to_numpy(value)
        return time.perf_counter() - start

    times = {name: [] for name in functions}
    # Warm-up: tracing and compilation are not timed.
    slow = {name for name, fn in functions.items() if call(fn) > 2.0}
    for round_ in range(repeats):
        for name, fn in functions.items():
            if name not in slow or round_ < 3:
                times[name].append(call(fn))
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


def tensorflow_decoders(iou: float, confidence: float, agnostic: bool) -> dict:
    import tensorflow as tf

    kwargs = dict(from_logits=True, iou_threshold=iou, confidence_threshold=confidence)
    if agnostic:
        ours = NonMaxSuppression("xywh", **kwargs)
    else:
        ours = MultiClassNonMaxSuppression("xywh", **kwargs)
    decoders = {
        "nbdetect, eager": ours,
        "nbdetect, tf.function": tf.function(ours.__call__),
        "nbdetect, XLA": tf.function(ours.__call__, jit_compile=True),
    }
    try:
        import keras_cv  # a benchmark-only peer
    except ImportError:
        return decoders
    peer_class = (
        keras_cv.layers.NonMaxSuppression
        if agnostic
        else (keras_cv.layers.MultiClassNonMaxSuppression)
    )
    peer = peer_class("xywh", **kwargs)
    decoders["KerasCV 0.9, eager"] = peer
    decoders["KerasCV 0.9, tf.function"] = tf.function(peer.__call__)
    return decoders


def jax_decoders(iou: float, confidence: float, agnostic: bool) -> dict:
    import jax

    kwargs = dict(from_logits=True, iou_threshold=iou, confidence_threshold=confidence)
    ours = (NonMaxSuppression if agnostic else MultiClassNonMaxSuppression)("xywh", **kwargs)
    decoders = {"nbdetect, eager": ours, "nbdetect, jax.jit": jax.jit(ours.__call__)}
    try:
        import tensorflow as tf
    except ImportError:
        return decoders

    def tensorflow_op(boxes, logits):
        boxes, logits = np.asarray(boxes), np.asarray(logits)
        yxyx = np.concatenate([boxes[..., 1::-1], boxes[..., 1::-1] + boxes[..., 3:1:-1]], -1)
        scores = tf.sigmoid(logits)
        if agnostic:
            best = tf.reduce_max(scores, -1)
            selected = [
                tf.image.non_max_suppression(yxyx[b], best[b], 100, iou, confidence)
                for b in range(len(boxes))
            ]
            return {"num_detections": np.array([len(s) for s in selected])}
        out = tf.image.combined_non_max_suppression(
            yxyx[:, :, None], scores, 100, 100, iou, confidence, clip_boxes=False
        )
        return dict(zip(("boxes", "confidence", "classes", "num_detections"), out))

    decoders["TensorFlow op, eager"] = tensorflow_op
    return decoders


def check_xla_peer(boxes, logits) -> str:
    """What happens when KerasCV's layer is compiled with XLA."""
    import tensorflow as tf

    try:
        import keras_cv
    except ImportError:
        return "keras_cv not installed"
    peer = keras_cv.layers.MultiClassNonMaxSuppression("xywh", from_logits=True)
    try:
        tf.function(peer.__call__, jit_compile=True)(boxes, logits)
    except Exception as error:  # XLA reports the missing kernel as a generic error
        first_line = str(error).strip().splitlines()[0]
        return f"fails: {type(error).__name__}: {first_line[:90]}"
    return "compiles"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per decoder")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), action="append")
    args = parser.parse_args()
    boxes, logits = detector_outputs()
    backend = keras.backend.backend()
    print(
        f"Decoding a RetinaNet head: B={BATCH}, N={boxes.shape[1]} anchors, C={CLASSES} "
        f"classes, xywh boxes, logits; Keras {keras.__version__}, {backend} backend, "
        f"{os.cpu_count()} CPUs; median of {args.repeats} calls, ms"
    )
    for name in args.scenario or SCENARIOS:
        iou, confidence, agnostic = SCENARIOS[name]
        make = jax_decoders if backend == "jax" else tensorflow_decoders
        decoders = make(iou, confidence, agnostic)
        results = median_ms(decoders, (boxes, logits), args.repeats)
        reference = next((n for n in results if not n.startswith("nbdetect")), None)
        detections = ops.convert_to_numpy(
            decoders["nbdetect, eager"](boxes, logits)["num_detections"]
        )
        kind = "class-agnostic" if agnostic else "multi-class"
        print(
            f"\n{name}: {kind}, iou_threshold={iou}, confidence_threshold={confidence} "
            f"(detections per image: {detections.tolist()})"
        )
        width = max(len(n) for n in results)
        print(f"| {'decoder':<{width}} | ms (median) | vs {reference or '-'} |")
        print(f"|{'-' * (width + 2)}|-------------|{'-' * (len(reference or '-') + 5)}|")
        for decoder, ms in results.items():
            ratio = f"{ms / results[reference]:.3g}x" if reference else "-"
            print(f"| {decoder:<{width}} | {ms:11.1f} | {ratio:>{len(reference or '-') + 3}} |")
    if backend == "tensorflow":
        print(
            f"\nKerasCV 0.9 MultiClassNonMaxSuppression under XLA: {check_xla_peer(boxes, logits)}"
        )


if __name__ == "__main__":
    main()
