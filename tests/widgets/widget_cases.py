"""Shared helpers of the widget tests: what ipycanvas sends to the browser, a tiny RetinaNet.

`CanvasRecorder` stands in for the browser: it receives exactly the messages ipycanvas
would send over the comm (the JSON command list and its binary buffers), decodes them as
the JavaScript side does, and answers questions such as "how many rectangles did the
last frame of the box layer outline?".
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json

import numpy as np
import retinanet_cases
from ipycanvas.canvas import _CMD_LIST, Canvas
from ipycanvas.utils import commands_to_buffer
from PIL import Image

VIEW_MIME = "application/vnd.jupyter.widget-view+json"
_ATTR_NAMES = {index: name for name, index in Canvas.ATTRS.items()}


@dataclasses.dataclass
class Command:
    """One canvas command as the browser receives it (array arguments decoded)."""

    name: str
    canvas: str | None  # the model id of the canvas it draws on
    args: list
    buffers: list[bytes]


class Frame(list):
    """The commands of one message (one `hold_canvas` block is one message)."""

    def named(self, name: str) -> list[Command]:
        return [command for command in self if command.name == name]

    def count(self, name: str) -> int:
        return len(self.named(name))

    def rects(self, name: str = "strokeStyledRects") -> tuple[np.ndarray, np.ndarray]:
        """`([N, 4] x, y, width, height, [N, 3] colours)` of every styled rect command."""
        xywh, colors = [np.zeros((0, 4))], [np.zeros((0, 3))]
        for command in self.named(name):
            x, y, width, height, color = (np.atleast_1d(a) for a in command.args[:5])
            n = len(x)
            xywh.append(np.stack([np.broadcast_to(v, (n,)) for v in (x, y, width, height)], 1))
            colors.append(np.asarray(color).reshape(n, 3))
        return np.concatenate(xywh), np.concatenate(colors)

    def rect_count(self, name: str = "strokeStyledRects") -> int:
        return len(self.rects(name)[0])

    def texts(self) -> list[str]:
        return [command.args[0] for command in self.named("fillText")]

    def labels(self) -> list[str]:
        """The box labels written (`"cat"`, `"cat | 0.87"`): every text but the titles."""
        return [text for text in self.texts() if not text.startswith("#")]

    def label_backgrounds(self) -> int:
        """Filled rectangles: one behind each label (batched or one by one)."""
        return self.rect_count("fillStyledRects") + self.count("fillRect")

    def images(self) -> list[tuple[float, float, np.ndarray]]:
        """`(x, y, pixels)` of every `putImageData`, the JPEG / PNG decoded."""
        found = []
        for command in self.named("putImageData"):
            pixels = np.asarray(Image.open(io.BytesIO(command.buffers[0])).convert("RGB"))
            found.append((command.args[0], command.args[1], pixels))
        return found

    def line_dashes(self) -> list[list[float]]:
        return [command.args[0] for command in self.named("setLineDash")]


class CanvasRecorder:
    """Replaces `_CANVAS_MANAGER._send_custom`: records what would reach the browser."""

    def __init__(self) -> None:
        self.messages: list[Frame] = []
        self._canvas: str | None = None

    def __call__(self, command, buffers=()) -> None:
        # Serialized as ipycanvas serializes it: the test fails where the real send would.
        _, command_buffer = commands_to_buffer(command)
        data = json.loads(bytes(command_buffer))
        buffers = [bytes(buffer) for buffer in buffers]
        commands = data if data and isinstance(data[0], list) else [data]
        frame, offset = Frame(), 0
        for raw in commands:
            name = _CMD_LIST[raw[0]]
            args = list(raw[1]) if len(raw) > 1 else []
            count = raw[2] if len(raw) > 2 else 0
            own, offset = buffers[offset : offset + count], offset + count
            if name == "switchCanvas":
                self._canvas = args[0].removeprefix("IPY_MODEL_")
                continue
            if name == "set":
                args = [_ATTR_NAMES.get(args[0], args[0]), args[1]]
            args = [_decode(arg, own) for arg in args]
            frame.append(Command(name, self._canvas, args, own))
        assert offset == len(buffers), "every buffer belongs to a command"
        self.messages.append(frame)

    def clear(self) -> None:
        self.messages.clear()

    def frames(self, canvas=None) -> list[Frame]:
        """Every message with commands for `canvas` (a Canvas widget), only those kept."""
        model_id = None if canvas is None else canvas.model_id
        found = []
        for message in self.messages:
            frame = Frame(c for c in message if model_id is None or c.canvas == model_id)
            if frame:
                found.append(frame)
        return found

    def last_frame(self, canvas) -> Frame:
        frames = self.frames(canvas)
        assert frames, "nothing was drawn on this canvas"
        return frames[-1]

    def commands(self, name: str, canvas=None) -> list[Command]:
        return [c for frame in self.frames(canvas) for c in frame if c.name == name]


def _decode(arg, buffers):
    if isinstance(arg, dict) and {"idx", "shape", "dtype"} <= set(arg):
        return np.frombuffer(buffers[arg["idx"]], arg["dtype"]).reshape(arg["shape"])
    return arg


def titles(recorder, widget) -> list[str]:
    """The cell titles (`"#3: 2 true"`) the last frames of the widget's canvas show."""
    found = []
    for layer in layers(widget):
        frames = recorder.frames(layer)
        if frames:
            found += [text for text in frames[-1].texts() if text.startswith("#")]
    return found


