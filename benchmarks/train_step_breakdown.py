"""Where one RetinaNet training step's time goes: nbdetect vs KerasHub 0.32 vs KerasCV 0.9.

The models are those of `benchmarks/retinanet.py`: a ResNet50 backbone with random weights
(no downloads), 20 classes, `xywh` boxes (8 per image), a batch of `--batch` images of
`--size` x `--size` (default 4 x 512 x 512), TensorFlow backend, the KerasCV guide's
optimizer `SGD(0.005, momentum=0.9, global_clipnorm=10.0)`, focal + smooth L1 losses
(KerasHub: its defaults, focal + Huber, both `reduction="sum"`). KerasHub's
`RetinaNetObjectDetector` is built as its COCO presets configure it (ResNet50
`ResNetBackbone`, `RetinaNetBackbone(min_level=3, max_level=7, use_p5=False)`, 4 head
convolutions, as nbdetect's), without a preprocessor; KerasCV 0.9's `RetinaNet` as in
`benchmarks/retinanet.py` (3 head convolutions). nbdetect is measured twice: as
`benchmarks/retinanet.py` builds it (its default, `keras.applications`' ResNet50, 4 head
convolutions, as KerasHub's), and with KerasCV 0.9's network exactly
(`convert.keras_cv.network`, what a converted KerasCV checkpoint gets:
`Backbone("kerascv_resnet50")`, no convolution biases, `Rescaling(1/255)`; P6 from C5;
3 head convolutions; anchors clipped and class-agnostic NMS, as KerasCV's), so that the
step is also compared on one network. The whole
backbone trains in all.

Each piece runs in its own `tf.function` (autograph off) and its time is the median of
`--repeats` calls after one warm-up call, so tracing is not counted:

- target encoding: the model's label encoder (anchors matched to the boxes), after the
  box-format conversion its `compute_loss` does;
- forward: `model(images, training=True)`;
- predict: `model.predict(images)`, the network and each library's default decoding
  (nbdetect: per-class NMS; KerasHub and KerasCV: their `NonMaxSuppression`) with Keras'
  data adapter and iterator, as a user calls it;
- predict, inside predict: the median batch of one `predict` call over `--repeats` + 1
  copies of the batch (its first batch left out), timed by a callback as the fit steps
  are: the network and decoding without the per-call costs (target: nbdetect's <=
  KerasHub's);
- forward + loss: the forward pass, then `model.compute_loss(...)` (target encoding, the
  two losses, Keras' loss trackers);
- forward + backward: the forward pass under a `GradientTape`, then the gradients of the
  sum of the raw outputs with respect to the trainable variables: the network's backward
  pass, without targets or loss;
- optimizer apply: `optimizer.apply(gradients, trainable_variables)` on precomputed
  gradients (clipping by global norm, the momentum update);
- full step, fit 1 step: one `model.fit(images, targets, batch_size=B)` call on one batch,
  as `benchmarks/retinanet.py` times it: Keras' traced `train_step` plus the per-call
  setup of `fit` (data adapter, iterator, callbacks);
- full step, inside fit: the median step of one `fit` call over `--repeats` + 1 copies
  of the batch (its first step left out), each step timed by a callback from
  `on_train_batch_begin` to `on_train_batch_end`: Keras' traced `train_step` with its
  data fetch, what every step of a long `fit` costs;
- fit call cost beyond its steps: that `fit` call's time minus the sum of its steps: the
  data adapter, the callbacks, and the iterator's teardown, paid once per `fit` call,
  not per step. The teardown is most of it and varies from 0 to ~40 s of idle wall time
  (a few tenths of a CPU second) in all three libraries alike: Keras stops the array
  adapter's tf.data iterator before its end, and deleting it waits in TensorFlow's
  `RootDataset::Iterator` destructor for the iterator's autotuning thread to wake
  (py-spy's native stack of the waiting main thread, TensorFlow 2.21);
- overhead: a full step minus forward + backward: what a step costs beyond the network;
- first fit call: the first `fit` call on a fresh model, tracing included (once, not a
  median): the wait before training starts.

`fit` rather than `train_on_batch`: the peers' `train_on_batch` fails on detection targets
(KerasHub's `PipelineModel.train_on_batch` calls `convert_to_tensor` on the targets dict;
KerasCV 0.9's `train_step` cannot unpack the `(x, y, sample_weight)` that Keras 3's
`train_on_batch` passes).

Wall seconds are the first table; CPU seconds (all threads of the process) the second,
because on a shared 2-core machine the wall time of the same call varies with other load.
Each model is measured on its own, one piece after another (alternating models evicts
oneDNN's cached kernels). Ratios: full step / own forward + backward (the target for
nbdetect: at most 1.2x), nbdetect's full step / the peer's with the same architecture
(target: at most 1.0x), and nbdetect's default / the fastest peer's, whatever its network.

Traces: before the model's first step, `model.train_step` is replaced by a wrapper that
counts how often its Python body runs, which is how often Keras traces it; `fit` is then
called twice with the same shapes and the count printed after each (TensorFlow traces a
function twice on its first call when that call creates variables). Keras keeps its
`tf.function`s in the closure of `model.train_function` (a plain Python function); their
`experimental_get_tracing_count()` are printed as well. A timed piece whose tf.function
was traced more than once is reported.

Run (about 20 minutes on a 2-core CPU at the defaults; the tiny check below takes 3 to 6
minutes, nearly all of it tracing, more on a busy machine):
    python benchmarks/train_step_breakdown.py [--size 512] [--batch 4] [--repeats 3]
    python benchmarks/train_step_breakdown.py --size 128 --batch 2 --repeats 1
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# Run from a checkout without installing nbdetect; `retinanet` is the sibling benchmark.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from adapter import keras_hub_retinanet_backbone  # noqa: E402
from fit_timing import StepTimer, fit_call, median_step  # noqa: E402
from machine import cpu_model, usable_cores  # noqa: E402
from retinanet import NUM_CLASSES, batch, keras_cv_model, nbdetect_model, optimizer  # noqa: E402

OWN = "nbdetect"
OWN_KERAS_CV = "nbdetect, KerasCV's network"
OURS = (OWN, OWN_KERAS_CV)
# Each peer, the nbdetect model to compare it with, and what they share: KerasCV's network
# exactly; KerasHub's heads and pyramid, on keras.applications' ResNet50 (KerasHub's,
# torchvision's, puts a stage's stride on its 3x3 convolution instead of the 1x1).
SAME_ARCHITECTURE = {
    "KerasHub 0.32": (OWN, "same heads and pyramid"),
    "KerasCV 0.9": (OWN_KERAS_CV, "same network"),
}
FIT_ONE = "full step: fit, 1 step"
FIT_STEP = "full step: inside fit"
FIT_CALL_COST = "fit call cost beyond its steps"
OVERHEAD_ONE = "overhead: fit 1 step - fwd+bwd"
OVERHEAD_STEP = "overhead: inside fit - fwd+bwd"
FIRST_FIT = "first fit call, tracing incl."
PREDICT = "predict (network + decoding)"
PREDICT_STEP = "predict, inside predict"
ROWS = (
    "target encoding",
    "forward",
    PREDICT,
    PREDICT_STEP,
    "forward + loss",
    "forward + backward",
    "optimizer apply",
    FIT_ONE,
    FIT_STEP,
    FIT_CALL_COST,
    OVERHEAD_ONE,
    OVERHEAD_STEP,
    FIRST_FIT,
)


def nbdetect_keras_cv_network() -> keras.Model:
    """nbdetect's RetinaNet with KerasCV 0.9's network: its ResNet50, pyramid and heads."""
    from nbdetect.models import RetinaNet
    from nbdetect.models.retinanet.convert import keras_cv

    model = keras_cv.network(
        RetinaNet, NUM_CLASSES, "xywh", trainable_backbone_stages=5, freeze_backbone_batchnorm=False
    )
    model.compile(classification_loss="focal", box_loss="smoothl1", optimizer=optimizer())
    return model


def keras_hub_model() -> keras.Model:
    """KerasHub's RetinaNet-ResNet50 as its COCO presets configure it, random weights."""
    import keras_hub

    backbone = keras_hub_retinanet_backbone()
    # No preprocessor: the other two models get the same 0-255 images without one, and
    # rescaling would only add a multiply to KerasHub's step.
    model = keras_hub.models.RetinaNetObjectDetector(
        backbone=backbone, num_classes=NUM_CLASSES, bounding_box_format="xywh", preprocessor=None
    )
    model.compile(optimizer=optimizer())
    return model


