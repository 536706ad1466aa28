"""The dashboard's picture parts: thumbnails kept small, a confusion matrix found by a click."""

from __future__ import annotations

import numpy as np
import pytest

from nbdetect.widgets.matrix_picture import MatrixPicture
from nbdetect.widgets.thumbnails import ThumbnailStore


def test_thumbnails_keep_the_picture_and_the_scale():
    image = np.zeros((200, 400, 3), np.uint8)
    image[50:150, 100:200] = (255, 0, 0)  # a red square, left half
    store = ThumbnailStore(size=100)
    assert store.add(image) == 0
    small = store.get(0)
    assert small.shape == (50, 100, 3)
    assert store.scale(0) == 0.25 and store.image_shape(0) == (200, 400)
    # The square lands where the scale puts it (JPEG blurs edges only).
    inside, outside = small[25, 37], small[25, 75]
    assert inside[0] > 200 and inside[1] < 60
    assert outside.max() < 40


def test_thumbnails_smaller_images_stay_as_they_are():
    store = ThumbnailStore(size=256)
    store.add(np.full((40, 30, 3), 90, np.uint8))
    assert store.get(0).shape == (40, 30, 3) and store.scale(0) == 1.0
    assert abs(int(store.get(0)[20, 15, 0]) - 90) <= 2


def test_thumbnails_cache_is_bounded_and_clear_drops_everything():
    store = ThumbnailStore(size=32, cache=2)
    for value in (10, 120, 240):
        store.add(np.full((64, 64, 3), value, np.uint8))
    for index in (0, 1, 2, 0):
        store.get(index)
    assert len(store._cache) == 2
    assert store.nbytes() > 0
    store.clear()
    assert len(store) == 0 and store.nbytes() == 0


@pytest.mark.parametrize("count", [2, 5, 21, 81])
def test_matrix_click_finds_every_cell(count):
    names = [f"class {i}" for i in range(count - 1)] + ["background"]
    picture = MatrixPicture.for_labels(names)
    for row in range(count):
        for col in range(count):
            x, y = picture.center(row, col)
            assert picture.cell_at(x, y) == (row, col)
            # The cell's corners belong to it too.
            left, top = picture.left + col * picture.cell, picture.top + row * picture.cell
            assert picture.cell_at(left, top) == (row, col)
            assert picture.cell_at(left + picture.cell - 1, top + picture.cell - 1) == (row, col)
    assert picture.cell_at(picture.left - 1, picture.top + 1) is None
    assert picture.cell_at(picture.left + 1, picture.top - 1) is None
    assert picture.cell_at(*picture.center(count, 0)) is None


def test_matrix_shading_follows_row_shares_and_outlines_the_selection():
    names = ["cat", "dog", "background"]
    picture = MatrixPicture.for_labels(names)
    matrix = np.array([[9, 1, 0], [0, 5, 5], [2, 0, 0]])
    pixels = picture.draw(matrix, names, selected=(1, 2))
    assert pixels.shape == (picture.height, picture.width, 3)

    def corner(row, col):  # inside the cell, away from its number and outline
        x = picture.left + col * picture.cell + 5
        y = picture.top + row * picture.cell + 5
        return pixels[int(y), int(x)].astype(int)

    # 9 of 10 cats found: darker than the 1 of 10 called dog; an empty cell is near white.
    assert corner(0, 0).sum() < corner(0, 1).sum() < corner(0, 2).sum()
    assert corner(0, 2).min() > 240
    # Half of the dogs missed: the two cells of that row shade alike.
    assert np.abs(corner(1, 1) - corner(1, 2)).max() <= 2
    # The selected cell's edge is vermillion.
    x0 = picture.left + 2 * picture.cell
    y0 = picture.top + 1 * picture.cell
    assert tuple(pixels[y0 + picture.cell // 2, x0 + 1]) == (213, 94, 0)
