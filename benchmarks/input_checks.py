"""What nbdetect's input checks cost: this checkout against a baseline commit, same run.

The checks (class ids against `num_classes` in the train step, images and boxes of one
batch size in every augmentation layer, ...) must be cheap. This script times, for the
working tree and for a git ref (default: the commit before the checks landed), two things
users run all the time:

- the KerasCV guide's augmentation pipeline (`ragged_batch(4)` of VOC-sized images through
  `RandomFlip` + `JitteredResize` to 640x640 in `tf.data`, as `benchmarks/augmentation.py`),
  in images/s;
- one RetinaNet-ResNet50 `fit` step (random weights, batch 4, 20 classes, 8 boxes per
  image), in wall and CPU seconds.

Each tree is measured in its own processes (`--rounds` processes per tree, alternating
between the trees so that both see the same load), each process reporting the median of
its passes; the table gives the median over processes and the ratio to the baseline.

Run (about 6 minutes on 2 cores):
    python benchmarks/input_checks.py [--baseline 7f6c970] [--rounds 3] [--size 256]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# main before issue 13's input checks (nbdetect.utils.checks) landed.
DEFAULT_BASELINE = "7f6c970"


def worker(tree: str, size: int, passes: int) -> dict:
    """Time both tasks with nbdetect imported from `tree`; returns the medians."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    sys.path.insert(0, tree)
    import nbdetect  # noqa: F401  (first, so the benchmark modules below reuse this one)

    assert Path(nbdetect.__file__).resolve().is_relative_to(Path(tree).resolve())
    sys.path.insert(1, str(REPO / "benchmarks"))
    import augmentation
    import retinanet

    from nbdetect import layers

    ds = augmentation.voc_like_dataset()
    pipeline = augmentation.guide_pipeline(ds, augmentation.guide_augmenter(layers))
    rates = [
        augmentation.time_pass(pipeline, 8, 30, augmentation.BATCH_SIZE) for _ in range(passes)
    ]
    images, targets = retinanet.batch(size, 4)
    model = retinanet.nbdetect_model(head_convs=4, frozen=False)
    step = retinanet.measure(retinanet.tasks(model, images, targets, inference=False), passes)
    return {
        "pipeline images/s": statistics.median(rates),
        "train step s": step["train"],
        "train step cpu s": step["train cpu"],
    }


def baseline_tree(ref: str, folder: str) -> str:
    """The nbdetect package of `ref`, extracted into `folder` (no worktree bookkeeping)."""
    archive = Path(folder) / "baseline.tar"
    with open(archive, "wb") as out:
        subprocess.run(["git", "archive", ref, "nbdetect"], cwd=REPO, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    return folder


def run_worker(tree: str, args) -> dict:
    command = [sys.executable, __file__, "--worker", tree, "--size", str(args.size)]
    command += ["--passes", str(args.passes)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git ref to compare with")
    parser.add_argument("--rounds", type=int, default=3, help="processes per tree")
    parser.add_argument("--passes", type=int, default=5, help="timed passes per process")
    parser.add_argument("--size", type=int, default=256, help="training image size")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.size, args.passes)))
        return
    with tempfile.TemporaryDirectory() as folder:
        trees = {f"baseline {args.baseline}": baseline_tree(args.baseline, folder)}
        trees["this checkout"] = str(REPO)
        results = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                results[name].append(run_worker(tree, args))
    load = os.getloadavg()[0]
    print(
        f"\nInput checks' cost: {args.rounds} processes x {args.passes} passes per tree, "
        f"train images {args.size}x{args.size}, {os.cpu_count()} CPUs, load {load:.2f}"
    )
    measures = list(next(iter(results.values()))[0])
    names = list(trees)
    print(f"| measure | {' | '.join(names)} | ratio |")
    print(f"|---------|{'|'.join('-' * (len(n) + 2) for n in names)}|-------|")
    for measure in measures:
        medians = [statistics.median(r[measure] for r in results[name]) for name in names]
        cells = " | ".join(f"{m:{len(n)}.3f}" for m, n in zip(medians, names))
        print(f"| {measure} | {cells} | {medians[1] / medians[0]:5.3f} |")


if __name__ == "__main__":
    main()
