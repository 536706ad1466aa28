"""Shared pieces of the distribution tests: fixed data, the model, training, subprocesses.

Imported by the test modules (in pytest's process) and by the `run_*.py` scripts (each in
a fresh Python process, where devices must be configured before TensorFlow or JAX starts).
This module therefore imports only numpy at the top; TensorFlow and Keras are imported
inside the functions that need them.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]

NUM_IMAGES = 8
IMAGE_SIZE = 64
MAX_BOXES = 3
BATCH_SIZE = 4
STEPS = 3
NUM_CLASSES = 3
SEED = 0


# --- data ---------------------------------------------------------------------------------


def synthetic_data(num_images=NUM_IMAGES, size=IMAGE_SIZE, seed=SEED):
    """Seeded images and "xywh" boxes: image i has 1 + i % 3 boxes (dense, -1 padded).

    Boxes are 14-34 px, the size of the demo model's smallest anchors (16-25 px on P3),
    so that every image has positive anchors.

    Returns:
        `{"images": [N, size, size, 3] float32 in 0..255, "boxes": [N, MAX_BOXES, 4],
        "classes": [N, MAX_BOXES], "counts": [N]}` (numpy).
    """
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 255, (num_images, size, size, 3)).astype("float32")
    boxes = -np.ones((num_images, MAX_BOXES, 4), "float32")
    classes = -np.ones((num_images, MAX_BOXES), "float32")
    counts = np.array([1 + i % MAX_BOXES for i in range(num_images)])
    for i, count in enumerate(counts):
        for j in range(count):
            width, height = rng.uniform(14, 34, 2)
            x, y = rng.uniform(0, size - width), rng.uniform(0, size - height)
            boxes[i, j] = [x, y, width, height]
            classes[i, j] = rng.integers(0, NUM_CLASSES)
    return {"images": images, "boxes": boxes, "classes": classes, "counts": counts}


def dense_dataset(data, batch_size=BATCH_SIZE):
    """`(images, {"boxes", "classes"})` batches: dense boxes padded with -1, repeated."""
    import tensorflow as tf

    targets = {"boxes": data["boxes"], "classes": data["classes"]}
    return tf.data.Dataset.from_tensor_slices((data["images"], targets)).batch(batch_size).repeat()


def ragged_dataset(data, batch_size=BATCH_SIZE, to_dense=True):
    """The guide's pipeline: per-image boxes of different counts, `ragged_batch`, then dense.

    Each element is `{"images", "bounding_boxes": {"boxes": [n_i, 4], "classes": [n_i]}}`;
    `ragged_batch` makes ragged boxes; with `to_dense` they are padded with
    `nbdetect.bounding_box.to_dense` as the guide's `dict_to_tuple` does, otherwise the
    model gets the ragged `{"images", "bounding_boxes"}` batches itself.
    """
    import tensorflow as tf

    from nbdetect import bounding_box

    counts = data["counts"]
    boxes = tf.ragged.constant(
        [data["boxes"][i, :n].tolist() for i, n in enumerate(counts)], ragged_rank=1
    )
    classes = tf.ragged.constant([data["classes"][i, :n].tolist() for i, n in enumerate(counts)])
    examples = {
        "images": data["images"],
        "bounding_boxes": {
            "boxes": tf.cast(boxes, "float32"),
            "classes": tf.cast(classes, "float32"),
        },
    }
    ds = tf.data.Dataset.from_tensor_slices(examples).ragged_batch(batch_size)
    if to_dense:

        def dict_to_tuple(inputs):
            return inputs["images"], bounding_box.to_dense(
                inputs["bounding_boxes"], max_boxes=MAX_BOXES
            )

        ds = ds.map(dict_to_tuple)
    return ds.repeat()


# --- model and training -------------------------------------------------------------------


def build_model(seed=SEED):
    """The demo RetinaNet (3 classes, "xywh"), its weights drawn from `seed`."""
    import keras

    from nbdetect.demo import build_demo_model

    keras.utils.set_random_seed(seed)
    return build_demo_model(num_classes=NUM_CLASSES)


def synchronize_batchnorm(model):
    """Batch statistics over the global batch (`BatchNormalization(synchronized=True)`).

    Keras' BatchNormalization normalises each replica's part of the batch with that part's
    statistics unless `synchronized=True` (TensorFlow only): a documented Keras behaviour
    that would make any replicated run differ from one device whatever the train step
    does. Synchronised, the statistics are the global batch's on both sides, so the
    comparison measures nbdetect's step (loss normalisation and scaling) only.
    """
    import keras

    count = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True
            count += 1
    if not count:
        raise AssertionError("the demo model has no BatchNormalization layer to synchronise")
    return count


def compile_model(model, **kwargs):
    """The compile call of the tests: SGD(0.01), focal and smooth L1 losses."""
    import keras

    model.compile(
        optimizer=keras.optimizers.SGD(0.01),
        classification_loss="focal",
        box_loss="smoothl1",
        **kwargs,
    )
    return model


def loss_recorder():
    """A callback keeping the logs of every training step: `{"loss": [...], ...}`."""
    import keras

    class LossRecorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.steps = {}

        def on_train_batch_end(self, batch, logs=None):
            for key, value in (logs or {}).items():
                self.steps.setdefault(key, []).append(float(value))

    return LossRecorder()


def train(model, dataset, steps=STEPS):
    """`fit` for `steps` steps; returns the per-step logs (Keras' running means)."""
    import keras

    # Whole tracebacks: a failure report should show the Keras / TensorFlow frames too.
    keras.config.disable_traceback_filtering()
    recorder = loss_recorder()
    model.fit(
        dataset,
        epochs=1,
        steps_per_epoch=steps,
        shuffle=False,
        verbose=0,
        callbacks=[recorder],
    )
    return recorder.steps


def weights_by_path(model):
    """`{"index path": numpy value}` of every model variable (trainable or not).

    Keras numbers the names of a second model's auto-named layers
    (`feature_pyramid_1/...`): the suffixes are dropped, so that two models built in one
    process have the same keys, and the index keeps them unique.
    """
    return {
        f"{index:03d} {re.sub(r'_[0-9]+(?=/)', '', variable.path)}": np.asarray(variable.numpy())
        for index, variable in enumerate(model.weights)
    }


def save_arrays(path, arrays):
    np.savez(path, **{key.replace("/", "|"): value for key, value in arrays.items()})


def load_arrays(path):
    with np.load(path) as saved:
        return {key.replace("|", "/"): saved[key] for key in saved.files}


def write_json(path, result):
    pathlib.Path(path).write_text(json.dumps(result, indent=1, default=str))


def save_run(out_dir, name, initial, final, result):
    """`OUT_DIR/<name>.npz` (`initial/...`, `final/...` weights) and `<name>.json`."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays = {f"initial/{k}": v for k, v in initial.items()}
    arrays.update({f"final/{k}": v for k, v in final.items()})
    save_arrays(out_dir / f"{name}.npz", arrays)
    write_json(out_dir / f"{name}.json", result)


def load_run(out_dir, name):
    """What `save_run` wrote: `(result, {"initial": weights, "final": weights})`."""
    out_dir = pathlib.Path(out_dir)
    arrays = load_arrays(out_dir / f"{name}.npz")
    weights = {
        part: {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(part + "/")}
        for part in ("initial", "final")
    }
    return json.loads((out_dir / f"{name}.json").read_text()), weights


# --- subprocesses -------------------------------------------------------------------------


def script_env(backend="tensorflow", **extra):
    """The environment of a fresh test process: its backend, host devices only, quiet."""
    env = dict(os.environ)
    for name in ("XLA_FLAGS", "TF_CONFIG", "JAX_PLATFORMS"):
        env.pop(name, None)
    env.update(
        KERAS_BACKEND=backend,
        TF_CPP_MIN_LOG_LEVEL="2",
        CUDA_VISIBLE_DEVICES="",  # the host devices these tests are about, on any machine
        PYTHONPATH=os.pathsep.join([str(REPO), str(HERE), *filter(None, [env.get("PYTHONPATH")])]),
    )
    if backend == "jax":
        env["JAX_PLATFORMS"] = "cpu"
        # XLA compiles at LLVM's lowest optimisation level: half the compile time of the
        # default (which dominates these 3-step runs) on the same ops.
        env["XLA_FLAGS"] = "--xla_backend_optimization_level=0"
    xla_flags = extra.pop("XLA_FLAGS", None)
    if xla_flags:
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {xla_flags}".strip()
    env.update(extra)
    return env


class Background:
    """Runs the tests' scripts two at a time (the machine's two cores), in threads.

    A test module submits the runs of all its selected tests when its first test starts;
    each test then waits for its own. Most of a run is single-threaded (importing,
    tracing, XLA compiling), so two at a time take about half the time of one after the
    other.
    """

    def __init__(self, workers=2):
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="distribute-test")

    def submit(self, function, *args, **kwargs):
        return self.pool.submit(function, *args, **kwargs)

    def run_script(self, script, *args, env=None, timeout=300):
        return self.submit(run_script, script, *args, env=env, timeout=timeout)

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


def selected(request, test_name):
    """The parameter ids of `test_name`'s items that this session runs (after -k, etc.)."""
    return {
        item.callspec.id if hasattr(item, "callspec") else ""
        for item in request.session.items
        if getattr(item, "originalname", None) == test_name
        and item.path == request.node.path
        and item.get_closest_marker("skip") is None
    }


