"""Rasterising the shapes dataset: object masks, colours and textured backgrounds.

Everything is vectorised numpy on pixel grids (pixel `(row, col)` is the unit square whose
centre is `(col + 0.5, row + 0.5)`); no Python loop runs over pixels. Masks have hard edges,
so an object's visible pixels, and therefore its box, are exact.
"""

from __future__ import annotations

import functools
import math

import numpy as np

SHAPES_CLASSES = ("circle", "square", "triangle", "diamond", "star", "cross", "ring")

BACKGROUNDS = ("noise", "clouds", "gradient", "stripes", "checker")

# Saturated object colours. Backgrounds are muted, so objects stand out by contrast.
_COLORS = {
    "red": (215, 40, 40),
    "orange": (240, 135, 25),
    "yellow": (235, 210, 40),
    "lime": (140, 220, 50),
    "green": (25, 150, 65),
    "cyan": (40, 200, 215),
    "blue": (35, 75, 215),
    "purple": (125, 55, 195),
    "magenta": (215, 45, 175),
    "white": (240, 240, 240),
    "black": (20, 20, 20),
    "brown": (135, 75, 30),
}

# Every colour belongs to two or three classes' palettes, so colour narrows a class down but
# never decides it: a detector has to learn shape.
_PALETTES = {
    "circle": ("red", "blue", "yellow", "white", "green"),
    "square": ("green", "red", "purple", "cyan", "orange"),
    "triangle": ("orange", "blue", "magenta", "lime", "black"),
    "diamond": ("yellow", "purple", "cyan", "black", "brown"),
    "star": ("lime", "white", "red", "magenta", "blue"),
    "cross": ("brown", "cyan", "yellow", "green", "magenta"),
    "ring": ("white", "orange", "purple", "black", "lime", "brown"),
}
PALETTES = {
    name: np.array([_COLORS[color] for color in _PALETTES[name]], np.float32)
    for name in SHAPES_CLASSES
}


def _star(points: int, inner: float) -> np.ndarray:
    angles = np.arange(2 * points) * math.pi / points - math.pi / 2
    radii = np.where(np.arange(2 * points) % 2 == 0, 0.5, 0.5 * inner)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], -1)


def _cross(arm: float) -> np.ndarray:
    a, b = arm / 2, 0.5
    return np.array(
        [(-a, -b), (a, -b), (a, -a), (b, -a), (b, a), (a, a)]
        + [(a, b), (-a, b), (-a, a), (-b, a), (-b, -a), (-a, -a)]
    )


def _regular(sides: int) -> np.ndarray:
    angles = np.arange(sides) * 2 * math.pi / sides - math.pi / 2
    return 0.5 * np.stack([np.cos(angles), np.sin(angles)], -1)


# Outlines in a unit frame (x right, y down), about 1 across; drawn scaled to the object's size.
_POLYGONS = {
    "square": np.array([(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)]),
    # Circumradius 2/3 makes the triangle 1 high; its centroid is the origin.
    "triangle": _regular(3) * (4 / 3),
    "diamond": np.array([(0.0, -0.5), (0.34, 0.0), (0.0, 0.5), (-0.34, 0.0)]),
    "star": _star(5, 0.42),
    "cross": _cross(0.34),
}

# Rotation in degrees each shape is drawn with: at most a tilt where rotating would turn one
# class into another (a square at 45 degrees is a diamond), any angle where it cannot.
_MAX_ROTATION = {
    "circle": 180.0,
    "ring": 180.0,
    "square": 12.0,
    "diamond": 12.0,
    "cross": 20.0,
    "triangle": 180.0,
    "star": 180.0,
}

RING_HOLE = (0.45, 0.6)

_NOISE_TILE_SEED = 20240611


def rotation_range(class_name: str) -> float:
    """The largest rotation, in degrees either way, that `class_name` is drawn with."""
    return _MAX_ROTATION[class_name]


def outline(class_name: str, size: float, aspect: float, angle: float) -> np.ndarray:
    """Vertices `[V, 2]` (x, y) of a polygon class centred on the origin, in pixels."""
    vertices = _POLYGONS[class_name] * size * np.array([aspect, 1.0])
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    x, y = vertices[:, 0], vertices[:, 1]
    return np.stack([x * cos - y * sin, x * sin + y * cos], -1)