def nbdetect_encode(model: keras.Model) -> Callable:
    """nbdetect's target encoding, as its `compute_loss` does it."""
    from nbdetect.bounding_box.converters import convert_format

    def encode(images, targets):
        boxes = targets["boxes"]
        if model.label_encoder.bounding_box_format != model.bounding_box_format:
            boxes = convert_format(
                boxes,
                source=model.bounding_box_format,
                target=model.label_encoder.bounding_box_format,
                image_shape=tuple(images.shape[1:3]),
            )
        return model.label_encoder(images, {"boxes": boxes, "classes": targets["classes"]})

    return encode


def keras_hub_encode(model: keras.Model) -> Callable:
    """KerasHub's target encoding, as `RetinaNetObjectDetector.compute_loss` does it."""

    def encode(images, targets):
        height, width = images.shape[1], images.shape[2]
        targets = keras.utils.bounding_boxes.convert_format(
            targets,
            source=model.bounding_box_format,
            target=model.label_encoder.bounding_box_format,
            height=height,
            width=width,
        )
        return model.label_encoder(
            images=images, gt_boxes=targets["boxes"], gt_classes=targets["labels"]
        )

    return encode


def keras_cv_encode(model: keras.Model) -> Callable:
    """KerasCV 0.9's target encoding, as its `RetinaNet.compute_loss` does it."""
    from keras_cv import bounding_box

    def encode(images, targets):
        targets = bounding_box.convert_format(
            targets,
            source=model.bounding_box_format,
            target=model.label_encoder.bounding_box_format,
            images=images,
        )
        return model.label_encoder(images, targets)

    return encode