def assert_labels_readable(frame, layout, cells) -> list[tuple[float, float, float, float]]:
    """Every label background of `frame` lies inside one image of the grid; none overlaps.

    Returns the backgrounds, `(x, y, width, height)` in canvas pixels.
    """
    xywh, _ = frame.rects("fillStyledRects")
    assert len(xywh) == len(frame.labels())  # one background per label text
    areas = []
    for index, cell in enumerate(cells):
        left, top = layout.origin(index)
        factor = layout.scale(cell.image.shape)
        height, width = cell.image.shape[:2]
        areas.append((left, top, left + width * factor, top + height * factor))
    eps = 1e-6
    for x, y, w, h in xywh:
        inside = [
            a
            for a in areas
            if a[0] - eps <= x and x + w <= a[2] + eps and a[1] - eps <= y and y + h <= a[3] + eps
        ]
        assert inside, f"label at ({x:.1f}, {y:.1f}) {w:.1f} x {h:.1f} leaves its image"
    for i in range(len(xywh)):
        for j in range(i + 1, len(xywh)):
            (x1, y1, w1, h1), (x2, y2, w2, h2) = xywh[i], xywh[j]
            assert not (x1 < x2 + w2 and x2 < x1 + w1 and y1 < y2 + h2 and y2 < y1 + h1), (
                f"labels {i} and {j} overlap"
            )
    return [tuple(row) for row in xywh]


def layers(widget):
    """`(images layer, boxes layer)` of a nbdetect widget's canvas view."""
    return widget.view.canvas[0], widget.view.canvas[1]


def is_closed(widget) -> bool:
    """Whether an ipywidgets widget is closed (both 7 and 8 drop the comm on close)."""
    return widget.comm is None


def open_widget_ids() -> set[str]:
    """The model ids of the widgets ipywidgets keeps alive (7: Widget.widgets, 8: _instances)."""
    from ipywidgets.widgets import widget as widget_module

    registry = getattr(widget_module, "_instances", None)
    if registry is None:
        registry = widget_module.Widget.widgets
    return set(registry)


def all_widgets(widget) -> list:
    """`widget` and every ipywidgets widget under it, canvas layers included."""
    found = [widget]
    for child in getattr(widget, "children", ()):
        found.extend(all_widgets(child))
    for layer in getattr(widget, "_canvases", ()):
        found.extend(all_widgets(layer))
    return found


def png_of_bundle(bundle: dict) -> Image.Image:
    return decode_png(base64.b64decode(bundle["image/png"]))


def decode_png(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def tiny_retinanet(num_classes=3, bounding_box_format="xywh", filters=8):
    """The model tests' tiny RetinaNet, with 8-channel pyramid and heads."""
    return retinanet_cases.tiny_retinanet(num_classes, bounding_box_format, filters)


def threshold_between(scores, quantile):
    """A confidence threshold midway between two neighbouring scores near `quantile`.

    Far from every score (relative to float32 rounding), so that NMS in the model's
    compiled predict step and in the widget agree on which pairs pass.
    """
    values = np.unique(scores.astype(np.float32)).astype(np.float64)
    middle = int(quantile * (len(values) - 2))
    window = np.arange(max(0, middle - 50), min(len(values) - 1, middle + 50))
    index = window[np.argmax(values[window + 1] - values[window])]  # the widest gap near
    return float((values[index] + values[index + 1]) / 2)


def constant_images(values, size=64):
    """`[len(values), size, size, 3]` uint8 images, image `i` filled with `values[i]`."""
    values = np.asarray(values, np.uint8)
    return np.broadcast_to(values[:, None, None, None], (len(values), size, size, 3)).copy()
