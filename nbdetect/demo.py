"""`nbdetect demo`: train a small RetinaNet on the bundled shapes dataset, evaluate, draw.

Everything runs offline on a CPU: the data is generated on the fly (`load_shapes`), the
backbone is a small CNN trained from scratch, and training stops after a step budget
(or a time cap, whichever comes first)::

    from nbdetect.demo import run_demo

    summary = run_demo("nbdetect_demo", steps=1500)
    print(summary["metrics"]["MaP"])
"""

from __future__ import annotations

import contextlib
import json
import math
import pathlib
import time
from typing import Any

import keras

from nbdetect.utils import checks

BOUNDING_BOX_FORMAT = "xywh"
IMAGE_SIZE = 256
MAX_BOXES = 16


def demo_backbone(name: str = "demo_backbone") -> keras.Model:
    """A small CNN (~0.6 GMAC at 256x256) mapping images to `{"P3", "P4", "P5"}` features.

    ImageNet backbones are too slow to train from scratch on a CPU and need a download
    when pretrained; shapes on textured backgrounds need far less.

    Returns:
        A functional model: `[B, H, W, 3]` images in 0..255 to features of strides 8, 16
        and 32 with 96, 128 and 192 channels.
    """
    images = keras.Input((None, None, 3), name="images")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="scale")(images)
    stages = (("stem", 24, 1), ("s4", 48, 2), ("P3", 96, 2), ("P4", 128, 2), ("P5", 192, 2))
    features = {}
    for stage, filters, repeats in stages:
        for i in range(repeats):
            x = keras.layers.Conv2D(
                filters,
                3,
                strides=2 if i == 0 else 1,
                padding="same",
                use_bias=False,
                name=f"{stage}_conv{i}",
            )(x)
            x = keras.layers.BatchNormalization(name=f"{stage}_bn{i}")(x)
            x = keras.layers.ReLU(name=f"{stage}_relu{i}")(x)
        if stage.startswith("P"):
            features[stage] = x
    return keras.Model(images, features, name=name)


def build_demo_model(
    num_classes: int,
    bounding_box_format: str = BOUNDING_BOX_FORMAT,
    class_mapping: dict[int, str] | None = None,
):
    """The demo's RetinaNet: `demo_backbone`, 64-channel pyramid and two-conv heads.

    Anchors start at 16 px on P3 (the paper's start at 32): the shapes dataset has objects
    from 16 px, which 32 px anchors cannot match at IoU 0.5.

    Args:
        num_classes: number of object classes.
        bounding_box_format: format of the boxes the model trains on and predicts.
        class_mapping: class names, `{class_id: name}`, kept with the model.

    Returns:
        An uncompiled `nbdetect.models.RetinaNet`.
    """
    from nbdetect.models.retinanet import (
        AnchorGenerator,
        FeaturePyramid,
        PredictionHead,
        RetinaNet,
        classification_bias,
    )

    anchors = AnchorGenerator(
        bounding_box_format,
        sizes=[16.0, 32.0, 64.0, 128.0, 256.0],
        scales=[2.0**0, 2.0 ** (1 / 3), 2.0 ** (2 / 3)],
        aspect_ratios=[0.5, 1.0, 2.0],
        strides=[8, 16, 32, 64, 128],
    )
    per_location = anchors.anchors_per_location
    return RetinaNet(
        backbone=demo_backbone(),
        num_classes=num_classes,
        bounding_box_format=bounding_box_format,
        class_mapping=class_mapping,
        anchor_generator=anchors,
        feature_pyramid=FeaturePyramid(num_filters=64),
        classification_head=PredictionHead(
            per_location * num_classes,
            bias_initializer=classification_bias(),
            num_conv_layers=2,
            num_filters=64,
            name="classification_head",
        ),
        box_head=PredictionHead(
            per_location * 4, num_conv_layers=2, num_filters=64, name="box_head"
        ),
    )