def pieces(model: keras.Model, encode: Callable, images, targets) -> tuple[dict, dict]:
    """The timed calls of one model by piece name (in the order measured), and its tf.functions."""
    x = tf.convert_to_tensor(images)
    y = tf.nest.map_structure(tf.convert_to_tensor, targets)
    variables = model.trainable_variables

    def forward_loss(x, y):
        y_pred = model(x, training=True)
        return model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=None, training=True)

    def forward_backward(x):
        with tf.GradientTape() as tape:
            outputs = tf.nest.flatten(model(x, training=True))
            # The backward pass through the network costs the same whatever gradient
            # reaches its outputs; ones (from a sum) need no targets and no loss.
            total = tf.add_n([tf.reduce_sum(output) for output in outputs])
        return tape.gradient(total, variables)

    functions = {
        "target encoding": (tf.function(encode, autograph=False), (x, y)),
        "forward": (tf.function(lambda x: model(x, training=True), autograph=False), (x,)),
        "forward + loss": (tf.function(forward_loss, autograph=False), (x, y)),
        "forward + backward": (tf.function(forward_backward, autograph=False), (x,)),
    }
    if not model.optimizer.built:
        # Eagerly: variables created while tracing would make TensorFlow trace twice.
        model.optimizer.build(variables)
    gradients = [tf.identity(g) for g in functions["forward + backward"][0](x)]
    apply = tf.function(lambda: model.optimizer.apply(gradients, variables), autograph=False)
    functions["optimizer apply"] = (apply, ())

    calls = {name: (lambda f=f, a=a: f(*a)) for name, (f, a) in functions.items()}
    # Keras' predict with each library's default decoder (nbdetect: per-class NMS; KerasHub
    # and KerasCV: their NonMaxSuppression), its data adapter and iterator included.
    calls[PREDICT] = lambda: model.predict(images, batch_size=len(images), verbose=0)
    return calls, functions


