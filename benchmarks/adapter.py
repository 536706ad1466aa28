"""The adapter's cost: `as_detector(model).predict` vs KerasHub's own `predict`, same run.

The model: KerasHub's `RetinaNetObjectDetector` as the COCO presets build it, with random
weights (no downloads): a ResNet50 `ResNetBackbone` (the `resnet_50` preset's
configuration), `RetinaNetBackbone(min_level=3, max_level=7, use_p5=False)`, 80 classes,
`yxyx` boxes, and a `RetinaNetObjectDetectorPreprocessor` whose `RetinaNetImageConverter`
stretches images to `--size` x `--size` (800 by default) and scales them by 1/255.

Inputs: `--batch` random images (0-255) of `--image` pixels (480x640 by default: not the
model's size, so the adapter maps boxes back from the 800x800 frame).

Timed, after one warm-up call of each, in turns within each repeat (KerasHub, adapter,
KerasHub, adapter, ...) so that drift in the machine's load affects both alike:

- KerasHub: `model.predict(images, batch_size=B, verbose=0)`;
- adapter: `as_detector(model).predict(images)` (one `model.predict` call inside, plus
  the adapter's input checks and the mapping of boxes to the images' pixels).

Also, untimed in the comparison: the adapter's time outside the model call (its
`predict` with the model's `predict` timed from inside), and `Detector._to_caller` alone
on KerasHub's output. Checked (not timed): the adapter's boxes are KerasHub's scaled from
the model's frame to the images' (y * H/size, x * W/size, clipped), its classes KerasHub's
labels — with the default decoder (timed; with random weights its count of boxes above
0.5 is whatever the weights give) and with `confidence_threshold=0` (100 boxes per image).
Target: overhead under 5%.

Run (about 5 minutes on 2 cores; `--quick`: a 256x256 model, 3 repeats, under a minute):
    python benchmarks/adapter.py [--repeats 7] [--size 800] [--batch 2] [--image 480x640]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# Run from a checkout without installing nbdetect.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import keras_hub  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from machine import cpu_model  # noqa: E402

from nbdetect.models.detector import _standard_keys, as_detector  # noqa: E402

NUM_CLASSES = 80


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def keras_hub_retinanet_backbone() -> keras.Model:
    """KerasHub's ResNet50 + FPN (P3-P7) as its COCO RetinaNet presets configure it."""
    encoder = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[7],
        stackwise_num_filters=[64, 128, 256, 512],
        stackwise_num_blocks=[3, 4, 6, 3],
        stackwise_num_strides=[1, 2, 2, 2],
        block_type="bottleneck_block",
        use_pre_activation=False,
    )
    return keras_hub.models.RetinaNetBackbone(
        image_encoder=encoder, min_level=3, max_level=7, use_p5=False
    )


def keras_hub_model(size: int) -> keras.Model:
    """RetinaNet-ResNet50 as KerasHub's COCO presets configure it, random weights."""
    backbone = keras_hub_retinanet_backbone()
    converter = keras_hub.layers.RetinaNetImageConverter(
        image_size=(size, size), scale=1 / 255, offset=None, crop_to_aspect_ratio=False
    )
    preprocessor = keras_hub.models.RetinaNetObjectDetectorPreprocessor(image_converter=converter)
    return keras_hub.models.RetinaNetObjectDetector(
        backbone=backbone, num_classes=NUM_CLASSES, preprocessor=preprocessor
    )


def random_images(batch_size: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (batch_size, height, width, 3)).astype("float32")


def interleaved(calls: dict, repeats: int) -> dict:
    """Wall and CPU seconds of each call, the calls in turns within each repeat."""
    for call in calls.values():
        call()  # warm-up: tracing, oneDNN kernels
    wall = {name: [] for name in calls}
    cpu = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            call()
            wall[name].append(time.perf_counter() - start_wall)
            cpu[name].append(time.process_time() - start_cpu)
    return {
        name: {
            "median": statistics.median(wall[name]),
            "min": min(wall[name]),
            "cpu": statistics.median(cpu[name]),
        }
        for name in calls
    }


