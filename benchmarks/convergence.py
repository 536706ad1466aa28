"""How fast the demo's RetinaNet learns the shapes dataset on this CPU.

Trains `nbdetect.demo.build_demo_model` on shapes (the demo's pipeline) in segments and,
after each, evaluates COCO metrics on the test split; evaluation time is not counted as
training time. Prints mAP against training minutes. Target: mAP@[.5:.95] >= 0.5 within
15 CPU minutes.

    python benchmarks/convergence.py --minutes 15 --segment 2.5
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from nbdetect.demo import build_demo_model, demo_datasets, evaluate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--segment", type=float, default=2.5)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--train-examples", type=int, default=4000)
    parser.add_argument("--test-examples", type=int, default=200)
    parser.add_argument("--decay-at", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    keras.utils.set_random_seed(args.seed)
    train_ds, test_ds, class_names = demo_datasets(
        args.batch_size, args.train_examples, args.test_examples, seed=args.seed
    )
    model = build_demo_model(len(class_names))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3, global_clipnorm=10.0),
        classification_loss="focal",
        box_loss="smoothl1",
    )
    iterator = iter(train_ds)
    trained = 0.0
    rows = []
    print(f"{'train min':>9} {'steps':>6} {'loss':>7} {'MaP':>6} {'MaP@50':>7} {'MaP@75':>7}")
    while trained < args.minutes * 60 - 1:
        if trained >= args.decay_at * args.minutes * 60:
            model.optimizer.learning_rate.assign(1e-4)
        budget = min(args.segment * 60, args.minutes * 60 - trained)
        start = time.perf_counter()
        losses = []
        while time.perf_counter() - start < budget:
            logs = model.train_on_batch(*next(iterator), return_dict=True)
            losses.append(logs["loss"])
        trained += time.perf_counter() - start
        result = evaluate(model, test_ds)
        steps = int(model.optimizer.iterations.numpy())
        rows.append((trained / 60, steps, result["MaP"]))
        print(
            f"{trained / 60:9.1f} {steps:6d} {sum(losses[-20:]) / len(losses[-20:]):7.3f} "
            f"{result['MaP']:6.3f} {result['MaP@[IoU=50]']:7.3f} {result['MaP@[IoU=75]']:7.3f}",
            flush=True,
        )
    print()
    print(result)
    reached = next((minutes for minutes, _, value in rows if value >= 0.5), None)
    print(
        "mAP@[.5:.95] >= 0.5 reached after "
        + (f"{reached:.1f} training minutes" if reached else f"more than {args.minutes:g} minutes")
    )


if __name__ == "__main__":
    main()
