"""One worker of a MultiWorkerMirroredStrategy cluster: train 3 steps, save the weights.

Usage: `TF_CONFIG=... python run_multi_worker.py OUT_DIR`. Every worker reads the same
global batches; tf.data shards them by DATA (the data is in memory: no files to shard).

Writes `OUT_DIR/worker<i>.npz` (`initial/<path>` and `final/<path>` for every variable)
and `OUT_DIR/worker<i>.json` (per-step logs, replicas in sync).
"""

import argparse
import json
import os
import pathlib


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir", type=pathlib.Path)
    args = parser.parse_args()
    task = json.loads(os.environ["TF_CONFIG"])["task"]["index"]

    import tensorflow as tf

    # Before any other TensorFlow op: the strategy sets up the collective ops.
    strategy = tf.distribute.MultiWorkerMirroredStrategy()

    import distribute_cases as cases

    data = cases.synthetic_data()
    with strategy.scope():
        model = cases.build_model()
        # Global-batch statistics, as for MirroredStrategy (see synchronize_batchnorm).
        cases.synchronize_batchnorm(model)
        cases.compile_model(model)
    initial = cases.weights_by_path(model)

    dataset = cases.dense_dataset(data)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = dataset.with_options(options)
    logs = cases.train(model, dataset)
    final = cases.weights_by_path(model)

    cases.save_run(
        args.out_dir,
        f"worker{task}",
        initial,
        final,
        {
            "logs": logs,
            "num_replicas_in_sync": strategy.num_replicas_in_sync,
            "iterations": int(model.optimizer.iterations.numpy()),
        },
    )


if __name__ == "__main__":
    main()
