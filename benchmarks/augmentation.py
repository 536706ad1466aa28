"""Images per second of the KerasCV guide's augmentation pipeline: nbdetect vs KerasCV 0.9.

The pipeline is the guide's: `ds.ragged_batch(4, drop_remainder=True)` of VOC-sized float32
images of varied sizes (281-500 x 333-500 pixels, 1-6 boxes each, `xywh`), mapped with
`keras.Sequential([RandomFlip(mode="horizontal"), JitteredResize((640, 640), (0.75, 1.3))])`
and `num_parallel_calls=AUTOTUNE`, then prefetched. The images are generated once and
cached in memory, so the figure is the augmentation's cost, not decoding.

Passes alternate between the pipelines (each on a fresh iterator, warmed up before timing),
and each pipeline's figure is the median of its passes, so the ratio compares the two under
the same load on a shared machine.

A second table times single layers on a dense batch of four 375 x 500 images, nbdetect
against the Keras core layer of the same name (the ones nbdetect's design notes found to
move boxes correctly), to show what writing them here costs or saves.

Run:
    python benchmarks/augmentation.py            # both tables
    python benchmarks/augmentation.py --passes 7 --batches 40 --guide-only
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
import tensorflow as tf  # noqa: E402

from nbdetect import layers  # noqa: E402

NUM_IMAGES = 48
BATCH_SIZE = 4
TARGET = (640, 640)
SCALE = (0.75, 1.3)


def voc_like_dataset(seed: int = 0) -> tf.data.Dataset:
    """Cached examples of VOC-like sizes with a few `xywh` boxes each."""
    rng = np.random.default_rng(seed)
    examples = []
    for _ in range(NUM_IMAGES):
        height, width = int(rng.integers(281, 501)), int(rng.integers(333, 501))
        image = rng.uniform(0, 255, (height, width, 3)).astype("float32")
        count = int(rng.integers(1, 7))
        xy = rng.uniform(0, 0.6, (count, 2)) * [width, height]
        wh = rng.uniform(0.1, 0.4, (count, 2)) * [width, height]
        boxes = np.concatenate([xy, wh], 1).astype("float32")
        classes = rng.integers(0, 20, count).astype("float32")
        examples.append((image, boxes, classes))

    def generate():
        for image, boxes, classes in examples:
            yield {"images": image, "bounding_boxes": {"boxes": boxes, "classes": classes}}

    signature = {
        "images": tf.TensorSpec([None, None, 3], tf.float32),
        "bounding_boxes": {
            "boxes": tf.TensorSpec([None, 4], tf.float32),
            "classes": tf.TensorSpec([None], tf.float32),
        },
    }
    ds = tf.data.Dataset.from_generator(generate, output_signature=signature).cache()
    for _ in ds:  # fill the cache before anything is timed
        pass
    return ds


def guide_augmenter(module) -> keras.Sequential:
    """The guide's augmenter, built from `module` (nbdetect.layers or keras_cv.layers)."""
    return keras.Sequential(
        [
            module.RandomFlip(mode="horizontal", bounding_box_format="xywh"),
            module.JitteredResize(
                target_size=TARGET, scale_factor=SCALE, bounding_box_format="xywh"
            ),
        ]
    )


