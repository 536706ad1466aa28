"""One side of the MirroredStrategy comparison: two logical CPUs, or the one-device reference.

Usage: `python run_mirrored.py OUT_DIR PIPELINE --mode mirrored|single [--jit]`, PIPELINE
one of `dense` (batched numpy), `ragged` (the guide's `ragged_batch` then `to_dense`) or
`ragged_targets` (ragged boxes given to `fit` as they are). `--mode mirrored` trains under
`MirroredStrategy(["/cpu:0", "/cpu:1"])` (with `jit_compile=True` if `--jit`); `--mode
single` is the reference, on one device without XLA (the tests run it once, on the
`dense` pipeline: every pipeline yields the same batches). Both configure the two logical
CPUs and build the model from the same seed: the same initial weights.

Writes `OUT_DIR/<mode>.json` (the per-step `on_train_batch_end` logs, replicas in sync,
`jit_compile`, optimizer iterations) and `OUT_DIR/<mode>.npz` (`initial/...` and
`final/...` values of every variable). Exits non-zero, with the traceback, on failure.
"""

import argparse
import contextlib
import pathlib


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir", type=pathlib.Path)
    parser.add_argument("pipeline", choices=["dense", "ragged", "ragged_targets"])
    parser.add_argument("--mode", choices=["mirrored", "single"], required=True)
    parser.add_argument("--jit", action="store_true")
    args = parser.parse_args()

    # Two logical CPU devices: before anything initialises TensorFlow's devices.
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import distribute_cases as cases

    data = cases.synthetic_data()
    if args.pipeline == "dense":
        dataset = cases.dense_dataset(data)
    else:
        dataset = cases.ragged_dataset(data, to_dense=args.pipeline == "ragged")

    if args.mode == "mirrored":
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        scope = strategy.scope()
        compile_args = {"jit_compile": True} if args.jit else {}
    else:
        strategy = tf.distribute.get_strategy()
        scope = contextlib.nullcontext()
        compile_args = {"jit_compile": False}
    with scope:
        model = cases.build_model()
        cases.synchronize_batchnorm(model)
        cases.compile_model(model, **compile_args)
    initial = cases.weights_by_path(model)
    logs = cases.train(model, dataset)
    cases.save_run(
        args.out_dir,
        args.mode,
        initial,
        cases.weights_by_path(model),
        {
            "logs": logs,
            "num_replicas_in_sync": strategy.num_replicas_in_sync,
            "jit_compile": bool(model.jit_compile),
            "iterations": int(model.optimizer.iterations.numpy()),
        },
    )


if __name__ == "__main__":
    main()