def count_traces(model: keras.Model) -> Callable[[], int]:
    """Wrap `model.train_step` so that each trace is counted; returns the counter."""
    count = [0]
    step = model.train_step

    def counted(*args):
        # Python runs this body only while Keras traces the step.
        count[0] += 1
        return step(*args)

    model.train_step = counted
    return lambda: count[0]


def keras_tracing_counts(model: keras.Model) -> dict:
    """`experimental_get_tracing_count()` of the tf.functions behind `model.train_function`.

    Keras 3 builds `train_function` as a plain Python function closing over its
    `tf.function`s: `multi_step_on_iterator`, which `fit` calls, and `one_step_on_data`
    (wrapped once more to convert optionals), which it calls.
    """
    counts = {}
    function = model.train_function
    for name, cell in zip(function.__code__.co_freevars, function.__closure__ or ()):
        target = cell.cell_contents
        if not hasattr(target, "experimental_get_tracing_count"):
            # A `functools.wraps` wrapper (a tf.function has `__wrapped__` as well).
            target = getattr(target, "__wrapped__", None)
        if hasattr(target, "experimental_get_tracing_count"):
            counts[name] = target.experimental_get_tracing_count()
    return counts


def measure(calls: dict, repeats: int) -> dict:
    """Median wall and CPU seconds of each call after one warm-up call, or the error.

    Args:
        calls: the calls to time, by name, each without arguments.
        repeats: timed calls of each.

    Returns:
        `{name: (wall seconds, CPU seconds)}`, or `{name: "the error"}` for a call that
        failed.
    """
    result = {}
    for name, call in calls.items():
        start = time.perf_counter()
        try:
            call()
        except Exception as error:  # noqa: BLE001 - a peer's failure is a result here
            result[name] = f"{type(error).__name__}: {error}".splitlines()[0][:100]
            continue
        print(f"  {name}: warm-up {time.perf_counter() - start:.1f} s", file=sys.stderr)
        seconds = [timed(call) for _ in range(repeats)]
        result[name] = tuple(statistics.median(column) for column in zip(*seconds))
    return result


def measure_fit(model: keras.Model, images, targets, repeats: int) -> dict:
    """A one-step `fit` call; a step inside `fit`; a `fit` call's cost beyond its steps.

    One-step calls run `repeats` times after one untimed call. Then one `fit` call over
    `repeats + 1` copies of the batch is timed step by step with a `StepTimer` (the first
    step, after the one-step calls' different data, is left out of the median).
    """
    one = fit_call(model, images, targets, 1)
    # The trace-counting calls traced the train function already; this call brings back
    # the kernels the other pieces' functions may have evicted.
    one()
    ones = [timed(one) for _ in range(repeats)]
    timer = StepTimer()
    many = fit_call(model, images, targets, repeats + 1, callbacks=[timer])
    call = timed(many)
    steps = timer.steps
    median = statistics.median
    return {
        FIT_ONE: tuple(median(t[i] for t in ones) for i in (0, 1)),
        FIT_STEP: median_step(steps),
        FIT_CALL_COST: tuple(call[i] - sum(t[i] for t in steps) for i in (0, 1)),
    }


def measure_predict_steps(model: keras.Model, images, repeats: int) -> dict:
    """A batch inside one `predict` call over `repeats + 1` copies of the batch."""
    timer = StepTimer()
    x = np.concatenate([images] * (repeats + 1))
    model.predict(x, batch_size=len(images), verbose=0, callbacks=[timer])
    return {PREDICT_STEP: median_step(timer.steps)}


def timed(call: Callable) -> tuple[float, float]:
    """Wall and CPU seconds (all threads of this process) of one call."""
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - start_wall, time.process_time() - start_cpu