def guide_pipeline(ds: tf.data.Dataset, augmenter) -> tf.data.Dataset:
    ds = ds.repeat().ragged_batch(BATCH_SIZE, drop_remainder=True)
    ds = ds.map(augmenter, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def time_pass(ds: tf.data.Dataset, warmup: int, batches: int, images_per_batch: int) -> float:
    """Images per second over `batches` batches of a fresh iterator, after a warm-up."""
    iterator = iter(ds)
    for _ in range(warmup):
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * images_per_batch / (time.perf_counter() - start)


def compare(pipelines: dict, passes: int, warmup: int, batches: int, per_batch: int) -> dict:
    """Median images/s of each pipeline, passes interleaved."""
    rates = {name: [] for name in pipelines}
    for _ in range(passes):
        for name, ds in pipelines.items():
            rates[name].append(time_pass(ds, warmup, batches, per_batch))
    return {name: (statistics.median(r), min(r), max(r)) for name, r in rates.items()}


def print_table(title: str, results: dict, reference: str) -> None:
    width = max(len(name) for name in results)
    print(f"\n{title}")
    print(f"| {'pipeline':<{width}} | images/s (median) | min - max       | ratio |")
    print(f"|{'-' * (width + 2)}|-------------------|-----------------|-------|")
    base = results[reference][0]
    for name, (median, low, high) in results.items():
        spread = f"{low:6.1f} - {high:6.1f}"
        print(f"| {name:<{width}} | {median:17.1f} | {spread:<15} | {median / base:5.2f} |")


def guide_benchmark(args) -> None:
    import keras_cv  # a benchmark-only peer

    ds = voc_like_dataset()
    pipelines = {
        "KerasCV 0.9 RandomFlip + JitteredResize": guide_pipeline(
            ds, guide_augmenter(keras_cv.layers)
        ),
        "nbdetect RandomFlip + JitteredResize": guide_pipeline(ds, guide_augmenter(layers)),
    }
    results = compare(pipelines, args.passes, args.warmup, args.batches, BATCH_SIZE)
    print_table(
        f"Guide pipeline, ragged_batch({BATCH_SIZE}) of VOC-sized images -> 640x640, AUTOTUNE, "
        f"{os.cpu_count()} CPUs ({args.passes} passes x {args.batches} batches)",
        results,
        "KerasCV 0.9 RandomFlip + JitteredResize",
    )


def core_benchmark(args) -> None:
    rng = np.random.default_rng(1)
    images = rng.uniform(0, 255, (BATCH_SIZE, 375, 500, 3)).astype("float32")
    boxes = np.tile(np.array([[[40, 60, 200, 150], [300, 200, 120, 90]]], "float32"), (4, 1, 1))
    labels = np.ones((BATCH_SIZE, 2), "float32")
    batch = {"images": images, "bounding_boxes": {"boxes": boxes, "labels": labels}}
    ds = tf.data.Dataset.from_tensors(batch).cache().repeat()
    pairs = {
        "RandomFlip": (
            keras.layers.RandomFlip("horizontal", bounding_box_format="xywh"),
            layers.RandomFlip("horizontal", bounding_box_format="xywh"),
        ),
        "Resizing(640, 640, pad_to_aspect_ratio=True)": (
            keras.layers.Resizing(640, 640, pad_to_aspect_ratio=True, bounding_box_format="xywh"),
            layers.Resizing(640, 640, pad_to_aspect_ratio=True, bounding_box_format="xywh"),
        ),
        "RandomTranslation(0.1, 0.1)": (
            keras.layers.RandomTranslation(
                0.1, 0.1, fill_mode="constant", bounding_box_format="xywh"
            ),
            layers.RandomTranslation(0.1, 0.1, bounding_box_format="xywh"),
        ),
        "RandomZoom(0.2)": (
            keras.layers.RandomZoom(0.2, fill_mode="constant", bounding_box_format="xywh"),
            layers.RandomZoom(0.2, bounding_box_format="xywh"),
        ),
    }
    for name, (core, ours) in pairs.items():
        pipelines = {
            f"Keras core {name}": ds.map(core, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2),
            f"nbdetect {name}": ds.map(ours, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2),
        }
        results = compare(pipelines, args.passes, args.warmup, args.batches, BATCH_SIZE)
        print_table(
            f"{name}, dense batch of {BATCH_SIZE} x 375x500, AUTOTUNE",
            results,
            f"Keras core {name}",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passes", type=int, default=5, help="timed passes per pipeline")
    parser.add_argument("--batches", type=int, default=30, help="batches per timed pass")
    parser.add_argument("--warmup", type=int, default=8, help="untimed batches per pass")
    parser.add_argument("--guide-only", action="store_true", help="skip the Keras core table")
    args = parser.parse_args()
    guide_benchmark(args)
    if not args.guide_only:
        core_benchmark(args)


if __name__ == "__main__":
    main()
