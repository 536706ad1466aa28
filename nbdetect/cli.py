"""The `nbdetect` command: `nbdetect demo` trains, evaluates and draws on bundled data."""

from __future__ import annotations

import argparse
import os
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nbdetect", description="Object detection for notebooks, on Keras 3."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="train a small RetinaNet on the bundled shapes dataset, evaluate it, draw it",
        description=(
            "Train a small RetinaNet on the bundled shapes dataset (generated on the fly, no "
            "downloads) for a step budget (capped in minutes), evaluate COCO metrics on its "
            "test split, and write gallery.png, metrics.json, metrics.txt, history.json and "
            "model.keras."
        ),
    )
    demo.add_argument("--output", default="nbdetect_demo", help="output folder")
    demo.add_argument(
        "--steps",
        type=int,
        default=1500,
        help="training steps (default 1500: mAP@[.5:.95] about 0.5, 5-10 min on 2 cores)",
    )
    demo.add_argument(
        "--minutes",
        type=float,
        default=15.0,
        help="training time cap: training ends at --steps or --minutes, whichever is first",
    )
    demo.add_argument(
        "--display-threshold",
        type=float,
        default=0.3,
        help="lowest confidence drawn in gallery.png",
    )
    demo.add_argument("--batch-size", type=int, default=8)
    demo.add_argument("--train-examples", type=int, default=4000)
    demo.add_argument("--test-examples", type=int, default=200)
    demo.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `nbdetect` console script."""
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from nbdetect.demo import run_demo

    print(
        f"nbdetect demo: training a RetinaNet on shapes for {args.steps} steps (at most "
        f"{args.minutes:g} minutes), "
        f"results in {args.output}/",
        flush=True,
    )
    summary = run_demo(
        args.output,
        steps=args.steps,
        minutes=args.minutes,
        display_threshold=args.display_threshold,
        batch_size=args.batch_size,
        train_examples=args.train_examples,
        test_examples=args.test_examples,
        seed=args.seed,
    )
    print(summary["result"])
    print(
        f"{summary['steps']} training steps in {summary['train_seconds'] / 60:.1f} min; "
        f"mAP@[.5:.95] = {summary['metrics']['MaP']:.3f}. Wrote gallery.png, metrics.json, "
        f"metrics.txt, history.json and model.keras to {summary['output_dir']}/"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
