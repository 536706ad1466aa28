"""Mixed precision: train 3 steps under a global dtype policy; report values and dtypes.

Usage: `KERAS_BACKEND=tensorflow|jax python run_mixed_precision.py OUT_DIR POLICY`, POLICY
`mixed_float16` or `mixed_bfloat16` (set before the model is built).

Writes `OUT_DIR/result.json`: the per-step logs, how many weights training changed, the
dtypes the train step's losses had while it was traced (the total `compute_loss`
returns, and the `box_loss` / `classification_loss` given to their trackers), the
optimizer's class, a convolution's compute and variable dtypes, and the dtypes of
`model(images)` and of `predict()`.
"""

import argparse
import pathlib


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir", type=pathlib.Path)
    parser.add_argument("policy", choices=["mixed_float16", "mixed_bfloat16"])
    args = parser.parse_args()

    import distribute_cases as cases
    import keras
    import numpy as np

    keras.mixed_precision.set_global_policy(args.policy)
    data = cases.synthetic_data()
    model = cases.build_model()
    cases.compile_model(model)

    dtypes = {}

    def recording(name, function):
        # Python code runs while the step is traced: it sees the step's tensors.
        def wrapper(*args, **kwargs):
            value = function(*args, **kwargs)
            tensor = value
            dtypes.setdefault(name, []).append(keras.backend.standardize_dtype(tensor.dtype))
            return value

        return wrapper

    model.compute_loss = recording("loss", model.compute_loss)
    # Keras calls each compiled loss object; its `call` returns the per-anchor values.
    model.box_loss.call = recording("box_loss", model.box_loss.call)
    model.classification_loss.call = recording(
        "classification_loss", model.classification_loss.call
    )
    initial = model.get_weights()
    logs = cases.train(model, cases.dense_dataset(data))
    changed = [
        not np.array_equal(before, after) for before, after in zip(initial, model.get_weights())
    ]

    images = data["images"][:2]
    raw = model(images)
    detections = model.predict(images, verbose=0)
    conv = model.backbone.get_layer("stem_conv0")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    cases.write_json(
        args.out_dir / "result.json",
        {
            "backend": keras.backend.backend(),
            "policy": keras.mixed_precision.global_policy().name,
            "logs": logs,
            "traced_dtypes": {k: sorted(set(v)) for k, v in dtypes.items()},
            "optimizer": type(model.optimizer).__name__,
            "iterations": int(model.optimizer.iterations.numpy()),
            # Steps applied: LossScaleOptimizer skips those with non-finite gradients.
            "applied_steps": int(
                getattr(model.optimizer, "inner_optimizer", model.optimizer).iterations.numpy()
            ),
            "weights_changed": f"{sum(changed)}/{len(changed)}",
            "conv_compute_dtype": conv.compute_dtype,
            "conv_variable_dtype": conv.kernel.dtype,
            "raw_dtypes": {k: keras.backend.standardize_dtype(v.dtype) for k, v in raw.items()},
            "predict_dtypes": {k: str(np.asarray(v).dtype) for k, v in detections.items()},
            "predict_finite": {
                k: bool(np.isfinite(np.asarray(v)).all()) for k, v in detections.items()
            },
        },
    )


if __name__ == "__main__":
    main()
