"""TensorFlow -> JAX: weights saved by a TensorFlow-built model, loaded on JAX.

Usage:
    KERAS_BACKEND=tensorflow python run_tf_jax_equality.py save OUT_DIR
    KERAS_BACKEND=jax python run_tf_jax_equality.py load OUT_DIR

`save` builds the demo model and gives every variable seeded random values (He-normal
kernels, BatchNorm statistics away from 0 and 1), so that outputs spread widely and
detections are not decided by near ties, then writes `model.weights.h5` and `model.keras`,
and the images with its raw outputs and detections (`tensorflow.npz`). `load` builds the
demo model on JAX from another seed, loads `model.weights.h5` into it, and writes its raw
outputs and detections (`jax_weights.npz`); it also loads `model.keras` whole and counts
the variables equal to those of the first model (`jax_keras.json`).
"""

import argparse
import pathlib

CONFIDENCE_THRESHOLD = 0.5
MAX_DETECTIONS = 20


def randomize(model, seed=0):
    """Seeded values for every variable, the scale of a trained network's."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for variable in model.weights:
        shape, name = tuple(variable.shape), variable.path.rsplit("/", 1)[-1]
        if name == "kernel":
            value = rng.normal(0.0, np.sqrt(2.0 / np.prod(shape[:-1])), shape)
        elif name in ("gamma", "moving_variance"):
            value = rng.uniform(0.5, 1.5, shape)
        else:  # bias, beta, moving_mean
            value = rng.normal(0.0, 0.1, shape)
        variable.assign(value.astype(variable.dtype))


def decoder(bounding_box_format):
    from nbdetect.layers import MultiClassNonMaxSuppression

    return MultiClassNonMaxSuppression(
        bounding_box_format,
        from_logits=True,
        iou_threshold=0.5,
        confidence_threshold=CONFIDENCE_THRESHOLD,
        max_detections=MAX_DETECTIONS,
    )


def outputs(model, images):
    import numpy as np

    raw = model.predict_raw(images, verbose=0)
    decoded = model.predict(images, verbose=0)
    result = {f"raw_{k}": np.asarray(v) for k, v in raw.items()}
    result.update({f"detections_{k}": np.asarray(v) for k, v in decoded.items()})
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("stage", choices=["save", "load"])
    parser.add_argument("out_dir", type=pathlib.Path)
    args = parser.parse_args()

    import distribute_cases as cases
    import keras
    import numpy as np

    expected = "tensorflow" if args.stage == "save" else "jax"
    if keras.backend.backend() != expected:
        raise SystemExit(f"{args.stage} runs on {expected}, got {keras.backend.backend()}")

    out = args.out_dir
    if args.stage == "save":
        model = cases.build_model()
        randomize(model)
        model.prediction_decoder = decoder(model.bounding_box_format)
        out.mkdir(parents=True, exist_ok=True)
        model.save_weights(out / "model.weights.h5")
        model.save(out / "model.keras")
        images = cases.synthetic_data(num_images=4, seed=1)["images"]
        np.savez(out / "tensorflow.npz", images=images, **outputs(model, images))
        return

    import nbdetect.models  # noqa: F401  (registers nbdetect's classes for loading)

    with np.load(out / "tensorflow.npz") as saved:
        images = saved["images"]
    model = cases.build_model(seed=1)  # other initial weights: all must come from the file
    model.load_weights(out / "model.weights.h5")
    model.prediction_decoder = decoder(model.bounding_box_format)
    np.savez(out / "jax_weights.npz", **outputs(model, images))

    # The whole model from the .keras file: the same variables as the model above (its
    # outputs would cost another JAX compilation and tell nothing more).
    loaded = keras.saving.load_model(out / "model.keras")
    same = [
        a.path
        for a, b in zip(model.weights, loaded.weights)
        if a.path == b.path and np.array_equal(np.asarray(a.numpy()), np.asarray(b.numpy()))
    ]
    cases.write_json(
        out / "jax_keras.json",
        {"variables": len(model.weights), "loaded": len(loaded.weights), "same": len(same)},
    )


if __name__ == "__main__":
    main()
