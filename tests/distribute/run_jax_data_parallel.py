"""One side of the JAX comparison: `DataParallel` over two host devices, or one device.

Usage: `KERAS_BACKEND=jax XLA_FLAGS=--xla_force_host_platform_device_count=2 python
run_jax_data_parallel.py OUT_DIR --mode parallel|single`. Both build the model from the
same seed (the same initial weights) and train on the same batches; `parallel` sets
`keras.distribution.DataParallel(devices=jax.devices())` first.

Writes `OUT_DIR/<mode>.json` (per-step logs, the devices, where a kernel's value lives)
and `OUT_DIR/<mode>.npz` (`initial/...` and `final/...` values of every variable).
"""

import argparse
import pathlib


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir", type=pathlib.Path)
    parser.add_argument("--mode", choices=["parallel", "single"], required=True)
    args = parser.parse_args()

    import distribute_cases as cases
    import jax
    import keras

    if keras.backend.backend() != "jax":
        raise SystemExit(f"needs KERAS_BACKEND=jax, got {keras.backend.backend()}")
    devices = jax.devices()
    if len(devices) != 2:
        raise SystemExit(f"expected 2 host devices (XLA_FLAGS), got {devices}")

    if args.mode == "parallel":
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    model = cases.build_model()
    cases.compile_model(model)
    initial = cases.weights_by_path(model)
    logs = cases.train(model, cases.dense_dataset(cases.synthetic_data()))
    # Where the variables live: replicated over both devices under DataParallel.
    kernel = next(v for v in model.trainable_variables if v.path.endswith("/kernel"))
    cases.save_run(
        args.out_dir,
        args.mode,
        initial,
        cases.weights_by_path(model),
        {
            "logs": logs,
            "devices": [str(d) for d in devices],
            "kernel_devices": sorted(str(d) for d in kernel.value.sharding.device_set),
            "iterations": int(model.optimizer.iterations.numpy()),
        },
    )


if __name__ == "__main__":
    main()