def run_model(name: str, build: Callable, encode: Callable, args) -> dict:
    """Build one model, count its traces over two `fit` calls, then time its pieces."""
    print(f"measuring {name} ...", file=sys.stderr, flush=True)
    images, targets = batch(args.size, args.batch)
    if name.startswith("KerasHub"):
        targets = {"boxes": targets["boxes"], "labels": targets["classes"]}
    start = time.perf_counter()
    model = build()
    traces = count_traces(model)
    print(f"  built in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    fit_one = fit_call(model, images, targets, 1)
    trace_info, first = {}, None
    for call in ("1st", "2nd"):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        fit_one()
        first = first or (time.perf_counter() - start_wall, time.process_time() - start_cpu)
        trace_info[f"after {call} fit"] = traces()
        print(f"  {call} fit: {time.perf_counter() - start_wall:.1f} s", file=sys.stderr)
    trace_info.update(keras_tracing_counts(model))
    calls, functions = pieces(model, encode(model), images, targets)
    times = measure(calls, args.repeats)
    print("  fit calls ...", file=sys.stderr, flush=True)
    times.update(measure_fit(model, images, targets, args.repeats))
    times.update(measure_predict_steps(model, images, args.repeats))
    times[FIRST_FIT] = first
    trace_info["after all timed calls"] = traces()
    retraced = [
        piece for piece, (f, _) in functions.items() if f.experimental_get_tracing_count() != 1
    ]
    del model, calls, functions
    gc.collect()
    return {"times": times, "traces": trace_info, "retraced": retraced}


def cell(value, index: int) -> str:
    return f"{value[index]:.3f}" if isinstance(value, tuple) else "n/a"


def derived(times: dict) -> dict:
    """The measured pieces and the overheads: full steps - (forward + backward)."""
    result = dict(times)
    network = times.get("forward + backward")
    for full, label in ((FIT_ONE, OVERHEAD_ONE), (FIT_STEP, OVERHEAD_STEP)):
        step = result.get(full)
        if isinstance(step, tuple) and isinstance(network, tuple):
            result[label] = (step[0] - network[0], step[1] - network[1])
    return result


def ratio(numerator: tuple, denominator: tuple) -> str:
    """`wall ratio (CPU ratio)`; n/a where a time is not positive (noise in a difference)."""
    parts = [f"{a / b:.2f}x" if a > 0 and b > 0 else "n/a" for a, b in zip(numerator, denominator)]
    return f"{parts[0]} ({parts[1]})"


def print_report(results: dict, args, load_before: float) -> None:
    names = list(results)
    rows = {name: derived(results[name]["times"]) for name in names}
    print(
        f"machine: {cpu_model()}, {usable_cores()} cores usable ({os.cpu_count()} online); "
        f"1-min load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    print(
        f"RetinaNet-ResNet50 train step, {NUM_CLASSES} classes, "
        f"{args.batch}x{args.size}x{args.size}, Python {platform.python_version()}, "
        f"Keras {keras.__version__}, TensorFlow {tf.__version__} (CPU), "
        f"median of {args.repeats} after 1 warm-up"
    )
    if args.repeats < 3:
        print(f"({args.repeats} timed call(s) per piece: a smoke test, not figures to quote)")
    width = max(len(row) for row in ROWS)
    columns = [max(13, len(n)) for n in names]
    for index, unit in ((0, "wall seconds"), (1, "CPU seconds (all threads)")):
        print(f"\n{unit}")
        header = " | ".join(f"{n:>{w}}" for n, w in zip(names, columns))
        print(f"| {'piece':<{width}} | {header} |")
        print(f"|{'-' * (width + 2)}|" + "|".join("-" * (w + 2) for w in columns) + "|")
        for row in ROWS:
            cells = [cell(rows[n].get(row), index) for n in names]
            line = " | ".join(f"{c:>{w}}" for c, w in zip(cells, columns))
            print(f"| {row:<{width}} | {line} |")

    print("\nratios: wall (CPU)")
    for full in (FIT_ONE, FIT_STEP):
        for n in names:
            step, network = rows[n].get(full), rows[n].get("forward + backward")
            if isinstance(step, tuple) and isinstance(network, tuple):
                target = "   target <= 1.2x" if n == OWN and full == FIT_STEP else ""
                print(f"  {n}: {full} / forward + backward = {ratio(step, network)}{target}")
        peers = {
            n: rows[n][full]
            for n in names
            if n not in OURS and isinstance(rows[n].get(full), tuple) and rows[n][full][0] > 0
        }
        for peer, (own, shared) in SAME_ARCHITECTURE.items():
            ours = rows.get(own, {}).get(full)
            if peer in peers and isinstance(ours, tuple):
                target = "   target <= 1.0x" if full == FIT_STEP else ""
                print(f"  {shared}: {own} / {peer}, {full} = {ratio(ours, peers[peer])}{target}")
        ours = rows[OWN].get(full)
        if peers and isinstance(ours, tuple):
            best = min(peers, key=lambda n: peers[n][0])
            print(f"  nbdetect / fastest peer ({best}), {full} = {ratio(ours, peers[best])}")

    for piece in (PREDICT, PREDICT_STEP):
        ours, hub = rows[OWN].get(piece), rows.get("KerasHub 0.32", {}).get(piece)
        if isinstance(ours, tuple) and isinstance(hub, tuple):
            target = "   target <= 1.0x" if piece == PREDICT_STEP else ""
            print(f"  nbdetect / KerasHub 0.32, {piece} = {ratio(ours, hub)}{target}")

    print("\ntraces of train_step (same shapes throughout; Keras' tf.function counts after 2 fits)")
    for n in names:
        traces = results[n]["traces"].items()
        info = ", ".join(f"{key} {value}" for key, value in traces) or "not measured"
        print(f"  {n}: {info}")
        if results[n]["retraced"]:
            print(
                f"  {n}: retraced while timed (figures include tracing): {results[n]['retraced']}"
            )
    failures = [f"  {n}: {results[n]['error']}" for n in names if "error" in results[n]]
    failures += [
        f"  {n}, {piece}: {value}"
        for n in names
        for piece, value in results[n]["times"].items()
        if isinstance(value, str)
    ]
    if failures:
        print("\nnot measured (the call failed):")
        print("\n".join(failures))
    print(
        "\nforward + backward: gradients of the sum of the raw outputs (no loss). fit, 1 "
        "step: one fit() call on one batch (the data adapter, iterator and callbacks "
        "included); inside fit: the median step of one fit() call, timed by a callback "
        "from on_train_batch_begin to on_train_batch_end (what each step of a long fit "
        "costs); fit call cost: that call's time minus its steps (data adapter, "
        "callbacks, the tf.data iterator's teardown), once per fit call. overhead: the "
        "step - (forward + backward)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="image height and width")
    parser.add_argument("--batch", type=int, default=4, help="images per batch")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per piece")
    parser.add_argument(
        "--models",
        nargs="+",
        choices=("nbdetect", "nbdetect_kerascv", "kerashub", "kerascv"),
        default=("nbdetect", "nbdetect_kerascv", "kerashub", "kerascv"),
        help="which models to measure (nbdetect always is; nbdetect_kerascv is nbdetect "
        "with KerasCV's network)",
    )
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    keras.utils.set_random_seed(0)

    models = {
        OWN: ("nbdetect", lambda: nbdetect_model(4, frozen=False), nbdetect_encode),
        OWN_KERAS_CV: ("nbdetect_kerascv", nbdetect_keras_cv_network, nbdetect_encode),
        "KerasHub 0.32": ("kerashub", keras_hub_model, keras_hub_encode),
        "KerasCV 0.9": ("kerascv", keras_cv_model, keras_cv_encode),
    }
    chosen = {"nbdetect", *args.models}
    results = {}
    for name, (key, build, encode) in models.items():
        if key not in chosen:
            continue
        try:
            results[name] = run_model(name, build, encode, args)
        except Exception as error:  # noqa: BLE001 - a peer that fails is a result too
            if name in OURS:
                raise
            message = f"{type(error).__name__}: {error}".splitlines()[0][:200]
            results[name] = {"times": {}, "traces": {}, "retraced": [], "error": message}
    print_report(results, args, load_before)


if __name__ == "__main__":
    main()