def run_script(script, *args, env=None, timeout=300):
    """Run `python HERE/script *args` to completion; fail the test with its stderr if not."""
    command = [sys.executable, str(HERE / script), *map(str, args)]
    try:
        done = subprocess.run(
            command,
            env=env or script_env(),
            timeout=timeout,
            capture_output=True,
            text=True,
            cwd=str(REPO),
        )
    except subprocess.TimeoutExpired as error:
        raise AssertionError(
            f"{script} {' '.join(map(str, args))} ran past {timeout} s; its stderr ended "
            f"with:\n{tail(error.stderr)}"
        ) from None
    if done.returncode != 0:
        raise AssertionError(
            f"{script} {' '.join(map(str, args))} exited with {done.returncode}; its stderr "
            f"ended with:\n{tail(done.stderr)}"
        )
    return done


def tail(text, lines=40):
    """The end of a process's output; for a traceback, its last frames and its error.

    Tensor values printed inside an error message (TensorFlow prints whole batches) are
    left out, and long lines cut, so that the failure report stays readable.
    """
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    all_lines = (text or "").splitlines()
    marker = "Traceback (most recent call last):"
    starts = [i for i, line in enumerate(all_lines) if line.startswith(marker)]
    if not starts:
        return "\n".join(all_lines[-lines:])
    traceback = all_lines[starts[-1] + 1 :]
    frames = [line for line in traceback if line.startswith("  File ")]
    error = next((i for i, line in enumerate(traceback) if line and not line.startswith(" ")), None)
    message = [] if error is None else traceback[error:]
    kept = [line for line in message if line.strip() and not ARRAY_LINE.match(line)]
    # Where it went wrong in nbdetect, Keras or these tests, then the innermost frames.
    ours = [
        f for f in frames[:-3] if any(p in f for p in ("/keras/", "nbdetect", "tests/distribute"))
    ]
    shown = [marker, *ours[-8:], *frames[-3:], *kept[:15]]
    if len(kept) > 15:
        shown.append(f"[... {len(kept) - 15} more lines]")
    return "\n".join(line if len(line) <= 400 else line[:400] + " [...]" for line in shown)


