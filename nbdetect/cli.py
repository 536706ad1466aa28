"""The `nbdetect` command: `nbdetect demo` trains, evaluates and draws on bundled data."""

from __future__ import annotations

import argparse
import math
import os
import pathlib
import sys
from collections.abc import Callable


def _count(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"got {text!r}; expected a whole number >= {minimum}"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"got {value}; expected a whole number >= {minimum}")
        return value

    return parse


def _number(low: float, high: float | None = None, low_inclusive: bool = True):
    """An argparse type: a finite number in `[low, high]` (or `(low, ...` when exclusive)."""
    bounds = (
        ("[" if low_inclusive else "(")
        + f"{low:g}, "
        + (f"{high:g}]" if high is not None else "inf)")
    )

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"got {text!r}; expected a number in {bounds}"
            ) from None
        above = value >= low if low_inclusive else value > low
        if not (math.isfinite(value) and above and (high is None or value <= high)):
            raise argparse.ArgumentTypeError(f"got {value:g}; expected a number in {bounds}")
        return value

    return parse


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
    # Errors found after parsing read "nbdetect demo: error: ...", as argparse's own do.
    demo.set_defaults(command_parser=demo)
    demo.add_argument("--output", default="nbdetect_demo", help="output folder")
    demo.add_argument(
        "--steps",
        type=_count(1),
        default=1500,
        help="training steps (default 1500: mAP@[.5:.95] about 0.5, 5-10 min on 2 cores)",
    )
    demo.add_argument(
        "--minutes",
        type=_number(0, low_inclusive=False),
        default=15.0,
        help="training time cap: training ends at --steps or --minutes, whichever is first",
    )
    demo.add_argument(
        "--display-threshold",
        type=_number(0, 1),
        default=0.3,
        help="lowest confidence drawn in gallery.png",
    )
    demo.add_argument("--batch-size", type=_count(1), default=8)
    demo.add_argument(
        "--train-examples", type=_count(1), default=4000, help="at least --batch-size"
    )
    demo.add_argument("--test-examples", type=_count(1), default=200)
    demo.add_argument("--seed", type=_count(0), default=0)
    return parser


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Checks between arguments and of the output folder, before any work is done."""
    if args.train_examples < args.batch_size:
        parser.error(
            f"--train-examples {args.train_examples} is fewer than one batch "
            f"(--batch-size {args.batch_size}); training would take no step. Give at least "
            f"{args.batch_size}."
        )
    output = pathlib.Path(args.output)
    if output.exists() and not output.is_dir():
        parser.error(f"--output {args.output} is a file; give a folder (it is created).")
    existing = next((p for p in [output, *output.parents] if p.exists()), None)
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        parser.error(f"--output {args.output}: {existing} is not writable; give another folder.")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `nbdetect` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    _check(args.command_parser, args)
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
