"""Errors the loaders raise, and the record of what `on_error="skip"` left out."""

from __future__ import annotations

import collections
import dataclasses
import warnings

ON_ERROR = ("raise", "skip")


class AnnotationError(ValueError):
    """One bad entry in a user's annotations or images; the message names file and entry.

    Attributes:
        reason: the kind of problem (`"missing image"`, `"invalid box"`, ...), the key under
            which `on_error="skip"` counts it in `LoadReport.skipped`.
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class DatasetNotAvailableError(RuntimeError):
    """A TensorFlow Datasets dataset is neither prepared locally nor downloadable here."""


@dataclasses.dataclass
class LoadReport:
    """What a loader read, and every entry it skipped with `on_error="skip"`.

    Attributes:
        source: the annotation file or directory read.
        num_images: images in the returned dataset.
        num_boxes: boxes in the returned dataset.
        skipped_images: images left out (with all of their boxes).
        skipped_boxes: boxes left out from images that were kept.
        skipped: the number of skipped entries per reason, e.g. `{"invalid box": 3,
            "missing image": 1, "box of a skipped image": 2}`; the last counts the boxes
            that went with skipped images, which have no message of their own.
        messages: one message per skipped image or box, naming the file and the entry.
    """

    source: str
    num_images: int = 0
    num_boxes: int = 0
    skipped_images: int = 0
    skipped_boxes: int = 0
    skipped: dict[str, int] = dataclasses.field(default_factory=dict)
    messages: list[str] = dataclasses.field(default_factory=list)

    def __str__(self) -> str:
        lines = [
            f"{self.source}: {_count(self.num_images, 'image')}, "
            f"{_count(self.num_boxes, 'box')} loaded"
        ]
        if self.skipped:
            lines.append(
                f"skipped {_count(self.skipped_images, 'image')} and "
                f"{_count(self.skipped_boxes, 'box')}: "
                + ", ".join(f"{reason}: {count}" for reason, count in self.skipped.items())
            )
            lines.extend(f"  {message}" for message in self.messages)
        return "\n".join(lines)


class ProblemLog:
    """Raises each problem (`on_error="raise"`) or records it as skipped (`"skip"`)."""

    def __init__(self, caller: str, source: str, on_error: str):
        if on_error not in ON_ERROR:
            raise ValueError(
                f"{caller}() got on_error={on_error!r}; expected 'raise' (stop at the first "
                "bad entry) or 'skip' (leave bad entries out, count and report them)."
            )
        self.caller = caller
        self.skip = on_error == "skip"
        self.report = LoadReport(source)
        self._counts: collections.Counter = collections.Counter()

    def problem(self, reason: str, message: str, unit: str) -> None:
        """Raise `AnnotationError(message)`, or count the entry (`unit`: image or box) as skipped.

        Raises:
            AnnotationError: with `on_error="raise"`.
        """
        if not self.skip:
            raise AnnotationError(reason, message)
        self._counts[reason] += 1
        self.report.messages.append(message)
        if unit == "image":
            self.report.skipped_images += 1
        else:
            self.report.skipped_boxes += 1

    def count_dropped_boxes(self, reason: str, count: int) -> None:
        """Record boxes left out because their image was skipped (already reported)."""
        if count:
            self._counts[reason] += count

    def finish(self, num_images: int, num_boxes: int) -> LoadReport:
        """Complete the report and warn once, with counts per reason, if anything was skipped."""
        report = self.report
        report.num_images, report.num_boxes = num_images, num_boxes
        report.skipped = dict(self._counts)
        if self._counts:
            counts = ", ".join(f"{reason}: {count}" for reason, count in self._counts.items())
            warnings.warn(
                f"{self.caller}() skipped {_count(report.skipped_images, 'image')} and "
                f"{_count(report.skipped_boxes, 'box')} of {report.source} ({counts}); loaded "
                f"{_count(num_images, 'image')} with {_count(num_boxes, 'box')}. The returned "
                "result's .report lists every skipped entry.",
                stacklevel=3,
            )
        return report


def _count(number: int, noun: str) -> str:
    plural = noun + ("es" if noun.endswith("x") else "s")
    return f"{number} {noun if number == 1 else plural}"
