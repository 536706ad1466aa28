"""Many images kept small: JPEG thumbnails that a gallery decodes a page at a time."""

from __future__ import annotations

import io
from collections import OrderedDict

import numpy as np
from PIL import Image


class ThumbnailStore:
    """Images shrunk to at most `size` pixels on their longer side, stored as JPEG bytes.

    A dashboard over 5,000 images cannot keep them as arrays (5,000 x 512 x 512 x 3 bytes
    is 3.9 GB); as thumbnails of a gallery cell's size, JPEG-compressed, they take about
    10 KB each. A page decodes only its own images, and the last pages decoded are cached.

    Boxes stay in each image's own pixels; `scale(i)` converts them to the thumbnail's.

    Args:
        size: the longest side of a thumbnail, in pixels (a gallery's `cell_size`).
        quality: JPEG quality (1-95).
        cache: how many decoded thumbnails to keep.

    Example:
        >>> import numpy as np
        >>> from nbdetect.widgets.thumbnails import ThumbnailStore
        >>> store = ThumbnailStore(size=64)
        >>> store.add(np.full((128, 256, 3), 200, np.uint8))
        0
        >>> store.get(0).shape, store.scale(0), store.image_shape(0)
        ((32, 64, 3), 0.25, (128, 256))
    """

    def __init__(self, size: int, quality: int = 90, cache: int = 64) -> None:
        self.size = int(size)
        self.quality = int(quality)
        self._cache_size = int(cache)
        self._jpegs: list[bytes] = []
        self._shapes: list[tuple[int, int]] = []
        self._scales: list[float] = []
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self._jpegs)

    def add(self, image: np.ndarray) -> int:
        """Store one `[H, W, 3]` uint8 image; returns its index."""
        height, width = image.shape[:2]
        scale = min(1.0, self.size / max(height, width, 1))
        picture = Image.fromarray(np.ascontiguousarray(image))
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            picture = picture.resize(size, Image.BILINEAR)
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", quality=self.quality)
        self._jpegs.append(buffer.getvalue())
        self._shapes.append((int(height), int(width)))
        self._scales.append(scale)
        return len(self._jpegs) - 1

    def get(self, index: int) -> np.ndarray:
        """Thumbnail `index` as a `[h, w, 3]` uint8 array."""
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached
        image = np.asarray(Image.open(io.BytesIO(self._jpegs[index])).convert("RGB"))
        self._cache[index] = image
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return image

    def scale(self, index: int) -> float:
        """Thumbnail pixels per image pixel of image `index` (at most 1)."""
        return self._scales[index]

    def image_shape(self, index: int) -> tuple[int, int]:
        """`(height, width)` of image `index` before shrinking."""
        return self._shapes[index]

    def nbytes(self) -> int:
        """The bytes the thumbnails take (compressed)."""
        return sum(len(jpeg) for jpeg in self._jpegs)

    def clear(self) -> None:
        """Drop every image."""
        self._jpegs, self._shapes, self._scales = [], [], []
        self._cache.clear()