class TimedModel:
    """Stands in for the model inside a `Detector`: times its `predict` calls."""

    def __init__(self, model: keras.Model) -> None:
        self.model = model
        self.seconds = 0.0

    def predict(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.model.predict(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start

    def __getattr__(self, name):
        return getattr(self.model, name)


def outside_model_seconds(model: keras.Model, images: np.ndarray, repeats: int) -> float:
    """Median seconds of the adapter's `predict` spent outside `model.predict`."""
    detector = as_detector(model)
    timed = TimedModel(model)
    detector.model = timed
    outside = []
    for _ in range(repeats):
        timed.seconds = 0.0
        start = time.perf_counter()
        detector.predict(images)
        outside.append(time.perf_counter() - start - timed.seconds)
    return statistics.median(outside)


def to_caller_seconds(model: keras.Model, images: np.ndarray, repeats: int) -> float:
    """Median seconds of `Detector._to_caller` on KerasHub's output for `images`."""
    detector = as_detector(model)
    output = model.predict(images, batch_size=len(images), verbose=0)
    _, window = detector._model_input(images)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        detector._to_caller(_standard_keys(output, "model"), window, images.shape[1:3])
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def check_boxes(model: keras.Model, images: np.ndarray, size: int) -> dict:
    """Whether the adapter's detections are KerasHub's mapped to the images' pixels."""
    theirs = model.predict(images, batch_size=len(images), verbose=0)
    ours = as_detector(model).predict(images)
    height, width = images.shape[1:3]
    counts = np.asarray(theirs["num_detections"]).astype(int)
    valid = np.arange(np.asarray(theirs["labels"]).shape[1])[None, :] < counts[:, None]
    # KerasHub's boxes: yxyx in the size x size frame the preprocessor stretched to.
    scale = np.array([height / size, width / size] * 2, np.float32)
    limit = np.array([height, width] * 2, np.float32)
    expected = np.clip(np.asarray(theirs["boxes"], np.float32) * scale, 0, limit)
    difference = np.abs(np.where(valid[..., None], ours["boxes"] - expected, 0.0))
    labels = np.asarray(theirs["labels"]).astype(np.int64)
    return {
        "detections": int(counts.sum()),
        "max difference": float(difference.max()) if difference.size else 0.0,
        "boxes equal": bool(
            np.array_equal(ours["num_detections"], counts)
            and np.allclose(ours["boxes"][valid], expected[valid], atol=1e-3)
            and np.all(ours["boxes"][~valid] == -1)
        ),
        "classes equal": bool(np.array_equal(ours["classes"][valid], labels[valid])),
        "confidence equal": bool(
            np.allclose(ours["confidence"][valid], np.asarray(theirs["confidence"])[valid])
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--size", type=int, default=800, help="the model's input size")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--image", default="480x640", help="HxW of the random images")
    parser.add_argument("--quick", action="store_true", help="smoke run: --size 256, 3 repeats")
    args = parser.parse_args()
    if args.quick:
        args.size, args.repeats = 256, 3
    height, width = (int(s) for s in args.image.lower().split("x"))

    start_load = load()
    print(
        f"{cpu_model()}, {os.cpu_count()} cores, load average {start_load}; "
        f"Keras {keras.__version__}, TensorFlow {tf.__version__}, "
        f"KerasHub {keras_hub.__version__}",
        flush=True,
    )
    images = random_images(args.batch, height, width)
    model = keras_hub_model(args.size)

    print("measuring KerasHub predict and the adapter, in turns ...", flush=True)
    rows = interleaved(
        {
            "KerasHub model.predict": lambda: model.predict(
                images, batch_size=args.batch, verbose=0
            ),
            "nbdetect as_detector(model).predict": lambda: as_detector(model).predict(images),
        },
        args.repeats,
    )
    outside = outside_model_seconds(model, images, args.repeats)
    to_caller = to_caller_seconds(model, images, max(20, 5 * args.repeats))

    print("checking boxes ...", flush=True)
    checks = {"default decoder": check_boxes(model, images, args.size)}
    model.prediction_decoder = keras_hub.layers.NonMaxSuppression(
        bounding_box_format=model.bounding_box_format,
        from_logits=True,
        confidence_threshold=0.0,
    )
    checks["confidence_threshold=0"] = check_boxes(model, images, args.size)
    end_load = load()

    peer, ours = rows["KerasHub model.predict"], rows["nbdetect as_detector(model).predict"]
    ratio = ours["median"] / peer["median"]
    print(
        f"\nKerasHub RetinaNet-ResNet50 ({NUM_CLASSES} classes), {args.batch} images "
        f"{height}x{width} resized to {args.size}x{args.size}; TensorFlow {tf.__version__} "
        f"CPU, {os.cpu_count()} cores; {args.repeats} repeats in turns, after one warm-up each"
    )
    header = f"{'predict':38} {'median s':>9} {'min s':>8} {'cpu s':>8} {'vs KerasHub':>12}"
    print(header)
    print("-" * len(header))
    for name, row in rows.items():
        print(
            f"{name:38} {row['median']:9.3f} {row['min']:8.3f} {row['cpu']:8.2f} "
            f"{row['median'] / peer['median']:11.3f}x"
        )
    print(
        f"\nadapter / KerasHub (median): {ratio:.3f}x, overhead {100 * (ratio - 1):+.1f}% "
        f"(min: {100 * (ours['min'] / peer['min'] - 1):+.1f}%); target: under 5%"
    )
    print(
        f"adapter outside the model call: {1000 * outside:.1f} ms median "
        f"({outside / peer['median']:.2%} of KerasHub's predict); "
        f"Detector._to_caller alone: {1000 * to_caller:.2f} ms"
    )
    for name, check in checks.items():
        print(
            f"{name}: {check['detections']} detections, boxes equal: {check['boxes equal']} "
            f"(max |difference| {check['max difference']:.2g} px), classes == labels: "
            f"{check['classes equal']}, confidence equal: {check['confidence equal']}"
        )
    print(f"boxes equal: {all(check['boxes equal'] for check in checks.values())}")
    print(f"load average: start {start_load}, end {end_load}")


if __name__ == "__main__":
    main()
