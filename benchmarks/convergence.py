"""How the demo's RetinaNet learns shapes: mAP against training steps, and against a baseline.

Trains as `nbdetect demo` does (its data, model, optimizer, seed and step budget: the
learning rate drops 10x at 80% of the steps), evaluates the COCO metrics on the test split
every `--every` steps (evaluation time is not training time) and prints mAP against steps
and training minutes. A step budget makes the figures independent of the machine's load:
the same seed gives the same numbers, so they can be compared across commits.

With `--baseline REF` the same training also runs on the `nbdetect` of git commit REF
(exported with `git archive` into a temporary folder, in a fresh process), and a last
table compares the two at every evaluation: a change to the training code must keep the
mAP at 1,500 steps within 0.02 of the baseline's. `run_all.py` compares with `3a3125b`,
the last commit before the Keras-native train step (issue 14).

Run (about 8 minutes per training on 2 quiet cores; twice that with a baseline):
    python benchmarks/convergence.py [--steps 1500] [--every 300] [--baseline 3a3125b]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
TOLERANCE = 0.02


def train(args: argparse.Namespace) -> list[dict]:
    """The demo's training, evaluated every `args.every` steps: one row per evaluation."""
    import keras

    from nbdetect.demo import TrainingBudget, build_demo_model, demo_datasets, evaluate

    class Evaluations(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.rows: list[dict] = []
            self.steps = 0
            self.train_seconds = 0.0
            self.losses: list[float] = []

        def on_train_batch_begin(self, batch, logs=None):
            self.started = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.train_seconds += time.perf_counter() - self.started
            self.steps += 1
            self.losses.append(float(logs["loss"]))
            if self.steps % args.every == 0 or self.steps == args.steps:
                result = evaluate(self.model, test_ds)
                self.rows.append(
                    {
                        "steps": self.steps,
                        "train_minutes": self.train_seconds / 60,
                        "loss": sum(self.losses[-20:]) / len(self.losses[-20:]),
                        "MaP": float(result["MaP"]),
                        "MaP@50": float(result["MaP@[IoU=50]"]),
                        "MaP@75": float(result["MaP@[IoU=75]"]),
                    }
                )
                print(row_text(self.rows[-1]), flush=True)

    # As run_demo: the seed first, then data, model, compile, fit.
    keras.utils.set_random_seed(args.seed)
    train_ds, test_ds, class_names = demo_datasets(
        args.batch_size, args.train_examples, args.test_examples, seed=args.seed
    )
    model = build_demo_model(len(class_names), class_mapping=dict(enumerate(class_names)))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3, global_clipnorm=10.0),
        classification_loss="focal",
        box_loss="smoothl1",
    )
    evaluations = Evaluations()
    print(HEADER, flush=True)
    model.fit(
        train_ds,
        steps_per_epoch=max(1, math.ceil(args.train_examples / args.batch_size / 2)),
        epochs=10_000,  # TrainingBudget ends training
        callbacks=[TrainingBudget(args.steps, None), evaluations],
        verbose=0,
        shuffle=False,
    )
    return evaluations.rows


HEADER = f"{'steps':>6} {'train min':>9} {'loss':>7} {'MaP':>6} {'MaP@50':>7} {'MaP@75':>7}"


def row_text(row: dict) -> str:
    return (
        f"{row['steps']:6d} {row['train_minutes']:9.1f} {row['loss']:7.3f} {row['MaP']:6.3f} "
        f"{row['MaP@50']:7.3f} {row['MaP@75']:7.3f}"
    )


def baseline_rows(ref: str, args: argparse.Namespace) -> list[dict]:
    """This script's rows for the nbdetect of commit `ref`, in a fresh process."""
    with tempfile.TemporaryDirectory(prefix="nbdetect_baseline_") as folder:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", ref, "nbdetect"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        result = Path(folder) / "rows.json"
        command = [
            sys.executable,
            __file__,
            "--json",
            str(result),
            *(f"--{name.replace('_', '-')}={getattr(args, name)}" for name in SHARED),
        ]
        # The baseline's nbdetect first on the path (this checkout's is not imported).
        env = {**os.environ, "PYTHONPATH": folder}
        subprocess.run(command, env=env, check=True, cwd=folder)
        return json.loads(result.read_text())


SHARED = ("steps", "every", "batch_size", "train_examples", "test_examples", "seed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--every", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--train-examples", type=int, default=4000)
    parser.add_argument("--test-examples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline", metavar="REF", help="a git commit to compare with")
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)  # the baseline's rows
    args = parser.parse_args()

    import nbdetect

    print(f"nbdetect from {Path(nbdetect.__file__).parent}")
    rows = train(args)
    if args.json:
        args.json.write_text(json.dumps(rows))
        return
    if args.baseline:
        print(f"\nbaseline: the nbdetect of {args.baseline}")
        base = baseline_rows(args.baseline, args)
        columns = ("steps", "MaP", "baseline", "diff", "train min", "base min")
        widths = (6, 6, 8, 7, 9, 8)
        print("\n" + " ".join(f"{c:>{w}}" for c, w in zip(columns, widths)))
        for row, other in zip(rows, base):
            print(
                f"{row['steps']:6d} {row['MaP']:6.3f} {other['MaP']:8.3f} "
                f"{row['MaP'] - other['MaP']:+7.3f} {row['train_minutes']:9.1f} "
                f"{other['train_minutes']:8.1f}"
            )
        difference = rows[-1]["MaP"] - base[-1]["MaP"]
        verdict = "within" if abs(difference) <= TOLERANCE else "OUTSIDE"
        print(
            f"\nmAP@[.5:.95] at {rows[-1]['steps']} steps: {rows[-1]['MaP']:.3f} against "
            f"{base[-1]['MaP']:.3f} for {args.baseline} ({difference:+.3f}: {verdict} "
            f"±{TOLERANCE})"
        )
    reached = next((row for row in rows if row["MaP"] >= 0.5), None)
    print(
        "mAP@[.5:.95] >= 0.5 reached "
        + (
            f"after {reached['steps']} steps ({reached['train_minutes']:.1f} training minutes)"
            if reached
            else f"not within {args.steps} steps"
        )
    )


if __name__ == "__main__":
    main()