def polygon_mask(vertices: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Pixels whose centres lie inside a polygon, by the even-odd rule.

    Args:
        vertices: `[V, 2]` polygon corners (x, y), in order.
        xs: `[W]` x of the pixel centres of the grid's columns.
        ys: `[H]` y of the pixel centres of the grid's rows.

    Returns:
        `[H, W]` bool mask.
    """
    inside = np.zeros((len(ys), len(xs)), bool)
    for (x1, y1), (x2, y2) in zip(vertices, np.roll(vertices, -1, axis=0)):
        # A horizontal ray from each pixel crosses this edge at most once; where it crosses
        # depends only on the row, so the crossing point is computed per row.
        spans = (y1 > ys) != (y2 > ys)
        if not spans.any():
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            cross_x = x1 + (ys - y1) * (x2 - x1) / (y2 - y1)
        inside ^= spans[:, None] & (xs[None, :] < cross_x[:, None])
    return inside


def ellipse_mask(
    rx: float, ry: float, angle: float, xs: np.ndarray, ys: np.ndarray, hole: float = 0.0
) -> np.ndarray:
    """Pixels inside an ellipse centred on the origin (a ring when `hole > 0`).

    Args:
        rx: radius along the ellipse's own x axis, in pixels.
        ry: radius along its y axis.
        angle: rotation in degrees.
        xs: `[W]` x of the pixel centres of the grid's columns, relative to the centre.
        ys: `[H]` y of the pixel centres of the grid's rows, relative to the centre.
        hole: inner radius as a fraction of the outer one; pixels inside it are left out.

    Returns:
        `[H, W]` bool mask.
    """
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    u = (xs[None, :] * cos + ys[:, None] * sin) / rx
    v = (-xs[None, :] * sin + ys[:, None] * cos) / ry
    distance = u * u + v * v
    mask = distance <= 1.0
    if hole > 0:
        mask &= distance > hole * hole
    return mask


def object_color(class_name: str, rng: np.random.Generator) -> np.ndarray:
    """A colour from the class's palette, with its brightness and hue varied a little."""
    palette = PALETTES[class_name]
    color = palette[rng.integers(len(palette))]
    color = color * rng.uniform(0.8, 1.1) + rng.uniform(-18, 18, 3)
    return np.clip(color, 0, 255).astype(np.float32)


def shade(
    color: np.ndarray, height: int, width: int, rng: np.random.Generator, strength: float
) -> np.ndarray:
    """`[height, width, 3]` fill of an object: its colour under a soft linear light and grain."""
    light = (_ramp(height, width, rng.uniform(0, 2 * math.pi)) - 0.5) * rng.uniform(0, strength)
    return color + (light + grain(height, width, 1, 5.0, rng)[..., 0])[..., None]


def grain(height: int, width: int, channels: int, spread: float, rng: np.random.Generator):
    """`[height, width, channels]` float32 noise, uniform in [-spread, spread].

    A window at a random place in a fixed noise tile: as random to the eye as fresh noise,
    at a fraction of the cost of drawing a number per pixel (the biggest cost of an image).
    """
    tile = _noise_tile()
    if height > tile.shape[0] or width > tile.shape[1]:
        noise = rng.random((height, width, channels), dtype=np.float32) - np.float32(0.5)
    else:
        top = int(rng.integers(tile.shape[0] - height + 1))
        left = int(rng.integers(tile.shape[1] - width + 1))
        first = int(rng.integers(tile.shape[2] - channels + 1))
        noise = tile[top : top + height, left : left + width, first : first + channels]
    return noise * np.float32(2 * spread)


@functools.cache
def _noise_tile() -> np.ndarray:
    """`[512, 512, 3]` float32 uniform noise in [-0.5, 0.5], the same in every process."""
    rng = np.random.default_rng(_NOISE_TILE_SEED)
    return rng.random((512, 512, 3), dtype=np.float32) - np.float32(0.5)


def _ramp(height: int, width: int, angle: float) -> np.ndarray:
    """`[height, width]` float32 values in [0, 1] rising linearly in direction `angle`."""
    cos, sin = math.cos(angle), math.sin(angle)
    xs = np.arange(width, dtype=np.float32) * np.float32(cos)
    ys = np.arange(height, dtype=np.float32) * np.float32(sin)
    low = min(0.0, xs[-1]) + min(0.0, ys[-1])
    span = (abs(xs[-1]) + abs(ys[-1])) or 1.0
    return (ys[:, None] + (xs[None, :] - np.float32(low))) / np.float32(span)


def _muted_color(rng: np.random.Generator) -> np.ndarray:
    hue = rng.uniform(0, 1)
    saturation = rng.uniform(0.05, 0.35)
    value = rng.uniform(0.35, 0.75)
    return _hsv_to_rgb(hue, saturation, value)


def _hsv_to_rgb(hue: float, saturation: float, value: float) -> np.ndarray:
    k = (np.array([5.0, 3.0, 1.0]) + hue * 6) % 6
    channel = value - value * saturation * np.clip(np.minimum(k, 4 - k), 0, 1)
    return (channel * 255).astype(np.float32)


def _near(color: np.ndarray, rng: np.random.Generator, spread: float) -> np.ndarray:
    return np.clip(color + rng.uniform(-spread, spread, 3), 0, 255).astype(np.float32)


def background(kind: str, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A `[height, width, 3]` float32 background in [0, 255].

    Args:
        kind: one of `BACKGROUNDS`, or `"flat"` (one colour, no grain: for checking masks).
        height: image height in pixels.
        width: image width in pixels.
        rng: the example's random generator.

    Returns:
        The background image.
    """
    base = _muted_color(rng)
    if kind == "flat":
        return np.broadcast_to(base, (height, width, 3)).copy()
    if kind == "noise":
        image = grain(height, width, 3, rng.uniform(15, 45), rng)
        image += base
        return np.clip(image, 0, 255, out=image)
    if kind == "clouds":
        image = _smooth_noise(height, width, rng)
        image *= np.float32(rng.uniform(15, 35))
        image += base
    elif kind == "gradient":
        other = _muted_color(rng)
        t = _ramp(height, width, rng.uniform(0, 2 * math.pi))[..., None]
        image = t * (other - base)
        image += base
    elif kind == "stripes":
        other = _near(base, rng, 45)
        cycles = math.hypot(height, width) / rng.uniform(6, 40)
        t = _ramp(height, width, rng.uniform(0, math.pi)) * np.float32(cycles)
        t -= np.floor(t)
        image = np.where((t < rng.uniform(0.3, 0.7))[..., None], base, other)
    elif kind == "checker":
        other = _near(base, rng, 45)
        cell = rng.uniform(8, 48)
        angle = rng.uniform(0, math.pi / 2)
        cos, sin = np.float32(math.cos(angle) / cell), np.float32(math.sin(angle) / cell)
        ys = np.arange(height, dtype=np.float32)[:, None]
        xs = np.arange(width, dtype=np.float32)[None, :]
        # Offset so cell indices stay positive and the integer parity is the checker's.
        u = (xs * cos + ys * sin).astype(np.int32)
        v = (ys * cos - xs * sin + np.float32(width)).astype(np.int32)
        image = np.where((((u + v) & 1) == 0)[..., None], base, other)
    else:
        raise ValueError(f"unknown background {kind!r}; expected one of {BACKGROUNDS}")
    image += grain(height, width, 1, 5.0, rng)
    return np.clip(image, 0, 255, out=image)


def _smooth_noise(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """`[height, width, 3]` low-frequency noise: a coarse random grid, linearly upsampled.

    Upsampled by gathering and blending neighbours rather than by matrix products: BLAS
    threads stall for tens of milliseconds on a busy 2-core machine.
    """
    cells = int(rng.integers(3, 9))
    coarse = rng.standard_normal((cells, cells, 3), dtype=np.float32)
    left, fx = _linear_neighbours(width, cells)
    # Across first, on the coarse rows: cheap. Then down, gathering whole rows.
    rows = coarse[:, left] + fx[None, :, None] * (coarse[:, left + 1] - coarse[:, left])
    steps = rows[1:] - rows[:-1]
    top, fy = _linear_neighbours(height, cells)
    image = steps[top]
    image *= fy[:, None, None]
    image += rows[top]
    return image


def _linear_neighbours(size: int, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """For `size` pixels spread over `cells` samples: each pixel's lower sample and weight."""
    position = (np.arange(size, dtype=np.float32) + 0.5) * np.float32((cells - 1) / size)
    lower = np.minimum(position.astype(np.int64), cells - 2)
    return lower, position - lower.astype(np.float32)