def demo_datasets(
    batch_size: int = 8,
    train_examples: int = 4000,
    test_examples: int = 200,
    image_size: int = IMAGE_SIZE,
    seed: int = 0,
):
    """Shapes train/test pipelines in the guide's shape: ragged batch -> augment -> dense.

    Returns:
        `(train_ds, test_ds, class_names)`: `train_ds` repeats forever and yields
        `(images, {"boxes", "classes"})` with boxes padded to `MAX_BOXES`; `test_ds` yields
        the same, once.
    """
    import tensorflow as tf

    from nbdetect import bounding_box, datasets, layers

    size = (image_size, image_size)
    fmt = BOUNDING_BOX_FORMAT
    train, class_names = datasets.load_shapes(
        "train", bounding_box_format=fmt, num_examples=train_examples, image_size=size, seed=seed
    )
    test, _ = datasets.load_shapes(
        "test", bounding_box_format=fmt, num_examples=test_examples, image_size=size, seed=seed
    )
    flip = layers.RandomFlip(mode="horizontal", bounding_box_format=fmt, seed=seed)

    def to_tuple(batch):
        return batch["images"], bounding_box.to_dense(batch["bounding_boxes"], MAX_BOXES)

    # Generated once into memory (a few hundred MB at most), then reshuffled every epoch.
    train = train.cache().shuffle(min(train_examples, 1024), seed=seed).repeat()
    train = train.ragged_batch(batch_size, drop_remainder=True)
    train = train.map(flip, num_parallel_calls=tf.data.AUTOTUNE)
    train = train.map(to_tuple, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)
    test = test.cache()
    # Filled now: an iterator that stops early on a cache still being written (a plot
    # that takes one batch) makes TensorFlow log a warning under the notebook cell.
    test.reduce(0, lambda count, _: count + 1)
    test = test.ragged_batch(batch_size).map(to_tuple).prefetch(2)
    return train, test, class_names


class TrainingBudget(keras.callbacks.Callback):
    """Stop `fit` after `steps` steps or `minutes`, whichever comes first.

    The learning rate drops 10x for the last part of the budget. A step budget makes the
    result independent of how busy the machine is; the time budget is a cap for slow
    machines.

    Args:
        steps: the number of training steps, or `None` for no step limit.
        minutes: the training time budget (wall clock), or `None` for no time limit.
        decay_at: fraction of the budget (of the steps or of the minutes, whichever is
            used up faster) after which the learning rate drops 10x.

    Example:
        >>> import keras
        >>> import numpy as np
        >>> from nbdetect.demo import TrainingBudget
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        >>> budget = TrainingBudget(steps=5, minutes=15)  # the demo's: steps=1500
        >>> history = model.fit(np.zeros((8, 2)), np.zeros((8, 1)), batch_size=1,
        ...                     epochs=10_000, callbacks=[budget], verbose=0)
        >>> budget.done_steps, round(float(model.optimizer.learning_rate), 4)
        (5, 0.01)
    """

    def __init__(
        self, steps: int | None = None, minutes: float | None = None, decay_at: float = 0.8
    ) -> None:
        super().__init__()
        if steps is None and minutes is None:
            raise ValueError(
                "TrainingBudget got neither steps nor minutes; pass at least one, e.g. "
                "TrainingBudget(steps=1500, minutes=15)."
            )
        checks.whole_number(steps, "steps", "TrainingBudget", none_ok=True)
        checks.number(minutes, "minutes", "TrainingBudget", 0, low_inclusive=False, none_ok=True)
        self.steps = steps
        self.seconds = None if minutes is None else minutes * 60.0
        self.decay_at = decay_at
        self.start = None
        self.done_steps = 0
        self.decayed = False

    def on_train_begin(self, logs=None):  # noqa: D102
        self.start = time.perf_counter()
        self.done_steps = 0
        self.decayed = False

    def used(self) -> float:
        """The larger of the used fractions of the step and time budgets."""
        fractions = []
        if self.steps is not None:
            fractions.append(self.done_steps / self.steps)
        if self.seconds is not None:
            fractions.append((time.perf_counter() - self.start) / self.seconds)
        return max(fractions)

    def on_train_batch_end(self, batch, logs=None):  # noqa: D102
        self.done_steps += 1
        used = self.used()
        if not self.decayed and used >= self.decay_at:
            self.decayed = True
            lr = self.model.optimizer.learning_rate
            lr.assign(lr * 0.1)
        if used >= 1.0:
            self.model.stop_training = True


@contextlib.contextmanager
def decoded_with(
    model, confidence_threshold: float, max_detections: int = 100, class_agnostic: bool = False
):
    """Temporarily decode `model`'s predictions with another confidence threshold.

    Args:
        model: a RetinaNet.
        confidence_threshold: the lowest confidence kept.
        max_detections: detections per image.
        class_agnostic: keep only the best class where boxes of several classes overlap
            (`NonMaxSuppression`), instead of suppressing within each class.

    Example:
        >>> import numpy as np
        >>> from nbdetect.demo import build_demo_model, decoded_with
        >>> model = build_demo_model(num_classes=3)
        >>> with decoded_with(model, 0.05, max_detections=10):
        ...     y_pred = model.predict(np.zeros((1, 64, 64, 3)), verbose=0)
        >>> y_pred["boxes"].shape
        (1, 10, 4)
        >>> model.prediction_decoder.confidence_threshold  # restored
        0.5
    """
    from nbdetect.layers import MultiClassNonMaxSuppression, NonMaxSuppression

    decoder = model.prediction_decoder
    layer = NonMaxSuppression if class_agnostic else MultiClassNonMaxSuppression
    model.prediction_decoder = layer(
        bounding_box_format=model.bounding_box_format,
        from_logits=True,
        iou_threshold=0.5,
        confidence_threshold=confidence_threshold,
        max_detections=max_detections,
    )
    try:
        yield model
    finally:
        model.prediction_decoder = decoder


