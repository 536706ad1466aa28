"""RetinaNet-ResNet50 on the CPU: nbdetect vs KerasCV 0.9, measured in the same run.

Both models: ResNet50 backbone with random weights (no downloads), 20 classes, `xywh`,
a batch of 4 images of 512x512, TensorFlow backend, the guide's optimizer
(`SGD(0.005, momentum=0.9, global_clipnorm=10.0)`), focal + smooth L1 losses.

Timed, each the median of `--repeats` runs after one warm-up run (tracing excluded):

- forward: the network alone, `model(images, training=False)` in a `tf.function`;
- predict: `model.predict(images)`, network plus each library's default decoding
  (nbdetect: `MultiClassNonMaxSuppression`; KerasCV 0.9: `NonMaxSuppression`), plus
  Keras' `predict` machinery (data adapter, iterator: ~0.4 s here);
- decode: `model.decode_predictions(raw_outputs, images)` alone, in a `tf.function`, on
  the forward pass's outputs (boxes from anchors and offsets, then the decoder);
- train step: a step inside one `model.fit` call over `--repeats` + 1 copies of the batch
  (8 boxes per image), the median of its steps after the first, each timed by a callback
  from `on_train_batch_begin` to `on_train_batch_end` (`fit_timing.py`): Keras' traced
  `train_step` with its data fetch, what every step of a long `fit` costs. Not a one-step
  `fit` call: that also pays the call's setup and its tf.data iterator's teardown, which
  waits 0 to ~40 s for an autotuning thread on TensorFlow 2.21 in every library alike
  (`benchmarks/train_step_breakdown.py` times both).

nbdetect's train step is measured twice: with the whole backbone training (what a random
ResNet50 gets by default) and with the fine-tuning defaults of a pretrained backbone
(`trainable_backbone_stages=3`, `freeze_backbone_batchnorm=True`: BatchNorm, stem and
stage 2 frozen). KerasCV 0.9 trains its whole backbone. KerasCV's `from_preset("resnet50")`
fetches its config from Kaggle, so it is built from the same configuration directly
(`ResNetBackbone` with ResNet50's stacks). nbdetect's heads have 4 convolutions (the paper);
KerasCV 0.9's have 3 (`--head-convs 3` measures nbdetect with 3 as well).

Run (about 6 minutes on a quiet 2-core CPU):
    python benchmarks/retinanet.py [--repeats 3] [--size 512] [--batch 4]
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
# Run from a checkout without installing nbdetect; `fit_timing` is a sibling module.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from fit_timing import fit_call, fit_steps  # noqa: E402

NUM_CLASSES = 20
BOXES_PER_IMAGE = 8


def batch(size: int, batch_size: int, seed: int = 0) -> tuple[np.ndarray, dict]:
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 255, (batch_size, size, size, 3)).astype("float32")
    wh = rng.uniform(0.05, 0.5, (batch_size, BOXES_PER_IMAGE, 2)) * size
    xy = rng.uniform(0, 1, (batch_size, BOXES_PER_IMAGE, 2)) * (size - wh)
    boxes = np.concatenate([xy, wh], axis=-1).astype("float32")
    classes = rng.integers(0, NUM_CLASSES, (batch_size, BOXES_PER_IMAGE)).astype("float32")
    return images, {"boxes": boxes, "classes": classes}


def optimizer() -> keras.optimizers.Optimizer:
    return keras.optimizers.SGD(learning_rate=0.005, momentum=0.9, global_clipnorm=10.0)


def nbdetect_model(head_convs: int, frozen: bool) -> keras.Model:
    from nbdetect.models import RetinaNet

    model = RetinaNet.from_preset(
        "resnet50",
        num_classes=NUM_CLASSES,
        bounding_box_format="xywh",
        num_head_conv_layers=head_convs,
        trainable_backbone_stages=3 if frozen else 5,
        freeze_backbone_batchnorm=frozen,
    )
    model.compile(classification_loss="focal", box_loss="smoothl1", optimizer=optimizer())
    return model


def keras_cv_model() -> keras.Model:
    import keras_cv

    backbone = keras_cv.models.ResNetBackbone(
        stackwise_filters=[64, 128, 256, 512],
        stackwise_blocks=[3, 4, 6, 3],
        stackwise_strides=[1, 2, 2, 2],
        include_rescaling=True,
    )
    model = keras_cv.models.RetinaNet(
        backbone=backbone, num_classes=NUM_CLASSES, bounding_box_format="xywh"
    )
    model.compile(classification_loss="focal", box_loss="smoothl1", optimizer=optimizer())
    return model


def tasks(model, images) -> dict:
    """The timed inference calls of one model, by name."""
    result = {}

    @tf.function(autograph=False)
    def forward(x):
        return model(x, training=False)

    @tf.function(autograph=False)
    def decode(raw):
        return model.decode_predictions(raw, images)

    raw = forward(images)
    result["forward"] = lambda: forward(images)
    result["predict"] = lambda: model.predict(images, verbose=0)
    result["decode"] = lambda: decode(raw)
    return result


def measure(model, calls: dict, images, targets, repeats: int) -> dict:
    """Median wall and CPU seconds of each call after one warm-up call, and of a train step.

    CPU seconds (all threads of this process) measure the work itself: on a shared
    2-core machine the wall time of the same step varies by a third with other load.
    Each model is measured on its own, not in turns with the others: alternating models
    evicts oneDNN's cached kernels.
    """
    # fit() rather than train_on_batch(): KerasCV 0.9's train_step cannot unpack the
    # (x, y, sample_weight) that Keras 3's train_on_batch passes. The warm-up call traces
    # the train function.
    fit_call(model, images, targets, 1)()
    result = dict(zip(("train", "train cpu"), fit_steps(model, images, targets, repeats)))
    for task, call in calls.items():
        call()
        wall, cpu = [], []
        for _ in range(repeats):
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            call()
            wall.append(time.perf_counter() - start_wall)
            cpu.append(time.process_time() - start_cpu)
        result[task] = statistics.median(wall)
        result[task + " cpu"] = statistics.median(cpu)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--head-convs", type=int, default=4)
    args = parser.parse_args()
    images, targets = batch(args.size, args.batch)

    label = f"nbdetect ({args.head_convs} head convs)"
    models = {
        "KerasCV 0.9": (keras_cv_model, True),
        label: (lambda: nbdetect_model(args.head_convs, False), True),
        # Inference is the same network: only the train step differs.
        label + ", frozen": (lambda: nbdetect_model(args.head_convs, True), False),
    }
    rows = {}
    for name, (build, inference) in models.items():
        print(f"measuring {name} ...", flush=True)
        model = build()
        calls = tasks(model, images) if inference else {}
        rows[name] = measure(model, calls, images, targets, args.repeats)
        del model
    rows[label + ", frozen"] = {**rows[label], **rows[label + ", frozen"]}

    peer = rows["KerasCV 0.9"]
    print(
        f"\nRetinaNet-ResNet50, {NUM_CLASSES} classes, {args.batch}x{args.size}x{args.size}, "
        f"TensorFlow {tf.__version__} CPU, {os.cpu_count()} cores, median of {args.repeats}"
    )
    header = (
        f"{'model':38} {'forward s':>9} {'predict s':>9} {'decode s':>8} {'decode %':>8} "
        f"{'train s':>8} {'predict vs KerasCV':>19} {'train vs KerasCV':>17}"
    )
    print(header)
    print("-" * len(header))
    for name, row in rows.items():
        print(
            f"{name:38} {row['forward']:9.2f} {row['predict']:9.2f} {row['decode']:8.3f} "
            f"{row['decode'] / row['forward']:8.1%} {row['train']:8.2f} "
            f"{peer['predict'] / row['predict']:18.1f}x {row['train'] / peer['train']:16.2f}x"
        )
    print("\nCPU seconds (all threads), median; ratios of CPU time:")
    for name, row in rows.items():
        print(
            f"{name:38} forward {row['forward cpu']:6.2f}  predict {row['predict cpu']:6.2f}  "
            f"decode {row['decode cpu']:6.3f}  train {row['train cpu']:6.2f}  "
            f"predict {peer['predict cpu'] / row['predict cpu']:4.1f}x faster, "
            f"train {row['train cpu'] / peer['train cpu']:.2f}x"
        )
    print(
        "\ndecode %: decode time as a share of the forward pass. 'predict vs KerasCV': how "
        "many times faster (higher is better); train s: a step inside one fit() call "
        "(median of its steps after the first); 'train vs KerasCV': step time ratio (lower "
        "is better)."
    )


if __name__ == "__main__":
    main()