# A line of a printed array or tensor: brackets, numbers, commas, dots.
ARRAY_LINE = re.compile(r"^\s*(array\()?[\[\]0-9.eE+\-, ]*(\.\.\.,?)?[\[\]0-9.eE+\-, ]*$")


def mismatches(actual, expected, rtol, atol=0.0, what=""):
    """Descriptions of the entries of two `{name: array}` dicts that are not allclose."""
    problems = []
    if sorted(actual) != sorted(expected):
        problems.append(f"{what}: different entries {sorted(actual)} vs {sorted(expected)}")
        return problems
    for key in expected:
        a, e = np.asarray(actual[key], "float64"), np.asarray(expected[key], "float64")
        if a.shape != e.shape:
            problems.append(f"{what}{key}: shape {a.shape} vs {e.shape}")
            continue
        bad = ~np.isclose(a, e, rtol=rtol, atol=atol)
        if bad.any():
            index = np.unravel_index(np.argmax(np.abs(a - e) * bad), a.shape)
            problems.append(
                f"{what}{key}: {int(bad.sum())}/{a.size} differ; worst at {tuple(map(int, index))}"
                f": {float(a[index])!r} vs {float(e[index])!r}"
                + (f" (all: {a.ravel().tolist()} vs {e.ravel().tolist()})" if a.size <= 8 else "")
            )
    return problems


LOSS_RTOL = 1e-4
WEIGHT_RTOL = 1e-4
# Float32 summation order differs between one device and two replicas; weights that end
# near zero need an absolute floor besides the relative tolerance.
WEIGHT_ATOL = 1e-6


def compare_runs(expected, actual, names=("single", "mirrored")):
    """All mismatches between two runs saved by `save_run`, as one list of lines.

    `expected` and `actual` are `load_run` results. The initial weights must be equal
    (same seed), the per-step logs agree within `LOSS_RTOL`, the final weights within
    `WEIGHT_RTOL` / `WEIGHT_ATOL`.
    """
    (expected_result, expected_weights), (actual_result, actual_weights) = expected, actual
    reference, other = names
    problems = mismatches(
        actual_weights["initial"],
        expected_weights["initial"],
        rtol=0,
        what=f"initial weights ({other} vs {reference}) ",
    )
    for key, values in expected_result["logs"].items():
        got = actual_result["logs"].get(key)
        if got is None:
            problems.append(f"{other} logged no {key!r} (logged {sorted(actual_result['logs'])})")
            continue
        if not np.isfinite(got).all():
            problems.append(f"{other} {key} not finite: {got}")
        problems += mismatches(
            {key: got},
            {key: values},
            rtol=LOSS_RTOL,
            what=f"per-step logs ({other} vs {reference}) ",
        )
    weight_problems = mismatches(
        actual_weights["final"],
        expected_weights["final"],
        rtol=WEIGHT_RTOL,
        atol=WEIGHT_ATOL,
        what=f"final weights ({other} vs {reference}) ",
    )
    if len(weight_problems) > 8:
        weight_problems = [
            *weight_problems[:8],
            f"... and {len(weight_problems) - 8} more of {len(expected_weights['final'])} "
            "variables",
        ]
    return problems + weight_problems