def evaluate(model, test_ds) -> Any:
    """COCO metrics of `model` on `test_ds` (`(images, y_true)` batches).

    Scored as COCO scores detectors: NMS keeps detections down to confidence 0.05 (up to
    100 per image), since average precision rewards a full ranked list. The model's own
    decoder is restored afterwards.
    """
    from nbdetect.metrics import COCOEvaluator

    evaluator = COCOEvaluator(bounding_box_format=model.bounding_box_format)
    with decoded_with(model, confidence_threshold=0.05):
        for images, y_true in test_ds:
            evaluator.update(y_true, model.predict(images, verbose=0))
    return evaluator.compute()


def run_demo(
    output_dir: str | pathlib.Path = "nbdetect_demo",
    steps: int | None = 1500,
    minutes: float | None = 15.0,
    batch_size: int = 8,
    train_examples: int = 4000,
    test_examples: int = 200,
    seed: int = 0,
    verbose: int | str = "auto",
    display_threshold: float = 0.3,
) -> dict:
    """Train the demo RetinaNet on shapes for `steps` (at most `minutes`), evaluate, draw.

    Writes to `output_dir`: `gallery.png` (test images, truth against predictions with
    confidence >= `display_threshold`),
    `metrics.json` and `metrics.txt` (the 12 COCO numbers and per-class AP on the test
    split), `history.json` (losses per epoch) and `model.keras` (the trained model).

    Args:
        output_dir: folder for the results (created).
        steps: training steps (1,500 reach mAP@[.5:.95] ~0.5); `None`: no step limit.
        minutes: training time cap, whichever of the two budgets ends first; `None`: none.
        batch_size: images per step.
        train_examples: size of the generated training split.
        test_examples: size of the generated test split.
        seed: seed for data, shuffling and weights.
        verbose: Keras' progress display (`"auto"`, 0, 1, 2).
        display_threshold: the lowest confidence the gallery draws. The model's own
            decoder keeps 0.5 (KerasCV's default); a briefly trained focal-loss detector
            scores many correct boxes below that. The gallery draws each object's best
            class only (class-agnostic NMS); the metrics use per-class NMS.

    Returns:
        `{"metrics": {...}, "steps": int, "train_seconds": float, "output_dir": str}`.
    """
    from nbdetect import visualization

    for name, value, minimum in (
        ("steps", 1 if steps is None else steps, 1),
        ("batch_size", batch_size, 1),
        ("train_examples", train_examples, batch_size),
        ("test_examples", test_examples, 1),
    ):
        fix = "at least one batch (batch_size)" if name == "train_examples" else None
        checks.whole_number(value, name, "run_demo", minimum, fix=fix)
    checks.number(minutes, "minutes", "run_demo", 0, low_inclusive=False, none_ok=True)
    keras.utils.set_random_seed(seed)
    output = pathlib.Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    train_ds, test_ds, class_names = demo_datasets(
        batch_size, train_examples, test_examples, seed=seed
    )
    model = build_demo_model(len(class_names), class_mapping=dict(enumerate(class_names)))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3, global_clipnorm=10.0),
        classification_loss="focal",
        box_loss="smoothl1",
    )
    steps_per_epoch = max(1, math.ceil(train_examples / batch_size / 2))
    start = time.perf_counter()
    history = model.fit(
        train_ds,
        steps_per_epoch=steps_per_epoch,
        epochs=10_000,  # TrainingBudget ends training
        callbacks=[TrainingBudget(steps, minutes)],
        verbose=verbose,
        shuffle=False,  # the dataset shuffles itself
    )
    train_seconds = time.perf_counter() - start
    steps = int(model.optimizer.iterations.numpy())
    # Saved before anything else can fail: training is the part that takes minutes.
    model.save(output / "model.keras")

    result = evaluate(model, test_ds)
    metrics = {key: float(value) for key, value in result.items()}
    (output / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (output / "metrics.txt").write_text(str(result) + "\n")
    (output / "history.json").write_text(json.dumps(history.history, indent=2, default=float))
    images, y_true = next(iter(test_ds))
    # One box per object, its best class: per-class NMS also keeps the runner-up classes
    # of an object, which pile up on the same box in a picture.
    with decoded_with(model, confidence_threshold=display_threshold, class_agnostic=True):
        shown = model.predict(images, verbose=0)
    visualization.plot_bounding_box_gallery(
        images,
        value_range=(0, 255),
        bounding_box_format=model.bounding_box_format,
        y_true=y_true,
        y_pred=shown,
        class_mapping=dict(enumerate(class_names)),
        rows=2,
        cols=4,
        scale=3,
        font_scale=0.6,
        legend=True,
        path=str(output / "gallery.png"),
        show=False,
    )
    return {
        "metrics": metrics,
        "steps": steps,
        "train_seconds": train_seconds,
        "output_dir": str(output),
        "result": result,
    }


# A model the notebooks can show within minutes: smaller images train 4x faster per step.
NOTEBOOK_IMAGE_SIZE = 128
NOTEBOOK_MODEL = "notebook_model.keras"


def trained_demo_model(
    output_dir: str | pathlib.Path = "nbdetect_demo",
    steps: int = 1100,
    minutes: float = 3.0,
    image_size: int = NOTEBOOK_IMAGE_SIZE,
    train_examples: int = 2000,
    callbacks: list | tuple = (),
    seed: int = 0,
    verbose: int | str = 0,
):
    """The demo's RetinaNet, trained: loaded when a run left one, otherwise trained now.

    Notebooks need a model whose detections are visibly right without waiting for
    `nbdetect demo` (6–12 minutes). In order, this returns:

    1. `output_dir/model.keras`, the model `nbdetect demo` wrote, when present;
    2. `output_dir/notebook_model.keras`, which an earlier call trained, when present;
    3. a model trained now on shapes at `image_size` pixels for `steps` steps (at most
       `minutes`), then saved as `output_dir/notebook_model.keras` for the next call.
       1,100 steps of 8 images at 128 pixels take under 3 minutes on 2 CPU cores and
       reach COCO mAP@[.5:.95] about 0.35 on shapes' test split.

    It prints one line saying which it did. Delete the file to train again.

    Args:
        output_dir: the folder `nbdetect demo` writes to (its default: `nbdetect_demo`).
        steps: training steps when training now.
        minutes: training time cap when training now (the learning rate drops 10x for
            the last fifth of whichever budget runs out first).
        image_size: side of the square shapes images trained on.
        train_examples: size of the generated training split.
        callbacks: Keras callbacks for `fit` (a `TrainingMonitor`, say); unused when a
            model is loaded.
        seed: seed for data, shuffling and weights.
        verbose: Keras' progress display for `fit`.

    Returns:
        A compiled `nbdetect.models.RetinaNet` (bounding_box_format `"xywh"`), its
        `class_mapping` set to the shapes class names.

    Example:
        `model = trained_demo_model()` trains for < 3 min the first time, then loads; here
        with a tiny budget (2 steps, 64-pixel images):

        >>> import tempfile
        >>> from nbdetect.demo import trained_demo_model
        >>> folder = tempfile.mkdtemp()
        >>> model = trained_demo_model(folder, steps=2, image_size=64, train_examples=8)
        Trained the demo model for 2 steps (... s) on shapes at 64 px; saved it as
        .../notebook_model.keras for the next notebook.
        >>> model = trained_demo_model(folder)  # the second call loads what the first saved
        Loaded .../notebook_model.keras, the model an earlier notebook trained (delete it to
        train again).
        >>> model.bounding_box_format, model.class_mapping[0]
        ('xywh', 'circle')
    """
    import nbdetect.models  # noqa: F401  (registers nbdetect's classes for loading)

    output = pathlib.Path(output_dir)
    for name, origin in (("model.keras", "`nbdetect demo` wrote"), (NOTEBOOK_MODEL, "")):
        path = output / name
        if path.exists():
            model = keras.saving.load_model(path)
            told = origin or "an earlier notebook trained"
            print(f"Loaded {path}, the model {told} (delete it to train again).")
            return model
    keras.utils.set_random_seed(seed)
    train_ds, _, class_names = demo_datasets(
        8, train_examples, test_examples=8, image_size=image_size, seed=seed
    )
    model = build_demo_model(len(class_names), class_mapping=dict(enumerate(class_names)))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3, global_clipnorm=10.0),
        classification_loss="focal",
        box_loss="smoothl1",
    )
    start = time.perf_counter()
    model.fit(
        train_ds,
        steps_per_epoch=max(1, steps // 10),
        epochs=10_000,  # TrainingBudget ends training
        callbacks=[TrainingBudget(steps, minutes), *callbacks],
        verbose=verbose,
        shuffle=False,
    )
    seconds = time.perf_counter() - start
    output.mkdir(parents=True, exist_ok=True)
    model.save(output / NOTEBOOK_MODEL)
    done = int(model.optimizer.iterations.numpy())
    print(
        f"Trained the demo model for {done} steps ({seconds:.0f} s) on shapes at "
        f"{image_size} px; saved it as {output / NOTEBOOK_MODEL} for the next notebook."
    )
    return model


__all__ = [
    "TrainingBudget",
    "build_demo_model",
    "decoded_with",
    "demo_backbone",
    "demo_datasets",
    "evaluate",
    "run_demo",
    "trained_demo_model",
]
